//! Startup sync: a starting node pulls every peer's registry before it serves reads.
//!
//! Until it has merged the state of at least one peer that was itself synced, or the sync
//! timeout passes without any synced peer answering (a new cluster, or every node restarting
//! at once), the node accepts writes but answers reads with -503. It never serves an empty or
//! partial registry as if it were whole.

use crate::api::SmolStr;
use crate::api::{AppState, PeerMessage};

use super::clock::{Clock, Mono};
use super::network::Network;
use super::node::{Node, NodeEvent};
use super::timer::Timer;

impl<C: Clock, N: Network> Node<C, N> {
    /// Asks every peer for its registry; with no peers the node is ready at once.
    pub(super) fn start_sync(&mut self, now: Mono) {
        if self.peers.is_empty() {
            self.become_ready(None);
            return;
        }
        self.ask_peers_for_sync(now);
    }

    fn ask_peers_for_sync(&mut self, now: Mono) {
        let addrs: Vec<SmolStr> = self.peers.keys().cloned().collect();
        for addr in addrs {
            self.net.send(&addr, PeerMessage::SyncRequest);
        }
        let retry = now + self.config.cluster.sync_retry;
        self.timers.set(Timer::Sync, retry.min(self.sync_deadline));
    }

    /// The sync timer: give up waiting at the deadline, otherwise ask again.
    pub(super) fn retry_sync(&mut self, now: Mono) {
        if self.ready {
            return;
        }
        if now >= self.sync_deadline {
            self.become_ready(None);
        } else {
            self.ask_peers_for_sync(now);
        }
    }

    pub(super) fn on_sync_request(&mut self, from: &str) {
        let apps = self.table.states();
        self.net.send(
            from,
            PeerMessage::SyncResponse {
                ready: self.ready,
                apps,
            },
        );
    }

    /// Merges a peer's registry; a synced peer's answer makes this node ready.
    pub(super) fn on_sync_response(&mut self, from: &str, peer_ready: bool, apps: &[AppState]) {
        self.merge(apps);
        if peer_ready && !self.ready {
            self.become_ready(Some(from.into()));
        }
    }

    fn become_ready(&mut self, from: Option<SmolStr>) {
        self.ready = true;
        self.timers.set_or_clear(Timer::Sync, None);
        self.events.push_back(NodeEvent::Synced { from });
    }
}
