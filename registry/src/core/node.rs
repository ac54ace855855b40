//! The node: owns the table, the guard, the waiters and the timers, and takes every input.

use std::collections::VecDeque;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::api::{
    AppKey, Code, Instance, InstanceKey, NodeInfo, PeerMessage, ReplicatedOp, Reply, Request,
    SmolStr, Version,
};

use super::ack_wait::AckWaits;
use super::clock::{Clock, Mono};
use super::config::{Config, ConfigError, Durability};
use super::guard::{Guard, ProtectionOverride, ProtectionStatus};
use super::hlc::Hlc;
use super::membership;
use super::network::{Network, RequestId};
use super::poll::Waiters;
use super::replication::{PeerReplication, Replication};
use super::stats::NodeStats;
use super::sync::StartupSync;
use super::table::{Applied, Table};
use super::timer::{Timer, Timers};
use super::told_missing::ToldMissing;
use super::validate;

/// A decision the node took on its own, reported to its driver for logs, metrics and traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// An eviction round ran.
    EvictionRound {
        /// Instances held when the round started.
        registry_size: usize,
        /// Instances past their lease (or past the ceiling, when protected).
        expired: usize,
        /// The most this round could evict.
        cap: usize,
        /// How many it evicted.
        evicted: usize,
        /// Whether the node was protected.
        protected: bool,
    },
    /// An instance was evicted.
    Evicted {
        /// Which one.
        key: InstanceKey,
        /// How long this node had not heard from it.
        silent_for: Duration,
    },
    /// The protection mode changed.
    ProtectionChanged(ProtectionStatus),
    /// Anti-entropy dropped a copy whose lease had expired and that the peer did not hold.
    DroppedDead {
        /// Which instance.
        key: InstanceKey,
        /// How long this node had not heard from it.
        silent_for: Duration,
    },
    /// A renew window closed and the protection mode was decided from it.
    WindowClosed {
        /// Renews received in the window of instances the node holds (from clients, peers and
        /// the node's own): what protection counts.
        renews: u64,
        /// Renews received in the window of instances the node does not hold: not counted.
        unheld_renews: u64,
        /// Expected renews per window at the close.
        expected: u64,
        /// `floor(expected * threshold_percent / 100)`.
        threshold: u64,
        /// The mode now in force (override included).
        protected: bool,
    },
    /// The node renewed its own `infra.discovery` registration (a renew it received from
    /// itself, counted like any other).
    SelfRenewed,
    /// The peer set changed (membership); the new set, sorted.
    PeersChanged(Vec<SmolStr>),
    /// The node learnt it had not run for this long (see [`Node::handle_stall`]) and answers
    /// client writes -503 for `StallConfig::refuse_writes_for`.
    Stalled {
        /// How long it had not run.
        stalled_for: Duration,
    },
    /// Startup sync finished: merged from a synced peer, or (`None`) gave up waiting.
    Synced {
        /// The synced peer merged from, if any.
        from: Option<SmolStr>,
    },
}

/// A registry node: a deterministic state machine driven through `handle_*` methods.
///
/// See the [module documentation](crate::core) for the driver contract.
#[derive(Debug)]
pub struct Node<C, N> {
    pub(super) config: Config,
    pub(super) clock: C,
    pub(super) net: N,
    pub(super) rng: ChaCha8Rng,
    pub(super) hlc: Hlc,
    pub(super) table: Table,
    pub(super) guard: Guard,
    pub(super) waiters: Waiters,
    /// Apps changed in this step whose long-polls are answered when it ends.
    pub(super) woken: std::collections::BTreeSet<AppKey>,
    pub(super) timers: Timers,
    pub(super) events: VecDeque<NodeEvent>,
    /// The peers and their replication queues.
    pub(super) replication: Replication,
    /// Startup sync; reads are refused with -503 until it is done.
    pub(super) startup: StartupSync,
    pub(super) stats: NodeStats,
    /// Set by `handle_shutdown`: the node no longer renews or re-registers itself.
    pub(super) shutting_down: bool,
    /// Until when client writes are refused after a stall.
    writes_refused_until: Option<Mono>,
    /// Answers to client writes waiting for a peer's acknowledgement (`durability = "peer"`).
    pub(super) ack_waits: AckWaits,
    /// While a client write is handled with `durability = "peer"`: the versions (instance,
    /// stamp) it queued for a peer that is not lost, whose acknowledgement its answer awaits.
    queued_versions: Option<Vec<(InstanceKey, i64)>>,
    /// Instances whose client renew was answered -404 a moment ago (see `told_missing`).
    pub(super) told_missing: ToldMissing,
}

