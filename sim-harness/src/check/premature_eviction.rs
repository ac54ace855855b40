//! No premature eviction: a node evicts an instance only after `evict_after` of silence since
//! the last renew or register for it refreshed its lease on this incarnation of the node, and
//! since the node last removed its copy.
//!
//! Silence is what the node observed: time it spent paused does not count (its leases do not
//! run while it does not; a node resuming from a 100 s pause used to evict every instance whose
//! renews were still waiting in its buffers).
//!
//! A renew refreshes a lease only where the instance is held, so arrival alone is no evidence:
//! a client renew or register counts once the node answered it 0, a replicated renew once the
//! node's acknowledgement (delivered back to the sender) says Ok or Conflict for it. Missing
//! evidence (a lost acknowledgement) can only hide a violation, never invent one.
//!
//! A lease belongs to a copy. Once the node removed its copy (a client cancel it answered 0, a
//! replicated cancel it acknowledged Ok, a tombstone handed to it by anti-entropy or startup
//! sync, or its own eviction), a copy inserted later from a peer starts its lease at its own
//! `renew_timestamp`, as every replicated copy does (otherwise two nodes could hand a dead
//! instance back and forth forever). Swarm seed 437 is that case: a stale set, replayed by a
//! resumed node after the client's cancel, re-inserted an older copy on two nodes that had
//! refreshed the lease of the cancelled one 70 s before. A cancel the node refused (-409 or
//! Conflict) removed nothing and ends no lease.

use std::collections::BTreeMap;

use std::time::Duration;

use registry::api::{Code, InstanceKey, OpResult, PeerMessage, ReplicatedOp, Request, Version};
use registry::core::NodeEvent;

use crate::fault::Fault;

use super::support::{violation, Change, Lives};
use super::{CheckInput, Checker, Violation};
use crate::time::SimTime;
use crate::trace::TraceEvent;

/// Each `Evicted` comes at least `evict_after` after the node last heard of the instance, and
/// reports a silence of at least `evict_after`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PrematureEviction;

const NAME: &str = "premature_eviction";

/// `(sender, receiver, batch)`: a replicated batch in flight.
type BatchId = (usize, usize, u64);

/// A moment on one node: when, and how long the node had spent paused by then.
type Moment = (SimTime, Duration);

/// Each node incarnation's time spent paused: the total of finished pauses, and the start of
/// the one going on.
#[derive(Default)]
struct Paused(BTreeMap<usize, (Duration, Option<SimTime>)>);

impl Paused {
    fn observe(&mut self, at: SimTime, event: &TraceEvent) {
        match event {
            TraceEvent::Fault(Fault::Pause { node }) => {
                self.0.entry(*node).or_default().1 = Some(at);
            }
            TraceEvent::Fault(Fault::Resume { node }) => {
                let (total, since) = self.0.entry(*node).or_default();
                if let Some(since) = since.take() {
                    *total += at.saturating_since(since);
                }
            }
            _ => {}
        }
    }

    fn forget(&mut self, node: usize) {
        self.0.remove(&node);
    }

    /// `node`'s paused total at `at`.
    fn total(&self, node: usize, at: SimTime) -> Duration {
        self.0.get(&node).map_or(Duration::ZERO, |(total, since)| {
            *total + since.map_or(Duration::ZERO, |since| at.saturating_since(since))
        })
    }

    fn moment(&self, node: usize, at: SimTime) -> Moment {
        (at, self.total(node, at))
    }
}

/// A replicated op that moves a lease: a renew refreshes it, a cancel ends it with its copy.
enum LeaseOp {
    Renew(InstanceKey),
    Cancel(InstanceKey),
}

