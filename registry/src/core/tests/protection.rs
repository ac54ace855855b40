use std::time::Duration;

use super::harness::*;
use crate::api::Code;
use crate::core::{Config, NodeEvent, ProtectionOverride, ProtectionReason};

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn protection_engages_when_renews_collapse_and_nothing_is_evicted() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    run_renewing(&mut h, &hosts, 120 * SECOND);
    assert!(!h.node.protection().protected);
    // Every client falls silent (say, a partition between them and this node). The renews
    // sent at 120 s fall into the window closing at 180 s; the one closing at 240 s has none.
    h.advance(120 * SECOND);
    let status = h.node.protection();
    // Only the node's own registration renews now: twice per window, below 18.
    assert!(status.protected, "2 renews < threshold 18: {status:?}");
    assert_eq!(status.reason, ProtectionReason::RenewsBelowThreshold);
    assert_eq!(
        (
            status.expected_renews,
            status.threshold,
            status.renews_last_window
        ),
        (22, 18, 2)
    );
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, NodeEvent::ProtectionChanged(s) if s.protected)));
    h.advance(30 * 60 * SECOND);
    assert_eq!(
        h.node.instance_count(),
        SELF as usize + 10,
        "protected: nothing younger than 1 h is evicted"
    );
}

#[test]
fn while_protected_instances_silent_past_the_ceiling_are_evicted_within_the_cap() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    // They renew once, so the expectation keeps them after its resets.
    run_renewing(&mut h, &hosts, 30 * SECOND);
    h.advance(3631 * SECOND); // the round at 3660 s sees 3630 s of silence
    assert!(
        h.node.instance_count() < 10,
        "silent past 1 h: evicted even while protected"
    );
    assert!(h.node.protection().protected);
    for event in &h.events {
        if let NodeEvent::EvictionRound { evicted, cap, .. } = event {
            assert!(evicted <= cap);
        }
    }
}

#[test]
fn protection_exits_when_renews_recover() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    h.advance(60 * SECOND);
    assert!(
        h.node.protection().protected,
        "no renews in the first window"
    );
    run_renewing(&mut h, &hosts, 120 * SECOND);
    let status = h.node.protection();
    assert!(!status.protected, "{status:?}");
    assert_eq!(status.reason, ProtectionReason::RenewsMeetThreshold);
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, NodeEvent::ProtectionChanged(s) if !s.protected)));
}

#[test]
fn threshold_counts_renews_from_peers_too() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    let dirty: Vec<i64> = hosts
        .iter()
        .map(|host| h.stored(host).expect("stored").dirty_timestamp)
        .collect();
    for _ in 0..4 {
        h.advance(30 * SECOND);
        for (host, dirty) in hosts.iter().zip(&dirty) {
            let mut args = renew_args(host);
            args.replication = true;
            args.dirty_timestamp = *dirty;
            assert_code(&h.call(crate::api::Request::Renew(args)), Code::Ok);
        }
    }
    assert!(!h.node.protection().protected);
}

#[test]
fn force_on_stops_ordinary_eviction_and_force_off_resumes_it() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    h.node.set_protection_override(ProtectionOverride::ForceOn);
    let (silent, renewing) = hosts.split_first().expect("hosts");
    run_renewing(&mut h, renewing, 300 * SECOND);
    assert!(h.stored(silent).is_some(), "forced on: kept");
    assert_eq!(h.node.protection().reason, ProtectionReason::ForcedOn);
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    run_renewing(&mut h, renewing, 60 * SECOND);
    assert!(
        h.stored(silent).is_none(),
        "forced off: evicted at the next round"
    );
}

#[test]
fn thresholds_are_configuration() {
    let mut config = Config::default();
    config.protection.threshold_percent = 50;
    config.protection.renew_window = 30 * SECOND;
    let mut h = Harness::with_config(config);
    let hosts = populate(&mut h, 10);
    // One renew per instance per 30 s window: 10 clients + the node = 11; expected 22 -> 11.
    run_renewing(&mut h, &hosts, 60 * SECOND);
    let status = h.node.protection();
    assert_eq!(status.threshold, 11);
    assert!(!status.protected, "{status:?}");
}