impl<C: Clock, N: Network> Node<C, N> {
    /// A node with an empty registry: it arms its timers from `clock.mono()`, registers itself
    /// as `infra.discovery`, and asks its peers for their registries (startup sync).
    pub fn new(config: Config, clock: C, net: N) -> Result<Node<C, N>, ConfigError> {
        config.validate()?;
        let now = clock.mono();
        let mut timers = Timers::default();
        timers.set(Timer::RenewWindow, now + config.protection.renew_window);
        timers.set(Timer::Eviction, now + config.lease.eviction_interval);
        timers.set(
            Timer::ExpectedReset,
            now + config.protection.expected_reset_interval,
        );
        timers.set(Timer::TombstoneGc, now + gc_interval(&config));
        timers.set(Timer::SelfRenew, now + config.cluster.self_renew_interval);
        let mut node = Node {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            guard: Guard::new(&config.protection),
            replication: Replication::new(&config),
            startup: StartupSync::new(now + config.cluster.sync_timeout),
            config,
            clock,
            net,
            hlc: Hlc::default(),
            table: Table::default(),
            waiters: Waiters::default(),
            woken: std::collections::BTreeSet::new(),
            timers,
            events: VecDeque::new(),
            stats: NodeStats::default(),
            shutting_down: false,
            writes_refused_until: None,
            ack_waits: AckWaits::default(),
            queued_versions: None,
            told_missing: ToldMissing::default(),
        };
        node.schedule_anti_entropy(now);
        node.refresh_peers();
        node.register_self();
        node.start_sync(now);
        node.finish();
        Ok(node)
    }

    /// The driver saw that the node did not run for `stalled_for` (its process was paused or
    /// starved). A stall of at least `StallConfig::threshold` makes the node answer client
    /// writes -503 for `StallConfig::refuse_writes_for`: what it reads first may be requests
    /// that waited through the stall, whose clients gave up on them and wrote elsewhere since.
    /// Call it before handing the node anything read after the stall.
    ///
    /// Leases do not run while the node does not: every lease moves forward by the stall, so
    /// the round that fires on resume does not evict instances whose renews are still waiting
    /// in its buffers (Eureka compensates its eviction for the same reason).
    pub fn handle_stall(&mut self, stalled_for: Duration) {
        self.table.extend_leases(stalled_for, self.clock.mono());
        if stalled_for >= self.config.stall.threshold {
            let until = self.clock.mono() + self.config.stall.refuse_writes_for;
            self.writes_refused_until = Some(until);
            self.events.push_back(NodeEvent::Stalled { stalled_for });
        }
        self.finish();
    }

    /// Takes one client request. The reply goes out through [`Network::reply`], now or (for a
    /// long-poll) later, exactly once.
    pub fn handle_request(&mut self, id: RequestId, request: Request) {
        let durable = self.config.cluster.replication.durability == Durability::Peer
            && matches!(
                request,
                Request::Register(_) | Request::Cancel(_) | Request::Set(_)
            );
        if durable {
            self.queued_versions = Some(Vec::new());
        }
        let reply = self.dispatch(id, request);
        let versions = self.queued_versions.take().unwrap_or_default();
        match reply {
            Some(reply) if reply.code == Code::Ok && !versions.is_empty() => {
                let deadline = self.clock.mono() + self.config.cluster.replication.peer_ack_wait;
                self.ack_waits.hold(id, reply, versions, deadline);
            }
            Some(reply) => self.net.reply(id, reply),
            None => {}
        }
        self.finish();
    }

