//! Replication: the node's peers, a queue of writes for each, and where each write goes.
//!
//! A write goes to every same-zone peer and to one node of each other zone, which
//! re-replicates it inside its own zone (`forward`); nothing is forwarded twice, so there are
//! no loops. What a peer answers is applied by the node (`peer_writes.rs`); this part only
//! routes, batches, retries and counts.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rustc_hash::FxHasher;

use crate::api::{NodeInfo, NodeStatus, OpResult, PeerMessage, ReplicatedOp, SmolStr};

use super::clock::Mono;
use super::config::{Config, ReplicationConfig};
use super::peer_queue::{PeerQueue, QueueCounters, QueuedOp};
use super::stats::NodeStats;

/// One peer's replication as this node sees it, for the status page: its status, what waits
/// for it and what had to be sent again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerReplication {
    /// The peer's `host:port`.
    pub addr: SmolStr,
    /// The peer's zone.
    pub zone: SmolStr,
    /// Up or lost (as [`crate::core::Node::peers`] says).
    pub status: NodeStatus,
    /// Ops waiting for it, not counting the batch in flight.
    pub queue_depth: usize,
    /// Ops sent to it again after an unacknowledged batch, since it became a peer.
    pub retried: u64,
    /// Batches sent to it in a row that went unanswered.
    pub unanswered_batches: u32,
}

/// One peer and the queue of writes waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Peer {
    /// The Fx hash of the peer's address: a lookup by address (one or two with every peer
    /// message) compares it before the text.
    addr_hash: u64,
    zone: SmolStr,
    /// Whether `zone` is this node's (every write goes to such a peer), compared once.
    in_zone: bool,
    queue: PeerQueue,
}

/// The peers of a node, by `host:port`, with their queues and the counters they leave behind.
#[derive(Clone, Debug)]
pub(crate) struct Replication {
    config: ReplicationConfig,
    /// This node's zone: its peers there get every write; other zones get one copy each.
    zone: SmolStr,
    /// The peers with their queues, sorted by address, each once: a handful, walked by every
    /// write and every flush (a `Vec` walks them in fewer steps than a map, and `find` scans
    /// their address hashes).
    peers: Vec<(SmolStr, Peer)>,
    /// Peers whose registration went away (cancelled by a stopping node, or evicted) and has
    /// not come back: shown lost at once, whatever their queue says.
    departed: BTreeSet<SmolStr>,
    /// The peers registered now.
    registered: BTreeSet<SmolStr>,
    /// Counters of queues of peers that left, so totals never go down.
    retired: QueueCounters,
    /// The earliest of the queues' deadlines, kept by every change to a queue: every step of
    /// the node reads it, and most steps change no queue.
    deadline: Option<Mono>,
    /// Whether a queue has unanswered batches, kept likewise: only then can hearing from a
    /// peer (every message) change anything.
    failing: bool,
    next_batch: u64,
    enqueued: u64,
    batches: u64,
}

impl Replication {
    pub(crate) fn new(config: &Config) -> Replication {
        Replication {
            config: config.cluster.replication.clone(),
            zone: config.identity.zone.clone(),
            peers: Vec::new(),
            departed: BTreeSet::new(),
            registered: BTreeSet::new(),
            retired: QueueCounters::default(),
            deadline: None,
            failing: false,
            next_batch: 0,
            enqueued: 0,
            batches: 0,
        }
    }

