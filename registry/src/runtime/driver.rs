//! The one task that owns the [`Node`]: it takes commands from HTTP handlers and peers, and
//! sleeps until the node's next deadline or the next command, whichever comes first.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::access::AuthRefusals;
use super::answers::{self, Answer, View};
use super::clock::SystemClock;
use super::metrics::{self, Snapshot};
use super::net::HttpNetwork;
use super::peer_auth::PeerRefusals;
use super::peer_sender::PeerPostCounters;
use super::per_client::PerClient;
use super::status::{History, StatusDoc};
use crate::api::{PeerMessage, Request};
use crate::core::{Clock, Node, NodeEvent, ProtectionOverride, RequestId};

pub(crate) type RuntimeNode = Node<SystemClock, HttpNetwork>;

/// What the rest of the runtime asks of the node.
#[derive(Debug)]
pub(crate) enum Command {
    /// A client request; the reply completes `reply`.
    Request {
        id: RequestId,
        request: Request,
        reply: oneshot::Sender<Answer>,
        /// Set when the handler takes the view's shared encoding (see `answers.rs`); boxed
        /// to keep the other commands small.
        view: Option<Box<View>>,
    },
    /// A message from the peer at `from`.
    Peer { from: String, message: PeerMessage },
    /// The metrics text.
    Metrics(oneshot::Sender<String>),
    /// Whether the node serves reads.
    Ready(oneshot::Sender<bool>),
    /// The status page's view of the node (`/status.json`).
    Status(oneshot::Sender<StatusDoc>),
    /// The operator's protection override; `done` gets false once the node is stopping.
    SetProtection {
        mode: ProtectionOverride,
        done: oneshot::Sender<bool>,
    },
    /// Graceful shutdown; `done` fires when the node has stopped.
    Shutdown { done: oneshot::Sender<()> },
}

/// Everything the driver task needs.
pub(crate) struct Driver {
    pub(crate) node: RuntimeNode,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) abandons: mpsc::UnboundedReceiver<RequestId>,
    pub(crate) peer_posts: Arc<PeerPostCounters>,
    pub(crate) peer_refusals: Arc<PeerRefusals>,
    pub(crate) auth_refusals: Arc<AuthRefusals>,
    pub(crate) per_client: Arc<PerClient>,
    /// Longest wait after shutdown for the node's cancel to be acknowledged by its peers.
    pub(crate) drain: Duration,
    /// The renew windows and eviction rounds the status page shows.
    pub(crate) history: History,
}

/// Far enough to mean "no deadline": the node always has periodic timers, so this is a
/// fallback only.
const IDLE: Duration = Duration::from_secs(3600);

/// How often the driver checks that it is running on time. A heartbeat that fires late by
/// `late` means the process did not run for about that long (paused, starved, its machine
/// suspended): the node is told before it reads anything that waited through it.
const HEARTBEAT: Duration = Duration::from_millis(250);

impl Driver {
    pub(crate) async fn run(mut self) {
        let mut heartbeat = Instant::now() + HEARTBEAT;
        loop {
            self.log_events();
            let deadline = self.deadline();
            // Every arm first tells the node of a stall: after one, the requests that waited
            // through it are what wakes the driver first.
            tokio::select! {
                // Abandons first: a closed long-poll must not be answered after its client left.
                biased;
                Some(id) = self.abandons.recv() => {
                    self.note_stall(&mut heartbeat);
                    self.abandon(id);
                }
                command = self.commands.recv() => {
                    self.note_stall(&mut heartbeat);
                    match command {
                        Some(Command::Shutdown { done }) => {
                            self.changing();
                            self.shutdown().await;
                            let _ = done.send(());
                            return;
                        }
                        Some(command) => self.apply(command),
                        None => return,
                    }
                }
                // One timer for both: the node's deadline and the heartbeat.
                () = tokio::time::sleep_until(deadline.min(heartbeat)) => {
                    if self.note_stall(&mut heartbeat) >= deadline {
                        self.changing();
                        self.node.handle_timeout();
                    }
                }
            }
        }
    }

    /// Moves the heartbeat on once it is due; one due by `HEARTBEAT` or more means the process
    /// did not run meanwhile, and the node is told. Returns the time now.
    fn note_stall(&mut self, heartbeat: &mut Instant) -> Instant {
        let now = Instant::now();
        if now >= *heartbeat {
            let late = now.saturating_duration_since(*heartbeat);
            if late >= HEARTBEAT {
                self.changing();
                self.node.handle_stall(late);
            }
            *heartbeat = now + HEARTBEAT;
        }
        now
    }

    fn deadline(&self) -> Instant {
        match self.node.poll_timeout() {
            Some(mono) => self.node.clock().instant_at(mono),
            None => Instant::now() + IDLE,
        }
    }

