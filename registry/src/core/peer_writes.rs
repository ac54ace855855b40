//! The receiving side of replication: a peer's batch applied op by op, and a peer's answers
//! to ours acted on.

use std::sync::Arc;

use crate::api::{Instance, InstanceKey, OpResult, PeerMessage, ReplicatedOp, Tombstone, Version};

use super::clock::Clock;
use super::network::Network;
use super::node::{LeaseRenewed, Node};
use super::table::Applied;
use super::validate;

impl<C: Clock, N: Network> Node<C, N> {
    /// A batch from a peer: apply each op, answer each, and re-replicate a forwarded batch
    /// inside this zone.
    pub(super) fn on_replicate(
        &mut self,
        from: &str,
        batch: u64,
        forward: bool,
        ops: &[Arc<ReplicatedOp>],
        sent_at: i64,
    ) {
        if ops.len() > self.config.limits.max_peer_batch {
            // Refused whole and unanswered: the sender retries in smaller batches or not at all.
            self.stats.peer_versions_refused += ops.len() as u64;
            return;
        }
        let results = ops
            .iter()
            .map(|op| self.apply_replicated(op, forward, sent_at))
            .collect();
        let sent_at = self.clock.wall();
        self.send_to_peer(
            from,
            PeerMessage::ReplicateAck {
                batch,
                results,
                sent_at,
            },
        );
    }

    /// Applies one op of a batch sent at `sent_at` (the sender's clock); a copy keeps its age
    /// (`Instance::rebased`), and so does the copy forwarded into this zone.
    fn apply_replicated(&mut self, op: &ReplicatedOp, forward: bool, sent_at: i64) -> OpResult {
        let admitted = match op {
            ReplicatedOp::Write(Version::Put(instance)) => self.admits_copy(instance),
            ReplicatedOp::Write(Version::Tombstone(tombstone)) => self.admits_tombstone(tombstone),
            ReplicatedOp::Renew {
                dirty_timestamp, ..
            } => !self.refuses_future(*dirty_timestamp),
        };
        if !admitted {
            // Refused and counted; answered Ok so the sender does not send it again.
            return OpResult::Ok;
        }
        let rebased;
        let op = match op {
            ReplicatedOp::Write(Version::Put(instance)) => {
                let instance = Box::new(instance.rebased(sent_at, self.clock.wall()));
                rebased = ReplicatedOp::Write(Version::Put(instance));
                &rebased
            }
            _ => op,
        };
        // What this zone's peers are sent when the op changed something here (only a batch
        // another zone forwarded here is passed on).
        let mut forwarded = forward.then(|| op.clone());
        let result = match op {
            ReplicatedOp::Write(version) => match self.apply(version.clone()) {
                Applied::Stale(Version::Put(newer)) => {
                    forwarded = None;
                    OpResult::Conflict { instance: newer }
                }
                Applied::Stale(Version::Tombstone(_)) => {
                    forwarded = None;
                    OpResult::Ok
                }
                // The sender's copy was older than the version it brought back: it adopts
                // that version, and so do the peers it is forwarded to.
                Applied::Revived(newer) => {
                    forwarded = Some(ReplicatedOp::Write(Version::Put(newer.clone())));
                    OpResult::Conflict { instance: newer }
                }
                Applied::Inserted | Applied::Replaced | Applied::Removed | Applied::Buried => {
                    OpResult::Ok
                }
            },
            ReplicatedOp::Renew {
                key,
                dirty_timestamp,
            } => match self.renew_lease(key, Some(*dirty_timestamp)) {
                LeaseRenewed::Missing | LeaseRenewed::SenderNewer => {
                    forwarded = None;
                    OpResult::NotFound
                }
                LeaseRenewed::ReceiverNewer(instance) => {
                    forwarded = None;
                    let instance = Box::new(instance.clone());
                    OpResult::Conflict { instance }
                }
                LeaseRenewed::Renewed(_) => OpResult::Ok,
            },
        };
        if let (true, Some(forwarded)) = (forward, forwarded) {
            let now = self.clock.mono();
            self.replication.queue_in_zone_only(forwarded, now);
        }
        result
    }

    /// A peer answered a batch: send the full instance where it lacked our version, adopt its
    /// copy where it held a newer one.
    pub(super) fn on_replicate_ack(
        &mut self,
        from: &str,
        batch: u64,
        results: &[OpResult],
        sent_at: i64,
    ) {
        let now = self.clock.mono();
        let mut answered = Vec::new();
        let (waits, net) = (&mut self.ack_waits, &mut self.net);
        let awaited = self
            .replication
            .acknowledge(from, batch, results, now, |op, result| {
                if let (false, ReplicatedOp::Write(version)) = (waits.is_empty(), &**op) {
                    // Whatever the peer answered, it has taken this version (or holds a newer).
                    for (id, reply) in waits.acknowledged(&version.key(), version.dirty_timestamp())
                    {
                        net.reply(id, reply);
                    }
                }
                if !matches!(result, OpResult::Ok) {
                    answered.push((Arc::clone(op), result));
                }
            });
        if !awaited {
            return;
        }
        for (op, result) in answered {
            match result {
                OpResult::Ok => {}
                OpResult::NotFound => {
                    if let Some(instance) = self.table.instance(&op.key()).cloned() {
                        self.stats.renew_not_found_resent += 1;
                        let put = ReplicatedOp::Write(Version::Put(Box::new(instance)));
                        self.replication.queue_for(from, put, now);
                    }
                }
                OpResult::Conflict { instance } => {
                    if !self.admits_copy(instance) {
                        continue;
                    }
                    let instance = instance.rebased(sent_at, self.clock.wall());
                    if matches!(
                        self.apply(Version::Put(Box::new(instance))),
                        Applied::Inserted | Applied::Revived(_) | Applied::Replaced
                    ) {
                        self.stats.conflicts_adopted += 1;
                    }
                }
            }
        }
    }

    /// Whether a copy a peer sent may be applied: stamped within the bound of this node's
    /// clock, and within the limits a client's register is held to. Refusals are counted.
    pub(super) fn admits_copy(&mut self, instance: &Instance) -> bool {
        if self.refuses_future(instance.dirty_timestamp) {
            return false;
        }
        let within = validate::check_instance(instance, &self.config.limits).is_ok()
            && self.capacity_exceeded(&InstanceKey::of(instance)).is_none();
        self.stats.peer_versions_refused += u64::from(!within);
        within
    }

    /// [`Node::admits_copy`] for a cancel.
    pub(super) fn admits_tombstone(&mut self, tombstone: &Tombstone) -> bool {
        if self.refuses_future(tombstone.dirty_timestamp) {
            return false;
        }
        let within = validate::check_key(&tombstone.key, &self.config.limits).is_ok();
        self.stats.peer_versions_refused += u64::from(!within);
        within
    }

    /// Whether a stamp a peer sent is beyond this node's clock bound (counted if so).
    fn refuses_future(&mut self, stamp: i64) -> bool {
        let beyond = self.beyond_clock(stamp);
        self.stats.future_versions_refused += u64::from(beyond);
        beyond
    }

    /// Sends `message` to `to` if it is a peer: a node answers no one it has not admitted, so
    /// a forged sender cannot turn it against a third party. Counted when dropped.
    pub(super) fn send_to_peer(&mut self, to: &str, message: PeerMessage) {
        if self.replication.is_peer(to) {
            self.net.send(to, message);
        } else {
            self.stats.messages_to_strangers_dropped += 1;
        }
    }
}