    /// Makes `desired` (address to zone) the peer set: keeps the queues of peers that stay,
    /// drops those of peers that left. `registered` are the peers registered now; one that was
    /// and no longer is has departed. Returns the new set, sorted, if it changed.
    pub(crate) fn set_peers(
        &mut self,
        desired: BTreeMap<SmolStr, SmolStr>,
        registered: BTreeSet<SmolStr>,
    ) -> Option<Vec<SmolStr>> {
        let was = std::mem::replace(&mut self.registered, registered);
        self.departed.extend(was);
        let (departed, registered) = (&mut self.departed, &self.registered);
        departed.retain(|addr| !registered.contains(addr) && desired.contains_key(addr));
        let before: Vec<SmolStr> = self.addrs().cloned().collect();
        let retired = &mut self.retired;
        self.peers.retain(|(addr, peer)| {
            let stays = desired.contains_key(addr);
            if !stays {
                let c = peer.queue.counters;
                retired.retried += c.retried;
                retired.dropped_overflow += c.dropped_overflow;
                retired.dropped_expired += c.dropped_expired;
            }
            stays
        });
        for (addr, zone) in desired {
            if let Err(at) = self.place_of(&addr) {
                let peer = Peer {
                    addr_hash: hash(&addr),
                    in_zone: zone == self.zone,
                    zone,
                    queue: PeerQueue::default(),
                };
                self.peers.insert(at, (addr, peer));
            }
        }
        self.refresh();
        let after: Vec<SmolStr> = self.addrs().cloned().collect();
        (after != before).then_some(after)
    }

    /// The peers' addresses, sorted.
    pub(crate) fn addrs(&self) -> impl ExactSizeIterator<Item = &SmolStr> + Clone {
        self.peers.iter().map(|(addr, _)| addr)
    }

    /// Whether `addr` is a peer.
    pub(crate) fn is_peer(&self, addr: &str) -> bool {
        self.find(addr).is_some()
    }

    /// Where the peer at `addr` is in `peers`, or where it would go (`set_peers`).
    fn place_of(&self, addr: &str) -> Result<usize, usize> {
        self.peers.binary_search_by(|(a, _)| a.as_str().cmp(addr))
    }

    /// Where the peer at `addr` is in `peers`. A scan of the hashes: a node has a handful of
    /// peers, and a binary search compared the text two or three times per lookup.
    fn find(&self, addr: &str) -> Option<usize> {
        let wanted = hash(addr);
        self.peers
            .iter()
            .position(|(a, peer)| peer.addr_hash == wanted && a == addr)
    }

    fn values(&self) -> impl Iterator<Item = &Peer> {
        self.peers.iter().map(|(_, peer)| peer)
    }

    /// Queues a local write for every same-zone peer and one node of each other zone. Returns
    /// how many of the peers it went to are not lost.
    pub(crate) fn queue(&mut self, op: ReplicatedOp, now: Mono) -> usize {
        let queued = QueuedOp::new(op, now);
        let lost_after = self.config.peer_lost_after;
        let mut reachable = self.queue_in_zone(&queued, now);
        let mut zones: Vec<SmolStr> = Vec::new(); // Allocates only in a multi-zone cluster.
        for peer in self.values().filter(|p| !p.in_zone) {
            if !zones.contains(&peer.zone) {
                zones.push(peer.zone.clone());
            }
        }
        zones.sort_unstable();
        for zone in zones {
            // The first healthy node of the zone, in address order; every node of the zone
            // when none is. A peer is healthy again only once it acknowledges a batch, so a
            // lost node that is never sent to stays lost for good, and a zone whose nodes were
            // all lost would hear only from the first of them, even after it went down for good
            // and the others came back (swarm seed 17523: that zone missed every renew).
            let candidates = self.peers.iter_mut().filter(|(_, p)| p.zone == zone);
            let mut targets: Vec<&mut Peer> = candidates.map(|(_, p)| p).collect();
            if let Some(healthy) = targets
                .iter()
                .position(|p| !p.queue.is_lost(now, lost_after))
            {
                targets.swap(0, healthy);
                targets.truncate(1);
            }
            for peer in targets {
                reachable += usize::from(!peer.queue.is_lost(now, lost_after));
                push(peer, queued.clone(), &self.config, &mut self.deadline);
                self.enqueued += 1;
            }
        }
        reachable
    }

    /// Queues a write for every peer of this node's zone only (a write another zone
    /// forwarded here).
    pub(crate) fn queue_in_zone_only(&mut self, op: ReplicatedOp, now: Mono) {
        self.queue_in_zone(&QueuedOp::new(op, now), now);
    }

    /// Queues `queued` for every peer of this node's zone; returns how many are not lost.
    fn queue_in_zone(&mut self, queued: &QueuedOp, now: Mono) -> usize {
        let mut reachable = 0;
        for (_, peer) in self.peers.iter_mut().filter(|(_, p)| p.in_zone) {
            reachable += usize::from(!peer.queue.is_lost(now, self.config.peer_lost_after));
            push(peer, queued.clone(), &self.config, &mut self.deadline);
            self.enqueued += 1;
        }
        reachable
    }

