//! An evicted instance's lease is gone, but its version is not forgotten: a copy that proves the
//! instance alive and holds older content brings the instance back with the newer content.
//!
//! Swarm seed 163 (Go-SDK-like clients): a client's `set` reached three nodes; its renews then
//! went to a fourth node, cut off from its peers and holding the version before the set. The
//! three evicted the instance (no renews for 90 s) and, once the partition healed, the fourth
//! node's older copy, whose lease was live, was taken in as if new: the acknowledged set was
//! lost on every node, and the client, which never reads back what it wrote, kept believing it.

use std::sync::Arc;
use std::time::Duration;

use super::harness::*;
use crate::api::{AppState, Code, Instance, OpResult, PeerMessage, ReplicatedOp, Request, Version};
use crate::core::{Clock, Config, NodeEvent, ProtectionOverride};

const SECOND: Duration = Duration::from_secs(1);
const PEER: &str = "peer:1";

/// A node with one peer and protection off, holding "h" set to weight 2 after the peer last
/// heard of it, then silent until evicted. Returns the node and the peer's older copy of "h",
/// renewed there a second ago.
fn evicted_after_a_set() -> (Harness, Instance) {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec![PEER.into()];
    let mut h = Harness::with_config(config);
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    assert_code(&h.register("h"), Code::Ok);
    let mut older = h.stored("h").expect("registered");
    let mut set = set_args(&["h"]);
    set.metadata = vec![[("weight", "2")].into()];
    assert_code(&h.call(Request::Set(set)), Code::Ok);
    h.advance(181 * SECOND);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, NodeEvent::Evicted { key, .. } if key.hostname == "h")),
        "no renews reached this node: evicted"
    );
    older.renew_timestamp = h.clock.wall() - 1_000_000_000;
    h.node.net_mut().sent.clear();
    (h, older)
}

fn weight(instance: &Instance) -> Option<&str> {
    instance.metadata.get("weight").map(|v| v.as_str())
}

#[test]
fn a_replicated_older_copy_of_an_evicted_instance_brings_back_the_newer_content() {
    let (mut h, older) = evicted_after_a_set();
    let sent_at = h.clock.wall();
    let put = Arc::new(ReplicatedOp::Write(Version::Put(Box::new(older.clone()))));
    h.node.handle_peer_message(
        PEER,
        &PeerMessage::Replicate {
            batch: 1,
            forward: false,
            ops: vec![put],
            sent_at,
        },
    );
    let stored = h.stored("h").expect("a live copy is taken in");
    assert_eq!(weight(&stored), Some("2"), "the set survives its eviction");
    assert!(stored.dirty_timestamp > older.dirty_timestamp);
    assert_eq!(
        stored.renew_timestamp, older.renew_timestamp,
        "the lease is the live copy's"
    );
    // The peer is handed the newer version, so that it gives up its older one.
    let results = h
        .node
        .net_mut()
        .sent
        .iter()
        .find_map(|(to, message)| match message {
            PeerMessage::ReplicateAck { results, .. } if to == PEER => Some(results.clone()),
            _ => None,
        })
        .expect("the batch is answered");
    assert!(
        matches!(&results[..], [OpResult::Conflict { instance }] if weight(instance) == Some("2")),
        "{results:?}"
    );
}

#[test]
fn an_older_copy_from_anti_entropy_brings_back_the_newer_content_too() {
    let (mut h, older) = evicted_after_a_set();
    let sent_at = h.clock.wall();
    let state = AppState {
        app: key("h").app(),
        instances: vec![older],
        tombstones: Vec::new(),
    };
    h.node.handle_peer_message(
        PEER,
        &PeerMessage::RepairBack {
            apps: vec![state],
            sent_at,
        },
    );
    let stored = h.stored("h").expect("a live copy is taken in");
    assert_eq!(weight(&stored), Some("2"));
}

