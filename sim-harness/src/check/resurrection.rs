//! No resurrection: once a client's cancel is final, a node incarnation that served the
//! instance and then, after the cancel, a view without it never serves one with it again, and
//! the core does not hold it.
//!
//! A node that never served the instance is not bound: it may simply never have received it
//! (its register was lost on the way), and anti-entropy may later bring it the copy of a peer
//! that has not heard of the cancel either (the cancel waits behind a partition). That is the
//! copy spreading late, which an available-under-partition registry cannot rule out, not a
//! cancel undone.
//!
//! A view without the instance counts as its absence only once that incarnation of the node
//! has received the cancel (answered it 0, acknowledged a replicated cancel, or been handed a
//! tombstone by anti-entropy or startup sync): before that, a view may lack the instance for
//! other reasons (it was WAITING, which views leave out, or its lease ran out there), and a
//! later write of the client that reaches the node before its cancel (the instance set UP
//! again, then cancelled) shows it again in the client's own order (swarm seed 368).
//!
//! A copy that outranks the cancel by design (`causality::outranks_cancel`: a concurrent write
//! whose node's clock ran ahead of the cancel's) may be served again, as it may be held.
//! A cancel lost by design (`causality::cancel_lost`: it died with the nodes that held it, or
//! a concurrent write outranks it) leaves a dead instance, which a protected node may hold at
//! the deadline like any other.
//!
//! Views are taken from the nodes' code-0 read replies (fetch, fetchs, poll, polls, fetch/all)
//! in the order the nodes served them: the order pollers record `Viewed` in can differ from
//! it, since replies take different times to reach them.

use std::collections::{BTreeMap, BTreeSet};

use registry::api::{Code, InstanceKey, Request};

use super::causality::{cancel_lost, cancels_carried, outranks_cancel};
use super::support::{
    held, is_client_app, may_hold_dead, served_copy, served_views, up_core, violation, Lives,
    Requests,
};
use super::{CheckInput, Checker, Violation};
use crate::trace::{ClientEvent, TraceEvent};

/// A finally cancelled instance does not come back.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Resurrection;

const NAME: &str = "resurrection";

impl Checker for Resurrection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let cancels = final_cancels(input);
        let mut out = Vec::new();
        let mut lives = Lives::default();
        let mut requests = Requests::default();
        // (node, incarnation, key): served a view with the instance (at any time).
        let mut served: BTreeSet<(usize, u64, &InstanceKey)> = BTreeSet::new();
        // (node, incarnation, key): served it, then a view without it after its cancel.
        let mut absent: BTreeSet<(usize, u64, &InstanceKey)> = BTreeSet::new();
        let mut reported: BTreeSet<(usize, u64, &InstanceKey)> = BTreeSet::new();
        // (node, incarnation, key): the node has received the cancel.
        let mut told: BTreeSet<(usize, u64, &InstanceKey)> = BTreeSet::new();
        for (index, (at, event)) in input.trace.entries().iter().enumerate() {
            lives.observe(event);
            let answered = requests.observe(event);
            for (node, key) in cancels_received(event, answered, &cancels) {
                told.insert((node, lives.incarnation(node), key));
            }
            let (TraceEvent::Reply { node, reply, .. }, Some(request)) = (event, answered) else {
                continue;
            };
            let incarnation = lives.incarnation(*node);
            for (appid, hosts) in served_views(request, reply) {
                for (key, cancel) in cancels.iter().filter(|(k, _)| k.appid == appid) {
                    let life = (*node, incarnation, key);
                    let shown = hosts.contains(&key.hostname);
                    if shown {
                        served.insert(life);
                    }
                    if cancel.index > index {
                        continue;
                    }
                    if !shown {
                        if served.contains(&life) && told.contains(&life) {
                            absent.insert(life);
                        }
                    } else if absent.contains(&life)
                        && !served_copy(reply, key).is_some_and(|copy| {
                            outranks_cancel(input, cancel.node, key, cancel.request, copy)
                        })
                        && reported.insert(life)
                    {
                        out.push(violation(
                            NAME,
                            *at,
                            Some(*node),
                            Some(key),
                            "the node served the cancelled instance again after serving a view without it".to_string(),
                        ));
                    }
                }
            }
        }
        for (key, cancel) in &cancels {
            for node in up_core(input) {
                let Some(copy) = held(input, node, key) else {
                    continue;
                };
                if !(may_hold_dead(input, node)
                    && cancel_lost(input, cancel.node, key, cancel.request, copy))
                {
                    out.push(violation(
                        NAME,
                        input.deadline,
                        Some(node),
                        Some(key),
                        "the node holds an instance whose cancel was final at the deadline"
                            .to_string(),
                    ));
                }
            }
        }
        out
    }
}

/// A client's acknowledged cancel: where its record is in the trace, and which node answered
/// which request.
struct Cancel {
    index: usize,
    node: usize,
    request: u64,
}

