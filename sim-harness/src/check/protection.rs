//! Protection mode, recomputed from the trace: renews counted per window, the threshold and
//! mode formula, no eviction below the ceiling while protected, and the per-round cap.

use std::collections::BTreeMap;

use registry::api::Request;
use registry::core::NodeEvent;

use super::support::{renew_ops, violation, Change, Lives};
use super::{CheckInput, Checker, Rules, Violation};
use crate::time::SimTime;
use crate::trace::TraceEvent;

/// Every window's count, threshold and mode follow the formula; evictions respect the mode and
/// the cap.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Protection;

const NAME: &str = "protection";

/// One node incarnation's window so far.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    /// Renews received since the last window closed (or the incarnation began).
    renews: u64,
    /// The mode the last window close decided (none yet: not protected).
    protected: bool,
}

impl Checker for Protection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let mut lives = Lives::default();
        let mut windows: BTreeMap<usize, Window> = BTreeMap::new();
        let mut out = Vec::new();
        for (at, event) in input.trace.entries() {
            if let Some(Change::Crashed(node) | Change::Restarted(node)) = lives.observe(event) {
                windows.remove(&node);
            }
            match event {
                TraceEvent::Request { node, request, .. }
                    if matches!(**request, Request::Renew(_)) =>
                {
                    count(&mut windows, *node, 1)
                }
                TraceEvent::PeerDelivered { to, message, .. } => {
                    let ops = u64::try_from(renew_ops(message).len()).unwrap_or(u64::MAX);
                    count(&mut windows, *to, ops);
                }
                TraceEvent::Node { node, event } => {
                    let window = windows.entry(*node).or_default();
                    judge(&input.rules, *at, *node, event, window, &mut out);
                }
                _ => {}
            }
        }
        out
    }
}

fn count(windows: &mut BTreeMap<usize, Window>, node: usize, renews: u64) {
    let window = windows.entry(node).or_default();
    window.renews = window.renews.saturating_add(renews);
}