    /// Queues a write for the peer at `addr` only, if it is one.
    pub(crate) fn queue_for(&mut self, addr: &str, op: ReplicatedOp, now: Mono) {
        if let Some(at) = self.find(addr) {
            let peer = &mut self.peers[at].1;
            push(
                peer,
                QueuedOp::new(op, now),
                &self.config,
                &mut self.deadline,
            );
            self.enqueued += 1;
        }
    }

    /// Sends due batches through `send` and puts back unanswered ones (the replication timer).
    pub(crate) fn flush(
        &mut self,
        now: Mono,
        wall: i64,
        rng: &mut impl Rng,
        mut send: impl FnMut(&str, PeerMessage),
    ) {
        for (addr, peer) in &mut self.peers {
            peer.queue.check_timeout(now, &self.config, rng);
            let batch = self.next_batch;
            if let Some(ops) = peer.queue.take_batch(batch, now, &self.config) {
                let forward = !peer.in_zone;
                self.next_batch += 1;
                self.batches += 1;
                send(
                    addr,
                    PeerMessage::Replicate {
                        batch,
                        forward,
                        ops,
                        sent_at: wall,
                    },
                );
            }
        }
        self.refresh();
    }

    /// The peer at `from` answered `batch`: hands each op of it to `each` with its result (see
    /// [`PeerQueue::acknowledge`]); false for an answer nobody awaits.
    pub(crate) fn acknowledge<'r>(
        &mut self,
        from: &str,
        batch: u64,
        results: &'r [OpResult],
        now: Mono,
        each: impl FnMut(&Arc<ReplicatedOp>, &'r OpResult),
    ) -> bool {
        let config = &self.config;
        let answered = self.find(from).is_some_and(|at| {
            let queue = &mut self.peers[at].1.queue;
            queue.acknowledge(batch, results, now, config, each)
        });
        if answered {
            self.refresh();
        }
        answered
    }

    /// A message came from `from`: if it is a peer, its queue's back-off ends (see
    /// [`PeerQueue::heard_from`]).
    pub(crate) fn heard_from(&mut self, from: &str, now: Mono) {
        // Only a failing queue changes (see `PeerQueue::heard_from`); a step hears from a peer
        // with every message, so while none is failing nothing is looked at.
        if !self.failing {
            return;
        }
        if let Some(at) = self.find(from) {
            self.peers[at].1.queue.heard_from(now, &self.config);
            self.refresh();
        }
    }

    /// Each peer with its status: lost once none of the batches sent to it has been answered
    /// for `peer_lost_after`, or once its registration went away; up otherwise.
    pub(crate) fn infos(&self, now: Mono) -> Vec<NodeInfo> {
        let lost_after = self.config.peer_lost_after;
        self.peers
            .iter()
            .map(|(addr, peer)| NodeInfo {
                addr: addr.clone(),
                status: if self.departed.contains(addr) {
                    NodeStatus::Lost
                } else {
                    status(&peer.queue, now, lost_after)
                },
                zone: peer.zone.clone(),
            })
            .collect()
    }

    /// Each peer's replication, by address.
    pub(crate) fn peer_replication(&self, now: Mono) -> Vec<PeerReplication> {
        self.infos(now)
            .into_iter()
            .zip(self.values())
            .map(|(info, peer)| PeerReplication {
                addr: info.addr,
                zone: info.zone,
                status: info.status,
                queue_depth: peer.queue.depth(),
                retried: peer.queue.counters.retried,
                unanswered_batches: peer.queue.unanswered_batches(),
            })
            .collect()
    }

    /// Ops waiting, over all queues.
    pub(crate) fn depth(&self) -> usize {
        self.values().map(|p| p.queue.depth()).sum()
    }

    /// Ops not yet acknowledged (waiting or in flight), over all queues.
    pub(crate) fn unacknowledged(&self) -> usize {
        self.values().map(|p| p.queue.unacknowledged()).sum()
    }

