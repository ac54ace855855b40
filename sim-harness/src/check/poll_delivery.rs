//! Poll delivery: each poller's last view of an app from a core node, taken in the liveness
//! phase, equals that node's view of the app at the deadline: long-polls deliver every change.
//! (Whether the core nodes agree with each other is the convergence checker's business; judging
//! the poller by the node it polled keeps a dead instance that only a protected node still
//! holds from being blamed on the poll.)

use registry::api::SmolStr;
use std::collections::BTreeMap;

use super::support::{is_client_app, liveness_index, up_core, up_hosts, violation};
use super::{CheckInput, Checker, Violation};
use crate::time::SimTime;
use crate::trace::{ClientEvent, TraceEvent};

/// Every poller's last liveness-phase view (from a core node) equals that node's final view.
#[derive(Clone, Copy, Debug, Default)]
pub struct PollDelivery;

const NAME: &str = "poll_delivery";

impl Checker for PollDelivery {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let up = up_core(input);
        let start = liveness_index(input);
        // (poller, app) -> (time, node, hosts) of its last view.
        let mut last: BTreeMap<(usize, &str), (SimTime, usize, &[SmolStr])> = BTreeMap::new();
        for (at, event) in input.trace.entries().iter().skip(start) {
            if let TraceEvent::Client(ClientEvent::Viewed {
                poller,
                node,
                appid,
                hosts,
            }) = event
            {
                if input.core.contains(node) && is_client_app(appid) {
                    last.insert((*poller, appid), (*at, *node, hosts));
                }
            }
        }
        let mut out = Vec::new();
        for ((poller, appid), (at, node, hosts)) in last {
            let Some(served_by) = input.snapshot.get(node).filter(|_| up.contains(&node)) else {
                continue;
            };
            let mut seen = hosts.to_vec();
            seen.sort();
            let expected = up_hosts(served_by, appid);
            if seen != expected {
                out.push(violation(
                    NAME,
                    at,
                    Some(node),
                    None,
                    format!(
                        "poller {poller}'s last view of {appid} was {seen:?}, but node {node} ends with {expected:?}"
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;
    use registry::api::Status;

    fn converged(run: &mut Run) {
        let mut waiting = instance("w");
        waiting.status = Status::Waiting;
        for node in 0..3 {
            run.hold(node, &instance("a"))
                .hold(node, &instance("b"))
                .hold(node, &waiting);
        }
    }

    #[test]
    fn a_stale_last_view_is_reported() {
        let mut run = Run::new(3);
        converged(&mut run);
        run.at(100)
            .liveness()
            .at(200)
            .client(viewed(5, 1, &["a", "b"]))
            .at(300)
            .client(viewed(5, 2, &["a"]));
        let found = run.check(&PollDelivery);
        assert_one(&found, NAME, Some(2), None);
        assert_eq!(found[0].at, SimTime::from_secs(300));
    }

    #[test]
    fn a_current_last_view_passes_and_earlier_or_non_core_views_do_not_count() {
        let mut run = Run::new(3);
        converged(&mut run);
        run.core = vec![0, 1];
        run.at(50)
            .client(viewed(5, 0, &["a"]))
            .client(viewed(6, 0, &["a"]))
            .at(100)
            .liveness()
            .at(200)
            .client(viewed(5, 1, &["a"]))
            .client(viewed(5, 0, &["b", "a"]))
            .client(viewed(5, 2, &["stale"]));
        assert!(run.check(&PollDelivery).is_empty());
    }
}
