//! What the world's event queue holds.

use std::rc::Rc;

use registry::api::{Reply, Request};
use registry::core::{PeerMessage, RequestId};

use crate::id::ClientId;
use crate::time::SimTime;
use crate::workload::Wake;

/// One pending event of the world.
#[derive(Clone, Debug)]
pub(crate) enum WorldEvent {
    /// A client puts a request on the network towards a node (a send scheduled for later;
    /// one due now is routed at once).
    ClientSends {
        /// The client.
        client: ClientId,
        /// The node it addresses.
        node: usize,
        /// The id the world gave the request.
        id: RequestId,
        /// The request.
        request: Box<Request>,
    },
    /// A client's request reaches its node.
    RequestArrives {
        /// The client.
        client: ClientId,
        /// The node.
        node: usize,
        /// The request's id.
        id: RequestId,
        /// The request.
        request: Box<Request>,
    },
    /// A node's reply reaches its client.
    ReplyArrives {
        /// The client.
        client: ClientId,
        /// The request answered.
        id: RequestId,
        /// The reply (shared with the trace).
        reply: Rc<Reply>,
    },
    /// A peer message reaches a node.
    PeerArrives {
        /// The sending node.
        from: usize,
        /// The receiving node.
        to: usize,
        /// The message, never inspected by the world; it moves into the trace on delivery.
        message: PeerMessage,
    },
    /// A node's timer deadline; stale if the node has moved its deadline since.
    NodeTimer {
        /// The node.
        node: usize,
        /// The deadline this event was scheduled for.
        at: SimTime,
    },
    /// A client asked to be woken (its renew is due, or a request timed out).
    ClientWake {
        /// The client.
        client: ClientId,
        /// What the client wants to be reminded of.
        wake: Wake,
    },
    /// Something the driver of the world scheduled (a fault, a phase change).
    Scheduled {
        /// The driver's index of what is due.
        index: usize,
    },
}

impl WorldEvent {
    /// The node this event is for, if it is for one (paused nodes hold these back).
    pub(crate) fn node(&self) -> Option<usize> {
        match self {
            WorldEvent::RequestArrives { node, .. } | WorldEvent::NodeTimer { node, .. } => {
                Some(*node)
            }
            WorldEvent::PeerArrives { to, .. } => Some(*to),
            _ => None,
        }
    }
}
