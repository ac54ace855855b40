//! Session order: no core node ends with a client's earlier write instead of its last one,
//! whatever the clocks said (a last-writer-wins ordering bug shows up here); and no node ever
//! refuses a client's write as older than what it holds (-409). A node stamps a client write
//! with its hybrid clock, above every version it has seen, so the write it takes always wins
//! there; a -409 means the clock ordered the write into the past. A register its client
//! stamped (Eureka's `lastDirtyTimestamp`) is the exception: it is ordered by the client's
//! stamp, so a -409 from a node that had been handed a version stamped as late or later is the
//! answer the client's clock earned; refused by a node that held nothing as late, it is
//! reported (tested below).
//!
//! Three outcomes look like a reverted write and are the design's, not a defect; each is
//! excused only on the trace's evidence (`causality.rs`), and each has a test below showing
//! that the defect it resembles is still reported:
//! - **An unanswered later write.** The copy comes from a write the client sent after its last
//!   acknowledged one and never saw answered (it timed out, say at a paused node, and the
//!   client died). A request without an answer may or may not take effect; the client's last
//!   word is that request, not the acknowledged write. A *stale* request (sent before the
//!   acknowledged write, applied after it) is not excused.
//! - **Concurrent writes.** The client repairs nothing (it is gone, or like bilibili's Go SDK
//!   it never reads back its writes), and the node that took its last write had never been
//!   handed the version that beat it, which another node stamped before: two nodes that
//!   cannot talk order writes by their own clocks, so under skew the later write can carry
//!   the smaller stamp (a partition and a few seconds of skew suffice; swarm seed 84: a
//!   register on one node, then 2.5 s later a set answered -404 and a re-register on a node
//!   3 s behind that had not yet heard of it). A client that sends nothing the node could
//!   order by leaves the registry only the nodes' clocks; a careful client repairs this
//!   itself, as it re-registers when a renew answer shows other content, so for it this is
//!   reported. When the node had seen the older version, its hybrid clock must order the
//!   write after it: reported. A client that stamps its own writes off a coarse clock can give
//!   two of them one stamp, which nothing orders but the content tie-break every node applies
//!   (`registry::core::copy_beats`): the later one may lose to the earlier if its node had not
//!   been handed that one (eureka-clients seed 246); had it been, it had to refuse the later
//!   write, and holding the earlier is reported (`causality::had_seen`).
//! - **Lost with its node.** Its last write never left the node that acknowledged it before
//!   that node crashed: writes are answered once applied locally and replicated afterwards (as
//!   in bilibili/discovery and Eureka). The client may still be alive: a careful one repairs
//!   this when a renew shows other content, one like bilibili's Go SDK never looks, so the loss
//!   stays (scenario `go-sdk-clients`). A write that reached any other node is not excused.

use std::collections::{BTreeMap, BTreeSet};

use registry::api::{Code, Instance, InstanceKey, Request};

use super::causality::{for_each_version, lost_with_its_node, origin_of, overtaken_concurrently};
use super::support::{
    content, held, is_client_app, same_content, up_core, violation, Change, Lives,
};
use super::{CheckInput, Checker, Violation};
use crate::id::ClientId;
use crate::trace::{ClientEvent, TraceEvent};

/// An up core node's copy never matches an earlier write of a client but not its last.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SessionOrder;

const NAME: &str = "session_order";

/// An acknowledged write: the request, the node that answered it, what was written.
struct Write<'a> {
    request: u64,
    node: usize,
    instance: &'a Instance,
}

impl Checker for SessionOrder {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let mut out = refused_client_writes(input);
        let mut writes: BTreeMap<ClientId, Vec<Write<'_>>> = BTreeMap::new();
        let mut gone: BTreeSet<ClientId> = BTreeSet::new();
        // Clients that never read back their writes: like the gone, they repair nothing.
        let mut blind: BTreeSet<ClientId> = BTreeSet::new();
        for (_, event) in input.trace.entries() {
            match event {
                TraceEvent::Client(ClientEvent::Wrote {
                    client,
                    node,
                    request,
                    instance,
                    reads_back,
                }) => {
                    writes.entry(*client).or_default().push(Write {
                        request: *request,
                        node: *node,
                        instance,
                    });
                    if !reads_back {
                        blind.insert(*client);
                    }
                }
                TraceEvent::Client(
                    ClientEvent::Died { client, .. } | ClientEvent::Cancelled { client, .. },
                ) => {
                    gone.insert(*client);
                }
                _ => {}
            }
        }
        let core = up_core(input);
        for (client, writes) in writes {
            let Some((last, earlier)) = writes.split_last() else {
                continue;
            };
            let key = InstanceKey::of(last.instance);
            if !is_client_app(&key.appid) {
                continue;
            }
            // Only earlier writes of the same instance can be reverted to.
            let earlier: Vec<&Instance> = earlier
                .iter()
                .map(|w| w.instance)
                .filter(|w| InstanceKey::of(w) == key)
                .collect();
            for &node in &core {
                let Some(copy) = held(input, node, &key) else {
                    continue;
                };
                if same_content(copy, last.instance)
                    || !earlier.iter().any(|w| same_content(copy, w))
                    || excused(
                        input,
                        last,
                        copy,
                        gone.contains(&client) || blind.contains(&client),
                    )
                {
                    continue;
                }
                out.push(violation(
                    NAME,
                    input.deadline,
                    Some(node),
                    Some(&key),
                    format!(
                        "reverted to an earlier write of client {client}: holds {} but its last write was {}",
                        content(copy),
                        content(last.instance)
                    ),
                ));
            }
        }
        out
    }
}