    fn abandon(&mut self, id: RequestId) {
        self.changing();
        self.node.net_mut().forget(id);
        self.node.handle_abandon(id);
    }

    /// The node is about to take an input that may change what a fetch answers: the fetch
    /// answers handlers serve without it are dropped first (see `answers::Fetched`).
    fn changing(&self) {
        self.node.net().fetched().clear();
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Request {
                id,
                request,
                reply,
                view,
            } => {
                if request.is_write() {
                    self.changing();
                }
                let fetch = answers::is_fetch(&request);
                self.node.net_mut().await_reply(id, reply, view, fetch);
                self.node.handle_request(id, request);
            }
            Command::Peer { from, message } => {
                self.changing();
                self.node.handle_peer_message(&from, &message)
            }
            Command::Metrics(reply) => {
                let snapshot = Snapshot::of(
                    &self.node,
                    &self.peer_posts,
                    &self.peer_refusals,
                    &self.auth_refusals,
                    &self.per_client,
                );
                let _ = reply.send(metrics::render(&snapshot));
            }
            Command::Ready(reply) => {
                let _ = reply.send(self.node.is_ready());
            }
            Command::Status(reply) => {
                let _ = reply.send(StatusDoc::of(&self.node, &self.history));
            }
            Command::SetProtection { mode, done } => {
                self.changing();
                self.node.set_protection_override(mode);
                let _ = done.send(true);
            }
            Command::Shutdown { done } => {
                let _ = done.send(());
            }
        }
    }

    /// A command read while the node stops: the protection override is left alone; client
    /// requests go to the node, which answers them -503 once shut down; peers, metrics and
    /// health are served.
    fn apply_stopping(&mut self, command: Command) {
        match command {
            Command::SetProtection { done, .. } => {
                let _ = done.send(false);
            }
            command => self.apply(command),
        }
    }

    /// Cancels the node's own registration and answers parked polls, then keeps serving peers
    /// until the cancel is acknowledged (the replication queues are empty) or the drain
    /// period ends.
    ///
    /// Timers fire only until the replication batch holding the cancel has gone out: a later
    /// self-renew timer would register the node again (the core re-registers itself when its
    /// own instance is gone), undoing the cancel on every peer.
    async fn shutdown(&mut self) {
        self.node.handle_shutdown();
        self.log_events();
        let now = Instant::now();
        let until = now + self.drain;
        let max_delay = self.node.config().cluster.replication.max_delay;
        let flush_until = now + max_delay + Duration::from_millis(5);
        // Until acknowledged, not only sent: a batch leaves as soon as nothing is in flight
        // to the peer, and a client request's step may send it (#17).
        while self.node.replication_unacknowledged() > 0 && Instant::now() < until {
            let next_timer = self.deadline();
            let timers_due = next_timer <= flush_until;
            let wake = if timers_due { next_timer } else { until };
            tokio::select! {
                biased;
                Some(id) = self.abandons.recv() => self.abandon(id),
                Some(command) = self.commands.recv() => self.apply_stopping(command),
                () = tokio::time::sleep_until(wake) => {
                    if timers_due {
                        self.changing();
                        self.node.handle_timeout();
                    }
                }
            }
            self.log_events();
        }
        tracing::info!(
            unacknowledged = self.node.replication_unacknowledged(),
            "node stopped"
        );
    }

    fn log_events(&mut self) {
        while let Some(event) = self.node.poll_event() {
            let now_unix_ms = self.node.clock().wall().div_euclid(1_000_000);
            self.history.note(&event, now_unix_ms);
            match event {
                NodeEvent::Evicted { key, silent_for } => {
                    tracing::info!(?key, ?silent_for, "evicted")
                }
                NodeEvent::EvictionRound { evicted: 0, .. } => {
                    tracing::debug!(?event, "eviction round")
                }
                NodeEvent::EvictionRound { .. } => tracing::info!(?event, "eviction round"),
                NodeEvent::ProtectionChanged(status) => tracing::warn!(
                    protected = status.protected,
                    reason = %status.reason,
                    renews = status.renews_last_window,
                    threshold = status.threshold,
                    "protection mode changed"
                ),
                NodeEvent::PeersChanged(peers) => tracing::info!(?peers, "peers changed"),
                NodeEvent::Synced { from } => tracing::info!(?from, "startup sync finished"),
                NodeEvent::Stalled { stalled_for } => tracing::warn!(
                    ?stalled_for,
                    "the node did not run for a while: client writes are refused for a moment"
                ),
                NodeEvent::DroppedDead { key, silent_for } => {
                    tracing::info!(?key, ?silent_for, "dropped an expired copy no peer holds")
                }
                NodeEvent::WindowClosed { .. } | NodeEvent::SelfRenewed => {
                    tracing::debug!(?event, "renew accounting")
                }
            }
        }
    }
}
