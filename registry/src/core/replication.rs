//! One replication queue per peer: coalesced per instance, batched, retried with back-off,
//! bounded.
//!
//! The reference design sends each write once, synchronously, and forgets it on failure. Here
//! a write waits in the queue until the peer acknowledges it, its retry horizon passes, or the
//! queue overflows; the last two are counted, and anti-entropy repairs what they lost.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;

use crate::api::{InstanceKey, ReplicatedOp};

use super::clock::Mono;
use super::config::ReplicationConfig;
use super::fnv::Fnv;

/// Unanswered batches in a row before a peer can be reported lost.
pub(crate) const LOST_AFTER_FAILURES: u32 = 8;

/// An instance key that orders by a hash of itself first. Nothing depends on the order of the
/// pending map (batches follow `order`), so most comparisons settle on one integer instead of
/// four strings; equal hashes fall back to the key, so distinct instances never merge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    hash: u64,
    key: InstanceKey,
}

impl QueueKey {
    fn of(op: &ReplicatedOp) -> QueueKey {
        let key = op.key();
        let mut hash = Fnv::default();
        for part in [&key.env, &key.appid, &key.zone, &key.hostname] {
            hash.write(part.as_bytes());
            hash.write(&[0]);
        }
        QueueKey {
            hash: hash.finish(),
            key,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    op: ReplicatedOp,
    enqueued_at: Mono,
    seq: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct InFlight {
    batch: u64,
    ops: Vec<Pending>,
    deadline: Mono,
}

/// What the queue lost, for metrics and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueCounters {
    /// Ops sent again after an unacknowledged batch.
    pub retried: u64,
    /// Ops dropped because the queue was full.
    pub dropped_overflow: u64,
    /// Ops dropped because they outlived the retry horizon.
    pub dropped_expired: u64,
}

/// The replication queue towards one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PeerQueue {
    pending: BTreeMap<QueueKey, Pending>,
    /// `seq -> key`: the order ops were queued in, oldest first.
    order: BTreeMap<u64, QueueKey>,
    next_seq: u64,
    in_flight: Option<InFlight>,
    /// When the next batch may leave; `None` while nothing is pending or a batch is in flight.
    send_at: Option<Mono>,
    /// Consecutive unacknowledged batches.
    failures: u32,
    /// When the current run of unanswered batches began.
    failing_since: Option<Mono>,
    pub(crate) counters: QueueCounters,
}

impl PeerQueue {
    /// Ops waiting, not counting the batch in flight.
    pub(crate) fn depth(&self) -> usize {
        self.pending.len()
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

    /// Queues an op. A newer op for the same instance replaces the pending one, except that a
    /// renew never replaces a register or cancel (it would lose their content).
    pub(crate) fn push(&mut self, op: ReplicatedOp, now: Mono, config: &ReplicationConfig) {
        let seq = self.next_seq;
        let pending = Pending {
            enqueued_at: now,
            seq,
            op,
        };
        // One search of the pending map, whether the instance has an op waiting or not.
        match self.pending.entry(QueueKey::of(&pending.op)) {
            Entry::Occupied(mut slot) => {
                let old = slot.get();
                if matches!(pending.op, ReplicatedOp::Renew { .. })
                    && !matches!(old.op, ReplicatedOp::Renew { .. })
                {
                    return;
                }
                self.order.remove(&old.seq);
                self.order.insert(seq, slot.key().clone());
                slot.insert(pending);
            }
            Entry::Vacant(slot) => {
                self.order.insert(seq, slot.key().clone());
                slot.insert(pending);
            }
        }
        self.next_seq += 1;
        while self.pending.len() > config.max_queue {
            self.drop_oldest();
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
        for pending in flight.ops {
            // A newer op for the same instance queued meanwhile wins, unless it is a renew.
            let key = QueueKey::of(&pending.op);
            let newer = self.pending.get(&key);
            let keep_newer = newer.is_some_and(|n| {
                !matches!(n.op, ReplicatedOp::Renew { .. })
                    || matches!(pending.op, ReplicatedOp::Renew { .. })
            });
            if keep_newer {
                continue;
            }
            if let Some(newer) = self.pending.remove(&key) {
                self.order.remove(&newer.seq);
            }
            self.counters.retried += 1;
            self.order.insert(pending.seq, key.clone());
            self.pending.insert(key, pending);
        }
        self.send_at = Some(now + backoff(self.failures, config, rng));
        true
    }

    /// The next batch to send as `batch`, if one is due. Ops past the retry horizon are
    /// dropped first.
    pub(crate) fn take_batch(
        &mut self,
        batch: u64,
        now: Mono,
        config: &ReplicationConfig,
    ) -> Option<Vec<ReplicatedOp>> {
        if self.in_flight.is_some() || self.send_at.is_none_or(|at| at > now) {
            return None;
        }
        self.send_at = None;
        self.drop_expired(now, config.retry_horizon);
        let mut ops: Vec<Pending> = Vec::with_capacity(self.order.len().min(config.max_batch));
        while ops.len() < config.max_batch {
            let Some((_, key)) = self.order.pop_first() else {
                break;
            };
            ops.extend(self.pending.remove(&key));
        }
        if ops.is_empty() {
            return None;
        }
        let wire = ops.iter().map(|p| p.op.clone()).collect();
        self.in_flight = Some(InFlight {
            batch,
            ops,
            deadline: now + config.ack_timeout,
        });
        Some(wire)
    }

    /// The peer acknowledged `batch`: returns its ops (to pair with the results), or `None` if
    /// that batch is not the one in flight (a late answer to a batch already put back).
    pub(crate) fn acknowledge(
        &mut self,
        batch: u64,
        now: Mono,
        config: &ReplicationConfig,
    ) -> Option<Vec<ReplicatedOp>> {
        let flight = self.in_flight.take_if(|f| f.batch == batch)?;
        self.failures = 0;
        self.failing_since = None;
        self.schedule(now, config);
        Some(flight.ops.into_iter().map(|p| p.op).collect())
    }

    fn schedule(&mut self, now: Mono, config: &ReplicationConfig) {
        if self.in_flight.is_some()
            || self.pending.is_empty()
            || self.failures > 0 && self.send_at.is_some()
        {
            return;
        }
        let full = self.pending.len() >= config.max_batch;
        let at = if full { now } else { now + config.max_delay };
        self.send_at = Some(self.send_at.map_or(at, |current| current.min(at)));
    }

    fn drop_oldest(&mut self) {
        if let Some((_, key)) = self.order.pop_first() {
            self.pending.remove(&key);
        }
    }

    fn drop_expired(&mut self, now: Mono, horizon: Duration) {
        while let Some((_, key)) = self.order.first_key_value() {
            let expired = self
                .pending
                .get(key)
                .is_some_and(|p| now.saturating_since(p.enqueued_at) > horizon);
            if !expired {
                break;
            }
            self.drop_oldest();
            self.counters.dropped_expired += 1;
        }
    }

    pub(crate) fn check_invariants(&self) {
        assert_eq!(
            self.pending.len(),
            self.order.len(),
            "queue order index out of step"
        );
        for (seq, key) in &self.order {
            assert_eq!(
                self.pending.get(key).map(|p| p.seq),
                Some(*seq),
                "queue index points astray"
            );
        }
        if self.in_flight.is_none() && !self.pending.is_empty() {
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
#[path = "replication_tests.rs"]
mod tests;
