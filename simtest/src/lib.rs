//! The shipped runtime, peer transport and client SDK on madsim's simulated hosts.
//!
//! A [`cluster::Cluster`] runs the real `registry::runtime::serve_until` on 3 to 5 simulated
//! hosts, each with its own IP and `--peers` as in production; clients run the real SDK
//! (`registry::client`) on hosts of their own. Faults go through madsim's own APIs (clogs,
//! packet loss, kill, restart, pause, ctrl-c). Everything here exists only under
//! `--cfg madsim` (run `.ci/simtest`); a normal build compiles this crate to nothing.
#![cfg(madsim)]

pub mod actors;
pub mod chaos;
pub mod checks;
pub mod cluster;
pub mod raw;
pub mod reads;
pub mod scripted;
