//! Anti-entropy: periodic digest exchange that repairs whatever replication lost.
//!
//! Every interval (with seeded jitter) the node sends one random peer a digest of every app it
//! holds. The peer answers with its full state of each app whose digest differs; the initiator
//! merges it by last-writer-wins and sends back its own (now merged) state of those apps. After
//! one exchange both hold the newer version of every instance and tombstone in those apps, so
//! the cluster converges even if every replication message is lost.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;

use crate::api::{AppKey, AppState, InstanceKey, PeerMessage, Version};

use super::clock::{Clock, Mono};
use super::network::Network;
use super::node::Node;
use super::table::{expired, Applied};
use super::timer::Timer;

impl<C: Clock, N: Network> Node<C, N> {
    /// Arms the next exchange: the interval stretched or shrunk by up to the jitter.
    pub(super) fn schedule_anti_entropy(&mut self, now: Mono) {
        let cluster = &self.config.cluster;
        let jitter = cluster.anti_entropy_jitter_percent.min(100) as f64 / 100.0;
        let factor = self.rng.gen_range(1.0 - jitter..=1.0 + jitter);
        self.timers.set(
            Timer::AntiEntropy,
            now + cluster.anti_entropy_interval.mul_f64(factor),
        );
    }

    /// Sends a digest of everything held to one random peer.
    pub(super) fn start_anti_entropy(&mut self, now: Mono) {
        self.schedule_anti_entropy(now);
        let peers = self.replication.addrs();
        if !self.startup.is_done() || peers.len() == 0 {
            return;
        }
        let index = self.rng.gen_range(0..peers.len());
        let Some(addr) = peers.clone().nth(index).cloned() else {
            return;
        };
        self.stats.anti_entropy_rounds += 1;
        self.net.send(
            &addr,
            PeerMessage::Digests {
                digests: self.table.digests(),
            },
        );
    }

    /// Step 2: answer with our state of every app whose digest differs from the sender's.
    pub(super) fn on_digests(&mut self, from: &str, theirs: &[(AppKey, u64)]) {
        let theirs: BTreeMap<&AppKey, u64> = theirs.iter().map(|(app, d)| (app, *d)).collect();
        let ours: BTreeMap<AppKey, u64> = self.table.digests().into_iter().collect();
        let apps: BTreeSet<&AppKey> = theirs.keys().copied().chain(ours.keys()).collect();
        let differing: Vec<AppState> = apps
            .into_iter()
            .filter(|app| theirs.get(*app) != ours.get(*app))
            .map(|app| self.table.state(app))
            .collect();
        if !differing.is_empty() {
            let sent_at = self.clock.wall();
            self.send_to_peer(
                from,
                PeerMessage::Repair {
                    apps: differing,
                    sent_at,
                },
            );
        }
    }

    /// Step 3: merge the peer's state, then send back ours of the same apps.
    pub(super) fn on_repair(&mut self, from: &str, apps: &[AppState], sent_at: i64) {
        let keys: Vec<AppKey> = apps.iter().map(|state| state.app.clone()).collect();
        self.repair_from(apps, sent_at);
        let back = keys.iter().map(|app| self.table.state(app)).collect();
        let sent_at = self.clock.wall();
        self.send_to_peer(
            from,
            PeerMessage::RepairBack {
                apps: back,
                sent_at,
            },
        );
    }

    /// Merges a peer's state of some apps, then drops the copies the peer does not hold whose
    /// lease has expired here.
    ///
    /// Such a copy is dead: nobody renewed it through this node for longer than the lease, and
    /// a peer this node can reach does not hold it either (had its client renewed anywhere,
    /// the renewals would have been replicated here). Without this, a node kept in protection
    /// mode by its dead instances would hold them for the full hour, and the cluster would not
    /// converge; protection still guards against the case it is for, a node cut off alone.
    pub(super) fn repair_from(&mut self, apps: &[AppState], sent_at: i64) {
        let held_by_peer: BTreeSet<crate::api::InstanceKey> = apps
            .iter()
            .flat_map(|state| {
                let live = state.instances.iter().map(crate::api::InstanceKey::of);
                live.chain(state.tombstones.iter().map(|t| t.key.clone()))
            })
            .collect();
        let keys: Vec<AppKey> = apps.iter().map(|state| state.app.clone()).collect();
        self.merge(apps, sent_at);
        let now = self.clock.mono();
        let evict_after = self.config.lease.evict_after;
        for app in keys {
            for instance in self.table.state(&app).instances {
                let key = crate::api::InstanceKey::of(&instance);
                let silent_for = self
                    .table
                    .renewed_at(&key)
                    .map(|at| now.saturating_since(at));
                if let Some(silent_for) =
                    silent_for.filter(|s| *s > evict_after && !held_by_peer.contains(&key))
                {
                    self.drop_dead(key, silent_for);
                }
            }
        }
    }

    /// Merges a peer's state, sent at `sent_at` on its clock, by last-writer-wins; returns how
    /// many versions changed here.
    ///
    /// A copy this node lacks whose lease has already expired is not inserted: otherwise two
    /// nodes could hand a dead instance back and forth forever, each giving it a new lease.
    /// Its version is kept as an evicted one is (`Table::keep_expired`).
    pub(super) fn merge(&mut self, apps: &[AppState], sent_at: i64) -> u64 {
        let wall = self.clock.wall();
        let evict_after = self.config.lease.evict_after;
        let retention = self.config.tombstone_retention;
        let mut changed = 0;
        for state in apps {
            for instance in &state.instances {
                // Most of a peer's state is what this node already holds: leave it be, rather
                // than replace it with itself and wake every long-poll of the app for nothing.
                if self.table.holds(instance) {
                    continue;
                }
                if !self.admits_copy(instance) {
                    continue;
                }
                let instance = instance.rebased(sent_at, wall);
                let key = InstanceKey::of(&instance);
                if self.table.instance(&key).is_none()
                    && expired(instance.renew_timestamp, wall, evict_after)
                {
                    self.stats.repairs_skipped_expired += 1;
                    self.table.keep_expired(&instance, wall);
                    continue;
                }
                if matches!(
                    self.apply(Version::Put(Box::new(instance))),
                    Applied::Inserted | Applied::Revived(_) | Applied::Replaced
                ) {
                    changed += 1;
                }
            }
            for tombstone in &state.tombstones {
                // An expired tombstone is not taken in for its own sake (two nodes would hand
                // it back and forth for good), but it still removes a copy it outranks: the
                // cancel beats that copy however old it is (swarm seed 208718: a cancel taken
                // during a partition about as long as the retention reached the other side
                // seconds after expiring there, and the cancelled copy was kept and spread).
                // The sweep collects it.
                let outranks_held = self
                    .table
                    .instance(&tombstone.key)
                    .is_some_and(|held| held.dirty_timestamp <= tombstone.dirty_timestamp);
                if expired(tombstone.dirty_timestamp, wall, retention) && !outranks_held {
                    continue;
                }
                if !self.admits_tombstone(tombstone) {
                    continue;
                }
                let before = self.table.tombstone(&tombstone.key);
                let applied = self.apply(Version::Tombstone(tombstone.clone()));
                if applied == Applied::Removed || self.table.tombstone(&tombstone.key) != before {
                    changed += 1;
                }
            }
        }
        self.stats.anti_entropy_repairs += changed;
        changed
    }
}
