//! Poll delivery: each poller's last view of an app from a core node, taken in the liveness
//! phase, equals that node's view of the app at the deadline: long-polls deliver every change.
//! (Whether the core nodes agree with each other is the convergence checker's business; judging
//! the poller by the node it polled keeps a dead instance that only a protected node still
//! holds from being blamed on the poll.)
//!
//! A view counts once the node serves it (answers the poll), whether or not the answer reached
//! the poller before the deadline: a change at the deadline itself (swarm seed 469494001081:
//! an eviction round on the deadline's tick) is answered at once but cannot arrive in time,
//! and the network's delay is not the poll's fault. A node that never answers the change is
//! still reported. Only the answer to a poller's latest poll counts: one to a poll it gave up
//! on when it moved to another node is never read (swarm seed 218006).

use registry::api::SmolStr;
use std::collections::BTreeMap;

use super::support::{
    is_client_app, liveness_index, served_views, up_core, up_hosts, violation, Requests,
};
use super::{CheckInput, Checker, Violation};
use crate::id::ClientId;
use crate::time::SimTime;
use crate::trace::{ClientEvent, TraceEvent};

/// Every poller's last liveness-phase view (from a core node) equals that node's final view.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PollDelivery;

const NAME: &str = "poll_delivery";

impl Checker for PollDelivery {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let up = up_core(input);
        let start = liveness_index(input);
        // (poller, app) -> (time, node, hosts) of its last view, received or served.
        let mut last: BTreeMap<(usize, SmolStr), (SimTime, usize, Vec<SmolStr>)> = BTreeMap::new();
        let mut requests = Requests::default();
        // Poller client -> its latest poll: the highest id, as ids are given in send order and
        // an abandoned poll can arrive after a newer one (swarm seed 303348000861).
        let mut latest: BTreeMap<ClientId, u64> = BTreeMap::new();
        for (index, (at, event)) in input.trace.entries().iter().enumerate() {
            let answered = requests.observe(event);
            if let TraceEvent::Request { client, id, .. } = event {
                let newest = latest.entry(*client).or_default();
                *newest = (*newest).max(*id);
            }
            if index < start {
                continue;
            }
            match (event, answered) {
                (
                    TraceEvent::Client(ClientEvent::Viewed {
                        poller,
                        node,
                        appid,
                        hosts,
                    }),
                    _,
                ) if input.core.contains(node) && is_client_app(appid) => {
                    last.insert((*poller, appid.clone()), (*at, *node, hosts.to_vec()));
                }
                (
                    TraceEvent::Reply {
                        node,
                        client: client @ ClientId::Poller(poller),
                        id,
                        reply,
                    },
                    Some(request),
                ) if input.core.contains(node) && latest.get(client) == Some(id) => {
                    for (appid, hosts) in served_views(request, reply) {
                        if is_client_app(&appid) {
                            last.insert((*poller, appid), (*at, *node, hosts));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for ((poller, appid), (at, node, hosts)) in last {
            let Some(served_by) = input.snapshot.get(node).filter(|_| up.contains(&node)) else {
                continue;
            };
            let mut seen = hosts;
            seen.sort();
            let expected = up_hosts(served_by, &appid);
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

    #[test]
    fn a_view_served_at_the_deadline_counts_though_it_arrives_after() {
        // Swarm seed 469494001081: the node answered the parked poll with an eviction made
        // on the deadline's tick; the answer could not reach the poller in time.
        let served = |hosts: &[&str]| {
            let mut run = Run::new(3);
            converged(&mut run);
            run.at(100)
                .liveness()
                .at(200)
                .client(viewed(5, 1, &["a"]))
                .at(300)
                .served_poll(poller(5), 1, hosts);
            run.check(&PollDelivery)
        };
        assert!(served(&["a", "b"]).is_empty());
        // The defect it resembles: the node answered with a view it does not end with.
        assert_one(&served(&["a"]), NAME, Some(1), None);
    }

    #[test]
    fn an_answer_to_a_poll_the_poller_gave_up_on_is_not_its_view() {
        // Swarm seed 218006: the poller moved from node 1 to node 2 and took node 2's view;
        // node 1 then answered the abandoned poll with a view it changed later.
        let mut run = Run::new(3);
        converged(&mut run);
        run.at(100).liveness().at(200);
        let abandoned = run.request(poller(5), 1, poll());
        run.served_poll(poller(5), 2, &["a", "b"])
            .client(viewed(5, 2, &["a", "b"]))
            .at(300)
            .reply(1, poller(5), abandoned, app_reply(&["a"]));
        assert!(run.check(&PollDelivery).is_empty());
        // Seed 303348000861: an abandoned poll held up in the network arrives after the newer
        // one, and its answer is not the poller's view either.
        // (Id 0 comes before every id `Run` gives out: it was sent first.)
        run.served_poll(poller(5), 2, &["a", "b"]);
        run.event(TraceEvent::Request {
            client: poller(5),
            node: 1,
            id: 0,
            request: Box::new(poll()),
        })
        .reply(1, poller(5), 0, app_reply(&["a"]));
        assert!(run.check(&PollDelivery).is_empty());
    }
}