/// Checks one decision of `node` against the recomputed window.
fn judge(
    rules: &Rules,
    at: SimTime,
    node: usize,
    event: &NodeEvent,
    window: &mut Window,
    out: &mut Vec<Violation>,
) {
    let mut report = |instance, explanation| {
        out.push(violation(NAME, at, Some(node), instance, explanation));
    };
    match event {
        NodeEvent::SelfRenewed => window.renews = window.renews.saturating_add(1),
        NodeEvent::WindowClosed {
            renews,
            expected,
            threshold,
            protected,
        } => {
            if *renews != window.renews {
                report(
                    None,
                    format!(
                        "the window closed with {renews} renews, but {} reached the node",
                        window.renews
                    ),
                );
            }
            let formula = u128::from(*expected) * u128::from(rules.threshold_percent) / 100;
            if u128::from(*threshold) != formula {
                report(
                    None,
                    format!(
                        "threshold {threshold} is not floor({expected} * {} / 100) = {formula}",
                        rules.threshold_percent
                    ),
                );
            }
            if *protected != (renews < threshold) {
                report(None, format!("protected = {protected} with {renews} renews against threshold {threshold}"));
            }
            *window = Window {
                renews: 0,
                protected: *protected,
            };
        }
        NodeEvent::Evicted { key, silent_for }
            if window.protected && *silent_for <= rules.protected_evict_after =>
        {
            report(
                Some(key),
                format!(
                    "evicted after {silent_for:?} of silence while protected (ceiling {:?})",
                    rules.protected_evict_after
                ),
            );
        }
        NodeEvent::EvictionRound {
            registry_size,
            cap,
            evicted,
            ..
        } => {
            let size = *registry_size as u128;
            let kept = size * u128::from(rules.eviction_keep_percent.min(100)) / 100;
            let allowed = size - kept;
            if *cap as u128 != allowed {
                report(None, format!("eviction round cap {cap} is not {allowed} for a registry of {registry_size}"));
            }
            if *evicted as u128 > allowed {
                report(None, format!("eviction round evicted {evicted} of {registry_size}, over the cap of {allowed}"));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::tests_support::*;

    fn closed(renews: u64, expected: u64, threshold: u64, protected: bool) -> NodeEvent {
        NodeEvent::WindowClosed {
            renews,
            expected,
            threshold,
            protected,
        }
    }

    fn round(registry_size: usize, cap: usize, evicted: usize) -> NodeEvent {
        NodeEvent::EvictionRound {
            registry_size,
            expired: evicted,
            cap,
            evicted,
            protected: false,
        }
    }

    /// Node 0 receives 2 client renews, a replicated batch of 2 renew ops and its own renew:
    /// 5 in all.
    fn five_renews(run: &mut Run) {
        run.request(client(1), 0, renew("a"));
        run.request(client(2), 0, renew("b"));
        run.replicated_renews(1, 0, &[key("c"), key("d")]);
        run.node(0, NodeEvent::SelfRenewed);
        // Traffic at other nodes does not count for node 0.
        run.request(client(1), 1, renew("a"));
        run.node(1, NodeEvent::SelfRenewed);
    }

    #[test]
    fn a_miscounted_window_is_reported() {
        let mut run = Run::new(2);
        five_renews(&mut run);
        run.at(60).node(0, closed(4, 4, 3, false));
        assert_one(&run.check(&Protection), NAME, Some(0), None);
    }

    #[test]
    fn a_wrong_threshold_or_mode_is_reported() {
        let mut run = Run::new(1);
        five_renews(&mut run);
        run.at(60).node(0, closed(5, 10, 9, true));
        assert_one(&run.check(&Protection), NAME, Some(0), None);
        let mut run = Run::new(1);
        five_renews(&mut run);
        run.at(60).node(0, closed(5, 10, 8, false));
        assert_one(&run.check(&Protection), NAME, Some(0), None);
    }

    #[test]
    fn an_eviction_below_the_ceiling_while_protected_is_reported() {
        let mut run = Run::new(1);
        run.at(60).node(0, closed(0, 10, 8, true)).at(61).node(
            0,
            NodeEvent::Evicted {
                key: key("a"),
                silent_for: Duration::from_secs(600),
            },
        );
        run.node(0, round(10, 2, 1));
        assert_one(&run.check(&Protection), NAME, Some(0), Some(&key("a")));
    }

    #[test]
    fn a_round_over_or_with_a_wrong_cap_is_reported() {
        let mut run = Run::new(1);
        run.at(60).node(0, round(10, 3, 3));
        let found = run.check(&Protection);
        assert_eq!(found.len(), 2, "{found:#?}");
        let mut run = Run::new(1);
        run.at(60)
            .node(0, round(7, 2, 1))
            .node(0, round(100, 14, 1));
        assert_one(&run.check(&Protection), NAME, Some(0), None);
    }

    #[test]
    fn windows_by_the_formula_and_capped_rounds_pass() {
        let mut run = Run::new(2);
        five_renews(&mut run);
        run.at(60).node(0, closed(5, 10, 8, true));
        // Protected: only evictions past the ceiling.
        run.node(
            0,
            NodeEvent::Evicted {
                key: key("a"),
                silent_for: Duration::from_secs(3601),
            },
        )
        .node(0, round(10, 2, 1));
        five_renews(&mut run);
        run.at(120).node(0, closed(5, 4, 3, false));
        run.node(
            0,
            NodeEvent::Evicted {
                key: key("b"),
                silent_for: Duration::from_secs(91),
            },
        )
        .node(0, round(7, 2, 1));
        // A restart starts an empty window; the count before it is gone.
        run.request(client(1), 0, renew("a"));
        run.at(130).bounce(0).request(client(1), 0, renew("a"));
        run.at(190).node(0, closed(1, 0, 0, false));
        run.node(0, round(0, 0, 0));
        assert!(run.check(&Protection).is_empty());
    }
}
