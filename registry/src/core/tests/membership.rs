//! The peer set follows `infra.discovery`: a node that registers itself becomes a peer, one
//! whose registration goes away leaves; each change is reported once, and a peer that leaves
//! takes nothing out of the node's replication counters.

use std::time::Duration;

use super::harness::*;
use std::sync::Arc;

use crate::api::{Instance, PeerMessage, ReplicatedOp, SmolStr, Tombstone, Version};
use crate::core::{Clock, Config, NodeEvent};

fn peer_changes(h: &mut Harness) -> Vec<Vec<SmolStr>> {
    std::mem::take(&mut h.events)
        .into_iter()
        .filter_map(|event| match event {
            NodeEvent::PeersChanged(peers) => Some(peers),
            _ => None,
        })
        .collect()
}

/// Seed s1 replicates `op` here (nodes register themselves through the peer protocol).
fn from_s1(h: &mut Harness, batch: u64, op: ReplicatedOp) {
    let message = PeerMessage::Replicate {
        batch,
        forward: false,
        ops: vec![Arc::new(op)],
        sent_at: h.clock.wall(),
    };
    h.node.handle_peer_message("s1:1", &message);
    h.drain_events();
}

#[test]
fn a_peer_that_leaves_keeps_its_counts_and_each_change_is_reported_once() {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), "s1:1".into()];
    config.cluster.replication.max_queue = 4;
    let mut h = Harness::with_config(config);
    for _ in 0..20 {
        h.advance(Duration::from_secs(1));
        ack_from(&mut h, &["s1:1"]);
    }
    peer_changes(&mut h);
    let wall = h.clock.wall();
    // The copy of table's tests (app dev/app, zone z1), as node d1's own registration.
    let d1 = Instance {
        appid: "infra.discovery".into(),
        addrs: vec!["http://d1:1".into()].into(),
        renew_timestamp: wall,
        ..crate::core::table::tests::instance("d1", wall)
    };
    let put = || ReplicatedOp::Write(Version::Put(Box::new(d1.clone())));
    from_s1(&mut h, 1, put());
    assert_eq!(
        peer_changes(&mut h),
        [vec![SmolStr::from("d1:1"), SmolStr::from("s1:1")]]
    );
    // The same registration again changes nothing.
    from_s1(&mut h, 2, put());
    assert_eq!(peer_changes(&mut h), Vec::<Vec<SmolStr>>::new());
    // d1 never answers: its batches are retried, ops beyond its queue's bound are dropped, and
    // the rest dropped past the retry horizon.
    for host in ["a", "b", "c", "d", "e", "f", "g", "h"] {
        h.register(host);
    }
    for _ in 0..180 {
        h.advance(Duration::from_secs(1));
        ack_from(&mut h, &["s1:1"]);
    }
    let before = h.node.stats();
    assert!(before.replication_retried > 0, "{before:?}");
    assert!(before.replication_dropped_expired > 0, "{before:?}");
    assert!(before.replication_dropped_overflow > 0, "{before:?}");
    // d1's registration goes away: it leaves, and what it was counted stays counted.
    let tombstone = Tombstone {
        key: crate::api::InstanceKey::of(&d1),
        dirty_timestamp: h.clock.wall(),
    };
    from_s1(
        &mut h,
        3,
        ReplicatedOp::Write(Version::Tombstone(tombstone)),
    );
    assert_eq!(peer_changes(&mut h), [vec![SmolStr::from("s1:1")]]);
    let after = h.node.stats();
    assert_eq!(after.replication_retried, before.replication_retried);
    assert_eq!(
        after.replication_dropped_expired,
        before.replication_dropped_expired
    );
    assert_eq!(
        after.replication_dropped_overflow,
        before.replication_dropped_overflow
    );
}