impl Checker for PrematureEviction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let limit = input.rules.evict_after;
        let mut lives = Lives::default();
        let mut paused = Paused::default();
        // (node, key) -> when this incarnation of the node last heard a renew or register.
        let mut heard: BTreeMap<(usize, InstanceKey), Moment> = BTreeMap::new();
        // Client requests awaiting their answer: id -> (node, keys, arrival, a cancel).
        let mut asked: BTreeMap<u64, (usize, Vec<InstanceKey>, Moment, bool)> = BTreeMap::new();
        // Replicated batches awaiting their ack: (sender, receiver, batch) -> per op, the key
        // of a renew or a cancel; arrival.
        let mut batches: BTreeMap<BatchId, (Vec<Option<LeaseOp>>, Moment)> = BTreeMap::new();
        let mut out = Vec::new();
        for (at, event) in input.trace.entries() {
            paused.observe(*at, event);
            if let Some(Change::Crashed(node) | Change::Restarted(node)) = lives.observe(event) {
                paused.forget(node);
                heard.retain(|(n, _), _| *n != node);
                asked.retain(|_, (n, _, _, _)| *n != node);
                batches.retain(|(sender, receiver, _), _| *sender != node && *receiver != node);
            }
            match event {
                TraceEvent::Request {
                    node, id, request, ..
                } if matches!(
                    **request,
                    Request::Register(_) | Request::Renew(_) | Request::Cancel(_)
                ) =>
                {
                    let cancel = matches!(**request, Request::Cancel(_));
                    let arrived = paused.moment(*node, *at);
                    asked.insert(*id, (*node, request.instance_keys(), arrived, cancel));
                }
                TraceEvent::Reply { id, reply, .. } => {
                    if let Some((node, keys, arrived, cancel)) = asked.remove(id) {
                        if reply.code == Code::Ok {
                            for key in keys {
                                if cancel {
                                    heard.remove(&(node, key));
                                } else {
                                    heard.insert((node, key), arrived);
                                }
                            }
                        }
                    }
                }
                TraceEvent::PeerDelivered { from, to, message } => match message {
                    PeerMessage::Replicate { batch, ops, .. } => {
                        let leases = ops
                            .iter()
                            .map(|op| match &**op {
                                ReplicatedOp::Renew { key, .. } => {
                                    Some(LeaseOp::Renew(key.clone()))
                                }
                                ReplicatedOp::Write(Version::Tombstone(tombstone)) => {
                                    Some(LeaseOp::Cancel(tombstone.key.clone()))
                                }
                                ReplicatedOp::Write(Version::Put(_)) => None,
                            })
                            .collect();
                        batches.insert((*from, *to, *batch), (leases, paused.moment(*to, *at)));
                    }
                    PeerMessage::ReplicateAck { batch, results, .. } => {
                        // The ack travels from the receiver of the batch back to its sender.
                        if let Some((leases, arrived)) = batches.remove(&(*to, *from, *batch)) {
                            for (op, result) in leases.into_iter().zip(results) {
                                match (op, result) {
                                    (
                                        Some(LeaseOp::Renew(key)),
                                        OpResult::Ok | OpResult::Conflict { .. },
                                    ) => {
                                        heard.insert((*from, key), arrived);
                                    }
                                    (Some(LeaseOp::Cancel(key)), OpResult::Ok) => {
                                        heard.remove(&(*from, key));
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                    PeerMessage::Repair { apps, .. }
                    | PeerMessage::RepairBack { apps, .. }
                    | PeerMessage::SyncResponse { apps, .. } => {
                        // Whether the tombstone removed the copy is not in the trace; forgetting
                        // can only hide a violation.
                        for tombstone in apps.iter().flat_map(|a| &a.tombstones) {
                            heard.remove(&(*to, tombstone.key.clone()));
                        }
                    }
                    _ => {}
                },
                TraceEvent::Node {
                    node,
                    event: NodeEvent::Evicted { key, silent_for },
                } => {
                    if *silent_for < limit {
                        out.push(violation(
                            NAME,
                            *at,
                            Some(*node),
                            Some(key),
                            format!("evicted after a reported silence of {silent_for:?}, under the {limit:?} lease"),
                        ));
                    } else if let Some((last, paused_then)) = heard.remove(&(*node, key.clone())) {
                        let silence = at.saturating_since(last);
                        let asleep = paused.total(*node, *at).saturating_sub(paused_then);
                        let observed = silence.saturating_sub(asleep);
                        if observed < limit {
                            out.push(violation(
                                NAME,
                                *at,
                                Some(*node),
                                Some(key),
                                format!("evicted {silence:?} after a renew or register refreshed its lease here (at {last}), {asleep:?} of it paused: {observed:?} observed, under the {limit:?} lease"),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::check::tests_support::*;

    fn evicted(host: &str, secs: u64) -> NodeEvent {
        NodeEvent::Evicted {
            key: key(host),
            silent_for: Duration::from_secs(secs),
        }
    }

    #[test]
    fn an_eviction_soon_after_a_client_or_replicated_renew_is_reported() {
        let mut run = Run::new(2);
        let id = run.at(10).request(client(0), 1, register(&instance("a")));
        run.reply(1, client(0), id, ok());
        let id = run.at(60).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, ok());
        run.at(100).node(1, evicted("a", 95));
        assert_one(
            &run.check(&PrematureEviction),
            NAME,
            Some(1),
            Some(&key("a")),
        );

        let mut run = Run::new(2);
        run.at(10).replicated_renews(0, 1, &[key("a")]);
        run.at(11).replicate_ack(1, 0, &[OpResult::Ok]);
        run.at(50).node(1, evicted("a", 120));
        assert_one(
            &run.check(&PrematureEviction),
            NAME,
            Some(1),
            Some(&key("a")),
        );
    }

    #[test]
    fn time_the_node_spent_paused_is_not_silence() {
        let paused = |from: u64, to: u64, evict_at: u64, silent: u64| {
            let mut run = Run::new(2);
            let id = run.at(10).request(client(0), 1, renew("a"));
            run.reply(1, client(0), id, ok());
            run.at(from).fault(Fault::Pause { node: 1 });
            run.at(to).fault(Fault::Resume { node: 1 });
            run.at(evict_at).node(1, evicted("a", silent));
            run.check(&PrematureEviction)
        };
        // 120 s after the renew, 100 s of it paused: 20 s observed.
        assert_one(&paused(20, 120, 130, 120), NAME, Some(1), Some(&key("a")));
        // 115 s after, 20 s of it paused: 95 s observed.
        assert!(paused(20, 40, 125, 95).is_empty());
    }

    #[test]
    fn a_lease_ends_with_its_copy() {
        // Renewed at 60 s, cancelled at 61 s; an older copy a peer held (a stale write won
        // there) comes back at 70 s with its own age, and is evicted once that age passes 90 s.
        let mut run = Run::new(2);
        let id = run.at(10).request(client(0), 1, register(&instance("a")));
        run.reply(1, client(0), id, ok());
        let id = run.at(60).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, ok());
        let id = run.at(61).request(client(0), 1, cancel("a"));
        run.reply(1, client(0), id, ok());
        run.at(100).node(1, evicted("a", 95));
        assert!(run.check(&PrematureEviction).is_empty());

        // The same through a replicated cancel the node acknowledged.
        let mut run = Run::new(2);
        let id = run.at(60).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, ok());
        run.at(61).replicated_cancel(0, 1, "a");
        run.at(62).replicate_ack(1, 0, &[OpResult::Ok]);
        run.at(100).node(1, evicted("a", 95));
        assert!(run.check(&PrematureEviction).is_empty());

        // And after an eviction: a copy inserted later starts from its own age.
        let mut run = Run::new(2);
        let id = run.at(10).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, ok());
        run.at(100).node(1, evicted("a", 90));
        run.at(150).node(1, evicted("a", 95));
        assert!(run.check(&PrematureEviction).is_empty());
    }

    #[test]
    fn a_cancel_that_did_not_remove_the_copy_keeps_its_lease() {
        // A cancel the node refused (a newer copy stands, -409 / Conflict) ends no lease: an
        // eviction soon after the renew is still premature.
        let mut run = Run::new(2);
        let id = run.at(60).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, ok());
        let id = run.at(61).request(client(0), 1, cancel("a"));
        run.reply(1, client(0), id, code(Code::Conflict));
        run.at(100).node(1, evicted("a", 95));
        assert_one(
            &run.check(&PrematureEviction),
            NAME,
            Some(1),
            Some(&key("a")),
        );

        let mut run = Run::new(2);
        let id = run.at(60).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, ok());
        run.at(61).replicated_cancel(0, 1, "a");
        run.at(62).replicate_ack(
            1,
            0,
            &[OpResult::Conflict {
                instance: Box::new(instance("a")),
            }],
        );
        run.at(100).node(1, evicted("a", 95));
        assert_one(
            &run.check(&PrematureEviction),
            NAME,
            Some(1),
            Some(&key("a")),
        );
    }

    #[test]
    fn a_reported_silence_under_the_lease_is_reported() {
        let mut run = Run::new(1);
        run.at(500).node(0, evicted("a", 30));
        assert_one(
            &run.check(&PrematureEviction),
            NAME,
            Some(0),
            Some(&key("a")),
        );
    }

    #[test]
    fn a_renew_that_found_nothing_refreshed_nothing() {
        let mut run = Run::new(2);
        let id = run.at(10).request(client(0), 1, renew("a"));
        run.reply(1, client(0), id, code(registry::api::Code::NothingFound));
        run.at(11).replicated_renews(0, 1, &[key("a")]);
        run.at(12).replicate_ack(1, 0, &[OpResult::NotFound]);
        run.at(50).node(1, evicted("a", 120));
        assert!(run.check(&PrematureEviction).is_empty());
    }

    #[test]
    fn evictions_after_the_lease_or_in_a_later_incarnation_pass() {
        let mut run = Run::new(2);
        run.at(10).request(client(0), 1, renew("a"));
        // A renew at another node does not refresh node 1's lease.
        run.at(90).request(client(0), 0, renew("a"));
        run.at(100).node(1, evicted("a", 90));
        // Node 0 heard a renew at 90, then crashed: the new incarnation never heard it.
        run.at(120).bounce(0);
        run.at(130).node(0, evicted("a", 200));
        assert!(run.check(&PrematureEviction).is_empty());
    }
}
