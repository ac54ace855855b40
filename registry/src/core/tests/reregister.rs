//! A client that stamps its own writes (Eureka's `lastDirtyTimestamp`) registering again: after
//! this node's 404 its register is its owner's latest word and wins; otherwise it is ordered by
//! its stamp, so a register that its client's own later cancel overtook stays refused (see
//! `core/told_missing.rs`).

use std::time::Duration;

use super::harness::*;
use crate::api::{AppState, Code, PeerMessage, RenewArgs, Request, Tombstone};
use crate::core::Clock;

const SECOND: i64 = 1_000_000_000;

/// "h" registered with the client's stamp, 5 s behind this node's clock, then cancelled by
/// someone else (an operator): the tombstone is stamped by this node, after the client's stamp.
/// Returns the harness and the client's stamp.
fn cancelled_by_an_operator() -> (Harness, i64) {
    let mut h = Harness::new();
    let stamp = h.clock.wall() - 5 * SECOND;
    assert_code(&h.call(stamped_register(stamp)), Code::Ok);
    assert_code(&h.cancel("h"), Code::Ok);
    (h, stamp)
}

fn stamped_register(stamp: i64) -> Request {
    let mut args = register_args("h");
    args.dirty_timestamp = stamp;
    Request::Register(args)
}

#[test]
fn a_stamped_register_answering_this_nodes_404_beats_the_cancel_that_removed_it() {
    let (mut h, stamp) = cancelled_by_an_operator();
    let tombstone = h.node.tombstone(&key("h")).expect("cancelled");
    assert_code(&h.renew("h"), Code::NothingFound);
    // py_eureka_client registers again with the stamp it had.
    assert_code(&h.call(stamped_register(stamp)), Code::Ok);
    let stored = h.stored("h").expect("back");
    assert_eq!(
        stored.dirty_timestamp,
        tombstone + 1,
        "the least version that beats the cancel, so the client's later stamps still win"
    );
    // The client's next change, stamped later on its own clock, wins as usual.
    assert_code(&h.call(stamped_register(tombstone + 2)), Code::Ok);
    assert_eq!(h.stored("h").expect("held").dirty_timestamp, tombstone + 2);
}

#[test]
fn a_stamped_register_without_a_404_before_it_is_ordered_by_its_stamp() {
    // The client sent a status change, then (shutting down) its cancel; the cancel arrived
    // first. The status change must not bring the instance back.
    let (mut h, stamp) = cancelled_by_an_operator();
    assert_code(&h.call(stamped_register(stamp + 1)), Code::Conflict);
    assert_eq!(h.stored("h"), None);
}

#[test]
fn a_cancel_after_the_404_makes_a_stamped_register_stale_again() {
    // Told missing, the client registers again, then ends and cancels; its cancel overtakes
    // the register.
    let (mut h, stamp) = cancelled_by_an_operator();
    assert_code(&h.renew("h"), Code::NothingFound);
    assert_code(&h.cancel("h"), Code::NothingFound);
    assert_code(&h.call(stamped_register(stamp)), Code::Conflict);
    assert_eq!(
        h.stored("h"),
        None,
        "the client's own cancel stays in force"
    );
}

#[test]
fn a_404_is_answered_once_and_only_within_30_s() {
    let (mut h, stamp) = cancelled_by_an_operator();
    assert_code(&h.renew("h"), Code::NothingFound);
    h.advance(Duration::from_secs(31));
    assert_code(&h.call(stamped_register(stamp)), Code::Conflict);

    let (mut h, stamp) = cancelled_by_an_operator();
    assert_code(&h.renew("h"), Code::NothingFound);
    assert_code(&h.call(stamped_register(stamp)), Code::Ok);
    assert_code(&h.cancel("h"), Code::Ok);
    assert_code(&h.call(stamped_register(stamp)), Code::Conflict);
}

#[test]
fn a_peers_renew_answered_404_is_no_clients_404() {
    let (mut h, stamp) = cancelled_by_an_operator();
    let replicated = Request::Renew(RenewArgs {
        replication: true,
        dirty_timestamp: stamp,
        ..renew_args("h")
    });
    assert_code(&h.call(replicated), Code::NothingFound);
    assert_code(&h.call(stamped_register(stamp)), Code::Conflict);
}

#[test]
fn a_register_of_the_version_held_again_is_that_version_and_a_sign_of_life() {
    // Eureka clients send their stamp again with every register, changed or not.
    let mut h = Harness::new();
    let stamp = h.clock.wall() - 5 * SECOND;
    assert_code(&h.call(stamped_register(stamp)), Code::Ok);
    let held = h.stored("h").expect("registered");
    let cursor = h.cursor();
    h.advance(Duration::from_secs(60));
    h.node.net_mut().sent.clear();
    assert_code(&h.call(stamped_register(stamp)), Code::Ok);
    assert_eq!(
        h.stored("h").expect("held").reg_timestamp,
        held.reg_timestamp
    );
    assert_eq!(h.cursor(), cursor, "nothing changed: no poller is woken");
    h.advance(Duration::from_secs(45));
    assert!(
        h.stored("h").is_some(),
        "the lease started again: 105 s after the first register, not evicted"
    );
}

#[test]
fn a_cancel_handed_again_by_anti_entropy_does_not_undo_the_note() {
    let (mut h, stamp) = cancelled_by_an_operator();
    let tombstone = h.node.tombstone(&key("h")).expect("cancelled");
    assert_code(&h.renew("h"), Code::NothingFound);
    let sent_at = h.clock.wall();
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::RepairBack {
            apps: vec![AppState {
                app: key("h").app(),
                instances: Vec::new(),
                tombstones: vec![Tombstone {
                    key: key("h"),
                    dirty_timestamp: tombstone,
                }],
            }],
            sent_at,
        },
    );
    assert_code(&h.call(stamped_register(stamp)), Code::Ok);
}

#[test]
fn an_unstamped_register_after_a_404_is_stamped_by_the_node_as_always() {
    // bilibili's Go SDK registers again after -404 without a stamp: the node's clock stamps it.
    let (mut h, _) = cancelled_by_an_operator();
    h.advance(Duration::from_secs(5));
    assert_code(&h.renew("h"), Code::NothingFound);
    assert_code(&h.register("h"), Code::Ok);
    let stored = h.stored("h").expect("back");
    assert!(
        stored.dirty_timestamp >= h.clock.wall(),
        "a fresh stamp, not one just above the cancel's 5 s ago"
    );
}
