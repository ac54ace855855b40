//! Oracle agreement: at the deadline the core holds what each client last did: its last write,
//! nothing after its cancel, and nothing after its death unless the node is protected. A
//! cancel lost by design (`causality::cancel_lost`: it died with the nodes that held it, or a
//! concurrent write outranks it) leaves a dead instance, judged like a death.
//!
//! This is also the durability check: an acknowledged write, status or metadata, that a client
//! still believes in and no core node holds is reported, whether or not the client is alive.
//! The one loss excused is a write that died with the only node it reached
//! (`causality::lost_with_its_node`): a node answers once it applied a write, and replicates it
//! after. A careful client repairs that loss itself; a Go-SDK-like one never notices. Such a
//! client's last write may also lose to its own earlier one taken by another node that had
//! not exchanged it, when the clocks of the two ordered them backwards
//! (`causality::overtaken_concurrently`; see `session_order.rs`); for a careful client, which
//! reads back and repairs, that is reported.

use std::collections::BTreeMap;

use registry::api::InstanceKey;

use super::causality::{cancel_lost, lost_with_its_node, overtaken_concurrently};
use super::support::{
    content, held, is_client_app, may_hold_dead, same_content, up_core, violation,
};
use super::{CheckInput, Checker, Violation};
use crate::id::ClientId;
use crate::trace::{ClientEvent, TraceEvent};

/// Every up core node agrees with each client's last oracle record.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Oracle;

const NAME: &str = "oracle";

impl Checker for Oracle {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        // Each client's last Wrote, Cancelled or Died record (pollers' views are not writes).
        let mut last: BTreeMap<ClientId, &ClientEvent> = BTreeMap::new();
        for (_, event) in input.trace.entries() {
            if let TraceEvent::Client(record) = event {
                match record {
                    ClientEvent::Wrote { client, .. }
                    | ClientEvent::Cancelled { client, .. }
                    | ClientEvent::Died { client, .. } => {
                        last.insert(*client, record);
                    }
                    ClientEvent::Viewed { .. } | ClientEvent::AtLimit { .. } => {}
                }
            }
        }
        let core = up_core(input);
        let mut out = Vec::new();
        for (client, record) in last {
            for &node in &core {
                if let Some((key, why)) = disagreement(input, node, client, record) {
                    out.push(violation(NAME, input.deadline, Some(node), Some(&key), why));
                }
            }
        }
        out
    }
}

