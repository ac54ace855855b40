//! The registry node as a deterministic state machine that does no I/O.
//!
//! Like quinn-proto, this is "a fully deterministic implementation" that "contains no
//! networking code and does not get any relevant timestamps from the operating system". A
//! [`Node`] reads time only through a [`Clock`], says everything through a [`Network`], and
//! takes its random choices from a seed in its [`Config`]. It never spawns, never sleeps and
//! never iterates a hash-ordered collection, so the same inputs give the same outputs, bit for
//! bit. The production runtime and the simulator drive this same code.
//!
//! # Driver contract
//!
//! - Feed inputs through [`Node::handle_request`], [`Node::handle_peer_message`],
//!   [`Node::handle_abandon`] and, once `clock.mono()` reaches [`Node::poll_timeout`],
//!   [`Node::handle_timeout`].
//! - After each call, drain [`Node::poll_event`] (decisions to log or trace) and whatever the
//!   [`Network`] implementation collected.
//!
//! ```
//! use registry::api::{Reply, Request};
//! use registry::core::{Clock, Config, Mono, Network, Node, PeerMessage, RequestId};
//!
//! struct FixedClock;
//! impl Clock for FixedClock {
//!     fn wall(&self) -> i64 { 1_700_000_000_000_000_000 }
//!     fn mono(&self) -> Mono { Mono::ZERO }
//! }
//!
//! #[derive(Default)]
//! struct Outbox(Vec<(RequestId, Reply)>);
//! impl Network for Outbox {
//!     fn reply(&mut self, to: RequestId, reply: Reply) { self.0.push((to, reply)); }
//!     fn send(&mut self, _addr: &str, _message: PeerMessage) {}
//! }
//!
//! let mut node = Node::new(Config::default(), FixedClock, Outbox::default()).unwrap();
//! node.handle_request(RequestId(1), Request::Nodes);
//! assert_eq!(node.net().0.len(), 1);
//! assert!(node.poll_timeout().is_some());
//! ```

mod ack_wait;
mod anti_entropy;
mod clock;
mod config;
mod eviction;
mod fnv;
mod guard;
mod hlc;
mod index;
mod manual;
mod membership;
mod name;
mod network;
mod node;
mod peer_queue;
mod peer_writes;
mod poll;
mod reads;
mod replication;
mod stats;
mod sync;
mod table;
mod timer;
mod told_missing;
mod validate;
mod writes;

pub use crate::api::{AppKey, InstanceKey, PeerMessage};
pub use clock::{Clock, Mono};
pub use config::{
    ClusterConfig, Config, ConfigError, Durability, Identity, LeaseConfig, Limits,
    ProtectionConfig, ReplicationConfig, StallConfig,
};
pub use fnv::Fnv1a;
pub use guard::{ProtectionOverride, ProtectionReason, ProtectionStatus};
pub use manual::{ManualClock, Outbox};
pub use membership::DISCOVERY_APPID;
pub use network::{Network, RequestId};
pub use node::{Node, NodeEvent};
pub use replication::PeerReplication;
pub use stats::NodeStats;
pub use table::copy_beats;

#[cfg(test)]
pub(crate) mod tests;
