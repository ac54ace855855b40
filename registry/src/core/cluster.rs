//! Peers: membership by self-discovery, and replication of writes through per-peer queues.
//!
//! A node registers itself as `infra.discovery`; its peers are the configured seeds and other
//! zones' nodes plus every `infra.discovery` instance of its env, minus itself. Each write goes
//! to every same-zone peer and to one node of each other zone, which re-replicates it inside
//! its own zone (`forward`); nothing is forwarded twice, so there are no loops.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::{
    AppKey, InstanceKey, NodeInfo, NodeStatus, OpResult, PeerMessage, RegisterArgs, ReplicatedOp,
    SmolStr, Status, StatusFilter,
};

use super::clock::{Clock, Mono};
use super::network::Network;
use super::node::{Node, NodeEvent};
use super::replication::{PeerQueue, Pending};
use super::stats::NodeStats;
use super::table::{Applied, Newer, Version};
use super::writes::RenewOutcome;

/// The appid under which registry nodes register themselves.
pub const DISCOVERY_APPID: &str = "infra.discovery";

/// One peer and the queue of writes waiting for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Peer {
    pub(crate) zone: SmolStr,
    pub(crate) queue: PeerQueue,
}

impl Peer {
    pub(crate) fn info(&self, addr: &str, now: Mono, lost_after: std::time::Duration) -> NodeInfo {
        let status = if self.queue.is_lost(now, lost_after) {
            NodeStatus::Lost
        } else {
            NodeStatus::Up
        };
        NodeInfo {
            addr: addr.into(),
            status,
            zone: self.zone.clone(),
        }
    }
}

impl<C: Clock, N: Network> Node<C, N> {
    /// Recomputes the peer set from configuration and `infra.discovery`; keeps the queues of
    /// peers that stay, drops those of peers that left.
    pub(super) fn refresh_peers(&mut self) {
        let desired = self.desired_peers();
        let before: Vec<SmolStr> = self.peers.keys().cloned().collect();
        let leaving: Vec<SmolStr> = self
            .peers
            .keys()
            .filter(|a| !desired.contains_key(*a))
            .cloned()
            .collect();
        for addr in leaving {
            if let Some(peer) = self.peers.remove(&addr) {
                let c = peer.queue.counters;
                self.retired_queues.retried += c.retried;
                self.retired_queues.dropped_overflow += c.dropped_overflow;
                self.retired_queues.dropped_expired += c.dropped_expired;
            }
        }
        for (addr, zone) in desired {
            self.peers.entry(addr).or_insert_with(|| Peer {
                zone,
                queue: PeerQueue::default(),
            });
        }
        let after: Vec<SmolStr> = self.peers.keys().cloned().collect();
        if after != before {
            self.events.push_back(NodeEvent::PeersChanged(after));
        }
    }

    fn desired_peers(&self) -> BTreeMap<SmolStr, SmolStr> {
        let identity = &self.config.identity;
        let cluster = &self.config.cluster;
        let mut desired: BTreeMap<SmolStr, SmolStr> = cluster
            .seeds
            .iter()
            .map(|addr| (addr.into(), identity.zone.clone()))
            .collect();
        for (zone, addrs) in &cluster.zones {
            desired.extend(addrs.iter().map(|addr| (addr.into(), zone.into())));
        }
        let app = AppKey {
            env: identity.env.clone(),
            appid: DISCOVERY_APPID.into(),
        };
        if let Some(info) = self.table.info(&app, "", StatusFilter::ALL) {
            for instance in info.instances.values().flatten() {
                if let Some(addr) = instance.addrs.first() {
                    let addr = addr.strip_prefix("http://").unwrap_or(addr);
                    desired.insert(addr.into(), instance.zone.clone());
                }
            }
        }
        desired.remove(&identity.addr);
        desired
    }

    fn self_key(&self) -> InstanceKey {
        let identity = &self.config.identity;
        InstanceKey {
            env: identity.env.clone(),
            appid: DISCOVERY_APPID.into(),
            zone: identity.zone.clone(),
            hostname: identity.hostname.clone(),
        }
    }

