//! Client writes whose answer waits for a peer (`durability = "peer"`).
//!
//! A node answers a write once it applied it (as bilibili/discovery and Eureka do) unless the
//! configuration asks for more: then the answer waits until a peer has acknowledged a batch
//! carrying the write (or a later version of each instance it wrote), so that a node killed
//! right after answering no longer takes the write with it. A node must stay available when
//! no peer answers, so the wait is bounded: past it the write is answered anyway, exactly as
//! in the default mode (the write is applied here and stays queued for the peers).

use std::collections::VecDeque;

use crate::api::{InstanceKey, Reply};

use super::clock::Mono;
use super::network::RequestId;

/// One answer held back: the versions (instance, stamp) no peer has acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AckWait {
    id: RequestId,
    reply: Reply,
    unacknowledged: Vec<(InstanceKey, i64)>,
    deadline: Mono,
}

/// The answers held back, in deadline order (every wait is equally long, so arrival order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AckWaits {
    waits: VecDeque<AckWait>,
}

impl AckWaits {
    /// Holds `reply` to request `id` until every one of `versions` was acknowledged by a peer,
    /// or until `deadline`.
    pub(crate) fn hold(
        &mut self,
        id: RequestId,
        reply: Reply,
        versions: Vec<(InstanceKey, i64)>,
        deadline: Mono,
    ) {
        debug_assert!(self.waits.back().is_none_or(|w| w.deadline <= deadline));
        self.waits.push_back(AckWait {
            id,
            reply,
            unacknowledged: versions,
            deadline,
        });
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.waits.is_empty()
    }

    /// A peer acknowledged the version of `key` stamped `stamp`: it covers that version and
    /// every older one. Returns the answers now complete.
    pub(crate) fn acknowledged(
        &mut self,
        key: &InstanceKey,
        stamp: i64,
    ) -> Vec<(RequestId, Reply)> {
        let mut complete = Vec::new();
        self.waits.retain_mut(|wait| {
            wait.unacknowledged
                .retain(|(k, s)| !(*s <= stamp && k == key));
            if wait.unacknowledged.is_empty() {
                complete.push((wait.id, wait.reply.clone()));
                false
            } else {
                true
            }
        });
        complete
    }

    /// The answers whose wait ran out by `now`, oldest first.
    pub(crate) fn expired(&mut self, now: Mono) -> Vec<(RequestId, Reply)> {
        let mut out = Vec::new();
        while self.waits.front().is_some_and(|w| w.deadline <= now) {
            if let Some(wait) = self.waits.pop_front() {
                out.push((wait.id, wait.reply));
            }
        }
        out
    }

    /// Every answer still held (the node is stopping: it answers what it applied).
    pub(crate) fn drain(&mut self) -> Vec<(RequestId, Reply)> {
        self.waits.drain(..).map(|w| (w.id, w.reply)).collect()
    }

    /// The client behind `id` went away: its write stays applied, nobody waits for the answer.
    pub(crate) fn abandon(&mut self, id: RequestId) {
        self.waits.retain(|w| w.id != id);
    }

    /// When the oldest wait runs out.
    pub(crate) fn next_deadline(&self) -> Option<Mono> {
        self.waits.front().map(|w| w.deadline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Code;
    use std::time::Duration;

    fn key(host: &str) -> InstanceKey {
        InstanceKey {
            env: "prod".into(),
            appid: "app".into(),
            zone: "z1".into(),
            hostname: host.into(),
        }
    }

    #[test]
    fn an_answer_leaves_once_every_version_it_wrote_was_acknowledged_or_its_wait_ran_out() {
        let mut waits = AckWaits::default();
        let t = |ms| Mono::ZERO + Duration::from_millis(ms);
        let ok = Reply::code(Code::Ok);
        waits.hold(
            RequestId(1),
            ok.clone(),
            vec![(key("a"), 10), (key("b"), 10)],
            t(100),
        );
        waits.hold(RequestId(2), ok.clone(), vec![(key("a"), 20)], t(200));
        // An older version of "a" covers neither.
        assert!(waits.acknowledged(&key("a"), 5).is_empty());
        // A newer one covers both waits' "a"; the first still waits for "b".
        assert_eq!(
            waits.acknowledged(&key("a"), 20),
            vec![(RequestId(2), ok.clone())]
        );
        assert_eq!(waits.next_deadline(), Some(t(100)));
        assert!(waits.expired(t(99)).is_empty());
        assert_eq!(waits.expired(t(100)), vec![(RequestId(1), ok.clone())]);
        assert!(waits.is_empty());
        waits.hold(RequestId(3), ok.clone(), vec![(key("c"), 1)], t(300));
        waits.abandon(RequestId(3));
        assert!(waits.acknowledged(&key("c"), 1).is_empty());
        assert!(waits.is_empty());
    }
}