#[test]
fn invalid_configuration_is_refused() {
    let config = Config {
        poll_hold: Duration::ZERO,
        ..Config::default()
    };
    let clock = std::rc::Rc::new(crate::core::ManualClock::new(0));
    let err =
        crate::core::Node::new(config, clock, crate::core::Outbox::default()).expect_err("refused");
    assert_eq!(err.key, "poll_hold");
}

/// Renews of instances the node does not hold say nothing about whether its clients reach it:
/// counting them would let anyone keep a cut-off node out of protection (and evicting) by
/// renewing names it never had.
#[test]
fn only_renews_of_instances_the_node_holds_count() {
    let mut config = Config::default();
    config.cluster.seeds = vec!["peer:1".into()];
    let mut h = Harness::with_config(config);
    populate(&mut h, 10);
    let strangers: Vec<String> = (0..50).map(|i| format!("unknown{i}")).collect();
    let mut elapsed = Duration::ZERO;
    while elapsed < 120 * SECOND {
        h.advance(30 * SECOND);
        elapsed += 30 * SECOND;
        for host in &strangers {
            assert_code(&h.renew(host), Code::NothingFound);
        }
        let ops = strangers
            .iter()
            .map(|host| {
                std::sync::Arc::new(crate::api::ReplicatedOp::Renew {
                    key: key(host),
                    dirty_timestamp: 1,
                })
            })
            .collect();
        h.node.handle_peer_message(
            "peer:1",
            &crate::api::PeerMessage::Replicate {
                batch: elapsed.as_secs(),
                forward: false,
                ops,
                sent_at: 0,
            },
        );
    }
    let status = h.node.protection();
    // Only the node's own registration renews: 2 per window, against a threshold of 18.
    assert_eq!(status.renews_last_window, 2, "{status:?}");
    assert!(status.protected, "{status:?}");
    let unheld = h.events.iter().rev().find_map(|e| match e {
        NodeEvent::WindowClosed { unheld_renews, .. } => Some(*unheld_renews),
        _ => None,
    });
    assert_eq!(
        unheld,
        Some(200),
        "the window closing at 120 s: 50 client and 50 peer renews at 60 s and at 90 s"
    );
}

/// Registrations that never renew (a flood, or clients that died at once after registering)
/// raise the expectation at once, as Eureka's do; the periodic reset counts only instances a
/// renew has reached since they arrived, so protection they caused ends by the window after the
/// reset, and their eviction resumes at the round after that.
#[test]
fn a_flood_of_registrations_that_never_renew_stops_counting_at_the_reset() {
    let mut h = Harness::new();
    let hosts = populate(&mut h, 10);
    run_renewing(&mut h, &hosts, 120 * SECOND);
    let flood: Vec<String> = (0..100).map(|i| format!("flood{i}")).collect();
    flood
        .iter()
        .for_each(|host| assert_code(&h.register(host), Code::Ok));
    run_renewing(&mut h, &hosts, 120 * SECOND);
    assert!(
        h.node.protection().protected,
        "the flood raised the expectation"
    );
    // The reset is due 15 min after start; the window after it closes at 16 min and the round
    // at 17 min evicts.
    run_renewing(&mut h, &hosts, 14 * 60 * SECOND);
    let status = h.node.protection();
    assert!(!status.protected, "{status:?}");
    assert_eq!(status.expected_renews, 22, "10 clients and the node");
    let flood_left = flood.iter().filter(|host| h.stored(host).is_some()).count();
    assert!(flood_left < 100, "eviction resumed: {flood_left} left");
    assert!(hosts.iter().all(|host| h.stored(host).is_some()));
}