    /// Fires every timer due at `clock.mono()` and answers expired long-polls with -304.
    pub fn handle_timeout(&mut self) {
        let now = self.clock.mono();
        for timer in self.timers.take_due(now) {
            self.fire(timer, now);
        }
        for id in self.waiters.expired(now) {
            self.waiters.remove(id);
            self.net.reply(id, Reply::code(Code::NotModified));
        }
        for (id, reply) in self.ack_waits.expired(now) {
            self.stats.writes_answered_unacknowledged += 1;
            self.net.reply(id, reply);
        }
        self.finish();
    }

    /// The client behind a parked long-poll went away; forget it without answering.
    pub fn handle_abandon(&mut self, id: RequestId) {
        self.waiters.remove(id);
        self.ack_waits.abandon(id);
        self.finish();
    }

    /// Takes one message from the peer at `from` (`host:port`).
    ///
    /// By reference: the node copies only what it adopts, which for the bulk of the traffic
    /// (renewals, and repairs of copies it already holds) is nothing.
    pub fn handle_peer_message(&mut self, from: &str, message: &PeerMessage) {
        match message {
            PeerMessage::Replicate {
                batch,
                forward,
                ops,
                sent_at,
            } => self.on_replicate(from, *batch, *forward, ops, *sent_at),
            PeerMessage::ReplicateAck {
                batch,
                results,
                sent_at,
            } => self.on_replicate_ack(from, *batch, results, *sent_at),
            PeerMessage::Digests { digests } => self.on_digests(from, digests),
            PeerMessage::Repair { apps, sent_at } => self.on_repair(from, apps, *sent_at),
            PeerMessage::RepairBack { apps, sent_at } => self.repair_from(apps, *sent_at),
            PeerMessage::SyncRequest { full } => self.on_sync_request(from, *full),
            PeerMessage::SyncResponse {
                ready,
                apps,
                sent_at,
            } => self.on_sync_response(from, *ready, apps, *sent_at),
        }
        // After the message: an ack has already ended the back-off its own way.
        self.replication.heard_from(from, self.clock.mono());
        self.finish();
    }

    /// Graceful shutdown: cancels the node's own `infra.discovery` registration (replicated
    /// like any cancel) and answers every parked long-poll with -304. The driver should keep
    /// running the node briefly so the cancel reaches the peers.
    pub fn handle_shutdown(&mut self) {
        self.shutting_down = true;
        self.cancel_self();
        for id in self.waiters.expired(Mono::from_nanos(u64::MAX)) {
            self.waiters.remove(id);
            self.net.reply(id, Reply::code(Code::NotModified));
        }
        for (id, reply) in self.ack_waits.drain() {
            self.net.reply(id, reply);
        }
        self.finish();
    }

