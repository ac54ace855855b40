//! Protection mode, recomputed from the trace: renews counted per window, the threshold and
//! mode formula, no eviction below the ceiling while protected, and the per-round cap.
//!
//! A node counts only renews of instances it holds. A client's renew shows which it was in its
//! answer (0 or -409: held; -404: not); a replicated renew's answer may never arrive, so those,
//! and the node's own, may fall on either side, and the check is that the node's two numbers
//! add up to what reached it with each at least what the answers prove.

use std::collections::BTreeMap;

use registry::api::{Code, Request};
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

/// One node incarnation's window so far: the renews received since the last window closed (or
/// the incarnation began), by what the trace shows of them.
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    /// Renews answered as held (client renews answered 0 or -409).
    held: u64,
    /// Renews answered as not held (client renews answered -404).
    unheld: u64,
    /// Renews whose answer does not tell: replicated ones, the node's own (re-registered if
    /// it was gone), a client's `replication=true` -404 (also the answer to a sender newer).
    either: u64,
    /// The mode the last window close decided (none yet: not protected).
    protected: bool,
}

/// Client renews whose answer is still to come: id -> (node, sent with `replication=true`).
type Asked = BTreeMap<u64, (usize, bool)>;

impl Checker for Protection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let mut lives = Lives::default();
        let mut windows: BTreeMap<usize, Window> = BTreeMap::new();
        let mut asked = Asked::new();
        let mut out = Vec::new();
        for (at, event) in input.trace.entries() {
            if let Some(Change::Crashed(node) | Change::Restarted(node)) = lives.observe(event) {
                windows.remove(&node);
            }
            match event {
                TraceEvent::Request {
                    node, id, request, ..
                } => {
                    if let Request::Renew(args) = &**request {
                        asked.insert(*id, (*node, args.replication));
                    }
                }
                TraceEvent::Reply { id, reply, .. } => {
                    if let Some((node, replication)) = asked.remove(id) {
                        let window = windows.entry(node).or_default();
                        match reply.code {
                            Code::Ok | Code::Conflict => window.held += 1,
                            Code::NothingFound if replication => window.either += 1,
                            Code::NothingFound => window.unheld += 1,
                            _ => {} // refused before the lease was looked at
                        }
                    }
                }
                TraceEvent::PeerDelivered { to, message, .. } => {
                    let ops = u64::try_from(renew_ops(message).len()).unwrap_or(u64::MAX);
                    let window = windows.entry(*to).or_default();
                    window.either = window.either.saturating_add(ops);
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
        NodeEvent::SelfRenewed => window.either += 1,
        NodeEvent::WindowClosed {
            renews,
            unheld_renews,
            expected,
            threshold,
            protected,
        } => {
            let reached = window.held + window.unheld + window.either;
            if renews.saturating_add(*unheld_renews) != reached {
                report(
                    None,
                    format!(
                        "the window closed with {renews} renews counted and {unheld_renews} not, but {reached} reached the node"
                    ),
                );
            }
            if *renews < window.held || *unheld_renews < window.unheld {
                report(
                    None,
                    format!(
                        "the window closed with {renews} renews counted and {unheld_renews} not, but {} were answered as renews of held instances and {} as of unknown ones",
                        window.held, window.unheld
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
                protected: *protected,
                ..Window::default()
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

    use registry::api::Reply;

    use super::*;
    use crate::check::tests_support::*;

    fn closed(renews: u64, expected: u64, threshold: u64, protected: bool) -> NodeEvent {
        closed_with_unheld(renews, 0, expected, threshold, protected)
    }

    fn closed_with_unheld(
        renews: u64,
        unheld_renews: u64,
        expected: u64,
        threshold: u64,
        protected: bool,
    ) -> NodeEvent {
        NodeEvent::WindowClosed {
            renews,
            unheld_renews,
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
        renewed(run, 1, 0, "a", Code::Ok);
        renewed(run, 2, 0, "b", Code::Ok);
        run.replicated_renews(1, 0, &[key("c"), key("d")]);
        run.node(0, NodeEvent::SelfRenewed);
        // Traffic at other nodes does not count for node 0.
        renewed(run, 1, 1, "a", Code::Ok);
        run.node(1, NodeEvent::SelfRenewed);
    }

    /// Client `c`'s renew of `host` reaches `node`, answered `code`.
    fn renewed(run: &mut Run, c: usize, node: usize, host: &str, code: Code) {
        let id = run.request(client(c), node, renew(host));
        run.reply(node, client(c), id, Reply::code(code));
    }

    /// Node 0: a client renew answered 0, one answered -404, two replicated renews.
    fn held_unheld_and_replicated(run: &mut Run) {
        renewed(run, 1, 0, "a", Code::Ok);
        renewed(run, 2, 0, "ghost", Code::NothingFound);
        run.replicated_renews(1, 0, &[key("c"), key("d")]);
    }

    #[test]
    fn only_renews_of_held_instances_may_count() {
        // The replicated ones may fall on either side: 1..=3 counted, 1..=3 not, 4 in all.
        for (renews, unheld) in [(1, 3), (2, 2), (3, 1)] {
            let mut run = Run::new(2);
            held_unheld_and_replicated(&mut run);
            run.at(60)
                .node(0, closed_with_unheld(renews, unheld, 10, 8, true));
            assert!(run.check(&Protection).is_empty(), "{renews} + {unheld}");
        }
        // Counting the renew answered -404, or not counting the one answered 0, is reported
        // (the totals still add up to the 4 that arrived).
        for (renews, unheld) in [(4, 0), (0, 4)] {
            let mut run = Run::new(2);
            held_unheld_and_replicated(&mut run);
            run.at(60)
                .node(0, closed_with_unheld(renews, unheld, 10, 8, true));
            assert_one(&run.check(&Protection), NAME, Some(0), None);
        }
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
        renewed(&mut run, 1, 0, "a", Code::Ok);
        run.at(130).bounce(0);
        renewed(&mut run, 1, 0, "a", Code::Ok);
        run.at(190).node(0, closed(1, 0, 0, false));
        run.node(0, round(0, 0, 0));
        assert!(run.check(&Protection).is_empty());
    }
}
