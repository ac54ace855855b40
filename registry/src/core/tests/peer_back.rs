//! A peer that comes back after this node ran alone gets the next write at once.

use std::time::Duration;

use super::harness::*;
use crate::api::{PeerMessage, ReplicatedOp, Request, Version};
use crate::core::Config;

#[test]
fn the_first_write_after_running_alone_reaches_a_peer_that_came_back_at_once() {
    // Real processes (#16): a node started alone, its peer started later; the first write
    // after that took about 1 s to reach the peer, later ones 11-14 ms: the queue towards the
    // peer was still backing off from the batches nobody answered while it was down.
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["self:1".into(), "peer:1".into()];
    let mut h = Harness::with_config(config);
    // Alone for a minute: every batch to the peer goes unanswered.
    h.advance(Duration::from_secs(60));
    h.node.net_mut().sent.clear();
    // The peer starts and asks this node for its registry, as a starting node does.
    h.node
        .handle_peer_message("peer:1", &PeerMessage::SyncRequest { full: true });
    // Heard from, the peer gets what waited for it at once, and answers it.
    ack_from(&mut h, &["peer:1"]);
    assert_code(
        &h.call(Request::Register(register_args("h1"))),
        crate::api::Code::Ok,
    );
    let carries_h1 = |message: &PeerMessage| match message {
        PeerMessage::Replicate { ops, .. } => ops
            .iter()
            .any(|op| matches!(&**op, ReplicatedOp::Write(Version::Put(i)) if i.hostname == "h1")),
        _ => false,
    };
    let sent = &h.node.net_mut().sent;
    assert!(
        sent.iter()
            .any(|(addr, message)| addr.as_str() == "peer:1" && carries_h1(message)),
        "the write waited for the back-off: {sent:?}"
    );
}