    /// When a queue next needs attention.
    pub(crate) fn deadline(&self) -> Option<Mono> {
        self.deadline
    }

    /// Recomputes what every step reads of the queues (`deadline`, `failing`); every method
    /// that changes a queue ends with it.
    fn refresh(&mut self) {
        (self.deadline, self.failing) = self.summary();
    }

    /// The queues' earliest deadline, and whether any has unanswered batches, in one pass.
    fn summary(&self) -> (Option<Mono>, bool) {
        self.values()
            .fold((None, false), |(deadline, failing), peer| {
                (
                    Mono::earliest(deadline, peer.queue.deadline()),
                    failing || peer.queue.unanswered_batches() > 0,
                )
            })
    }

    /// Adds what replication did to `stats`.
    pub(crate) fn count_into(&self, stats: &mut NodeStats) {
        stats.replication_enqueued += self.enqueued;
        stats.replication_batches += self.batches;
        let mut add = |c: QueueCounters| {
            stats.replication_retried += c.retried;
            stats.replication_dropped_overflow += c.dropped_overflow;
            stats.replication_dropped_expired += c.dropped_expired;
        };
        add(self.retired);
        self.values().for_each(|p| add(p.queue.counters));
    }

    pub(crate) fn check_invariants(&self, own_addr: &str) {
        self.values().for_each(|p| p.queue.check_invariants());
        assert!(
            self.peers.windows(2).all(|w| w[0].0 < w[1].0),
            "peers not sorted by address, or one twice"
        );
        assert!(
            self.peers.iter().all(|(a, p)| p.addr_hash == hash(a)),
            "a peer's address hash out of step"
        );
        let (deadline, failing) = self.summary();
        assert_eq!(self.deadline, deadline, "replication deadline out of step");
        assert_eq!(
            self.failing, failing,
            "replication failing flag out of step"
        );
        assert!(!self.is_peer(own_addr), "the node is its own peer");
    }
}

/// Queues `queued` for `peer`. A push only ever brings a queue's deadline forward and never
/// changes whether it is failing (see `PeerQueue::push`), so of what `Replication::refresh`
/// keeps, only the deadline can move, and only to this queue's.
fn push(
    peer: &mut Peer,
    queued: QueuedOp,
    config: &ReplicationConfig,
    deadline: &mut Option<Mono>,
) {
    peer.queue.push(queued, config);
    *deadline = Mono::earliest(*deadline, peer.queue.deadline());
}

/// The hash `Peer::addr_hash` keeps.
fn hash(addr: &str) -> u64 {
    let mut hasher = FxHasher::default();
    addr.hash(&mut hasher);
    hasher.finish()
}

