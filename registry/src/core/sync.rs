//! Startup sync: a starting node pulls every peer's registry before it serves reads.
//!
//! Until it has merged the state of at least one peer that was itself synced, or of every peer
//! (none synced: a new cluster, or every node restarting at once; nothing more exists to wait
//! for), or the sync timeout passes without either (a peer down), the node accepts writes but
//! answers reads with -503.
//!
//! It asks every peer again each `sync_retry`, to learn as soon as one has synced. A peer whose
//! state it already merged while that peer had not synced is asked without wanting the state
//! again (`full: false`): what that peer learns meanwhile reaches this node by replication, and
//! once the peer has synced it answers with its whole state anyway. So a cold start of a
//! cluster moves each node's state to each peer once, not once per retry.

use std::collections::BTreeSet;

use crate::api::{AppState, PeerMessage, SmolStr};

use super::clock::{Clock, Mono};
use super::network::Network;
use super::node::{Node, NodeEvent};
use super::timer::Timer;

/// Where startup sync stands.
#[derive(Clone, Debug)]
pub(crate) struct StartupSync {
    /// Whether it finished; reads are refused with -503 until it has.
    done: bool,
    /// When it stops waiting for a synced peer.
    deadline: Mono,
    /// Peers whose state was merged while they had not synced themselves: asked again, they
    /// are asked only whether they have synced since.
    merged_unsynced: BTreeSet<SmolStr>,
}

impl StartupSync {
    pub(crate) fn new(deadline: Mono) -> StartupSync {
        StartupSync {
            done: false,
            deadline,
            merged_unsynced: BTreeSet::new(),
        }
    }

    /// Whether startup sync finished (reads are served).
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }
}

impl<C: Clock, N: Network> Node<C, N> {
    /// Asks every peer for its registry; with no peers the node is ready at once.
    pub(super) fn start_sync(&mut self, now: Mono) {
        if self.replication.addrs().len() == 0 {
            self.become_ready(None);
            return;
        }
        self.ask_peers_for_sync(now);
    }

    fn ask_peers_for_sync(&mut self, now: Mono) {
        for addr in self.replication.addrs() {
            let full = !self.startup.merged_unsynced.contains(addr);
            self.net.send(addr, PeerMessage::SyncRequest { full });
        }
        let retry = now + self.config.cluster.sync_retry;
        self.timers
            .set(Timer::Sync, retry.min(self.startup.deadline));
    }

    /// The sync timer: give up waiting at the deadline, otherwise ask again.
    pub(super) fn retry_sync(&mut self, now: Mono) {
        if self.startup.done {
            return;
        }
        if now >= self.startup.deadline {
            self.become_ready(None);
        } else {
            self.ask_peers_for_sync(now);
        }
    }

    pub(super) fn on_sync_request(&mut self, from: &str, full: bool) {
        let ready = self.startup.done;
        let apps = if full || ready {
            self.table.states()
        } else {
            Vec::new()
        };
        let sent_at = self.clock.wall();
        self.send_to_peer(
            from,
            PeerMessage::SyncResponse {
                ready,
                apps,
                sent_at,
            },
        );
    }

    /// Merges a peer's registry; a synced peer's answer makes this node ready.
    pub(super) fn on_sync_response(
        &mut self,
        from: &str,
        peer_ready: bool,
        apps: &[AppState],
        sent_at: i64,
    ) {
        self.merge(apps, sent_at);
        if self.startup.done {
            return;
        }
        if peer_ready {
            self.become_ready(Some(from.into()));
            return;
        }
        self.startup.merged_unsynced.insert(from.into());
        // Every peer answered, none synced: a new cluster, or every node restarting at once.
        // This node now holds the union of everything any node holds, and waiting for the
        // timeout would only keep readers out (the cluster answered every read -503 for 15 s
        // after a cold start).
        let heard_all = self
            .replication
            .addrs()
            .all(|addr| self.startup.merged_unsynced.contains(addr));
        if heard_all {
            self.become_ready(None);
        }
    }

    fn become_ready(&mut self, from: Option<SmolStr>) {
        self.startup.done = true;
        self.startup.merged_unsynced.clear();
        self.timers.set_or_clear(Timer::Sync, None);
        self.events.push_back(NodeEvent::Synced { from });
    }
}
