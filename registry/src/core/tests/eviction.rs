use std::time::Duration;

use proptest::prelude::*;

use super::harness::*;
use crate::core::{Config, NodeEvent, ProtectionOverride};

const SECOND: Duration = Duration::from_secs(1);

fn evicted(h: &Harness) -> Vec<String> {
    h.events
        .iter()
        .filter_map(|e| match e {
            NodeEvent::Evicted { key, .. } => Some(key.hostname.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_silent_instance_is_evicted_after_90s_at_the_next_round() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    let (silent, renewing) = hosts.split_first().expect("ten hosts");
    run_renewing(&mut h, renewing, 90 * SECOND);
    assert!(
        h.stored(silent).is_some(),
        "round at 60 s: silent 60 s, kept"
    );
    run_renewing(&mut h, renewing, 30 * SECOND);
    assert!(
        h.stored(silent).is_none(),
        "round at 120 s: silent 120 s > 90 s, evicted"
    );
    assert_eq!(evicted(&h), std::slice::from_ref(silent));
    assert_eq!(
        h.node.protection().expected_renews,
        2 * SELF + 18,
        "an eviction lowers the expectation"
    );
    assert!(!h.node.protection().protected);
}

#[test]
fn renewing_instances_are_never_evicted() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 5);
    run_renewing(&mut h, &hosts, 30 * 60 * SECOND);
    assert_eq!(h.node.instance_count(), SELF as usize + 5);
    assert!(evicted(&h).is_empty());
}

#[test]
fn a_round_evicts_at_most_the_cap() {
    let mut h = Harness::new();
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    populate(&mut h, 10);
    h.advance(120 * SECOND);
    let rounds: Vec<_> = h
        .events
        .iter()
        .filter(|e| matches!(e, NodeEvent::EvictionRound { .. }))
        .collect();
    assert_eq!(
        rounds.last(),
        Some(&&NodeEvent::EvictionRound {
            registry_size: 11,
            expired: 10,
            cap: 2,
            evicted: 2,
            protected: false
        })
    );
    assert_eq!(
        h.node.instance_count(),
        9,
        "10 clients and the node's own registration, minus 2"
    );
    h.advance(60 * SECOND);
    assert_eq!(h.node.instance_count(), 7, "9 - floor(9 * 0.85) = 2 more");
}

/// The last eviction round's (expired, cap) and how many rounds were capped so far.
fn last_round_and_capped(h: &Harness) -> (Option<(usize, usize)>, u64) {
    let last = h.events.iter().rev().find_map(|e| match e {
        NodeEvent::EvictionRound { expired, cap, .. } => Some((*expired, *cap)),
        _ => None,
    });
    (last, h.node.stats().eviction_rounds_capped)
}

#[test]
fn only_a_round_that_finds_more_expired_than_its_cap_is_counted_capped() {
    let mut h = Harness::new();
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    let hosts = populate(&mut h, 10);
    let renewing = &hosts[2..];
    run_renewing(&mut h, renewing, 60 * SECOND);
    assert_eq!(
        last_round_and_capped(&h),
        (Some((0, 2)), 0),
        "round at 60 s: none expired, under the cap"
    );
    run_renewing(&mut h, renewing, 60 * SECOND);
    assert_eq!(
        last_round_and_capped(&h),
        (Some((2, 2)), 0),
        "round at 120 s: h0 and h1 expired, exactly the cap"
    );
    assert_eq!(h.node.instance_count(), SELF as usize + 8);
    // Nobody renews any more: at 240 s the 8 left are 120 s silent, 9 - floor(9 * 0.85) = 2.
    h.advance(120 * SECOND);
    assert_eq!(
        last_round_and_capped(&h),
        (Some((8, 2)), 1),
        "round at 240 s: 8 expired, over the cap"
    );
}

#[test]
fn the_seed_decides_which_instances_a_capped_round_evicts() {
    let victims = |seed| {
        let mut h = Harness::with_config(Config {
            seed,
            ..Config::default()
        });
        h.node.set_protection_override(ProtectionOverride::ForceOff);
        populate(&mut h, 10);
        h.advance(120 * SECOND);
        evicted(&h)
    };
    assert_eq!(victims(7), victims(7));
    assert_eq!(victims(7).len(), 2);
    assert_ne!(victims(7), victims(8));
}

#[test]
fn tombstones_are_collected_after_retention() {
    let mut h = Harness::new();
    h.register("a");
    h.cancel("a");
    h.advance(10 * 60 * SECOND);
    assert!(
        h.node.tombstone(&key("a")).is_some(),
        "kept for the retention period"
    );
    h.advance(6 * 60 * SECOND);
    assert!(
        h.node.tombstone(&key("a")).is_none(),
        "collected within 1.5x retention"
    );
}

#[test]
fn an_expired_tombstone_still_removes_an_older_copy_but_is_not_kept() {
    // Swarm seed 208718: a cancel taken on one side of a partition that lasted about the
    // retention reached the other side by anti-entropy seconds after its tombstone expired
    // there; the node kept the cancelled copy (protection kept it for the hour) and handed it
    // back.
    let mut h = Harness::new();
    h.register("a");
    let copy = h.stored("a").expect("registered");
    let state = |dirty_timestamp: i64| crate::api::AppState {
        app: key("a").app(),
        instances: Vec::new(),
        tombstones: vec![crate::api::Tombstone {
            key: key("a"),
            dirty_timestamp,
        }],
    };
    // A cancel older than the retention, and newer than the copy: the copy goes.
    h.advance(11 * 60 * SECOND);
    h.renew("a");
    h.node.handle_peer_message(
        "peer:1",
        &crate::api::PeerMessage::RepairBack {
            apps: vec![state(copy.dirty_timestamp + 1)],
            sent_at: 0,
        },
    );
    assert!(h.stored("a").is_none(), "the cancel outranks the copy");
    // An expired tombstone alone is not taken in (it would travel between nodes for good),
    // and the one that removed the copy goes with the next sweep.
    h.node.handle_peer_message(
        "peer:1",
        &crate::api::PeerMessage::RepairBack {
            apps: vec![state(copy.dirty_timestamp + 1)],
            sent_at: 0,
        },
    );
    h.advance(6 * 60 * SECOND);
    assert!(
        h.node.tombstone(&key("a")).is_none(),
        "not kept past a sweep"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_round_ever_exceeds_its_cap(n in 1usize..40, renewing_mask in any::<u64>(), seed: u64) {
        let mut h = Harness::with_config(Config { seed, ..Config::default() });
        h.node.set_protection_override(ProtectionOverride::ForceOff);
        let hosts = populate(&mut h, n);
        let renewing: Vec<String> =
            hosts.iter().enumerate().filter(|(i, _)| renewing_mask >> i & 1 == 1).map(|(_, h)| h.clone()).collect();
        run_renewing(&mut h, &renewing, 10 * 60 * SECOND);
        for event in &h.events {
            if let NodeEvent::EvictionRound { registry_size, cap, evicted, .. } = event {
                prop_assert!(evicted <= cap);
                prop_assert_eq!(*cap, registry_size - registry_size * 85 / 100);
            }
        }
        for host in &renewing {
            prop_assert!(h.stored(host).is_some(), "{} renewed and was evicted", host);
        }
    }

    #[test]
    fn nothing_younger_than_the_ceiling_is_evicted_while_protected(
        n in 1usize..30, silent_after in prop::collection::vec(0u64..150, 30), run_minutes in 1u64..150,
    ) {
        let mut h = Harness::new();
        h.node.set_protection_override(ProtectionOverride::ForceOn);
        let hosts = populate(&mut h, n);
        // Host i renews every 30 s for silent_after[i] minutes, then goes silent.
        for step in 0..run_minutes * 2 {
            h.advance(30 * SECOND);
            for (i, host) in hosts.iter().enumerate() {
                if step < silent_after[i] * 2 {
                    h.renew(host);
                }
            }
        }
        for event in &h.events {
            if let NodeEvent::Evicted { silent_for, .. } = event {
                prop_assert!(*silent_for > Duration::from_secs(3600), "evicted after only {:?}", silent_for);
            }
        }
    }
}

/// A copy from a peer whose wall clock runs 3 min behind this node's, renewed there 1 s before
/// it was sent (`renew_timestamp` and `sent_at` on the peer's clock), and another renewed
/// 100 s before: `(fresh, stale, sent_at)`, sent when this node's clock reads `wall`.
fn copies_from_a_slow_peer(wall: i64) -> (crate::api::Instance, crate::api::Instance, i64) {
    let mut scratch = Harness::new();
    scratch.register("fresh");
    scratch.register("stale");
    let sent_at = wall - 180 * 1_000_000_000;
    let mut fresh = scratch.stored("fresh").expect("registered");
    fresh.renew_timestamp = sent_at - 1_000_000_000;
    let mut stale = scratch.stored("stale").expect("registered");
    stale.renew_timestamp = sent_at - 100 * 1_000_000_000;
    (fresh, stale, sent_at)
}

/// Clocks of peers may be minutes apart (up to `max_timestamp_ahead`). A copy's age is what
/// its sender measured on its own clock; read against this node's clock, a copy renewed a
/// second ago on a slower node looked 181 s old: replication inserted it expired and the next
/// round evicted it, anti-entropy did not insert it at all (clock-bound seed 0 did this to
/// every copy the slowest node sent).
#[test]
fn a_copy_keeps_the_age_its_sender_measured_whatever_the_clocks_say() {
    let mut config = Config::default();
    config.cluster.seeds = vec!["peer:1".into()];
    // This node has run for 5 min (so a copy can be older than its uptime).
    let uptime = 300 * SECOND;
    let (fresh, stale, sent_at) = copies_from_a_slow_peer(START_WALL + 300 * 1_000_000_000);
    let mut h = Harness::with_config(config.clone());
    // No renews reach this node: keep protection out of the way.
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    h.advance(uptime);
    let put = |instance: &crate::api::Instance| {
        std::sync::Arc::new(crate::api::ReplicatedOp::Write(crate::api::Version::Put(
            Box::new(instance.clone()),
        )))
    };
    h.node.handle_peer_message(
        "peer:1",
        &crate::api::PeerMessage::Replicate {
            batch: 1,
            forward: false,
            ops: vec![put(&fresh), put(&stale)],
            sent_at,
        },
    );
    h.advance(61 * SECOND);
    assert!(h.stored("fresh").is_some(), "1 s old when sent: kept");
    assert_eq!(evicted(&h), ["stale"], "101 s old when sent: evicted");

    let mut h = Harness::with_config(config);
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    h.advance(uptime);
    let state = crate::api::AppState {
        app: key("fresh").app(),
        instances: vec![fresh, stale],
        tombstones: Vec::new(),
    };
    h.node.handle_peer_message(
        "peer:1",
        &crate::api::PeerMessage::RepairBack {
            apps: vec![state],
            sent_at,
        },
    );
    assert!(h.stored("fresh").is_some(), "repaired");
    assert!(
        h.stored("stale").is_none(),
        "expired when sent: not taken in"
    );
    h.advance(61 * SECOND);
    assert!(h.stored("fresh").is_some(), "and kept by the next round");
}