    /// Registers this node as `infra.discovery` (replicated like any register).
    pub(super) fn register_self(&mut self) {
        let identity = &self.config.identity;
        let args = RegisterArgs {
            region: identity.region.clone(),
            zone: identity.zone.clone(),
            env: identity.env.clone(),
            appid: DISCOVERY_APPID.into(),
            hostname: identity.hostname.clone(),
            status: Status::Up,
            addrs: vec![format!("http://{}", identity.addr).into()],
            version: SmolStr::default(),
            metadata: Default::default(),
            replication: false,
            latest_timestamp: 0,
            dirty_timestamp: 0,
        };
        self.register(args);
    }

    /// Renews this node's own registration, or registers it again if it is gone.
    pub(super) fn renew_self(&mut self) {
        if self.shutting_down {
            return; // Renewing (or re-registering) would undo the shutdown's cancel.
        }
        let key = self.self_key();
        self.events.push_back(NodeEvent::SelfRenewed);
        match self.renew_version(&key, None) {
            RenewOutcome::Renewed(instance) => {
                let dirty_timestamp = instance.dirty_timestamp;
                self.replicate(ReplicatedOp::Renew {
                    key,
                    dirty_timestamp,
                });
            }
            _ => self.register_self(),
        }
    }

    /// Cancels this node's own registration (graceful shutdown).
    pub(super) fn cancel_self(&mut self) {
        let key = self.self_key();
        let dirty_timestamp = self.hlc.stamp(self.clock.wall());
        if matches!(
            self.apply(Version::Tombstone {
                key: key.clone(),
                dirty_timestamp
            }),
            Applied::Removed
        ) {
            self.replicate(ReplicatedOp::Cancel {
                key,
                dirty_timestamp,
            });
        }
    }

    /// Queues a local write for every same-zone peer and one node of each other zone.
    pub(super) fn replicate(&mut self, op: ReplicatedOp) {
        let pending = Pending::new(op, self.clock.mono());
        self.replicate_in_zone(&pending);
        let own_zone = &self.config.identity.zone;
        let mut zones: Vec<SmolStr> = Vec::new(); // Allocates only in a multi-zone cluster.
        for peer in self.peers.values().filter(|p| &p.zone != own_zone) {
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
            let candidates = self.peers.iter().filter(|(_, p)| p.zone == zone);
            let (now, lost_after) = (
                self.clock.mono(),
                self.config.cluster.replication.peer_lost_after,
            );
            let healthy = candidates
                .clone()
                .find(|(_, p)| !p.queue.is_lost(now, lost_after));
            let targets: Vec<SmolStr> = match healthy {
                Some((addr, _)) => vec![addr.clone()],
                None => candidates.map(|(addr, _)| addr.clone()).collect(),
            };
            for addr in targets {
                self.enqueue(&addr, pending.clone());
            }
        }
    }

    /// Queues a write for every peer of this node's zone only.
    fn replicate_in_zone(&mut self, pending: &Pending) {
        let (own_zone, config) = (&self.config.identity.zone, &self.config.cluster.replication);
        for peer in self.peers.values_mut().filter(|p| &p.zone == own_zone) {
            peer.queue.push_pending(pending.clone(), config);
            self.stats.replication_enqueued += 1;
        }
    }

    fn enqueue(&mut self, addr: &str, pending: Pending) {
        if let Some(peer) = self.peers.get_mut(addr) {
            peer.queue
                .push_pending(pending, &self.config.cluster.replication);
            self.stats.replication_enqueued += 1;
        }
    }

