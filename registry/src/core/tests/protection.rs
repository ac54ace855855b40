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
    populate(&mut h, 10);
    h.advance(3661 * SECOND); // the round at 3660 s sees 3660 s of silence
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
