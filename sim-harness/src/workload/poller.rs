//! A simulated long-poll subscriber: watches a few apps, fails over, resets cursors on a switch;
//! or, like python-discovery-client, stays with its node and forgets the cursors of the apps an
//! answer did not carry.

use registry::api::SmolStr;
use registry::api::{PollsArgs, Request};
use registry::core::{Limits, RequestId};

use super::edge;
use super::instance::Model;
use crate::id::NodeId;
use crate::time::SimTime;
use crate::world::ENV;

/// One poller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Poller {
    /// The client library it behaves like: `Model::Python` stays with its node and forgets
    /// cursors (`take_answer`); every other model polls like bilibili's Go SDK.
    pub(crate) model: Model,
    pub(crate) apps: Vec<SmolStr>,
    pub(crate) cursors: Vec<i64>,
    pub(crate) node: NodeId,
    /// The poll in flight.
    pub(crate) pending: Option<RequestId>,
    /// When its last poll left.
    pub(crate) started: SimTime,
    /// Whether it is an edge poller: it names as many apps as one poll may (`apps` is padded
    /// with apps no instance uses), one more until its first answer.
    pub(crate) at_limit: bool,
}

impl Poller {
    pub(crate) fn new(apps: Vec<SmolStr>, node: NodeId, model: Model) -> Poller {
        let cursors = vec![0; apps.len()];
        Poller {
            model,
            apps,
            cursors,
            node,
            pending: None,
            started: SimTime::ZERO,
            at_limit: false,
        }
    }

    /// Makes this (not yet started) poller an edge poller: its first poll names one app more
    /// than `limits` allow.
    pub(crate) fn watch_at_limit(&mut self, limits: &Limits) {
        self.apps = edge::app_list(&self.apps, true, limits);
        self.cursors = vec![0; self.apps.len()];
        self.at_limit = true;
    }

    /// Whether its next poll names more apps than `limits` allow.
    pub(crate) fn past_limit(&self, limits: &Limits) -> bool {
        self.at_limit && self.apps.len() > limits.max_list_len
    }

    /// After an answer to a poll past the limit: names only as many apps as allowed from now
    /// on (the spare apps it drops have no instances).
    pub(crate) fn trim_to(&mut self, limits: &Limits) {
        self.apps.truncate(limits.max_list_len);
        self.cursors.truncate(limits.max_list_len);
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

    /// Takes the cursors of an answer that carried the apps `answered` (with theirs). A
    /// python-discovery-client poller keeps the answer as its whole view (`_polls` replaces
    /// its apps with the answer's), so a watched app the answer did not carry is polled from 0
    /// next time, and answered at once.
    pub(crate) fn take_answer<'a>(&mut self, answered: impl Iterator<Item = (&'a SmolStr, i64)>) {
        if self.model == Model::Python {
            self.cursors.iter_mut().for_each(|c| *c = 0);
        }
        for (appid, cursor) in answered {
            if let Some(slot) = self.apps.iter().position(|a| a == appid) {
                self.cursors[slot] = cursor;
            }
        }
    }
}
