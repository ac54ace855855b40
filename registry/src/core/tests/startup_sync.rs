//! Startup sync: a node asks every peer for its registry, in full unless it already merged that
//! peer's (unsynced) registry, asks again every `sync_retry`, and serves reads once a synced
//! peer answered, once every peer answered, or at `sync_timeout`, whichever comes first.

use std::time::Duration;

use super::harness::*;
use crate::api::PeerMessage;
use crate::core::{Clock, Config};

const PEERS: [&str; 2] = ["peer:1", "peer:2"];

fn starting() -> Harness {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = PEERS.iter().map(|p| (*p).into()).collect();
    Harness::with_config(config)
}

/// The sync requests sent since the last call, as (peer, full), taken out of `sent`.
fn sync_requests(h: &mut Harness) -> Vec<(String, bool)> {
    let sent = std::mem::take(&mut h.node.net_mut().sent);
    let mut asked: Vec<(String, bool)> = sent
        .into_iter()
        .filter_map(|(to, message)| match message {
            PeerMessage::SyncRequest { full } => Some((to.to_string(), full)),
            _ => None,
        })
        .collect();
    asked.sort();
    asked
}

#[test]
fn a_starting_node_asks_in_full_except_peers_whose_registry_it_merged() {
    let mut h = starting();
    assert_eq!(
        sync_requests(&mut h),
        [("peer:1".to_string(), true), ("peer:2".to_string(), true)]
    );
    // peer:1 answers, not synced itself: its registry is merged, the node is not ready.
    let sent_at = h.clock.wall();
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::SyncResponse {
            ready: false,
            apps: Vec::new(),
            sent_at,
        },
    );
    assert!(!h.node.is_ready());
    h.advance(h.node.config().cluster.sync_retry);
    assert_eq!(
        sync_requests(&mut h),
        [("peer:1".to_string(), false), ("peer:2".to_string(), true)],
        "asked again: peer:1 only whether it is synced now"
    );
}

#[test]
fn a_node_whose_peers_stay_silent_serves_reads_at_the_sync_timeout_not_before() {
    let mut h = starting();
    let timeout = h.node.config().cluster.sync_timeout;
    h.advance(timeout - Duration::from_millis(1));
    assert!(!h.node.is_ready(), "it asked again and again, and waits");
    assert!(sync_requests(&mut h).len() > 2, "asked again meanwhile");
    h.advance(Duration::from_millis(1));
    assert!(h.node.is_ready(), "at the timeout");
}

/// The registry a node hands `peer:1` for its sync request, and whether it said it is synced.
fn answer_to(h: &mut Harness, full: bool) -> (usize, bool) {
    h.node.net_mut().sent.clear();
    h.node
        .handle_peer_message("peer:1", &PeerMessage::SyncRequest { full });
    let sent = std::mem::take(&mut h.node.net_mut().sent);
    sent.into_iter()
        .find_map(|(to, message)| match message {
            PeerMessage::SyncResponse { ready, apps, .. } if to == "peer:1" => {
                Some((apps.len(), ready))
            }
            _ => None,
        })
        .expect("answered")
}

#[test]
fn a_sync_request_gets_the_registry_when_full_or_from_a_synced_node() {
    // Not synced yet: the registry only when asked in full (the asker has not merged it).
    let mut h = starting();
    assert_eq!(answer_to(&mut h, true), (1, false), "its own registration");
    assert_eq!(answer_to(&mut h, false), (0, false));
    // Synced: always the registry.
    let mut h = starting();
    let timeout = h.node.config().cluster.sync_timeout;
    h.advance(timeout);
    assert!(h.node.is_ready());
    assert_eq!(answer_to(&mut h, false), (1, true));
}
