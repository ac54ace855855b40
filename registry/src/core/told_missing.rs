//! Instances whose client renew this node answered -404 a moment ago.
//!
//! A client told that its instance is gone registers it again at once (bilibili's Go SDK and
//! Eureka's clients alike), and a client that stamps its own writes (Eureka's
//! `lastDirtyTimestamp`) may send the stamp it had before. Whatever removed the instance (an
//! operator's cancel, an eviction) holds a later version, so that register would be refused,
//! yet it answers this node's 404: it is its owner's latest word, and must win (see
//! `Node::register`). Any other stamped register is ordered by its stamp: it may be a request
//! its client's own later cancel or register overtook on the way, and letting it win would undo
//! that later write (eureka-clients seed 79: a status change arrived 1 ms after the client's
//! cancel and brought the instance back on every node).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::api::InstanceKey;

use super::clock::Mono;

/// How long after a 404 a register still answers it. Clients register again as soon as the
/// 404 arrives; one renew interval (30 s) covers a slow one, and is short enough that a stale
/// register arriving much later is not taken for an answer.
pub(crate) const ANSWER_WINDOW: Duration = Duration::from_secs(30);

/// The 404s of the last [`ANSWER_WINDOW`], at most `cap` of them (renews for instances that do
/// not exist cost nothing else, so they must not cost memory without bound either).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ToldMissing {
    /// When each instance was last told missing.
    at: BTreeMap<InstanceKey, Mono>,
    /// The same notes in time order, to drop the expired ones from the front; a note renewed
    /// later leaves an older pair here that no longer matches `at`.
    order: VecDeque<(Mono, InstanceKey)>,
}

impl ToldMissing {
    /// Notes that a renew of `key` was answered -404 at `now`, unless `cap` notes are already
    /// live (then the register that answers it is ordered by its stamp, as without the note).
    pub(crate) fn note(&mut self, key: InstanceKey, now: Mono, cap: usize) {
        self.drop_expired(now);
        if self.order.len() >= cap {
            return;
        }
        self.at.insert(key.clone(), now);
        self.order.push_back((now, key));
    }

    /// Whether `key` was told missing within the window before `now`; the note is used up.
    pub(crate) fn take(&mut self, key: &InstanceKey, now: Mono) -> bool {
        self.drop_expired(now);
        self.at.remove(key).is_some()
    }

    /// Forgets the note of `key`: the instance was cancelled since, so a register of it that
    /// arrives now may be one its client sent before that cancel.
    pub(crate) fn forget(&mut self, key: &InstanceKey) {
        self.at.remove(key);
    }

    fn drop_expired(&mut self, now: Mono) {
        while let Some((at, key)) = self.order.front() {
            if now.saturating_since(*at) <= ANSWER_WINDOW {
                break;
            }
            if self.at.get(key) == Some(at) {
                self.at.remove(key);
            }
            self.order.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str) -> InstanceKey {
        InstanceKey {
            env: "dev".into(),
            appid: "a".into(),
            zone: "z".into(),
            hostname: host.into(),
        }
    }

    fn at(secs: u64) -> Mono {
        Mono::ZERO + Duration::from_secs(secs)
    }

    #[test]
    fn a_note_is_used_once_within_the_window() {
        let mut told = ToldMissing::default();
        told.note(key("h"), at(0), 10);
        assert!(!told.take(&key("other"), at(1)));
        assert!(told.take(&key("h"), at(30)), "30 s after: still an answer");
        assert!(!told.take(&key("h"), at(30)), "used up");
        told.note(key("h"), at(40), 10);
        assert!(!told.take(&key("h"), at(71)), "31 s after: too late");
    }

    #[test]
    fn a_note_renewed_later_outlives_its_first_entry_and_a_cancel_forgets_it() {
        let mut told = ToldMissing::default();
        told.note(key("h"), at(0), 10);
        told.note(key("h"), at(20), 10);
        assert!(told.take(&key("h"), at(45)), "the later note counts");
        told.note(key("h"), at(50), 10);
        told.forget(&key("h"));
        assert!(!told.take(&key("h"), at(51)));
    }

    #[test]
    fn at_most_cap_notes_are_kept_until_the_oldest_expire() {
        let mut told = ToldMissing::default();
        told.note(key("a"), at(0), 2);
        told.note(key("b"), at(1), 2);
        told.note(key("c"), at(2), 2);
        assert!(!told.take(&key("c"), at(2)), "over the cap: not noted");
        told.note(key("d"), at(31), 2);
        assert!(
            told.take(&key("d"), at(31)),
            "a's note expired and made room"
        );
        assert!(told.take(&key("b"), at(31)));
        assert_eq!(
            told.order.len(),
            2,
            "only b's and d's entries remain queued"
        );
    }
}
