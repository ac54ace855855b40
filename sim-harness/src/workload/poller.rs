//! A simulated long-poll subscriber: watches a few apps, fails over, resets cursors on a switch.

use registry::api::SmolStr;
use registry::api::{PollsArgs, Request};
use registry::core::RequestId;

use crate::id::NodeId;
use crate::world::ENV;

/// One poller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Poller {
    pub(crate) apps: Vec<SmolStr>,
    pub(crate) cursors: Vec<i64>,
    pub(crate) node: NodeId,
    /// The poll in flight.
    pub(crate) pending: Option<RequestId>,
}

impl Poller {
    pub(crate) fn new(apps: Vec<SmolStr>, node: NodeId) -> Poller {
        let cursors = vec![0; apps.len()];
        Poller {
            apps,
            cursors,
            node,
            pending: None,
        }
    }

    pub(crate) fn request(&self, index: usize) -> Request {
        Request::Polls(PollsArgs {
            zone: Default::default(),
            env: ENV.into(),
            appids: self.apps.clone(),
            hostname: format!("poller{index}").into(),
            latest_timestamps: self.cursors.clone(),
        })
    }

    /// Moves to `node`; cursors from another node mean nothing there, and an answer to the
    /// poll still out at the old node is no longer awaited.
    pub(crate) fn switch_to(&mut self, node: NodeId) {
        self.node = node;
        self.pending = None;
        self.cursors.iter_mut().for_each(|c| *c = 0);
    }
}
