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
//! Views are taken from the nodes' code-0 read replies (fetch, fetchs, poll, polls, fetch/all)
//! in the order the nodes served them: the order pollers record `Viewed` in can differ from
//! it, since replies take different times to reach them.

use std::collections::{BTreeMap, BTreeSet};

use registry::api::{InstanceKey, Request};

use super::support::{
    held, is_client_app, request_keys, served_views, up_core, violation, Lives, Requests,
};
use super::{CheckInput, Checker, Violation};
use crate::trace::{ClientEvent, TraceEvent};

/// A finally cancelled instance does not come back.
#[derive(Clone, Copy, Debug, Default)]
pub struct Resurrection;

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
        for (index, (at, event)) in input.trace.entries().iter().enumerate() {
            lives.observe(event);
            let answered = requests.observe(event);
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
                    if *cancel > index {
                        continue;
                    }
                    if !shown {
                        if served.contains(&life) {
                            absent.insert(life);
                        }
                    } else if absent.contains(&life) && reported.insert(life) {
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
        for key in cancels.keys() {
            for node in up_core(input) {
                if held(input, node, key).is_some() {
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

/// Each client-app instance whose last cancel is followed by no write: no `Wrote` record and no
/// register or set reaching any node. With the trace index of that cancel.
fn final_cancels(input: &CheckInput<'_>) -> BTreeMap<InstanceKey, usize> {
    let mut cancels: BTreeMap<InstanceKey, usize> = BTreeMap::new();
    for (index, (_, event)) in input.trace.entries().iter().enumerate() {
        match event {
            TraceEvent::Client(ClientEvent::Cancelled { key, .. }) if is_client_app(&key.appid) => {
                cancels.insert(key.clone(), index);
            }
            TraceEvent::Client(ClientEvent::Wrote { instance, .. }) => {
                cancels.remove(&InstanceKey::of(instance));
            }
            TraceEvent::Request { request, .. }
                if matches!(**request, Request::Register(_) | Request::Set(_)) =>
            {
                for key in request_keys(request) {
                    cancels.remove(&key);
                }
            }
            _ => {}
        }
    }
    cancels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;

    fn cancelled(host: &str) -> ClientEvent {
        ClientEvent::Cancelled {
            client: 0,
            node: 0,
            key: key(host),
        }
    }

    #[test]
    fn a_view_with_the_instance_after_one_without_it_is_reported() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(9, 1, &["a", "b"])
            .at(10)
            .client(cancelled("a"))
            .at(11)
            .served_poll(9, 1, &["b"])
            .at(12)
            .served_poll(9, 0, &["a", "b"])
            .at(13)
            .served_poll(9, 1, &["a", "b"]);
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
            .served_poll(9, 0, &["a"])
            .at(10)
            .client(cancelled("a"))
            .client(cancelled("c"))
            // Node 1 still has it (it has not seen the cancel yet), then loses it.
            .served_poll(9, 1, &["a"])
            .served_poll(9, 1, &[])
            // Node 0 forgot it, restarted, and a peer copy came back before the cancel did.
            .served_poll(9, 0, &[])
            .bounce(0)
            .served_poll(9, 0, &["a"])
            // "c" was registered again after its cancel: it may be seen again.
            .served_poll(9, 1, &["c"]);
        run.request(1, 1, register(&instance("c")));
        run.served_poll(9, 1, &["c"]).hold(0, &instance("c"));
        assert!(run.check(&Resurrection).is_empty());
    }

    #[test]
    fn a_node_that_never_had_the_instance_may_receive_a_stale_copy_late() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(9, 0, &["a"])
            .at(10)
            .client(cancelled("a"))
            // Node 1 never received the register; after the cancel it gets node 0's copy
            // (node 0 has not heard of the cancel), then the cancel.
            .served_poll(9, 1, &[])
            .served_poll(9, 1, &["a"])
            .served_poll(9, 1, &[]);
        assert!(run.check(&Resurrection).is_empty());
        // Had node 1 served the instance before, the same views are a resurrection.
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .served_poll(9, 1, &["a"])
            .at(10)
            .client(cancelled("a"))
            .served_poll(9, 1, &[])
            .served_poll(9, 1, &["a"]);
        assert_one(&run.check(&Resurrection), NAME, Some(1), Some(&key("a")));
    }
}