    /// Sends due batches and puts back unanswered ones (the replication timer).
    pub(super) fn flush_replication(&mut self, now: Mono) {
        let (config, own_zone) = (&self.config.cluster.replication, &self.config.identity.zone);
        for (addr, peer) in &mut self.peers {
            peer.queue.check_timeout(now, config, &mut self.rng);
            let batch = self.next_batch;
            if let Some(ops) = peer.queue.take_batch(batch, now, config) {
                let forward = &peer.zone != own_zone;
                self.next_batch += 1;
                self.stats.replication_batches += 1;
                self.net.send(
                    addr,
                    PeerMessage::Replicate {
                        batch,
                        forward,
                        ops,
                    },
                );
            }
        }
    }

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
        let stamp = match op {
            ReplicatedOp::Put { instance } => instance.dirty_timestamp,
            ReplicatedOp::Renew {
                dirty_timestamp, ..
            }
            | ReplicatedOp::Cancel {
                dirty_timestamp, ..
            } => *dirty_timestamp,
        };
        if self.beyond_clock(stamp) {
            // Refused and counted; answered Ok so the sender does not send it again.
            self.stats.future_versions_refused += 1;
            return OpResult::Ok;
        }
        let (result, changed) = match op {
            ReplicatedOp::Put { instance } => {
                match self.apply(Version::Put((**instance).clone())) {
                    Applied::Stale(Newer::Instance(newer)) => {
                        (OpResult::Conflict { instance: newer }, false)
                    }
                    Applied::Inserted | Applied::Replaced => (OpResult::Ok, true),
                    _ => (OpResult::Ok, false),
                }
            }
            ReplicatedOp::Renew {
                key,
                dirty_timestamp,
            } => match self.renew_version(key, Some(*dirty_timestamp)) {
                RenewOutcome::Missing | RenewOutcome::SenderNewer => (OpResult::NotFound, false),
                RenewOutcome::ReceiverNewer(instance) => {
                    let instance = Box::new(instance.clone());
                    (OpResult::Conflict { instance }, false)
                }
                RenewOutcome::Renewed(_) => (OpResult::Ok, true),
            },
            ReplicatedOp::Cancel {
                key,
                dirty_timestamp,
            } => {
                let version = Version::Tombstone {
                    key: key.clone(),
                    dirty_timestamp: *dirty_timestamp,
                };
                match self.apply(version) {
                    Applied::Stale(Newer::Instance(newer)) => {
                        (OpResult::Conflict { instance: newer }, false)
                    }
                    Applied::Removed | Applied::Buried => (OpResult::Ok, true),
                    _ => (OpResult::Ok, false),
                }
            }
        };
        if forward && changed {
            self.replicate_in_zone(&Pending::new(op.clone(), self.clock.mono()));
        }
        result
    }

    /// A peer answered a batch: send the full instance where it lacked our version, adopt its
    /// copy where it held a newer one.
    pub(super) fn on_replicate_ack(&mut self, from: &str, batch: u64, results: &[OpResult]) {
        let now = self.clock.mono();
        let config = &self.config.cluster.replication;
        let Some(answered) = self
            .peers
            .get_mut(from)
            .and_then(|p| p.queue.acknowledge(batch, results, now, config))
        else {
            return;
        };
        for (op, result) in answered {
            match result {
                OpResult::Ok => {}
                OpResult::NotFound => {
                    if let Some(instance) = self.table.instance(&op.key()).cloned() {
                        self.stats.renew_not_found_resent += 1;
                        let put = ReplicatedOp::Put {
                            instance: Box::new(instance),
                        };
                        self.enqueue(from, Pending::new(put, now));
                    }
                }
                OpResult::Conflict { instance } if self.beyond_clock(instance.dirty_timestamp) => {
                    self.stats.future_versions_refused += 1;
                }
                OpResult::Conflict { instance } => {
                    if matches!(
                        self.apply(Version::Put((**instance).clone())),
                        Applied::Inserted | Applied::Replaced
                    ) {
                        self.stats.conflicts_adopted += 1;
                    }
                }
            }
        }
    }

    /// The node's counters with the queues' counters folded in.
    pub(super) fn stats_with_queues(&self) -> NodeStats {
        let mut stats = self.stats;
        let mut add = |c: super::replication::QueueCounters| {
            stats.replication_retried += c.retried;
            stats.replication_dropped_overflow += c.dropped_overflow;
            stats.replication_dropped_expired += c.dropped_expired;
        };
        add(self.retired_queues);
        self.peers.values().for_each(|p| add(p.queue.counters));
        stats
    }
}
