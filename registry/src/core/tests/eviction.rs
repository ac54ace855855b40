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
        },
    );
    assert!(h.stored("a").is_none(), "the cancel outranks the copy");
    // An expired tombstone alone is not taken in (it would travel between nodes for good),
    // and the one that removed the copy goes with the next sweep.
    h.node.handle_peer_message(
        "peer:1",
        &crate::api::PeerMessage::RepairBack {
            apps: vec![state(copy.dirty_timestamp + 1)],
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
