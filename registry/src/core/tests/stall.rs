//! After a stall (the process paused or starved), client writes that may have waited through
//! it are refused for a moment, so a request its client gave up on cannot undo the writes the
//! client made elsewhere since.

use std::time::Duration;

use super::harness::*;
use crate::api::{Code, Request, StatusFilter};
use crate::core::NodeEvent;

#[test]
fn after_a_stall_client_writes_are_refused_for_a_moment_and_renews_and_reads_pass() {
    let mut h = Harness::new();
    assert_code(&h.register("a"), Code::Ok);
    h.advance(Duration::from_secs(1));
    h.stall(Duration::from_secs(30));
    assert!(h.events.iter().any(|e| matches!(
        e,
        NodeEvent::Stalled { stalled_for } if *stalled_for == Duration::from_secs(30)
    )));
    // The register a client sent before the stall and gave up on (it has since registered
    // and cancelled elsewhere) would be applied with a fresh stamp: refused.
    assert_code(&h.register("b"), Code::NotReady);
    assert_code(&h.call(Request::Set(set_args(&["a"]))), Code::NotReady);
    assert_code(&h.cancel("a"), Code::NotReady);
    assert!(h.stored("b").is_none(), "a refused write changes nothing");
    assert!(h.stored("a").is_some());
    // A renew only extends a lease, and reads change nothing.
    assert_code(&h.renew("a"), Code::Ok);
    assert_code(&h.fetch(StatusFilter::ALL), Code::Ok);
    assert_eq!(h.node.stats().writes_refused_after_stall, 3);
    // Once the moment has passed, writes are taken again.
    h.advance(Duration::from_secs(1));
    assert_code(&h.register("b"), Code::Ok);
    assert_code(&h.cancel("a"), Code::Ok);
}

#[test]
fn a_short_stall_changes_nothing() {
    let mut h = Harness::new();
    h.stall(Duration::from_millis(999));
    assert!(!h
        .events
        .iter()
        .any(|e| matches!(e, NodeEvent::Stalled { .. })));
    assert_code(&h.register("a"), Code::Ok);
    assert_eq!(h.node.stats().writes_refused_after_stall, 0);
}

/// Renews `hosts` every 5 s for `total`.
fn renewing_every_5s(h: &mut Harness, hosts: &[String], total: Duration) {
    let mut elapsed = Duration::ZERO;
    while elapsed < total {
        h.advance(Duration::from_secs(5));
        elapsed += Duration::from_secs(5);
        hosts
            .iter()
            .for_each(|host| assert_code(&h.renew(host), Code::Ok));
    }
}

/// A node resuming from a 100 s pause used to run its overdue eviction round before reading
/// the renews waiting in its buffers, and evicted live instances renewing every 5 s (300 of
/// 1,994 in a real-process probe, the round's cap). Leases do not run while the node does not.
#[test]
fn leases_do_not_run_while_the_node_is_paused() {
    let mut h = Harness::new();
    h.node
        .set_protection_override(crate::core::ProtectionOverride::ForceOff);
    let hosts = populate(&mut h, 10);
    renewing_every_5s(&mut h, &hosts, Duration::from_secs(60));
    h.pause(Duration::from_secs(100));
    let evicted = |h: &Harness| {
        h.events
            .iter()
            .filter(|e| matches!(e, NodeEvent::Evicted { .. }))
            .count()
    };
    assert_eq!(evicted(&h), 0, "the round on resume evicts no one");
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, NodeEvent::EvictionRound { .. })));
    // The clients' renews arrive; one of them has really gone silent.
    let (gone, renewing) = hosts.split_first().expect("hosts");
    renewing_every_5s(&mut h, renewing, Duration::from_secs(120));
    assert!(h.stored(gone).is_none(), "silent 90 s it observed: evicted");
    assert_eq!(evicted(&h), 1);
}
