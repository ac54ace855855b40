//! What a node does with a peer's answers to its batches (`on_replicate_ack`): a renew the
//! peer does not know is answered with the full instance, a newer copy the peer holds is
//! adopted if it may be, and an answer to no batch in flight changes nothing.

use std::time::Duration;

use super::harness::*;
use crate::api::{
    CancelArgs, Code, Instance, OpResult, PeerMessage, ReplicatedOp, Request, Version,
};
use crate::core::{Clock, Config};

const PEER: &str = "peer:1";

/// A node with one peer that has started and been heard from, and no batch left unanswered.
fn with_a_peer() -> Harness {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), PEER.into()];
    let mut h = Harness::with_config(config);
    h.advance(Duration::from_secs(60));
    h.node
        .handle_peer_message(PEER, &PeerMessage::SyncRequest { full: true });
    ack_from(&mut h, &[PEER]);
    h.node.net_mut().sent.clear();
    h
}

/// Takes the batches sent to the peer so far: (batch, ops).
fn batches(h: &mut Harness) -> Vec<(u64, Vec<ReplicatedOp>)> {
    let sent = std::mem::take(&mut h.node.net_mut().sent);
    let (to_peer, rest): (Vec<_>, Vec<_>) = sent.into_iter().partition(|(addr, message)| {
        addr.as_str() == PEER && matches!(message, PeerMessage::Replicate { .. })
    });
    h.node.net_mut().sent = rest;
    to_peer
        .into_iter()
        .filter_map(|(_, message)| match message {
            PeerMessage::Replicate { batch, ops, .. } => {
                Some((batch, ops.iter().map(|op| (**op).clone()).collect()))
            }
            _ => None,
        })
        .collect()
}

/// The one batch carrying `host`'s op, sent once `wait` passed.
fn batch_of(h: &mut Harness, host: &str, wait: Duration) -> u64 {
    h.advance(wait);
    let found: Vec<u64> = batches(h)
        .into_iter()
        .filter(|(_, ops)| ops.iter().any(|op| op.key() == key(host)))
        .map(|(batch, _)| batch)
        .collect();
    assert_eq!(found.len(), 1, "batches carrying {host}: {found:?}");
    found[0]
}

fn answer(h: &mut Harness, batch: u64, result: OpResult) {
    let ack = PeerMessage::ReplicateAck {
        batch,
        results: vec![result],
        sent_at: h.clock.wall(),
    };
    h.node.handle_peer_message(PEER, &ack);
}

/// The Puts of `host` sent to the peer once `wait` passed.
fn puts_sent(h: &mut Harness, host: &str, wait: Duration) -> Vec<Instance> {
    h.advance(wait);
    batches(h)
        .into_iter()
        .flat_map(|(_, ops)| ops)
        .filter_map(|op| match op {
            ReplicatedOp::Write(Version::Put(i)) if i.hostname == host => Some(*i),
            _ => None,
        })
        .collect()
}

/// Registers "a" (its batch answered), then renews it: returns the register's batch and the
/// renew's, left unanswered.
fn registered_then_renewed(h: &mut Harness) -> (u64, u64) {
    h.register("a");
    let register = batch_of(h, "a", Duration::ZERO);
    answer(h, register, OpResult::Ok);
    assert_code(&h.renew("a"), Code::Ok);
    let renew = batch_of(h, "a", Duration::from_secs(2));
    (register, renew)
}

#[test]
fn a_renew_the_peer_does_not_know_is_answered_with_the_full_instance() {
    let mut h = with_a_peer();
    let (_, renew) = registered_then_renewed(&mut h);
    let enqueued = h.node.stats().replication_enqueued;
    answer(&mut h, renew, OpResult::NotFound);
    assert_eq!(h.node.stats().renew_not_found_resent, 1);
    assert_eq!(h.node.stats().replication_enqueued, enqueued + 1);
    let resent = puts_sent(&mut h, "a", Duration::from_secs(2));
    assert_eq!(resent, vec![h.stored("a").expect("held")]);
}

#[test]
fn an_answer_to_no_batch_in_flight_changes_nothing() {
    let mut h = with_a_peer();
    let (register, renew) = registered_then_renewed(&mut h);
    // An answer to the register's batch again (a duplicate), then to one never sent.
    answer(&mut h, register, OpResult::NotFound);
    answer(&mut h, renew + 100, OpResult::NotFound);
    assert_eq!(h.node.stats().renew_not_found_resent, 0);
    assert!(puts_sent(&mut h, "a", Duration::from_secs(2)).is_empty());
}

#[test]
fn a_newer_copy_the_peer_holds_is_adopted_unless_it_is_stamped_beyond_the_clock() {
    let mut h = with_a_peer();
    h.register("a");
    h.register("b");
    let held = h.stored("a").expect("held");
    let newer = |host: &str, ahead: Duration| Instance {
        hostname: host.into(),
        version: "v9".into(),
        dirty_timestamp: held.dirty_timestamp + ahead.as_nanos() as i64,
        ..held.clone()
    };
    let batch = batch_of(&mut h, "a", Duration::ZERO);
    let copy = newer("a", Duration::from_secs(1));
    answer(
        &mut h,
        batch,
        OpResult::Conflict {
            instance: Box::new(copy.clone()),
        },
    );
    assert_eq!(h.node.stats().conflicts_adopted, 1);
    assert_eq!(h.stored("a").map(|i| i.version), Some("v9".into()));

    // A copy stamped an hour ahead of this node's clock is refused and counted.
    let refused_before = h.node.stats().future_versions_refused;
    let batch = batch_of(&mut h, "b", Duration::ZERO);
    answer(
        &mut h,
        batch,
        OpResult::Conflict {
            instance: Box::new(newer("b", Duration::from_secs(3_600))),
        },
    );
    assert_eq!(h.node.stats().conflicts_adopted, 1);
    assert_eq!(h.node.stats().future_versions_refused, refused_before + 1);
    assert_eq!(h.stored("b").map(|i| i.version), Some("v1".into()));
}

#[test]
fn a_cancel_a_bilibili_style_peer_replicated_is_applied_but_not_sent_on() {
    // The peer that took the cancel from its client tells every peer itself.
    let mut h = with_a_peer();
    h.register("a");
    let batch = batch_of(&mut h, "a", Duration::ZERO);
    answer(&mut h, batch, OpResult::Ok);
    let held = h.stored("a").expect("held");
    let reply = h.call(Request::Cancel(CancelArgs {
        key: key("a"),
        replication: true,
        latest_timestamp: held.dirty_timestamp + 1,
    }));
    assert_code(&reply, Code::Ok);
    assert_eq!(h.stored("a"), None);
    h.advance(Duration::from_secs(10));
    let sent_on: Vec<_> = batches(&mut h)
        .into_iter()
        .flat_map(|(_, ops)| ops)
        .filter(|op| op.key() == key("a"))
        .collect();
    assert!(sent_on.is_empty(), "{sent_on:?}");
}
