//! One replication queue per peer: coalesced per instance, batched, retried with back-off,
//! bounded.
//!
//! The reference design sends each write once, synchronously, and forgets it on failure. Here
//! a write waits in the queue until the peer acknowledges it, its retry horizon passes, or the
//! queue overflows; the last two are counted, and anti-entropy repairs what they lost.
//!
//! The queue is one deque in send order. Finding an instance's pending op scans it, comparing
//! a hash of the key first: a queue holds at most one op per instance and usually a handful
//! (it empties with every batch), and a flat scan of hashes beats two ordered maps whose
//! nodes are allocated and freed as the queue fills and empties. Even a full queue (the
//! default holds 10,000) costs microseconds a push, and only while its peer is unreachable.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rustc_hash::FxHasher;

use crate::api::{OpResult, ReplicatedOp};

use super::clock::Mono;
use super::config::ReplicationConfig;

/// Unanswered batches in a row before a peer can be reported lost.
pub(crate) const LOST_AFTER_FAILURES: u32 = 8;

/// An op ready to be queued: with the hash of its instance's key, compared first when a
/// queue searches for the instance. Built once per write and shared by every peer's queue
/// (a write goes to every peer: one op, not one copy of its key per peer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueuedOp {
    hash: u64,
    op: Arc<ReplicatedOp>,
    enqueued_at: Mono,
}

impl QueuedOp {
    pub(crate) fn new(op: ReplicatedOp, enqueued_at: Mono) -> QueuedOp {
        let mut hash = FxHasher::default();
        op.key().hash(&mut hash);
        QueuedOp {
            hash: hash.finish(),
            op: Arc::new(op),
            enqueued_at,
        }
    }

    fn same_instance(&self, other: &QueuedOp) -> bool {
        self.hash == other.hash && self.op.key() == other.op.key()
    }

