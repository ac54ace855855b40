//! The operator's status page (`/`, `/status`) and its JSON twin (`/status.json`).
//!
//! The driver reads the node into a [`StatusDoc`] (`model.rs`) at one instant, with the recent
//! past the runtime keeps from the node's events (`history.rs`: the core keeps none). The
//! page handler then asks every peer for its own document (`peers.rs`, concurrently, with a
//! short timeout, outside the driver) and renders the HTML (`page.rs`, `timeline.rs`), every
//! client-supplied value escaped (`escape.rs`), under a Content-Security-Policy that lets only
//! the page's own style and script apply (`csp.rs`).

mod csp;
mod escape;
mod history;
mod model;
mod page;
mod peers;
#[cfg(test)]
mod tests;
mod timeline;

pub(crate) use csp::policy as content_security_policy;
pub(crate) use history::History;
pub(crate) use model::StatusDoc;
pub(crate) use page::{render, StatusPage};
pub(crate) use peers::PeerStatus;
