//! Protection-mode episodes: from a node's `ProtectionChanged` to protected until the next to
//! unprotected. An episode still open when its node crashes ends there (the state is lost);
//! one still open at the end of the run ends at the deadline and counts as not exited.

use std::collections::BTreeMap;
use std::time::Duration;

use registry::core::NodeEvent;
use serde::{Deserialize, Serialize};

use crate::fault::Fault;
use crate::time::SimTime;
use crate::trace::{Trace, TraceEvent};

/// Protection-mode episodes of one run or many.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episodes {
    /// Times a node entered protection mode.
    pub entered: u64,
    /// Times a node left it (crashes and the end of the run are not exits).
    pub exited: u64,
    /// Total time nodes spent protected, in milliseconds.
    pub total_ms: u64,
}

impl Episodes {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Episodes) {
        self.entered += other.entered;
        self.exited += other.exited;
        self.total_ms += other.total_ms;
    }

    /// Mean episode length in milliseconds (zero without episodes).
    pub fn mean_ms(&self) -> u64 {
        self.total_ms.checked_div(self.entered).unwrap_or(0)
    }
}

/// The protection episodes of a trace whose run ended at `end`.
pub(super) fn protection_episodes(trace: &Trace, end: SimTime) -> Episodes {
    let mut since: BTreeMap<usize, SimTime> = BTreeMap::new();
    let mut out = Episodes::default();
    for (at, event) in trace.entries() {
        match event {
            TraceEvent::Node {
                node,
                event: NodeEvent::ProtectionChanged(status),
            } => match (status.protected, since.contains_key(node)) {
                (true, false) => {
                    out.entered += 1;
                    since.insert(*node, *at);
                }
                (false, true) => {
                    out.exited += 1;
                    if let Some(from) = since.remove(node) {
                        close(&mut out, from, *at);
                    }
                }
                _ => {}
            },
            TraceEvent::Fault(Fault::Crash { node }) => {
                if let Some(from) = since.remove(node) {
                    close(&mut out, from, *at);
                }
            }
            _ => {}
        }
    }
    for from in since.into_values() {
        close(&mut out, from, end);
    }
    out
}

/// Ends an episode that began at `from` at `to`.
fn close(out: &mut Episodes, from: SimTime, to: SimTime) {
    out.total_ms += millis(to.saturating_since(from));
}

/// Whole milliseconds of `d`.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use registry::core::{ProtectionOverride, ProtectionReason, ProtectionStatus};

    use super::*;

    fn changed(node: usize, protected: bool) -> TraceEvent {
        TraceEvent::Node {
            node,
            event: NodeEvent::ProtectionChanged(ProtectionStatus {
                protected,
                override_mode: ProtectionOverride::Auto,
                expected_renews: 10,
                threshold: 8,
                renews_last_window: 0,
                renews_this_window: 0,
                reason: ProtectionReason::RenewsBelowThreshold,
            }),
        }
    }

    #[test]
    fn episodes_end_at_exit_crash_or_the_end() {
        let mut trace = Trace::new();
        trace.record(SimTime::from_secs(10), changed(0, true));
        trace.record(SimTime::from_secs(70), changed(0, false));
        trace.record(SimTime::from_secs(20), changed(1, true));
        trace.record(
            SimTime::from_secs(30),
            TraceEvent::Fault(Fault::Crash { node: 1 }),
        );
        trace.record(SimTime::from_secs(100), changed(2, true));
        let episodes = protection_episodes(&trace, SimTime::from_secs(200));
        assert_eq!(
            episodes,
            Episodes {
                entered: 3,
                exited: 1,
                total_ms: 60_000 + 10_000 + 100_000
            }
        );
        assert_eq!(episodes.mean_ms(), 170_000 / 3);
    }
}