    fn is_renew(&self) -> bool {
        matches!(*self.op, ReplicatedOp::Renew { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct SentBatch {
    batch: u64,
    ops: Vec<QueuedOp>,
    deadline: Mono,
}

/// What the queue lost, for metrics and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct QueueCounters {
    /// Ops sent again after an unacknowledged batch.
    pub(crate) retried: u64,
    /// Ops dropped because the queue was full.
    pub(crate) dropped_overflow: u64,
    /// Ops dropped because they outlived the retry horizon.
    pub(crate) dropped_expired: u64,
}

/// The replication queue towards one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerQueue {
    /// Ops waiting, oldest first, at most one per instance; `None` marks a slot whose op a
    /// newer one replaced (it moved to the back). Leading holes are popped at once.
    pending: VecDeque<Option<QueuedOp>>,
    /// The `Some` slots of `pending`.
    live: usize,
    /// The live ops that are not renews: while there is one, the next batch leaves within
    /// `max_delay`; renews alone may wait `renew_delay`.
    writes: usize,
    in_flight: Option<SentBatch>,
    /// When the next batch may leave; `None` while nothing is pending or a batch is in flight.
    send_at: Option<Mono>,
    /// The buffer of the last batch in flight, emptied, for the next one (a batch leaves
    /// every second or so; its ops need not be allocated anew each time).
    spare: Vec<QueuedOp>,
    /// Consecutive unacknowledged batches.
    failures: u32,
    /// When the current run of unanswered batches began.
    failing_since: Option<Mono>,
    pub(crate) counters: QueueCounters,
}

impl PeerQueue {
    /// Ops waiting, not counting the batch in flight.
    pub(crate) fn depth(&self) -> usize {
        self.live
    }

    /// Ops waiting or in flight: not yet acknowledged.
    pub(crate) fn unacknowledged(&self) -> usize {
        self.live + self.in_flight.as_ref().map_or(0, |f| f.ops.len())
    }

    /// Batches sent in a row that went unanswered (0 once one is acknowledged).
    pub(crate) fn unanswered_batches(&self) -> u32 {
        self.failures
    }

    /// Whether the peer looks lost: at least [`LOST_AFTER_FAILURES`] batches in a row went
    /// unanswered and none has been answered for `lost_after`. A few lost batches (or acks)
    /// on a lossy network are not enough: retries back off, so a minute alone can hold only a
    /// handful of attempts.
    pub(crate) fn is_lost(&self, now: Mono, lost_after: Duration) -> bool {
        self.failures >= LOST_AFTER_FAILURES
            && self
                .failing_since
                .is_some_and(|since| now.saturating_since(since) >= lost_after)
    }

    /// Queues an op. A newer op for the same instance replaces the queued one, except that a
    /// renew never replaces a register or cancel (it would lose their content). The queue's
    /// deadline can only come forward, and whether it is failing does not change
    /// (`Replication` relies on both).
    pub(crate) fn push(&mut self, queued: QueuedOp, config: &ReplicationConfig) {
        let now = queued.enqueued_at;
        if let Some(slot) = self.find(&queued) {
            if queued.is_renew() && !self.pending[slot].as_ref().is_some_and(QueuedOp::is_renew) {
                return;
            }
            self.vacate(slot);
        }
        self.count_in(&queued);
        self.pending.push_back(Some(queued));
        // Over the bound, the oldest go. The loop also stops when nothing is left to drop: the
        // count never outruns the queue (`check_invariants`), and if it did, looping for ever
        // would be the worst way to find out.
        while self.live > config.max_queue && self.pop_oldest().is_some() {
            self.counters.dropped_overflow += 1;
        }
        self.schedule(now, config);
    }

    /// When the queue next needs attention: a batch to send or an acknowledgement overdue.
    pub(crate) fn deadline(&self) -> Option<Mono> {
        match &self.in_flight {
            Some(flight) => Some(flight.deadline),
            None => self.send_at,
        }
    }

    /// Handles the deadline: an overdue batch is put back for a retry after back-off.
    /// Returns whether a batch timed out.
    pub(crate) fn check_timeout(
        &mut self,
        now: Mono,
        config: &ReplicationConfig,
        rng: &mut impl Rng,
    ) -> bool {
        let Some(flight) = self.in_flight.take_if(|f| f.deadline <= now) else {
            return false;
        };
        self.failures = self.failures.saturating_add(1);
        self.failing_since.get_or_insert(flight.deadline);
        self.put_back(flight);
        self.send_at = Some(now + backoff(self.failures, config, rng));
        true
    }

    /// The peer was heard from (any message from it): it is reachable, so a back-off earned
    /// while it was down no longer applies. Without this, a node that ran alone sent its first
    /// write to a peer that had come up only when its back-off ran out (about 1 s measured on
    /// real processes, up to `backoff_max`). A batch still awaiting an ack was most likely sent
    /// while the peer was down and is sent again now (ops are idempotent, a duplicate is
    /// harmless). Nothing changes for a peer that was not failing.
    pub(crate) fn heard_from(&mut self, now: Mono, config: &ReplicationConfig) {
        if self.failures == 0 {
            return;
        }
        self.failures = 0;
        self.failing_since = None;
        if let Some(flight) = self.in_flight.take() {
            self.put_back(flight);
        }
        self.send_at = None;
        self.schedule(now, config);
    }

    /// Puts the ops of an unacknowledged batch back at the front of the queue.
    fn put_back(&mut self, mut flight: SentBatch) {
        // Every op in flight is older than every op pending, so the ones put back go to the
        // front, in their old order: walk them newest first, pushing each to the front. Each
        // is looked up among the pending ops through their hashes, sorted once, not by a scan
        // per op: a batch put back after an outage meets a queue that filled meanwhile.
        let mut slots: Vec<(u64, usize)> = (self.pending.iter().enumerate())
            .filter_map(|(i, slot)| slot.as_ref().map(|p| (p.hash, i)))
            .collect();
        slots.sort_unstable();
        // The slots found through `slots` move back by one with every op pushed to the front;
        // a replaced op leaves a hole, so nothing else moves until the end.
        let mut pushed = 0;
        for queued in flight.ops.drain(..).rev() {
            let from = slots.partition_point(|(hash, _)| *hash < queued.hash);
            let pending = slots[from..]
                .iter()
                .take_while(|(hash, _)| *hash == queued.hash)
                .map(|(_, i)| i + pushed)
                .find(|i| {
                    self.pending[*i]
                        .as_ref()
                        .is_some_and(|p| p.same_instance(&queued))
                });
            // A newer op for the same instance queued meanwhile wins, unless it is a renew.
            if let Some(slot) = pending {
                let newer_is_renew = self.pending[slot].as_ref().is_some_and(QueuedOp::is_renew);
                if !newer_is_renew || queued.is_renew() {
                    continue;
                }
                if let Some(replaced) = self.pending[slot].take() {
                    self.count_out(&replaced);
                }
            }
            self.counters.retried += 1;
            self.count_in(&queued);
            self.pending.push_front(Some(queued));
            pushed += 1;
        }
        // No hole reaches the front (an op is replaced only by one pushed ahead of it), and
        // it leaves no more holes than it put ops back: nothing to trim or compact.
        self.spare = flight.ops;
    }

    /// The next batch to send as `batch`, if one is due. Ops past the retry horizon, and
    /// renews past the renew horizon, are dropped instead of sent.
    pub(crate) fn take_batch(
        &mut self,
        batch: u64,
        now: Mono,
        config: &ReplicationConfig,
    ) -> Option<Vec<Arc<ReplicatedOp>>> {
        if self.in_flight.is_some() || self.send_at.is_none_or(|at| at > now) {
            return None;
        }
        self.send_at = None;
        self.drop_expired(now, config.retry_horizon);
        let mut ops = std::mem::take(&mut self.spare);
        ops.reserve(self.live.min(config.max_batch));
        while ops.len() < config.max_batch {
            let Some(queued) = self.pop_oldest() else {
                break;
            };
            if queued.is_renew() && now.saturating_since(queued.enqueued_at) > config.renew_horizon
            {
                self.counters.dropped_expired += 1;
                continue;
            }
            ops.push(queued);
        }
        if ops.is_empty() {
            self.spare = ops;
            return None;
        }
        let wire = ops.iter().map(|p| Arc::clone(&p.op)).collect();
        self.in_flight = Some(SentBatch {
            batch,
            ops,
            deadline: now + config.ack_timeout,
        });
        Some(wire)
    }

    /// The peer acknowledged `batch` with `results`, one per op in order: hands each op to
    /// `each` with its result. False if that batch is not the one in flight (a late answer to
    /// a batch already put back).
    pub(crate) fn acknowledge<'r>(
        &mut self,
        batch: u64,
        results: &'r [OpResult],
        now: Mono,
        config: &ReplicationConfig,
        mut each: impl FnMut(&Arc<ReplicatedOp>, &'r OpResult),
    ) -> bool {
        let Some(mut flight) = self.in_flight.take_if(|f| f.batch == batch) else {
            return false;
        };
        self.failures = 0;
        self.failing_since = None;
        self.schedule(now, config);
        for (queued, result) in flight.ops.iter().zip(results) {
            each(&queued.op, result);
        }
        flight.ops.clear();
        self.spare = flight.ops;
        true
    }

    fn schedule(&mut self, now: Mono, config: &ReplicationConfig) {
        if self.in_flight.is_some() || self.live == 0 || self.failures > 0 && self.send_at.is_some()
        {
            return;
        }
        let delay = if self.live >= config.max_batch {
            Duration::ZERO
        } else if self.writes > 0 {
            config.max_delay
        } else {
            config.renew_delay
        };
        let at = now + delay;
        self.send_at = Some(self.send_at.map_or(at, |current| current.min(at)));
    }

    /// The slot of the pending op for `wanted`'s instance, if there is one.
    fn find(&self, wanted: &QueuedOp) -> Option<usize> {
        self.pending
            .iter()
            .position(|slot| slot.as_ref().is_some_and(|p| p.same_instance(wanted)))
    }

    /// Empties `slot` (its op was replaced); holes at the front go at once.
    fn vacate(&mut self, slot: usize) {
        if let Some(replaced) = self.pending[slot].take() {
            self.count_out(&replaced);
        }
        self.trim_front();
        // Holes in the middle wait for the front to reach them, unless they outnumber the
        // ops: then the deque is compacted so scans stay proportional to what is queued.
        if self.pending.len() > 2 * self.live + 16 {
            self.pending.retain(Option::is_some);
        }
    }

    /// Removes and returns the oldest pending op.
    fn pop_oldest(&mut self) -> Option<QueuedOp> {
        let oldest = self.pending.pop_front().flatten()?;
        self.count_out(&oldest);
        self.trim_front();
        Some(oldest)
    }

    fn count_in(&mut self, queued: &QueuedOp) {
        self.live += 1;
        self.writes += usize::from(!queued.is_renew());
    }

    fn count_out(&mut self, queued: &QueuedOp) {
        self.live -= 1;
        self.writes -= usize::from(!queued.is_renew());
    }

    fn trim_front(&mut self) {
        while self.pending.front().is_some_and(Option::is_none) {
            self.pending.pop_front();
        }
    }

    fn drop_expired(&mut self, now: Mono, horizon: Duration) {
        while let Some(Some(oldest)) = self.pending.front() {
            if now.saturating_since(oldest.enqueued_at) <= horizon {
                break;
            }
            self.pop_oldest();
            self.counters.dropped_expired += 1;
        }
    }

    pub(crate) fn check_invariants(&self) {
        let live = self.pending.iter().flatten().count();
        assert_eq!(live, self.live, "queue count out of step");
        let writes = self
            .pending
            .iter()
            .flatten()
            .filter(|p| !p.is_renew())
            .count();
        assert_eq!(writes, self.writes, "write count out of step");
        assert!(
            !self.pending.front().is_some_and(Option::is_none),
            "a hole at the front of the queue"
        );
        let mut keys = std::collections::BTreeSet::new();
        for p in self.pending.iter().flatten() {
            assert!(keys.insert(p.op.key()), "two pending ops for one instance");
        }
        if self.in_flight.is_none() && self.live > 0 {
            assert!(self.send_at.is_some(), "pending ops with nothing scheduled");
        }
    }
}

/// `base * 2^(failures - 1)`, capped, then stretched or shrunk by up to 25 % (seeded).
fn backoff(failures: u32, config: &ReplicationConfig, rng: &mut impl Rng) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    let delay = config
        .backoff_base
        .saturating_mul(1 << doublings)
        .min(config.backoff_max);
    delay.mul_f64(rng.gen_range(0.75..=1.25))
}

#[cfg(test)]
#[path = "peer_queue_tests.rs"]
mod tests;