/// Each client-app instance whose last cancel is followed by no write: no `Wrote` record and no
/// register or set reaching any node.
fn final_cancels(input: &CheckInput<'_>) -> BTreeMap<InstanceKey, Cancel> {
    let mut cancels: BTreeMap<InstanceKey, Cancel> = BTreeMap::new();
    for (index, (_, event)) in input.trace.entries().iter().enumerate() {
        match event {
            TraceEvent::Client(ClientEvent::Cancelled {
                key, node, request, ..
            }) if is_client_app(&key.appid) => {
                let cancel = Cancel {
                    index,
                    node: *node,
                    request: *request,
                };
                cancels.insert(key.clone(), cancel);
            }
            TraceEvent::Client(ClientEvent::Wrote { instance, .. }) => {
                cancels.remove(&InstanceKey::of(instance));
            }
            TraceEvent::Request { request, .. }
                if matches!(**request, Request::Register(_) | Request::Set(_)) =>
            {
                for key in request.instance_keys() {
                    cancels.remove(&key);
                }
            }
            _ => {}
        }
    }
    cancels
}

/// The nodes `event` tells of a finally cancelled instance's cancel: a client cancel answered
/// 0 (`answered` is the request a reply answers), a replicated cancel or a tombstone delivered.
fn cancels_received<'a>(
    event: &TraceEvent,
    answered: Option<&Request>,
    cancels: &'a BTreeMap<InstanceKey, Cancel>,
) -> Vec<(usize, &'a InstanceKey)> {
    let known = |key: &InstanceKey| cancels.get_key_value(key).map(|(k, _)| k);
    match (event, answered) {
        (TraceEvent::Reply { node, reply, .. }, Some(request @ Request::Cancel(_)))
            if reply.code == Code::Ok =>
        {
            request
                .instance_keys()
                .iter()
                .filter_map(known)
                .map(|k| (*node, k))
                .collect()
        }
        (TraceEvent::PeerDelivered { to, message, .. }, _) => cancels_carried(message)
            .into_iter()
            .filter_map(|(key, _)| known(key))
            .map(|k| (*to, k))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;
    use registry::api::PeerMessage;

    fn cancelled(host: &str) -> ClientEvent {
        ClientEvent::Cancelled {
            client: client(0),
            node: 0,
            request: 0,
            key: key(host),
        }
    }

    #[test]
    fn a_view_with_the_instance_after_one_without_it_is_reported() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(client(9), 1, &["a", "b"])
            .at(10)
            .client(cancelled("a"));
        run.replicated_cancel(0, 1, "a");
        run.at(11)
            .served_poll(client(9), 1, &["b"])
            .at(12)
            .served_poll(client(9), 0, &["a", "b"])
            .at(13)
            .served_poll(client(9), 1, &["a", "b"]);
        let found = run.check(&Resurrection);
        assert_one(&found, NAME, Some(1), Some(&key("a")));
        assert_eq!(found[0].at, crate::time::SimTime::from_secs(13));
    }

    #[test]
    fn a_finally_cancelled_instance_held_at_the_deadline_is_reported() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .client(cancelled("a"))
            .hold(0, &instance("a"));
        assert_one(&run.check(&Resurrection), NAME, Some(0), Some(&key("a")));
    }

    #[test]
    fn lagging_views_new_incarnations_and_re_registrations_pass() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .client(wrote(1, &instance("c")))
            // A view with "a" served before the cancel does not count.
            .served_poll(client(9), 0, &["a"])
            .at(10)
            .client(cancelled("a"))
            .client(cancelled("c"))
            // Node 1 still has it (it has not seen the cancel yet), then loses it.
            .served_poll(client(9), 1, &["a"])
            .served_poll(client(9), 1, &[])
            // Node 0 forgot it, restarted, and a peer copy came back before the cancel did.
            .served_poll(client(9), 0, &[])
            .bounce(0)
            .served_poll(client(9), 0, &["a"])
            // "c" was registered again after its cancel: it may be seen again.
            .served_poll(client(9), 1, &["c"]);
        run.request(client(1), 1, register(&instance("c")));
        run.served_poll(client(9), 1, &["c"])
            .hold(0, &instance("c"));
        assert!(run.check(&Resurrection).is_empty());
    }

    #[test]
    fn a_node_that_never_had_the_instance_may_receive_a_stale_copy_late() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(client(9), 0, &["a"])
            .at(10)
            .client(cancelled("a"))
            // Node 1 never received the register; after the cancel it gets node 0's copy
            // (node 0 has not heard of the cancel), then the cancel.
            .served_poll(client(9), 1, &[])
            .served_poll(client(9), 1, &["a"])
            .served_poll(client(9), 1, &[]);
        assert!(run.check(&Resurrection).is_empty());
        // Had node 1 served the instance before, the same views are a resurrection.
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(client(9), 1, &["a"])
            .at(10)
            .client(cancelled("a"));
        run.replicated_cancel(0, 1, "a");
        run.served_poll(client(9), 1, &[])
            .served_poll(client(9), 1, &["a"]);
        assert_one(&run.check(&Resurrection), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn a_view_without_the_instance_before_the_node_heard_of_the_cancel_binds_nothing() {
        // Swarm seed 368: the instance was WAITING (views list UP instances only), the client
        // set it UP and then cancelled it; the node got the set before the cancel.
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(client(9), 1, &["a"])
            .at(10)
            .client(cancelled("a"))
            .served_poll(client(9), 1, &[])
            .served_poll(client(9), 1, &["a"]);
        assert!(run.check(&Resurrection).is_empty());
        // Once it had the cancel (a tombstone by anti-entropy, here), showing it again is a
        // cancel undone.
        run.event(TraceEvent::PeerDelivered {
            from: 0,
            to: 1,
            message: PeerMessage::Repair {
                apps: vec![registry::api::AppState {
                    app: key("a").app(),
                    instances: vec![],
                    tombstones: vec![registry::api::Tombstone {
                        key: key("a"),
                        dirty_timestamp: 9,
                    }],
                }],
                sent_at: 0,
            },
        });
        run.served_poll(client(9), 1, &[])
            .served_poll(client(9), 1, &["a"]);
        assert_one(&run.check(&Resurrection), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn a_cancel_lost_with_its_node_leaves_a_dead_instance() {
        // Swarm seed 568: node 1 took the cancel while cut off and crashed before passing it
        // on; protected node 0 keeps the dead instance, as it would after a client's death.
        let check = |told, protected| Run::cancel_taken_by_a_node_that_crashed(told, protected);
        assert!(check(false, true).check(&Resurrection).is_empty());
        // Unprotected, it should have been evicted by the deadline.
        let found = check(false, false).check(&Resurrection);
        assert_one(&found, NAME, Some(0), Some(&key("a")));
        // The defect it resembles: the cancel reached node 0, which still holds the instance.
        let found = check(true, true).check(&Resurrection);
        assert_one(&found, NAME, Some(0), Some(&key("a")));
    }

    #[test]
    fn a_cancel_is_lost_with_its_node_even_if_an_older_copy_left_it() {
        // Swarm seed 40486: node 1 took the register and the cancel; a batch queued before the
        // cancel carried the register's copy to node 0 after it; node 1 crashed before the
        // cancel followed. Node 0 was handed the instance, never the cancel.
        let build = |cancel_followed: bool| {
            let mut run = Run::new(2);
            run.write(1, 1, &instance("a"), true)
                .cancel(2, 1, "a")
                .put(1, 0, &instance("a"))
                .fault(crate::fault::Fault::Crash { node: 1 });
            if cancel_followed {
                // Sent before the crash, delivered after it.
                run.replicated_cancel(1, 0, "a");
            }
            run.hold(0, &instance("a"));
            run.snapshot[1].up = false;
            run.snapshot[0].protected = true;
            run.check(&Resurrection)
        };
        assert!(build(false).is_empty());
        // The defect it resembles: the cancel's version reached node 0 too (here in a batch
        // still in flight when node 1 crashed).
        assert_one(&build(true), NAME, Some(0), Some(&key("a")));
    }

    /// Node `node` answers a poll of `APP` with `copy` (UP) in it.
    fn serves(run: &mut Run, node: usize, copy: &registry::api::Instance) {
        let id = run.request(client(9), node, poll());
        let mut info = registry::api::InstanceInfo::default();
        info.instances.insert("zone0".into(), vec![copy.clone()]);
        run.reply(
            node,
            client(9),
            id,
            registry::api::Reply::ok(registry::api::Data::App(info.into())),
        );
    }

    #[test]
    fn a_concurrent_write_stamped_above_the_cancel_may_be_served_again() {
        // Swarm seeds 13499 and 16350: the client registered through node 0 (its clock ahead,
        // stamp 20) while node 1, cut off from it, held an older copy; it then cancelled
        // through node 1 (stamp 9). After the heal node 0's copy outranks the tombstone.
        // Seed 69534: the cancel may never leave node 1 (cut off one way); the version node 1
        // gave it is known all the same.
        let build = |stamp: i64, seen_first: bool, cancel_left: bool| {
            let ahead = colored("a", "x", stamp);
            let mut run = Run::new(2);
            run.write(1, 1, &instance("a"), true);
            serves(&mut run, 1, &instance("a"));
            run.write(2, 0, &ahead, true);
            if seen_first {
                run.put(0, 1, &ahead);
            }
            run.cancel(3, 1, "a");
            if cancel_left {
                run.replicated_cancel(1, 0, "a");
            }
            run.served_poll(client(9), 1, &[]);
            run.put(0, 1, &ahead);
            serves(&mut run, 1, &ahead);
            run.check(&Resurrection)
        };
        for cancel_left in [true, false] {
            assert!(build(20, false, cancel_left).is_empty());
            // The defects it resembles: a copy below the cancel (its tombstone dropped
            // early)...
            let found = build(5, false, cancel_left);
            assert_one(&found, NAME, Some(1), Some(&key("a")));
            // ...and a copy node 1 had when it took the cancel (its clock must order the
            // cancel after it).
            let found = build(20, true, cancel_left);
            assert_one(&found, NAME, Some(1), Some(&key("a")));
        }
    }
}