#[test]
fn a_newer_copy_wins_over_the_evicted_version_and_a_forgotten_one_does_not_count() {
    // Newer content than what was evicted is simply taken in.
    let (mut h, mut newer) = evicted_after_a_set();
    newer.dirty_timestamp = h.clock.wall();
    newer.metadata = [("weight", "3")].into();
    let sent_at = h.clock.wall();
    let state = |instance: Instance| AppState {
        app: key("h").app(),
        instances: vec![instance],
        tombstones: Vec::new(),
    };
    h.node.handle_peer_message(
        PEER,
        &PeerMessage::RepairBack {
            apps: vec![state(newer)],
            sent_at,
        },
    );
    assert_eq!(weight(&h.stored("h").expect("taken in")), Some("3"));

    // An evicted version is kept for the tombstone retention, until the sweep after it (which
    // runs every half retention), no longer.
    let (mut h, mut older) = evicted_after_a_set();
    let retention = h.node.config().tombstone_retention;
    h.advance(retention + retention / 2 + SECOND);
    older.renew_timestamp = h.clock.wall() - 1_000_000_000;
    let sent_at = h.clock.wall();
    h.node.handle_peer_message(
        PEER,
        &PeerMessage::RepairBack {
            apps: vec![state(older)],
            sent_at,
        },
    );
    assert_eq!(
        weight(&h.stored("h").expect("taken in")),
        None,
        "the evicted version was forgotten: the copy is all this node knows"
    );
}

#[test]
fn a_client_register_stamped_before_the_evicted_version_brings_back_the_newer_content() {
    // A client that stamps its writes (a Eureka client's lastDirtyTimestamp) registers again
    // with the stamp it had before the set: the newer content comes back, the client is handed
    // it (-409), and the peers are told, as for any write this node takes from a client.
    let (mut h, older) = evicted_after_a_set();
    let mut args = register_args("h");
    args.dirty_timestamp = older.dirty_timestamp;
    let reply = h.call(Request::Register(args));
    assert_code(&reply, Code::Conflict);
    let stored = h.stored("h").expect("back");
    assert_eq!(weight(&stored), Some("2"));
    h.advance(60 * SECOND);
    let sent_to_peer = h.node.net_mut().sent.iter().any(|(to, message)| match message {
        PeerMessage::Replicate { ops, .. } if to == PEER => ops.iter().any(|op| {
            matches!(&**op, ReplicatedOp::Write(Version::Put(i)) if i.hostname == "h" && weight(i) == Some("2"))
        }),
        _ => false,
    });
    assert!(sent_to_peer, "the revived version is replicated");
}

/// Swarm seed 161403001846: a client's `set` reached node 2 and the node it was sent to
/// crashed; the client renewed on node 0, cut off and holding the version before the set. The
/// crashed node restarted and synced from node 2, whose copy of the set had had no renew for
/// 133 s: the copy was not taken in (its lease had run out) and its version was forgotten with
/// it. Node 2 then crashed and synced from the restarted node, and after the heal node 0's older
/// copy was all any node had. A copy whose lease ran out is left out, but its version is kept as
/// if evicted here, so that a live older copy brings the newer content back.
#[test]
fn a_peer_copy_whose_lease_ran_out_is_left_out_but_its_version_is_kept() {
    let config = || {
        let mut config = Config::default();
        config.identity.addr = "self:1".into();
        config.cluster.seeds = vec![PEER.into()];
        config
    };
    // The peer's versions of "h": registered, then set to weight 2.
    let mut peer = Harness::with_config(config());
    assert_code(&peer.register("h"), Code::Ok);
    let mut older = peer.stored("h").expect("registered");
    let mut set = set_args(&["h"]);
    set.metadata = vec![[("weight", "2")].into()];
    assert_code(&peer.call(Request::Set(set)), Code::Ok);
    let newer = peer.stored("h").expect("set");
    assert_eq!(weight(&newer), Some("2"));

    // A node that never held "h" is offered the set 100 s after its last renew.
    let mut h = Harness::with_config(config());
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    h.advance(100 * SECOND);
    let offer = |h: &mut Harness, instance: Instance| {
        let sent_at = h.clock.wall();
        h.node.handle_peer_message(
            PEER,
            &PeerMessage::SyncResponse {
                ready: true,
                apps: vec![AppState {
                    app: key("h").app(),
                    instances: vec![instance],
                    tombstones: Vec::new(),
                }],
                sent_at,
            },
        );
    };
    offer(&mut h, newer);
    assert_eq!(h.stored("h"), None, "a lease that ran out is not taken in");

    // The older version, renewed a second ago elsewhere, arrives: the set comes back with it.
    older.renew_timestamp = h.clock.wall() - 1_000_000_000;
    offer(&mut h, older);
    let stored = h.stored("h").expect("a live copy is taken in");
    assert_eq!(
        weight(&stored),
        Some("2"),
        "the acknowledged set is not lost"
    );
}
