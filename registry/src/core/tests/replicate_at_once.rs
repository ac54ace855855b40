//! A write leaves for a peer in the step that made it when nothing is in flight to that peer;
//! writes made while a batch is in flight share the next batch, which leaves in the step that
//! acknowledges it; renews keep their delay (#17).

use std::time::Duration;

use super::harness::*;
use crate::api::{PeerMessage, ReplicatedOp, Version};
use crate::core::Config;

/// What each batch waiting to be sent to `peer` carries of the test app, in send order: a
/// write as its hostname, a renew as `renew <hostname>`.
fn batches_to(h: &mut Harness, peer: &str) -> Vec<Vec<String>> {
    let sent = &h.node.net_mut().sent;
    sent.iter()
        .filter(|(addr, _)| addr.as_str() == peer)
        .filter_map(|(_, message)| match message {
            PeerMessage::Replicate { ops, .. } => Some(
                ops.iter()
                    .filter(|op| op.key().appid == "app")
                    .map(|op| match &**op {
                        ReplicatedOp::Write(Version::Put(i)) => i.hostname.to_string(),
                        ReplicatedOp::Renew { key, .. } => format!("renew {}", key.hostname),
                        other => format!("{other:?}"),
                    })
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// A node with one peer, past startup, every batch so far acknowledged: its queue is idle.
fn idle() -> Harness {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["p1:1".into()];
    let mut h = Harness::with_config(config);
    for _ in 0..160 {
        h.advance(Duration::from_millis(100));
        ack_from(&mut h, &["p1:1"]);
    }
    h
}

#[test]
fn a_write_leaves_at_once_and_writes_behind_it_share_the_batch_sent_on_its_ack() {
    let mut h = idle();
    assert_eq!(h.node.replication_unacknowledged(), 0);
    h.register("a");
    assert_eq!(
        batches_to(&mut h, "p1:1"),
        [["a"]],
        "nothing in flight: sent in the step of the write, with no wait"
    );
    // Sent is not acknowledged: a draining node waits on this count (runtime's shutdown).
    assert_eq!(h.node.replication_unacknowledged(), 1);
    h.register("b");
    h.register("c");
    h.advance(Duration::from_millis(100));
    assert_eq!(
        batches_to(&mut h, "p1:1"),
        [["a"]],
        "a batch is in flight: later writes wait for its acknowledgement"
    );
    assert_eq!(
        h.node.replication_unacknowledged(),
        3,
        "one in flight, two waiting"
    );
    assert_eq!(h.node.replication_queue_depth(), 2, "the two waiting");
    ack_from(&mut h, &["p1:1"]);
    assert_eq!(
        batches_to(&mut h, "p1:1"),
        [["b", "c"]],
        "sent together in the step of the acknowledgement"
    );
    assert_eq!(h.node.replication_unacknowledged(), 2);
    assert_eq!(h.node.replication_queue_depth(), 0, "both in flight");
    ack_from(&mut h, &["p1:1"]);
    assert_eq!(h.node.replication_unacknowledged(), 0);
}

#[test]
fn a_renew_still_waits_its_delay() {
    let mut h = idle();
    let renew_delay = Config::default().cluster.replication.renew_delay;
    h.register("a");
    h.advance(Duration::from_millis(10)); // the register has left, however writes batch
    ack_from(&mut h, &["p1:1"]);
    h.renew("a");
    h.advance(renew_delay - Duration::from_millis(1));
    assert_eq!(batches_to(&mut h, "p1:1"), Vec::<Vec<String>>::new());
    h.advance(Duration::from_millis(1));
    assert_eq!(batches_to(&mut h, "p1:1"), [["renew a"]]);
}
