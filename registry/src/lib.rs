//! An AP service registry in the family of bilibili/discovery and Netflix Eureka.
//!
//! - [`api`]: the wire types of bilibili/discovery's HTTP API (requests, replies, instances) and
//!   the form decoder that turns query strings and form bodies into typed requests.
//! - [`core`]: the node itself, a deterministic state machine that does no I/O. It reads time
//!   through [`core::Clock`] and sends through [`core::Network`]; a production runtime and the
//!   simulator both drive the same code.
//! - [`runtime`] (feature `runtime`, on by default): the tokio/HTTP driver of the node.
//! - [`client`] (feature `runtime`): a Rust client SDK: register, renew, fail over, watch.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "runtime")]
pub mod client;
pub mod core;
#[cfg(feature = "runtime")]
mod http_client;
#[cfg(all(madsim, feature = "runtime"))]
pub mod knobs;
#[cfg(feature = "runtime")]
pub mod runtime;