    /// When the driver must next call [`Node::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Mono> {
        let polls = Mono::earliest(self.timers.next(), self.waiters.next_deadline());
        Mono::earliest(polls, self.ack_waits.next_deadline())
    }

    /// The next decision the node took on its own, oldest first. Drivers drain this after
    /// every `handle_*` call.
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    /// Overrides (or returns to automatic) protection mode; takes effect at once.
    pub fn set_protection_override(&mut self, mode: ProtectionOverride) {
        let before = self.protection();
        self.guard.set_override(mode);
        self.note_protection_change(before);
        self.finish();
    }

    /// Whether the node serves reads: startup sync finished and it is not stopping (load
    /// balancers and `/health` read this).
    pub fn is_ready(&self) -> bool {
        self.startup.is_done() && !self.shutting_down
    }

    /// The node's peers with their status, by address: lost once none of the batches sent to
    /// a peer has been answered for `peer_lost_after`, up otherwise.
    pub fn peers(&self) -> Vec<NodeInfo> {
        self.replication.infos(self.clock.mono())
    }

    /// Each peer's replication queue and status, by address (the status page).
    pub fn peer_replication(&self) -> Vec<PeerReplication> {
        self.replication.peer_replication(self.clock.mono())
    }

    /// Ops waiting in replication queues, over all peers.
    pub fn replication_queue_depth(&self) -> usize {
        self.replication.depth()
    }

    /// Ops some peer has not acknowledged yet (waiting or in flight), over all peers.
    pub fn replication_unacknowledged(&self) -> usize {
        self.replication.unacknowledged()
    }

    /// What the node has done so far, counted.
    pub fn stats(&self) -> NodeStats {
        let mut stats = self.stats;
        self.replication.count_into(&mut stats);
        stats
    }

    /// The anti-entropy digest of every app held (for tests and simulators comparing nodes).
    pub fn digests(&self) -> Vec<(AppKey, u64)> {
        self.table.digests()
    }

    /// The protection mode, the counts behind it and the reason.
    pub fn protection(&self) -> ProtectionStatus {
        self.guard.status(self.table.expected_count())
    }

    /// The stored instance, if any.
    pub fn instance(&self, key: &InstanceKey) -> Option<&Instance> {
        self.table.instance(key)
    }

    /// The version of the tombstone kept for a cancelled instance, if any.
    pub fn tombstone(&self, key: &InstanceKey) -> Option<i64> {
        self.table.tombstone(key)
    }

    /// Every instance held, keyed by appid, whatever the node's readiness.
    pub fn registry(&self) -> std::collections::BTreeMap<SmolStr, Vec<Instance>> {
        self.table.all()
    }

    /// Number of instances held.
    pub fn instance_count(&self) -> usize {
        self.table.len()
    }

    /// Number of apps with at least one instance.
    pub fn app_count(&self) -> usize {
        self.table.app_count()
    }

    /// Number of parked long-polls.
    pub fn waiting_polls(&self) -> usize {
        self.waiters.len()
    }

    /// The configuration the node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The node's clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The node's network.
    pub fn net(&self) -> &N {
        &self.net
    }

    /// The node's network, mutably (drivers drain outboxes through it).
    pub fn net_mut(&mut self) -> &mut N {
        &mut self.net
    }

    /// The -503 for a client write that may have waited through a stall (a renew only
    /// extends a lease, so it passes).
    fn refuse_after_stall(&mut self, request: &Request) -> Option<Reply> {
        let until = self.writes_refused_until?;
        if self.clock.mono() >= until {
            self.writes_refused_until = None;
            return None;
        }
        if !matches!(
            request,
            Request::Register(_) | Request::Cancel(_) | Request::Set(_)
        ) {
            return None;
        }
        self.stats.writes_refused_after_stall += 1;
        Some(Reply::error(
            Code::NotReady,
            "this node has just resumed after a stall: it takes no writes for a moment, try another node",
        ))
    }

    fn dispatch(&mut self, id: RequestId, request: Request) -> Option<Reply> {
        if self.shutting_down {
            // Its writes would not reach the peers before it exits, and a parked poll would be
            // cut off: the client should move to another node now.
            return Some(Reply::error(
                Code::NotReady,
                "the node is stopping (graceful shutdown): ask another node",
            ));
        }
        if let Err(bad) = validate::check(&request, &self.config.limits)
            .and_then(|()| membership::refuse_node_registration(&request))
        {
            return Some(bad.into());
        }
        if let Some(refused) = self.refuse_after_stall(&request) {
            return Some(refused);
        }
        if !self.startup.is_done() && !request.is_write() {
            self.stats.reads_refused_not_ready += 1;
            return Some(Reply::error(
                Code::NotReady,
                "this node has not synced its registry from a peer yet",
            ));
        }
        Some(match request {
            Request::Register(args) => self.register(args),
            Request::Renew(args) => self.renew(args),
            Request::Cancel(args) => self.cancel(args),
            Request::Set(args) => self.set(args),
            Request::Fetch(args) => self.fetch(args),
            Request::Fetchs(args) => self.fetchs(args),
            Request::Poll(args) => return self.poll(id, args),
            Request::Polls(args) => return self.polls(id, args),
            Request::Nodes => self.nodes(),
            Request::FetchAll => self.fetch_all(),
        })
    }

    /// Applies a version and does what follows from it: the hybrid clock, protection
    /// accounting, waking the long-polls of the app and (for `infra.discovery`) membership.
    /// Every write, local or remote, goes through here.
    pub(super) fn apply(&mut self, version: Version) -> Applied {
        let app = match &version {
            Version::Put(instance) => AppKey {
                env: instance.env.clone(),
                appid: instance.appid.clone(),
            },
            Version::Tombstone(tombstone) => tombstone.key.app(),
        };
        // A new cancel (not one held already, handed again by anti-entropy): a register that
        // arrives after it no longer answers an earlier 404.
        let cancel = match &version {
            Version::Tombstone(t) => Some((t.key.clone(), self.table.tombstone(&t.key))),
            Version::Put(_) => None,
        };
        self.hlc.observe(version.dirty_timestamp());
        let applied = self
            .table
            .apply(version, self.clock.mono(), self.clock.wall());
        if let Some((key, before)) = cancel {
            if self.table.tombstone(&key) != before {
                self.told_missing.forget(&key);
            }
        }
        match applied {
            Applied::Stale(Version::Tombstone(_)) => self.stats.absorbed_by_tombstone += 1,
            Applied::Inserted
            | Applied::Revived(_)
            | Applied::Removed
            | Applied::Replaced
            | Applied::Buried
            | Applied::Stale(_) => {}
        }
        if matches!(
            applied,
            Applied::Inserted | Applied::Revived(_) | Applied::Replaced | Applied::Removed
        ) {
            self.wake(&app);
            self.on_app_changed(&app);
        }
        applied
    }

    /// Refreshes a lease and, for a renew replicated from a peer, compares the sender's
    /// version with ours. Every renew, from a client or a peer, goes through here.
    ///
    /// A renew counts towards protection mode only if the node holds the instance (see
    /// `Guard::on_unheld_renew`).
    pub(super) fn renew_lease(
        &mut self,
        key: &InstanceKey,
        sender_dirty: Option<i64>,
    ) -> LeaseRenewed<'_> {
        if let Some(dirty) = sender_dirty {
            self.hlc.observe(dirty);
        }
        let (now, wall) = (self.clock.mono(), self.clock.wall());
        let Some(instance) = self.table.renew(key, now, wall) else {
            self.guard.on_unheld_renew();
            self.stats.unheld_renews += 1;
            return LeaseRenewed::Missing;
        };
        self.guard.on_renew();
        match sender_dirty {
            Some(dirty) if dirty > instance.dirty_timestamp => LeaseRenewed::SenderNewer,
            Some(dirty) if dirty < instance.dirty_timestamp => {
                LeaseRenewed::ReceiverNewer(instance)
            }
            _ => LeaseRenewed::Renewed(instance),
        }
    }

    /// Queues a write or renew made here for the peers. With `durability = "peer"`, a version
    /// that went to a peer not lost is noted: the client's answer waits for its acknowledgement.
    pub(super) fn replicate(&mut self, op: ReplicatedOp) {
        let version = match (&op, &self.queued_versions) {
            (ReplicatedOp::Write(version), Some(_)) => {
                Some((version.key(), version.dirty_timestamp()))
            }
            _ => None,
        };
        let reachable = self.replication.queue(op, self.clock.mono());
        if let (Some(version), Some(versions), true) =
            (version, &mut self.queued_versions, reachable > 0)
        {
            versions.push(version);
        }
    }

    fn fire(&mut self, timer: Timer, now: Mono) {
        let interval = match timer {
            Timer::RenewWindow => {
                let before = self.protection();
                self.guard.close_window(self.table.expected_count());
                let after = self.protection();
                self.events.push_back(NodeEvent::WindowClosed {
                    renews: after.renews_last_window,
                    unheld_renews: self.guard.unheld_last_window(),
                    expected: after.expected_renews,
                    threshold: after.threshold,
                    protected: after.protected,
                });
                self.note_protection_change(before);
                self.config.protection.renew_window
            }
            Timer::Eviction => {
                self.evict(now);
                self.config.lease.eviction_interval
            }
            Timer::ExpectedReset => {
                self.table.reset_expectation();
                self.config.protection.expected_reset_interval
            }
            Timer::TombstoneGc => {
                self.table
                    .collect_tombstones(self.clock.wall(), self.config.tombstone_retention);
                gc_interval(&self.config)
            }
            Timer::SelfRenew => {
                self.renew_self();
                self.config.cluster.self_renew_interval
            }
            Timer::AntiEntropy => return self.start_anti_entropy(now),
            Timer::Replication => return self.flush_replication(now),
            Timer::Sync => return self.retry_sync(now),
        };
        self.timers.set(timer, now + interval);
    }

    fn note_protection_change(&mut self, before: ProtectionStatus) {
        let after = self.protection();
        if after.protected != before.protected {
            self.events.push_back(NodeEvent::ProtectionChanged(after));
        }
    }

    /// Sends the batches due and puts back unanswered ones.
    fn flush_replication(&mut self, now: Mono) {
        let net = &mut self.net;
        let wall = self.clock.wall();
        self.replication
            .flush(now, wall, &mut self.rng, |addr, message| {
                net.send(addr, message)
            });
    }

    /// Ends every step: sends the batches due now (a write to a peer with nothing in flight
    /// leaves in the step that made it, not one timer wake-up later), arms the replication
    /// timer for the queues, then checks internal invariants (debug builds and the
    /// simulator).
    fn finish(&mut self) {
        self.answer_woken();
        let now = self.clock.mono();
        // Every step ends here (a peer message, a request, a timer): the queues' deadline is
        // read once, and again only when a flush moved it.
        let mut deadline = self.replication.deadline();
        if deadline.is_some_and(|due| due <= now) {
            self.flush_replication(now);
            deadline = self.replication.deadline();
        }
        self.timers.set_or_clear(Timer::Replication, deadline);
        if cfg!(debug_assertions) {
            self.table.check_invariants();
            self.waiters.check_invariants();
            self.replication
                .check_invariants(&self.config.identity.addr);
            let status = self.protection();
            debug_assert!(
                status.threshold <= status.expected_renews,
                "threshold above expectation"
            );
            for timer in Timer::ALL.into_iter().filter(|t| t.is_periodic()) {
                debug_assert!(
                    self.timers.deadline(timer).is_some(),
                    "periodic timer {timer:?} disarmed"
                );
            }
            debug_assert_eq!(
                self.timers.deadline(Timer::Sync).is_some(),
                !self.startup.is_done(),
                "sync timer out of step"
            );
        }
    }
}

/// What a renew found. It borrows the stored instance: each caller copies only what it needs
/// (a peer's renew usually nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LeaseRenewed<'a> {
    /// The instance is not here.
    Missing,
    /// Renewed; versions agree (or the renew came from a client).
    Renewed(&'a Instance),
    /// Renewed, but the peer that sent it holds a newer version.
    SenderNewer,
    /// Renewed, but this node holds a newer version than the sending peer: ours.
    ReceiverNewer(&'a Instance),
}

/// Tombstones are checked twice per retention period, so none outlives 1.5x retention.
fn gc_interval(config: &Config) -> Duration {
    (config.tombstone_retention / 2).max(Duration::from_millis(1))
}
