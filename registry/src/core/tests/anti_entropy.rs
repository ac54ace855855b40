//! Anti-entropy: one digest exchange per interval, stretched or shrunk by the seeded jitter,
//! each counted; a repair drops the dead copies the peer does not hold.

use std::time::Duration;

use super::harness::*;
use crate::api::{AppState, PeerMessage, Tombstone};
use crate::core::{Clock, Config, ProtectionOverride};

/// The instants (ms since the start) at which the node sent `peer:1` a digest, over `total`,
/// observed every `step`.
fn digest_times_ms(h: &mut Harness, total: Duration, step: Duration) -> Vec<u128> {
    let mut times = Vec::new();
    let mut elapsed = Duration::ZERO;
    while elapsed < total {
        h.advance(step);
        elapsed += step;
        let sent: Vec<_> = h.node.net_mut().sent.drain(..).collect();
        for (addr, message) in sent {
            if addr.as_str() == "peer:1" && matches!(message, PeerMessage::Digests { .. }) {
                times.push(elapsed.as_millis());
            }
        }
    }
    times
}

/// A node with one peer, exchanging digests every 10 s give or take `percent`.
fn every_10s_with_jitter(percent: u64) -> Config {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), "peer:1".into()];
    config.cluster.anti_entropy_interval = Duration::from_secs(10);
    config.cluster.anti_entropy_jitter_percent = percent;
    config
}

#[test]
fn exchanges_come_once_per_interval_within_the_jitter_and_are_counted() {
    let mut h = Harness::with_config(every_10s_with_jitter(20));
    let step = Duration::from_millis(50);
    let times = digest_times_ms(&mut h, Duration::from_secs(300), step);
    assert!(times.len() >= 20, "about one exchange per 10 s: {times:?}");
    let gaps: Vec<u128> = times.windows(2).map(|w| w[1] - w[0]).collect();
    for gap in &gaps {
        // 10 s +- 20 %, give or take one observation step.
        assert!(
            (8_000 - 50..=12_000 + 50).contains(gap),
            "a gap of {gap} ms between exchanges: {gaps:?}"
        );
    }
    let (shortest, longest) = (gaps.iter().min(), gaps.iter().max());
    assert!(
        longest.zip(shortest).is_some_and(|(l, s)| l - s >= 1_000),
        "the jitter spreads the exchanges: {gaps:?}"
    );
    assert_eq!(h.node.stats().anti_entropy_rounds, times.len() as u64);
}

#[test]
fn no_jitter_means_exactly_the_interval() {
    let mut h = Harness::with_config(every_10s_with_jitter(0));
    let times = digest_times_ms(&mut h, Duration::from_secs(100), Duration::from_millis(50));
    assert!(times.len() >= 8, "{times:?}");
    assert!(times.windows(2).all(|w| w[1] - w[0] == 10_000), "{times:?}");
}

#[test]
fn a_repair_drops_the_copies_silent_past_the_lease_that_the_peer_does_not_hold() {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), "peer:1".into()];
    let evict_after = config.lease.evict_after;
    let mut h = Harness::with_config(config);
    h.advance(Duration::from_secs(20)); // synced, alone, after the timeout
                                        // Protection keeps every silent copy from eviction: only the repair can drop one.
    h.node.set_protection_override(ProtectionOverride::ForceOn);
    h.register("dead");
    h.register("held");
    h.advance(Duration::from_secs(1));
    h.register("at-the-lease");
    h.advance(evict_after - Duration::from_secs(10));
    h.register("fresh");
    h.advance(Duration::from_secs(10));
    // Silent for: dead and held 91 s, at-the-lease exactly the lease (90 s), fresh 10 s.
    let held = h.stored("held").expect("held is stored");
    let state = AppState {
        app: key("held").app(),
        instances: vec![held],
        tombstones: Vec::new(),
    };
    let sent_at = h.clock.wall();
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::Repair {
            apps: vec![state],
            sent_at,
        },
    );
    let mut kept = h.hosts();
    kept.sort();
    assert_eq!(
        kept,
        ["at-the-lease", "fresh", "held"],
        "dead is dropped, no other"
    );
    assert_eq!(h.node.stats().dead_copies_dropped, 1);
}

#[test]
fn a_repair_takes_in_a_live_copy_it_lacks_skips_an_expired_one_and_counts_both() {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), "peer:1".into()];
    let evict_after = config.lease.evict_after;
    let mut h = Harness::with_config(config);
    h.advance(Duration::from_secs(20)); // synced, alone, after the timeout
                                        // Two copies as the peer holds them, built from instances registered on a scratch node.
    let mut scratch = Harness::new();
    scratch.register("live");
    scratch.register("expired");
    let live = scratch.stored("live").expect("stored");
    let mut expired = scratch.stored("expired").expect("stored");
    let sent_at = h.clock.wall();
    let live = crate::api::Instance {
        renew_timestamp: sent_at,
        ..live
    };
    let lease_nanos = i64::try_from(evict_after.as_nanos()).expect("a lease fits in i64");
    expired.renew_timestamp = sent_at - lease_nanos - 1_000_000_000;
    let state = AppState {
        app: key("live").app(),
        instances: vec![live, expired],
        tombstones: Vec::new(),
    };
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::Repair {
            apps: vec![state],
            sent_at,
        },
    );
    assert_eq!(h.hosts(), ["live"], "the expired copy is not taken in");
    let stats = h.node.stats();
    assert_eq!(stats.anti_entropy_repairs, 1, "one version changed here");
    assert_eq!(stats.repairs_skipped_expired, 1);
}

/// A repair from `peer:1` of the app of `key("a")` holding only `tombstones`.
fn repair_with_tombstones(h: &mut Harness, tombstones: Vec<Tombstone>) {
    let sent_at = h.clock.wall();
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::Repair {
            apps: vec![AppState {
                app: key("a").app(),
                instances: Vec::new(),
                tombstones,
            }],
            sent_at,
        },
    );
}

#[test]
fn a_repair_counts_a_tombstone_it_takes_in_or_that_removes_a_copy_not_one_it_holds() {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), "peer:1".into()];
    let mut h = Harness::with_config(config);
    h.advance(Duration::from_secs(20)); // synced, alone, after the timeout
    let repairs = |h: &Harness| h.node.stats().anti_entropy_repairs;
    // A cancel of an instance this node never held: the tombstone is new here.
    let gone = Tombstone {
        key: key("gone"),
        dirty_timestamp: h.clock.wall() - 1_000_000_000,
    };
    repair_with_tombstones(&mut h, vec![gone.clone()]);
    assert_eq!(h.node.tombstone(&key("gone")), Some(gone.dirty_timestamp));
    assert_eq!(repairs(&h), 1, "a tombstone taken in is a repair");
    // The same tombstone again changes nothing.
    repair_with_tombstones(&mut h, vec![gone.clone()]);
    assert_eq!(repairs(&h), 1, "a tombstone already held is no repair");
    // A cancel newer than a held copy removes it.
    h.register("held");
    let held = h.stored("held").expect("registered");
    let cancel = Tombstone {
        key: key("held"),
        dirty_timestamp: held.dirty_timestamp + 1,
    };
    repair_with_tombstones(&mut h, vec![gone, cancel]);
    assert_eq!(h.stored("held"), None, "the cancel removed the copy");
    assert_eq!(
        repairs(&h),
        2,
        "the removal is one repair, the held tombstone none"
    );
}
