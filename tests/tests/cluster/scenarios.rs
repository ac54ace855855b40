use std::time::Duration;

use registry::api::{
    CancelArgs, Code, InstanceKey, PeerMessage, ReplicatedOp, Request, Status, Version,
};

use registry::core::Clock;

use super::driver::*;

const SECOND: Duration = Duration::from_secs(1);

fn cancel(host: &str) -> Request {
    Request::Cancel(CancelArgs {
        key: InstanceKey {
            zone: "z1".into(),
            env: "dev".into(),
            appid: "app".into(),
            hostname: host.into(),
        },
        replication: false,
        latest_timestamp: 0,
    })
}

#[test]
fn a_write_reaches_every_peer() {
    let mut c = Cluster::new(3);
    assert!((0..3).all(|i| c.node(i).is_ready()));
    assert_ok(&c.call(0, register("a")));
    c.run_for(SECOND);
    for i in 0..3 {
        assert!(c.instance(i, "a").is_some(), "node {i} lacks the register");
    }
    assert!(c.converged());
}

#[test]
fn anti_entropy_converges_when_every_replication_message_is_lost() {
    let mut c = Cluster::new(3);
    c.filter = Box::new(|e| {
        if is_replicate(e) {
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    assert_ok(&c.call(0, register("a")));
    assert_ok(&c.call(1, register("b")));
    c.run_for(SECOND);
    assert!(c.instance(2, "a").is_none(), "replication is lost");
    c.run_for(120 * SECOND);
    assert!(c.converged(), "anti-entropy repaired everything");
    assert!((0..3).all(|i| c.instance(i, "a").is_some() && c.instance(i, "b").is_some()));
    assert!((0..3).any(|i| c.node(i).stats().anti_entropy_repairs > 0));
}

#[test]
fn a_delayed_older_register_does_not_resurrect_a_cancel() {
    let mut c = Cluster::new(3);
    // Hold every replication batch bound for node 2.
    c.filter = Box::new(|e| {
        if is_replicate(e) && e.to == addr(2) {
            Verdict::Hold
        } else {
            Verdict::Deliver
        }
    });
    assert_ok(&c.call(0, register("a")));
    c.run_for(SECOND);
    let held_register = c.held.clone();
    c.held.clear();
    c.filter = Box::new(|_| Verdict::Deliver);
    assert_ok(&c.call(1, cancel("a")));
    c.run_for(SECOND);
    assert!(c.node(2).tombstone(&key("a")).is_some());
    for envelope in held_register {
        c.deliver(envelope); // the older register arrives late
    }
    c.deliver_all();
    c.run_for(120 * SECOND);
    assert!(
        (0..3).all(|i| c.instance(i, "a").is_none()),
        "nobody resurrects the cancelled instance"
    );
    assert!(c.node(2).stats().absorbed_by_tombstone >= 1);
}

#[test]
fn replicated_renew_404_is_answered_with_the_full_register() {
    let mut c = Cluster::new(2);
    assert_ok(&c.call(0, register("a")));
    c.run_for(SECOND);
    // Node 1 restarts empty and, its sync answers and anti-entropy lost, serves without "a".
    c.filter = Box::new(|e| match e.message {
        PeerMessage::SyncResponse { .. } | PeerMessage::Digests { .. } => Verdict::Drop,
        _ => Verdict::Deliver,
    });
    c.restart(1);
    c.run_for(16 * SECOND);
    assert!(c.node(1).is_ready(), "ready after the sync timeout");
    assert!(c.instance(1, "a").is_none(), "{:?}", c.node(1).stats());
    let renew = renew("a");
    assert_ok(&c.call(0, renew));
    // The renew waits up to `renew_delay` for its batch; the register it brings back does not.
    c.run_for(2 * SECOND);
    assert!(
        c.instance(1, "a").is_some(),
        "the -404 made node 0 send the register"
    );
    // Node 0's own registration took the same path.
    assert!(c.node(0).stats().renew_not_found_resent >= 1);
}

#[test]
fn a_lagging_clock_still_orders_a_later_set_after_the_register() {
    let mut c = Cluster::new(3);
    // Node 1's wall clock runs 10 s behind.
    c.clocks[1].set_wall(c.clocks[0].wall() - 10_000_000_000);
    assert_ok(&c.call(0, register("a")));
    c.run_for(SECOND);
    let set = set_status("a", Status::Waiting);
    assert_ok(&c.call(1, set));
    c.run_for(60 * SECOND);
    for i in 0..3 {
        assert_eq!(
            c.instance(i, "a").map(|a| a.status),
            Some(Status::Waiting),
            "node {i}"
        );
    }
}

#[test]
fn a_restarted_node_refuses_reads_until_synced_then_holds_every_write() {
    let mut c = Cluster::new(3);
    assert_ok(&c.call(0, register("a")));
    c.stop(2);
    assert_ok(&c.call(1, register("b")));
    // Node 2 comes back empty; hold its sync answers for a moment.
    c.filter = Box::new(|e| {
        if matches!(e.message, PeerMessage::SyncResponse { .. }) {
            Verdict::Hold
        } else {
            Verdict::Deliver
        }
    });
    c.restart(2);
    c.deliver_all();
    assert!(!c.node(2).is_ready());
    assert_eq!(fetch_code(&mut c, 2), Code::NotReady);
    assert_ok(&c.call(2, register("c"))); // writes are accepted meanwhile
    c.filter = Box::new(|_| Verdict::Deliver);
    for envelope in std::mem::take(&mut c.held) {
        c.deliver(envelope);
    }
    c.deliver_all();
    assert!(c.node(2).is_ready());
    assert_eq!(fetch_code(&mut c, 2), Code::Ok);
    c.run_for(SECOND);
    for host in ["a", "b", "c"] {
        assert!(
            (0..3).all(|i| c.instance(i, host).is_some()),
            "{host} missing somewhere"
        );
    }
    assert!(c.node(2).stats().reads_refused_not_ready >= 1);
}

/// The addresses node `i` lists as its peers.
fn peer_addrs(c: &Cluster, i: usize) -> Vec<String> {
    c.node(i)
        .peers()
        .into_iter()
        .map(|p| p.addr.to_string())
        .collect()
}

#[test]
fn membership_grows_with_a_new_node_and_shrinks_when_it_leaves() {
    let mut c = Cluster::new(2);
    let joiner = c.add(config(2, "z1", &[0]));
    c.run_for(20 * SECOND);
    for i in 0..2 {
        let peers = peer_addrs(&c, i);
        assert!(
            peers.contains(&addr(joiner)),
            "node {i} learned the joiner: {peers:?}"
        );
    }
    let joiner_peers = peer_addrs(&c, joiner);
    assert_eq!(
        joiner_peers,
        [addr(0), addr(1)],
        "the joiner learned node 1 through node 0"
    );
    c.node_mut(joiner).handle_shutdown();
    c.deliver_all();
    c.run_for(SECOND);
    c.stop(joiner);
    for i in 0..2 {
        let peers = peer_addrs(&c, i);
        assert!(
            !peers.contains(&addr(joiner)),
            "node {i} still lists the leaver: {peers:?}"
        );
    }
}

#[test]
fn a_cross_zone_write_reaches_every_node_through_one_hop_without_loops() {
    let mut configs = Vec::new();
    for (i, zone, seeds) in [
        (0, "z1", [0, 1]),
        (1, "z1", [0, 1]),
        (2, "z2", [2, 3]),
        (3, "z2", [2, 3]),
    ] {
        let mut config = config(i, zone, &seeds);
        let other = if zone == "z1" {
            ("z2", [2, 3])
        } else {
            ("z1", [0, 1])
        };
        config
            .cluster
            .zones
            .insert(other.0.into(), other.1.iter().map(|n| addr(*n)).collect());
        configs.push(config);
    }
    let mut c = Cluster::with_configs(configs);
    c.delivered.clear();
    assert_ok(&c.call(0, register("x")));
    c.run_for(SECOND);
    assert!((0..4).all(|i| c.instance(i, "x").is_some()));
    let carrying_x = |e: &&Envelope| {
        match &e.message {
        PeerMessage::Replicate { ops, .. } => ops
            .iter()
            .any(|op| matches!(&**op, ReplicatedOp::Write(Version::Put(instance)) if instance.hostname == "x")),
        _ => false,
    }
    };
    let hops: Vec<(String, String, bool)> = c
        .delivered
        .iter()
        .filter(carrying_x)
        .map(|e| {
            (
                e.from.clone(),
                e.to.clone(),
                matches!(e.message, PeerMessage::Replicate { forward: true, .. }),
            )
        })
        .collect();
    assert_eq!(
        hops,
        [
            (addr(0), addr(1), false),
            (addr(0), addr(2), true),
            (addr(2), addr(3), false)
        ],
        "one copy per node: in zone, one forward to z2, re-replicated there once"
    );
}

#[test]
fn queue_overflow_is_counted_and_repaired() {
    let mut configs: Vec<_> = (0..2).map(|i| config(i, "z1", &[0, 1])).collect();
    configs[0].cluster.replication.max_queue = 2;
    let mut c = Cluster::with_configs(configs);
    c.filter = Box::new(|e| {
        if is_replicate(e) {
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    for host in ["a", "b", "c", "d", "e"] {
        assert_ok(&c.call(0, register(host)));
    }
    // "a" left at once and is in flight (dropped); "b" to "e" compete for two places.
    assert!(c.node(0).stats().replication_dropped_overflow >= 2);
    c.filter = Box::new(|_| Verdict::Deliver);
    c.run_for(120 * SECOND);
    assert!(c.converged());
    assert!(["a", "b", "c", "d", "e"]
        .iter()
        .all(|h| c.instance(1, h).is_some()));
}

#[test]
fn replicated_renew_409_makes_the_sender_adopt_the_newer_copy() {
    let mut c = Cluster::new(2);
    assert_ok(&c.call(0, register("a")));
    c.run_for(SECOND);
    // Node 0 misses a set made through node 1: node 1's batches to node 0 and all
    // anti-entropy are lost for the whole test, so only the renew's -409 can repair node 0.
    c.filter = Box::new(|e| match e.message {
        PeerMessage::Replicate { .. } if e.from == addr(1) => Verdict::Drop,
        PeerMessage::Digests { .. } => Verdict::Drop,
        _ => Verdict::Deliver,
    });
    let set = set_status("a", Status::Waiting);
    assert_ok(&c.call(1, set));
    c.run_for(10 * SECOND);
    assert_eq!(c.instance(0, "a").map(|a| a.status), Some(Status::Up));
    let renew = renew("a");
    assert_ok(&c.call(0, renew));
    // The renew waits up to `renew_delay` for its batch; the register it brings back does not.
    c.run_for(2 * SECOND);
    assert_eq!(
        c.instance(0, "a").map(|a| a.status),
        Some(Status::Waiting),
        "adopted node 1's newer copy"
    );
    assert!(c.node(0).stats().conflicts_adopted >= 1);
}

#[test]
fn peer_status_is_lost_while_a_peer_is_down_and_up_once_it_answers() {
    use registry::api::NodeStatus;
    let mut c = Cluster::new(3);
    let status_of_2 = |c: &Cluster| {
        c.node(0)
            .peers()
            .into_iter()
            .find(|p| p.addr == addr(2))
            .map(|p| p.status)
    };
    assert_eq!(status_of_2(&c), Some(NodeStatus::Up));
    c.stop(2);
    assert_ok(&c.call(0, register("a")));
    // Lost once eight batches in a row and a minute went unanswered.
    c.run_for(30 * SECOND);
    assert_eq!(
        status_of_2(&c),
        Some(NodeStatus::Up),
        "not yet: a few lost batches are not enough"
    );
    c.run_for(150 * SECOND); // eight unanswered batches in a row, over a minute of silence
    assert_eq!(
        status_of_2(&c),
        Some(NodeStatus::Lost),
        "unacknowledged batches mark it lost"
    );
    c.restart(2);
    c.run_for(60 * SECOND);
    assert_eq!(status_of_2(&c), Some(NodeStatus::Up));
    assert!(c.node(2).is_ready(), "the restarted node synced");
}

#[test]
fn anti_entropy_drops_an_expired_copy_its_peer_does_not_hold() {
    use registry::core::ProtectionOverride;
    let mut c = Cluster::new(2);
    // Node 0 is protected (it keeps silent instances for an hour); node 1 is not.
    c.node_mut(0)
        .set_protection_override(ProtectionOverride::ForceOn);
    c.node_mut(1)
        .set_protection_override(ProtectionOverride::ForceOff);
    assert_ok(&c.call(0, register("dead")));
    c.run_for(60 * SECOND);
    assert!(
        c.instance(0, "dead").is_some() && c.instance(1, "dead").is_some(),
        "replicated, within its lease"
    );
    // Nobody renews it: node 1 evicts it; node 0, protected, would keep it for an hour, but
    // the next anti-entropy exchange shows its peer does not hold this expired copy.
    c.run_for(240 * SECOND);
    assert!(
        c.instance(1, "dead").is_none(),
        "evicted where protection is off"
    );
    assert!(
        c.instance(0, "dead").is_none(),
        "dropped by anti-entropy where protection kept it"
    );
    assert_eq!(c.node(0).stats().dead_copies_dropped, 1);
}

#[test]
fn a_cold_start_moves_each_state_once_and_is_ready_once_every_peer_answered() {
    // Three nodes start together: none has synced, so each takes every peer's (unsynced)
    // state once and is ready as soon as all of them answered, not at its sync timeout.
    let mut c = Cluster::new(3);
    let sync = |e: &&Envelope| {
        matches!(
            e.message,
            PeerMessage::SyncRequest { .. } | PeerMessage::SyncResponse { .. }
        )
    };
    let messages: Vec<Envelope> = c.delivered.iter().filter(sync).cloned().collect();
    for asker in 0..3 {
        assert!(c.node(asker).is_ready(), "node {asker} ready");
        for peer in (0..3).filter(|p| *p != asker) {
            let between = |from: usize, to: usize| {
                messages
                    .iter()
                    .filter(move |e| e.from == addr(from) && e.to == addr(to))
            };
            let full = between(asker, peer)
                .filter(|e| matches!(e.message, PeerMessage::SyncRequest { full: true }))
                .count();
            let states = between(peer, asker)
                .filter(|e| {
                    matches!(&e.message, PeerMessage::SyncResponse { apps, .. } if !apps.is_empty())
                })
                .count();
            let probes = between(asker, peer)
                .filter(|e| matches!(e.message, PeerMessage::SyncRequest { full: false }))
                .count();
            assert_eq!(
                (full, states, probes),
                (1, 1, 0),
                "node {asker} took node {peer}'s state once, and was ready without asking again"
            );
        }
    }
    // A synced node sends its whole state even to a request that does not want it.
    c.node_mut(0)
        .handle_peer_message(&addr(1), &PeerMessage::SyncRequest { full: false });
    let sent = std::mem::take(&mut c.node_mut(0).net_mut().sent);
    assert!(
        matches!(&sent[..], [(_, PeerMessage::SyncResponse { ready: true, apps, .. })] if !apps.is_empty()),
        "{sent:?}"
    );
    // A node restarting among synced peers asks in full and is ready at once.
    c.restart(2);
    c.deliver_all();
    assert!(c.node(2).is_ready());
    c.run_for(SECOND);
    assert!(c.converged());
}
