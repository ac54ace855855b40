//! The node's only way out: replies to requests, and (with the cluster protocol) peer messages.

use crate::api::{PeerMessage, Reply};

/// Identifies one request from the driver's point of view, so the node can answer it later
/// (long-polls are answered seconds after they arrive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Where the node sends everything it says.
///
/// The production runtime completes HTTP responses and sends HTTP requests; the simulator puts
/// messages on its simulated network.
pub trait Network {
    /// Answers the request `to`. Each request is answered exactly once.
    fn reply(&mut self, to: RequestId, reply: Reply);
    /// Sends `message` to the peer at `addr` (`host:port`).
    fn send(&mut self, addr: &str, message: PeerMessage);
}
