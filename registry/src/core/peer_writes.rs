//! The receiving side of replication: a peer's batch applied op by op, and a peer's answers
//! to ours acted on.

use std::sync::Arc;

use crate::api::{OpResult, PeerMessage, ReplicatedOp, Version};

use super::clock::Clock;
use super::network::Network;
use super::node::{LeaseRenewed, Node};
use super::table::Applied;

impl<C: Clock, N: Network> Node<C, N> {
    /// A batch from a peer: apply each op, answer each, and re-replicate a forwarded batch
    /// inside this zone.
    pub(super) fn on_replicate(
        &mut self,
        from: &str,
        batch: u64,
        forward: bool,
        ops: &[Arc<ReplicatedOp>],
    ) {
        let results = ops
            .iter()
            .map(|op| self.apply_replicated(op, forward))
            .collect();
        self.net
            .send(from, PeerMessage::ReplicateAck { batch, results });
    }

    fn apply_replicated(&mut self, op: &ReplicatedOp, forward: bool) -> OpResult {
        if self.beyond_clock(op.dirty_timestamp()) {
            // Refused and counted; answered Ok so the sender does not send it again.
            self.stats.future_versions_refused += 1;
            return OpResult::Ok;
        }
        let (result, changed) = match op {
            ReplicatedOp::Write(version) => match self.apply(version.clone()) {
                Applied::Stale(Version::Put(newer)) => {
                    (OpResult::Conflict { instance: newer }, false)
                }
                Applied::Stale(Version::Tombstone(_)) => (OpResult::Ok, false),
                Applied::Inserted | Applied::Replaced | Applied::Removed | Applied::Buried => {
                    (OpResult::Ok, true)
                }
            },
            ReplicatedOp::Renew {
                key,
                dirty_timestamp,
            } => match self.renew_lease(key, Some(*dirty_timestamp)) {
                LeaseRenewed::Missing | LeaseRenewed::SenderNewer => (OpResult::NotFound, false),
                LeaseRenewed::ReceiverNewer(instance) => {
                    let instance = Box::new(instance.clone());
                    (OpResult::Conflict { instance }, false)
                }
                LeaseRenewed::Renewed(_) => (OpResult::Ok, true),
            },
        };
        if forward && changed {
            let now = self.clock.mono();
            self.replication.queue_in_zone_only(op.clone(), now);
        }
        result
    }

    /// A peer answered a batch: send the full instance where it lacked our version, adopt its
    /// copy where it held a newer one.
    pub(super) fn on_replicate_ack(&mut self, from: &str, batch: u64, results: &[OpResult]) {
        let now = self.clock.mono();
        let Some(answered) = self.replication.acknowledge(from, batch, results, now) else {
            return;
        };
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
                OpResult::Conflict { instance } if self.beyond_clock(instance.dirty_timestamp) => {
                    self.stats.future_versions_refused += 1;
                }
                OpResult::Conflict { instance } => {
                    if matches!(
                        self.apply(Version::Put(instance.clone())),
                        Applied::Inserted | Applied::Replaced
                    ) {
                        self.stats.conflicts_adopted += 1;
                    }
                }
            }
        }
    }
}
