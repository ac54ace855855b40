//! What the status page shows of the past: the renew windows of the last hour (the protection
//! timeline) and the last eviction rounds. The core reports each as a [`NodeEvent`] and keeps
//! no history; the driver hands every event here with the wall time it read it at.

use std::collections::VecDeque;

use crate::core::NodeEvent;

use super::model::{EvictionRoundView, WindowView};

/// How far back the protection timeline reaches.
pub(crate) const TIMELINE_MS: i64 = 60 * 60 * 1000;
/// At most this many windows are kept, whatever their length: a node configured with
/// one-second windows (tests) must not grow a list of 3,600.
pub(crate) const MAX_WINDOWS: usize = 240;
/// Eviction rounds kept for the page.
const EVICTION_ROUNDS_KEPT: usize = 8;

/// The recent windows and eviction rounds, oldest first, with running totals.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    windows: VecDeque<WindowView>,
    rounds: VecDeque<EvictionRoundView>,
    /// Eviction rounds since the node started.
    pub(crate) rounds_total: u64,
    /// Instances evicted since the node started.
    pub(crate) evicted_total: u64,
}

impl History {
    /// Records `event`, read at `now_unix_ms`; events the page does not show are ignored.
    pub(crate) fn note(&mut self, event: &NodeEvent, now_unix_ms: i64) {
        match *event {
            NodeEvent::WindowClosed {
                renews,
                expected,
                threshold,
                protected,
                ..
            } => {
                self.windows.push_back(WindowView {
                    closed_unix_ms: now_unix_ms,
                    renews,
                    expected,
                    threshold,
                    protected,
                });
                let horizon = now_unix_ms.saturating_sub(TIMELINE_MS);
                while self
                    .windows
                    .front()
                    .is_some_and(|w| w.closed_unix_ms < horizon || self.windows.len() > MAX_WINDOWS)
                {
                    self.windows.pop_front();
                }
            }
            NodeEvent::EvictionRound {
                registry_size,
                expired,
                cap,
                evicted,
                protected,
            } => {
                self.rounds_total += 1;
                self.evicted_total += evicted as u64;
                self.rounds.push_back(EvictionRoundView {
                    at_unix_ms: now_unix_ms,
                    registry_size,
                    expired,
                    cap,
                    evicted,
                    protected,
                });
                if self.rounds.len() > EVICTION_ROUNDS_KEPT {
                    self.rounds.pop_front();
                }
            }
            _ => {}
        }
    }

    /// The windows closed in the hour before `now_unix_ms`, oldest first.
    pub(crate) fn windows(&self, now_unix_ms: i64) -> Vec<WindowView> {
        let horizon = now_unix_ms.saturating_sub(TIMELINE_MS);
        self.windows
            .iter()
            .filter(|w| w.closed_unix_ms >= horizon)
            .cloned()
            .collect()
    }

    /// The last eviction rounds, newest first.
    pub(crate) fn rounds(&self) -> Vec<EvictionRoundView> {
        self.rounds.iter().rev().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(renews: u64) -> NodeEvent {
        NodeEvent::WindowClosed {
            renews,
            unheld_renews: 0,
            expected: 10,
            threshold: 8,
            protected: renews < 8,
        }
    }

    fn round(evicted: usize) -> NodeEvent {
        NodeEvent::EvictionRound {
            registry_size: 5,
            expired: evicted,
            cap: 2,
            evicted,
            protected: false,
        }
    }

    #[test]
    fn windows_older_than_an_hour_leave_the_timeline() {
        let mut h = History::default();
        let minute = 60_000;
        for i in 0..90 {
            h.note(&window(i), i as i64 * minute);
        }
        let now = 89 * minute;
        let kept = h.windows(now);
        assert_eq!(kept.len(), 61, "minutes 29 to 89");
        assert_eq!(kept[0].closed_unix_ms, 29 * minute);
        assert_eq!(kept[60].renews, 89);
        assert!(kept[0].protected == (kept[0].renews < 8));
        // Read later without new windows: the old ones drop out of the answer too.
        assert_eq!(h.windows(now + 30 * minute).len(), 31);
    }

    #[test]
    fn short_windows_are_capped_in_number() {
        let mut h = History::default();
        for i in 0..1000 {
            h.note(&window(9), i * 1000);
        }
        let kept = h.windows(999_000);
        assert_eq!(kept.len(), MAX_WINDOWS);
        assert_eq!(kept.last().map(|w| w.closed_unix_ms), Some(999_000));
    }

    #[test]
    fn eviction_rounds_keep_the_last_few_and_count_them_all() {
        let mut h = History::default();
        for i in 0..20 {
            h.note(&round(i % 3), i as i64);
        }
        h.note(&NodeEvent::SelfRenewed, 99);
        let rounds = h.rounds();
        assert_eq!(rounds.len(), EVICTION_ROUNDS_KEPT);
        assert_eq!(rounds[0].at_unix_ms, 19, "newest first");
        assert_eq!(h.rounds_total, 20);
        assert_eq!(h.evicted_total, (0..20).map(|i| i % 3).sum::<u64>());
    }
}
