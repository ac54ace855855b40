//! What the world's event queue holds.

use registry::api::{Reply, Request};
use registry::core::{PeerMessage, RequestId};

use crate::time::SimTime;

/// One pending event of the world.
#[derive(Clone, Debug)]
pub enum WorldEvent {
    /// A client puts a request on the network towards a node.
    ClientSends {
        /// The client.
        client: usize,
        /// The node it addresses.
        node: usize,
        /// The id the world gave the request.
        id: RequestId,
        /// The request.
        request: Request,
    },
    /// A client's request reaches its node.
    RequestArrives {
        /// The client.
        client: usize,
        /// The node.
        node: usize,
        /// The request's id.
        id: RequestId,
        /// The request.
        request: Request,
    },
    /// A node's reply reaches its client.
    ReplyArrives {
        /// The node that answered.
        node: usize,
        /// The client.
        client: usize,
        /// The request answered.
        id: RequestId,
        /// The reply.
        reply: Reply,
    },
    /// A peer message reaches a node.
    PeerArrives {
        /// The sending node.
        from: usize,
        /// The receiving node.
        to: usize,
        /// The message, never inspected by the world.
        message: PeerMessage,
    },
    /// A node's timer deadline; stale if the node has moved its deadline since.
    NodeTimer {
        /// The node.
        node: usize,
        /// The deadline this event was scheduled for.
        at: SimTime,
    },
}