/// How `node`'s final state contradicts `client`'s last record, if it does.
fn disagreement(
    input: &CheckInput<'_>,
    node: usize,
    client: ClientId,
    record: &ClientEvent,
) -> Option<(InstanceKey, String)> {
    let protected = may_hold_dead(input, node);
    match record {
        ClientEvent::Wrote {
            instance,
            node: answered_by,
            request,
            reads_back,
            ..
        } => {
            let key = InstanceKey::of(instance);
            if !is_client_app(&key.appid) {
                return None;
            }
            match held(input, node, &key) {
                None => Some((
                    key,
                    format!(
                        "client {client} last wrote {} but the node holds no copy",
                        content(instance)
                    ),
                )),
                Some(copy)
                    if !same_content(copy, instance)
                        && !lost_with_its_node(input, *answered_by, &key, *request)
                        && (*reads_back
                            || !overtaken_concurrently(input, *answered_by, *request, copy)) =>
                {
                    Some((
                        key,
                        format!(
                            "client {client} last wrote {} but the node holds {}",
                            content(instance),
                            content(copy)
                        ),
                    ))
                }
                Some(_) => None,
            }
        }
        ClientEvent::Cancelled {
            key,
            node: answered_by,
            request,
            ..
        } => held(input, node, key)
            .filter(|copy| {
                is_client_app(&key.appid)
                    && !(protected && cancel_lost(input, *answered_by, key, *request, copy))
            })
            .map(|_| {
                (
                    key.clone(),
                    format!(
                        "client {client} cancelled the instance last but the node still holds it"
                    ),
                )
            }),
        ClientEvent::Died { key, .. } => (is_client_app(&key.appid)
            && !protected
            && held(input, node, key).is_some())
        .then(|| {
            (
                key.clone(),
                format!("client {client} died but the node, neither protected nor evicting at its cap, still holds its instance"),
            )
        }),
        ClientEvent::Viewed { .. } | ClientEvent::AtLimit { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;
    use registry::api::Code;

    #[test]
    fn a_stale_or_missing_last_write_is_reported() {
        let mut run = Run::new(2);
        run.client(wrote(0, &colored("a", "red", 1)))
            .client(wrote(0, &colored("a", "blue", 2)))
            .hold(0, &colored("a", "blue", 2))
            .hold(1, &colored("a", "red", 1));
        assert_one(&run.check(&Oracle), NAME, Some(1), Some(&key("a")));
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a"))).hold(0, &instance("a"));
        assert_one(&run.check(&Oracle), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn an_acknowledged_write_is_lost_only_with_the_only_node_it_reached() {
        // go-sdk-clients seed 1: node 0 answered blue and crashed 3 ms later, before its batch
        // left; node 1 keeps red, and the client, which never reads back its writes, lives on.
        let (red, blue) = (colored("a", "red", 10), colored("a", "blue", 20));
        let lost = |reached_node_1: bool| {
            let mut run = Run::new(2);
            run.write(1, 0, &red, true)
                .put(0, 1, &red)
                .write(2, 0, &blue, true);
            if reached_node_1 {
                run.put(0, 1, &blue);
            }
            run.fault(crate::fault::Fault::Crash { node: 0 });
            run.hold(1, &red);
            run.snapshot[0].up = false;
            run.check(&Oracle)
        };
        assert_eq!(lost(false), vec![]);
        // The defect it resembles: blue reached node 1, which lost it.
        assert_one(&lost(true), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn a_last_write_overtaken_by_a_concurrent_one_is_excused_only_for_blind_clients() {
        // Swarm seed 84: red at node 0, then blue at node 1, which had never heard of red and
        // whose clock was behind; red wins everywhere.
        let check = |reads_back, node_1_had_red| {
            red_overtakes_blue(reads_back, node_1_had_red).check(&Oracle)
        };
        // A client like bilibili's Go SDK sends nothing to order its writes by, and never
        // reads them back: the nodes' clocks ordered them.
        assert_eq!(check(false, false), vec![]);
        // A careful client would have repaired it.
        assert_eq!(check(true, false).len(), 2);
        // The defect it resembles: node 1 had red, so its hybrid clock must order blue after.
        assert_eq!(check(false, true).len(), 2);
    }

    #[test]
    fn a_cancel_lost_with_its_node_is_judged_like_a_death() {
        // Swarm seed 568: node 1 took the cancel while cut off and crashed before passing it
        // on; protected node 0 keeps the dead instance, as it would after a client's death.
        let check = |told, protected| Run::cancel_taken_by_a_node_that_crashed(told, protected);
        assert!(check(false, true).check(&Oracle).is_empty());
        // Unprotected, it should have been evicted by the deadline.
        let found = check(false, false).check(&Oracle);
        assert_one(&found, NAME, Some(0), Some(&key("a")));
        // The defect it resembles: the cancel reached node 0 before the crash.
        let found = check(true, true).check(&Oracle);
        assert_one(&found, NAME, Some(0), Some(&key("a")));
    }

    #[test]
    fn a_cancel_lost_with_every_node_that_had_it_is_judged_like_a_death() {
        // Swarm seed 3243: node 1 took the cancel and passed it to node 2 only; both crashed.
        let lost = |survivor: bool| {
            let mut run = Run::new(4);
            run.write(1, 0, &instance("a"), true)
                .cancel(2, 1, "a")
                .replicated_cancel(1, 2, "a");
            if survivor {
                run.replicated_cancel(2, 3, "a");
            }
            run.fault(crate::fault::Fault::Crash { node: 1 })
                .fault(crate::fault::Fault::Crash { node: 2 })
                .hold(0, &instance("a"));
            run.core = vec![0, 3];
            run.snapshot[0].protected = true;
            run.check(&Oracle)
        };
        assert_eq!(lost(false), vec![]);
        // The defect it resembles: node 3 got the cancel and survived; node 0 never did.
        assert_one(&lost(true), NAME, Some(0), Some(&key("a")));
    }

    #[test]
    fn a_cancel_outranked_by_a_concurrent_write_is_judged_like_a_death() {
        // Swarm seeds 911 and 2173: a register stamped 200 on node 0 (its clock ahead), then a
        // cancel on node 1, cut off from node 0, stamped 100; after the heal the copy wins.
        let run = |node_1_had_it: bool, protected: bool| {
            let ahead = colored("a", "red", 200);
            let mut run = Run::new(3);
            run.write(1, 0, &ahead, true);
            if node_1_had_it {
                run.put(0, 1, &ahead);
            }
            // Swarm seed 47601: a node that never had the instance answers the cancel -404.
            let answer = if node_1_had_it {
                Code::Ok
            } else {
                Code::NothingFound
            };
            run.cancel_answered(2, 1, "a", answer)
                .event(TraceEvent::PeerDelivered {
                    from: 1,
                    to: 2,
                    message: registry::api::PeerMessage::Replicate {
                        batch: 1,
                        forward: false,
                        ops: vec![registry::api::ReplicatedOp::Write(
                            registry::api::Version::Tombstone(registry::api::Tombstone {
                                key: key("a"),
                                dirty_timestamp: 100,
                            }),
                        )
                        .into()],
                        sent_at: 0,
                    },
                })
                .put(0, 2, &ahead)
                .hold(2, &ahead);
            run.snapshot[2].protected = protected;
            run.check(&Oracle)
        };
        assert!(run(false, true).is_empty());
        // Unprotected, the dead copy should have been evicted.
        assert_one(&run(false, false), NAME, Some(2), Some(&key("a")));
        // The defect it resembles: node 1 had the copy, so its hybrid clock must have stamped
        // the cancel above it.
        assert_one(&run(true, true), NAME, Some(2), Some(&key("a")));
    }

    #[test]
    fn a_cancelled_or_dead_instance_still_held_is_reported() {
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .client(ClientEvent::Cancelled {
                client: client(0),
                node: 0,
                request: 0,
                key: key("a"),
            })
            .hold(1, &instance("a"));
        assert_one(&run.check(&Oracle), NAME, Some(1), Some(&key("a")));
        // Protection alone does not excuse a cancelled instance...
        run.snapshot[1].protected = true;
        assert_one(&run.check(&Oracle), NAME, Some(1), Some(&key("a")));
        // ...nor is a copy brought back by the client's own register or set, delayed past its
        // cancel (a request it gave up on, read late by a paused node): nodes refuse such
        // requests (`[stall]`), so no excuse covers them (swarm seed 91 without that refusal).
        let mut delayed_register = run.clone();
        delayed_register.request(client(0), 1, register(&instance("a")));
        assert_one(
            &delayed_register.check(&Oracle),
            NAME,
            Some(1),
            Some(&key("a")),
        );
        run.request(client(0), 1, set_status("a"));
        assert_one(&run.check(&Oracle), NAME, Some(1), Some(&key("a")));
        let mut run = Run::new(2);
        run.client(wrote(0, &instance("a")))
            .client(ClientEvent::Died {
                client: client(0),
                key: key("a"),
            })
            .hold(0, &instance("a"))
            .hold(1, &instance("a"));
        run.snapshot[1].protected = true;
        assert_one(&run.check(&Oracle), NAME, Some(0), Some(&key("a")));
    }

    #[test]
    fn a_node_evicting_at_its_cap_may_still_hold_dead_instances() {
        let round = |expired, cap| registry::core::NodeEvent::EvictionRound {
            registry_size: 20,
            expired,
            cap,
            evicted: cap.min(expired),
            protected: false,
        };
        let mut run = Run::new(2);
        run.client(ClientEvent::Died {
            client: client(0),
            key: key("a"),
        })
        .hold(1, &instance("a"));
        run.node(1, round(2, 3));
        assert_one(&run.check(&Oracle), NAME, Some(1), Some(&key("a")));
        run.node(1, round(9, 3)); // more expired than it may evict: still catching up
        assert!(run.check(&Oracle).is_empty());
    }

    #[test]
    fn agreeing_nodes_pass() {
        let mut run = Run::new(2);
        let mut renewed = colored("a", "blue", 7);
        renewed.renew_timestamp = 1234;
        run.client(wrote(0, &colored("a", "red", 1)))
            .client(wrote(0, &colored("a", "blue", 2)))
            .client(wrote(1, &instance("b")))
            .client(ClientEvent::Cancelled {
                client: client(1),
                node: 0,
                request: 0,
                key: key("b"),
            })
            .client(wrote(2, &instance("c")))
            .client(ClientEvent::Died {
                client: client(2),
                key: key("c"),
            })
            .client(viewed(3, 0, &["a"]))
            .hold(0, &renewed)
            .hold(1, &renewed)
            .hold(1, &instance("c"));
        run.snapshot[1].protected = true;
        assert!(run.check(&Oracle).is_empty());
    }
}