/// Whether the trace shows the held `copy` to be one of the module's three design
/// outcomes rather than a reverted `last` write. No evidence, no excuse.
fn excused(
    input: &CheckInput<'_>,
    last: &Write<'_>,
    copy: &Instance,
    repairs_nothing: bool,
) -> bool {
    let key = InstanceKey::of(copy);
    let Some((origin, _, _)) = origin_of(input, copy) else {
        return false;
    };
    if origin > last.request {
        return true; // An unanswered later write.
    }
    lost_with_its_node(input, last.node, &key, last.request)
        || repairs_nothing && overtaken_concurrently(input, last.node, last.request, copy)
}

/// Every client register, set or cancel a node answered -409, but a register its client
/// stamped (`dirty_timestamp`, a Eureka client's `lastDirtyTimestamp`) refused by a node that
/// had been handed a version of the instance stamped as late or later: such a write is ordered
/// by the client's stamp, not the node's clock, and a client whose clock is behind (or
/// coarse: two changes in one tick share a stamp) is told so. A node that refuses a stamped register while it held nothing as late is
/// still reported.
fn refused_client_writes(input: &CheckInput<'_>) -> Vec<Violation> {
    // Per request in flight: the instance and the stamp its client gave it (0: none).
    let mut asked: BTreeMap<u64, (Option<InstanceKey>, i64)> = BTreeMap::new();
    // Per node and instance: the latest version the node had been handed or had stamped, in
    // its current incarnation (what `had_seen` asks, kept up as the trace goes: a run with
    // many refused stamped registers would otherwise scan the trace once per refusal).
    let mut latest: BTreeMap<(usize, InstanceKey), i64> = BTreeMap::new();
    let mut lives = Lives::default();
    let mut out = Vec::new();
    for (at, event) in input.trace.entries() {
        if let Some(Change::Crashed(n) | Change::Restarted(n)) = lives.observe(event) {
            latest.retain(|(node, _), _| *node != n);
        }
        let mut handed = |node: usize, key: InstanceKey, stamp: i64| {
            let held = latest.entry((node, key)).or_insert(stamp);
            *held = (*held).max(stamp);
        };
        match event {
            TraceEvent::PeerDelivered { to, message, .. } => {
                for_each_version(message, |carried| {
                    handed(*to, carried.key(), carried.stamp())
                });
            }
            TraceEvent::Stamped {
                node,
                key,
                dirty_timestamp,
                ..
            } => handed(*node, key.clone(), *dirty_timestamp),
            TraceEvent::Request { id, request, .. } => {
                let (client_write, given) = match &**request {
                    Request::Register(a) => (!a.replication, a.dirty_timestamp),
                    Request::Cancel(a) => (!a.replication, 0),
                    Request::Set(a) => (!a.replication, 0),
                    _ => (false, 0),
                };
                if client_write {
                    asked.insert(*id, (request.instance_keys().into_iter().next(), given));
                }
            }
            TraceEvent::Reply {
                node, id, reply, ..
            } => {
                let Some((key, given)) = asked.remove(id) else {
                    continue;
                };
                let older_than_held = given > 0
                    && key.as_ref().is_some_and(|key| {
                        latest
                            .get(&(*node, key.clone()))
                            .is_some_and(|held| *held >= given)
                    });
                if reply.code == Code::Conflict && !older_than_held {
                    out.push(violation(
                        NAME,
                        *at,
                        Some(*node),
                        key.as_ref(),
                        "a client's write was refused as older than what the node holds: its hybrid clock ordered the write into the past".to_string(),
                    ));
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests_support::*;
    use registry::api::RegisterArgs;
    use registry::core::copy_beats;

    #[test]
    fn a_copy_reverted_to_an_earlier_write_is_reported() {
        let mut run = Run::new(2);
        // Under skew the later write got the smaller dirty timestamp, and lost.
        run.client(wrote(0, &colored("a", "red", 50)))
            .client(wrote(0, &colored("a", "blue", 10)))
            .hold(0, &colored("a", "blue", 10))
            .hold(1, &colored("a", "red", 50));
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn a_client_write_refused_as_stale_is_reported() {
        let mut run = Run::new(2);
        let id = run.at(10).request(client(0), 1, register(&instance("a")));
        run.reply(1, client(0), id, ok());
        assert!(run.check(&SessionOrder).is_empty());
        let id = run.at(20).request(client(0), 1, register(&instance("a")));
        run.reply(1, client(0), id, code(Code::Conflict));
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }

    /// A register stamped `dirty` by its client (as a Eureka client's `lastDirtyTimestamp`).
    fn stamped_register(host: &str, dirty: i64) -> Request {
        match register(&colored(host, "blue", dirty)) {
            Request::Register(args) => Request::Register(RegisterArgs {
                dirty_timestamp: dirty,
                ..args
            }),
            _ => unreachable!("register() makes a register"),
        }
    }

    #[test]
    fn a_client_stamped_register_may_be_refused_only_below_what_the_node_held() {
        // Eureka-clients seed 95: two changes in one tick of the client's coarse clock share a
        // stamp (20); the node took the first and refused the second as not newer.
        let mut run = Run::new(2);
        run.write(1, 1, &colored("a", "red", 20), true);
        let id = run.at(20).request(client(0), 1, stamped_register("a", 20));
        run.reply(1, client(0), id, code(Code::Conflict));
        assert!(run.check(&SessionOrder).is_empty());

        // The defect it resembles: the node held only an older version (10) and still refused
        // the stamped register.
        let mut run = Run::new(2);
        run.write(1, 1, &colored("a", "red", 10), true);
        let id = run.at(20).request(client(0), 1, stamped_register("a", 20));
        run.reply(1, client(0), id, code(Code::Conflict));
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));

        // Nor does another node's later version excuse it: this node had not been handed it.
        let mut run = Run::new(2);
        run.write(1, 0, &colored("a", "red", 30), true);
        let id = run.at(20).request(client(0), 1, stamped_register("a", 20));
        run.reply(1, client(0), id, code(Code::Conflict));
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn the_last_write_or_unrelated_content_passes() {
        let mut run = Run::new(3);
        run.client(wrote(0, &colored("a", "red", 1)))
            .client(wrote(0, &colored("a", "blue", 2)))
            .client(wrote(0, &colored("a", "red", 3)))
            .client(wrote(1, &colored("b", "red", 1)))
            .client(wrote(1, &colored("b", "blue", 2)))
            .client(wrote(2, &colored("c", "red", 1)))
            // Node 0: the last write (same content as the first one).
            .hold(0, &colored("a", "red", 3))
            // Node 1: content no write of the client had (convergence/oracle judge that).
            .hold(1, &colored("b", "green", 3))
            .hold(2, &colored("c", "red", 1));
        assert!(run.check(&SessionOrder).is_empty());
    }

    fn died(run: &mut Run) {
        run.client(ClientEvent::Died {
            client: client(0),
            key: key("a"),
        });
    }

    #[test]
    fn a_later_unanswered_write_may_win_but_a_stale_one_may_not() {
        // Swarm seed 258: red, then blue (both answered), then red again, which timed out at a
        // paused node and was applied after the client died.
        let (red, blue, late_red) = (
            colored("a", "red", 10),
            colored("a", "blue", 20),
            colored("a", "red", 30),
        );
        let mut run = Run::new(2);
        run.write(1, 0, &red, true)
            .write(2, 0, &blue, true)
            .write(3, 1, &late_red, false)
            .put(1, 0, &late_red);
        died(&mut run);
        run.hold(0, &late_red).hold(1, &late_red);
        assert!(run.check(&SessionOrder).is_empty());

        // The defect it resembles: the first attempt of the red register (request 1) timed
        // out at a paused node, its retry (2) and the blue set (3) were answered, and the
        // paused node applied request 1 after them, with a fresh stamp.
        let mut run = Run::new(2);
        run.write(2, 0, &red, true)
            .write(3, 0, &blue, true)
            .write(1, 1, &late_red, false);
        died(&mut run);
        run.hold(1, &late_red);
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }

    #[test]
    fn concurrent_writes_are_ordered_by_stamps_only_when_no_node_could_order_them() {
        // Swarm seeds 482 and 586: red at node 0, then blue at node 1, which had never heard
        // of red and whose clock was behind; after the partition red wins everywhere.
        let (red, blue) = (colored("a", "red", 10), colored("a", "blue", 5));
        let mut run = Run::new(2);
        run.write(1, 0, &red, true).write(2, 1, &blue, true);
        died(&mut run);
        run.put(0, 1, &red).hold(0, &red).hold(1, &red);
        assert!(run.check(&SessionOrder).is_empty());

        // The defect it resembles: node 1 had red when it took blue, so its hybrid clock must
        // have stamped blue after red.
        let mut run = Run::new(2);
        run.write(1, 0, &red, true)
            .put(0, 1, &red)
            .write(2, 1, &blue, true);
        died(&mut run);
        run.hold(1, &red);
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));

        // A live careful client re-registers what it means when a renew shows otherwise: no
        // excuse.
        let live = |reads_back, node_1_had_red| {
            red_overtakes_blue(reads_back, node_1_had_red).check(&SessionOrder)
        };
        assert_eq!(live(true, false).len(), 2);
        // A live client that never reads back (bilibili's Go SDK) repairs nothing, like a gone
        // one (swarm seed 84)...
        assert!(live(false, false).is_empty());
        // ...and the defect it resembles is still reported for it.
        assert_eq!(live(false, true).len(), 2);
    }

    #[test]
    fn writes_a_client_stamped_alike_are_concurrent_unless_the_node_had_the_winner() {
        // Eureka-clients seed 246: a client's clock ticks every 6 s, and three changes in one
        // tick carry one stamp. Red went to node 0; blue, 1 s later, to node 1, which had not
        // heard of red; red outranks blue in the order every node applies to equal stamps
        // (`copy_beats`), so red wins everywhere. The client's stamps could not order them,
        // and no node that took blue had red: concurrent writes.
        let (mut red, mut blue) = (colored("a", "red", 20), colored("a", "blue", 20));
        if copy_beats(&blue, &red) {
            std::mem::swap(&mut red.metadata, &mut blue.metadata);
        }
        let stamped = |node_1_had: Option<&Instance>| {
            let mut run = Run::new(2);
            run.stamps_writes = true;
            run.write(1, 0, &red, true);
            if let Some(had) = node_1_had {
                run.put(0, 1, had);
            }
            run.write(2, 1, &blue, true);
            died(&mut run);
            run.put(0, 1, &red).hold(0, &red).hold(1, &red);
            run.check(&SessionOrder)
        };
        assert!(stamped(None).is_empty());
        // Another version of the same stamp that blue outranks proves nothing about red.
        let green = ["green", "grey", "white", "black", "pink", "teal"]
            .into_iter()
            .map(|color| colored("a", color, 20))
            .find(|green| copy_beats(&blue, green))
            .expect("one of six colors loses to blue");
        assert!(stamped(Some(&green)).is_empty());

        // The defect it resembles: node 1 had red when it took blue, and red outranks blue,
        // so node 1 had to refuse blue; answering it 0 and then holding red is reported (on
        // both nodes).
        assert_eq!(stamped(Some(&red)).len(), 2);
        // So it is when node 1 had any later version.
        assert_eq!(stamped(Some(&colored("a", "red", 21))).len(), 2);
    }

    #[test]
    fn a_write_lost_with_its_node_is_excused_only_if_it_never_left() {
        // Swarm seed 538: blue was taken by node 0 while it was cut off, and node 0 crashed
        // before the partition healed; node 1 keeps red.
        let (red, blue) = (colored("a", "red", 10), colored("a", "blue", 20));
        let mut run = Run::new(2);
        run.write(1, 0, &red, true)
            .put(0, 1, &red)
            .write(2, 0, &blue, true);
        let live = run.clone();
        died(&mut run);
        run.fault(crate::fault::Fault::Crash { node: 0 });
        run.hold(1, &red);
        assert!(run.check(&SessionOrder).is_empty());
        // A client that never reads back its writes (bilibili's Go SDK) is still alive: the
        // same loss, the same excuse (go-sdk-clients seed 1: a set answered 3 ms before its
        // node crashed).
        let mut live = live;
        live.fault(crate::fault::Fault::Crash { node: 0 });
        live.hold(1, &red);
        assert!(live.check(&SessionOrder).is_empty());

        // The defect it resembles: blue reached node 1, which still ends with red.
        let mut run = Run::new(2);
        run.write(1, 0, &red, true)
            .put(0, 1, &red)
            .write(2, 0, &blue, true)
            .put(0, 1, &blue);
        let mut live = run.clone();
        died(&mut run);
        run.fault(crate::fault::Fault::Crash { node: 0 });
        run.hold(1, &red);
        assert_one(&run.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
        live.fault(crate::fault::Fault::Crash { node: 0 });
        live.hold(1, &red);
        assert_one(&live.check(&SessionOrder), NAME, Some(1), Some(&key("a")));
    }
}
