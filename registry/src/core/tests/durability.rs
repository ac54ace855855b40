//! `durability = "peer"`: a client write is answered once a peer acknowledged it, or when the
//! wait runs out; the default answers at once.

use std::time::Duration;

use super::harness::*;
use crate::api::{CancelArgs, Code, Request};
use crate::core::{Config, Durability};

fn config(durability: Durability) -> Config {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["p1:1".into(), "p2:1".into()];
    config.cluster.replication.durability = durability;
    config
}

#[test]
fn a_write_is_answered_once_a_peer_acknowledged_it() {
    let mut h = Harness::with_config(config(Durability::Peer));
    // Startup sync gives up (no peer sends its state); both peers take every batch.
    for _ in 0..160 {
        h.advance(Duration::from_millis(100));
        ack_from(&mut h, &["p1:1", "p2:1"]);
    }
    let id = h.send(Request::Register(register_args("a")));
    assert_eq!(h.reply_to(id), None, "held until a peer has it");
    h.advance(Duration::from_millis(20)); // the batch leaves
    assert_eq!(h.reply_to(id), None);
    ack_from(&mut h, &["p2:1"]);
    assert_code(&h.reply_to(id).expect("answered on the ack"), Code::Ok);
    // A set and a cancel wait alike; one acknowledgement of a later version covers both.
    let set = h.send(Request::Set(set_args(&["a"])));
    let cancel = h.send(Request::Cancel(CancelArgs {
        key: key("a"),
        replication: false,
        latest_timestamp: 0,
    }));
    assert_eq!((h.reply_to(set), h.reply_to(cancel)), (None, None));
    // p1 has not acknowledged the register's batch yet, so they wait behind it there, in one
    // op (the cancel replaced the set in its queue), which leaves on that acknowledgement.
    // (To p2 the set left at once; p2 no longer answers.)
    h.advance(Duration::from_millis(20));
    ack_from(&mut h, &["p1:1"]);
    assert_eq!((h.reply_to(set), h.reply_to(cancel)), (None, None));
    ack_from(&mut h, &["p1:1"]); // the op of both
    assert_code(&h.reply_to(set).expect("set answered"), Code::Ok);
    assert_code(&h.reply_to(cancel).expect("cancel answered"), Code::Ok);
    // Renews and refused writes are answered at once.
    let b = h.send(Request::Register(register_args("b")));
    h.advance(Duration::from_millis(20));
    ack_from(&mut h, &["p1:1"]);
    assert_code(&h.reply_to(b).expect("answered"), Code::Ok);
    assert_code(&h.call(Request::Renew(renew_args("b"))), Code::Ok);
    assert_code(
        &h.call(Request::Set(set_args(&["nobody"]))),
        Code::NothingFound,
    );
    assert_eq!(h.node.stats().writes_answered_unacknowledged, 0);
}

#[test]
fn with_no_peer_answering_a_write_is_answered_when_the_wait_runs_out_or_at_once_once_peers_are_lost(
) {
    let mut h = Harness::with_config(config(Durability::Peer));
    h.advance(Duration::from_secs(16));
    let id = h.send(Request::Register(register_args("a")));
    h.advance(Duration::from_millis(999));
    assert_eq!(h.reply_to(id), None);
    h.advance(Duration::from_millis(1));
    assert_code(&h.reply_to(id).expect("answered at the wait"), Code::Ok);
    assert_eq!(h.node.stats().writes_answered_unacknowledged, 1);
    // Once every peer is lost (no batch answered for a minute), waiting is pointless.
    h.advance(Duration::from_secs(300));
    assert_code(&h.call(Request::Register(register_args("b"))), Code::Ok);
    // An abandoned wait is forgotten: nothing is answered for it later.
    let mut h = Harness::with_config(config(Durability::Peer));
    h.advance(Duration::from_secs(16));
    let id = h.send(Request::Register(register_args("c")));
    h.node.handle_abandon(id);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.reply_to(id), None);
}

#[test]
fn by_default_a_write_is_answered_once_applied_here() {
    let mut h = Harness::with_config(config(Durability::Local));
    h.advance(Duration::from_secs(16));
    assert_code(&h.call(Request::Register(register_args("a"))), Code::Ok);
}

#[test]
fn a_node_shutting_down_answers_the_writes_it_still_holds() {
    // The write is applied here; the node stops before any peer acknowledged it, so it
    // answers what it did rather than leave the client waiting for a connection to drop.
    let mut h = Harness::with_config(config(Durability::Peer));
    h.advance(Duration::from_secs(16));
    let id = h.send(Request::Register(register_args("a")));
    assert_eq!(h.reply_to(id), None, "held until a peer has it");
    h.node.handle_shutdown();
    assert_code(&h.reply_to(id).expect("answered at shutdown"), Code::Ok);
}

#[test]
fn a_peer_of_another_zone_counts_for_durability_until_it_is_lost() {
    // The node's only peer is in zone z2: a write waits for it as for a peer of its own zone,
    // and stops waiting once it is lost.
    let mut config = config(Durability::Peer);
    config.cluster.seeds = vec!["self:1".into()];
    config
        .cluster
        .zones
        .insert("z2".into(), vec!["b1:1".into()]);
    let mut h = Harness::with_config(config);
    for _ in 0..160 {
        h.advance(Duration::from_millis(100));
        ack_from(&mut h, &["b1:1"]);
    }
    let id = h.send(Request::Register(register_args("a")));
    assert_eq!(h.reply_to(id), None, "held until b1 has it");
    h.advance(Duration::from_millis(20));
    ack_from(&mut h, &["b1:1"]);
    assert_code(&h.reply_to(id).expect("answered on the ack"), Code::Ok);
    // b1 stops answering; once lost, a write is answered at once.
    h.advance(Duration::from_secs(300));
    assert_code(&h.call(Request::Register(register_args("b"))), Code::Ok);
}