fn status(queue: &PeerQueue, now: Mono, lost_after: Duration) -> NodeStatus {
    if queue.is_lost(now, lost_after) {
        NodeStatus::Lost
    } else {
        NodeStatus::Up
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::InstanceKey;
    use rand::SeedableRng;

    /// A peer is found by its address and nothing else: the hash only narrows the search,
    /// and two addresses sharing one are told apart by their text.
    #[test]
    fn a_peer_is_found_by_its_address_even_when_hashes_collide() {
        let config = Config::default();
        let zone = config.identity.zone.clone();
        let mut replication = Replication::new(&config);
        let addrs = ["10.0.0.1:7171", "10.0.0.2:7171", "10.0.0.1:71710"];
        let desired = addrs.iter().map(|a| (SmolStr::from(*a), zone.clone()));
        replication.set_peers(desired.collect(), BTreeSet::new());
        for addr in addrs {
            let at = replication.find(addr).expect("a peer is found");
            assert_eq!(replication.peers[at].0, addr);
        }
        assert_eq!(replication.find("10.0.0.3:7171"), None);
        assert_eq!(replication.find("10.0.0.1:717"), None);
        // The first peer (in address order) made to share the second's hash: the text
        // decides between them.
        assert_eq!(replication.peers[0].0, "10.0.0.1:7171");
        assert_eq!(replication.peers[1].0, "10.0.0.1:71710");
        replication.peers[0].1.addr_hash = hash("10.0.0.1:71710");
        assert_eq!(replication.find("10.0.0.1:71710"), Some(1));
    }

    /// The kept deadline (the queues' earliest) and failing flag hold through every kind of
    /// change: a write queued, a batch sent, acknowledged, timed out, the peer heard from
    /// again, peers changed.
    #[test]
    fn what_steps_read_of_the_queues_follows_every_change_and_a_stale_copy_is_reported() {
        let config = Config::default();
        let settings = &config.cluster.replication;
        let zone = config.identity.zone.clone();
        let peers = || [("peer:1".into(), zone.clone())].into_iter().collect();
        let mut replication = Replication::new(&config);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let renew = |host: &str| ReplicatedOp::Renew {
            key: InstanceKey {
                env: "e".into(),
                appid: "a".into(),
                zone: zone.clone(),
                hostname: host.into(),
            },
            dirty_timestamp: 1,
        };
        let mut sent = Vec::new();
        let check = |replication: &Replication, expected: Option<Mono>| {
            assert_eq!(replication.deadline(), expected);
            replication.check_invariants("self:1");
        };
        replication.set_peers(peers(), BTreeSet::new());
        check(&replication, None);
        let t0 = Mono::from_nanos(0);
        replication.queue(renew("a"), t0);
        check(&replication, Some(t0 + settings.renew_delay));
        let t1 = t0 + settings.renew_delay;
        replication.flush(t1, 0, &mut rng, |_, m| sent.push(m));
        check(&replication, Some(t1 + settings.ack_timeout));
        let Some(PeerMessage::Replicate { batch, .. }) = sent.pop() else {
            panic!("a batch was due")
        };
        assert!(replication.acknowledge("peer:1", batch, &[], t1, |_, _| {}));
        check(&replication, None);
        // A batch that times out is put back behind a back-off; hearing from the peer ends it.
        replication.queue(renew("b"), t1);
        let t2 = t1 + settings.renew_delay;
        replication.flush(t2, 0, &mut rng, |_, m| sent.push(m));
        let t3 = t2 + settings.ack_timeout;
        replication.flush(t3, 0, &mut rng, |_, m| sent.push(m));
        let backed_off = replication.summary().0;
        assert!(backed_off.is_some_and(|at| at > t3), "{backed_off:?}");
        check(&replication, backed_off);
        assert!(replication.failing);
        replication.heard_from("peer:1", t3);
        check(&replication, Some(t3 + settings.renew_delay));
        assert!(!replication.failing);
        replication.set_peers(BTreeMap::new(), BTreeSet::new());
        check(&replication, None);
        // A deadline left behind by a change is what `check_invariants` looks for.
        replication.set_peers(peers(), BTreeSet::new());
        replication.queue(renew("c"), t3);
        let mut stale_deadline = replication.clone();
        stale_deadline.deadline = None;
        let mut stale_flag = replication.clone();
        stale_flag.failing = true;
        for (stale, message) in [
            (stale_deadline, "replication deadline out of step"),
            (stale_flag, "replication failing flag out of step"),
        ] {
            let text = crate::core::tests::panic_text(message, || stale.check_invariants("self:1"));
            assert!(text.contains(message), "reported {text:?}");
        }
    }

    #[test]
    fn check_invariants_reports_a_node_that_is_its_own_peer() {
        let mut replication = Replication::new(&Config::default());
        let peers = [
            ("self:1".into(), "z1".into()),
            ("peer:1".into(), "z1".into()),
        ];
        replication.set_peers(peers.into_iter().collect(), BTreeSet::new());
        replication.check_invariants("other:1");
        let message = "the node is its own peer";
        let text =
            crate::core::tests::panic_text(message, || replication.check_invariants("self:1"));
        assert!(text.contains(message), "reported {text:?}");
        // Lookups search the peers by address: out of order, they would miss.
        assert!(replication.is_peer("peer:1") && replication.is_peer("self:1"));
        replication.peers.reverse();
        let message = "peers not sorted by address, or one twice";
        let text =
            crate::core::tests::panic_text(message, || replication.check_invariants("other:1"));
        assert!(text.contains(message), "reported {text:?}");
    }
}
