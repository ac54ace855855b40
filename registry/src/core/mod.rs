//! placeholder
pub(crate) mod clock;
pub(crate) mod config;
pub(crate) mod hlc;
pub(crate) mod network;
pub(crate) mod table;
pub use clock::{Clock, Mono};
