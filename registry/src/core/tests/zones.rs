//! Replication to other zones: one node per zone receives each write and re-replicates it in
//! its zone; when every node of a zone looks lost, the zone must still be reached again.

use std::time::Duration;

use super::harness::*;
use crate::api::{OpResult, PeerMessage, Request};
use crate::core::Config;

fn two_zone_config() -> Config {
    let mut config = Config::default();
    config.identity.zone = "z1".into();
    config.identity.addr = "self:1".into();
    config
        .cluster
        .zones
        .insert("z2".into(), vec!["b1:1".into(), "b2:1".into()]);
    config
}

/// One register, then 10 s of running; batches sent to `alive` are acknowledged. Returns the
/// addresses batches went to.
fn write_and_run(h: &mut Harness, i: usize, alive: Option<&str>) -> Vec<String> {
    h.call(Request::Register(register_args(&format!("h{i}"))));
    let mut to = Vec::new();
    for _ in 0..10 {
        h.advance(Duration::from_secs(1));
        let sent: Vec<_> = h.node.net_mut().sent.drain(..).collect();
        for (addr, message) in sent {
            if let PeerMessage::Replicate { batch, ops, .. } = message {
                to.push(addr.to_string());
                if Some(addr.as_str()) == alive {
                    let results = ops.iter().map(|_| OpResult::Ok).collect();
                    let ack = PeerMessage::ReplicateAck {
                        batch,
                        results,
                        sent_at: 0,
                    };
                    h.node.handle_peer_message(&addr, &ack);
                }
            }
        }
    }
    to
}

#[test]
fn a_zone_whose_nodes_were_all_lost_is_reached_again_through_any_that_comes_back() {
    // Swarm seed 17523: both nodes of zone z2 were unreachable long enough to be lost; then
    // b2 came back and b1 stayed down. Every write went to b1 alone, so z2 never heard a renew.
    let mut h = Harness::with_config(two_zone_config());
    h.advance(Duration::from_secs(16));
    for i in 0..60 {
        write_and_run(&mut h, i, None);
    }
    let mut to_b2 = 0;
    for i in 60..70 {
        let to = write_and_run(&mut h, i, Some("b2:1"));
        to_b2 += to.iter().filter(|a| *a == "b2:1").count();
    }
    assert!(to_b2 > 0, "the zone is reached again through b2");
    // Once b2 answers, it carries the zone's new writes (b1 still gets retries of what was
    // queued for it, until the retry horizon).
    let to = write_and_run(&mut h, 70, Some("b2:1"));
    assert!(to.iter().any(|a| a == "b2:1"), "{to:?}");
}

#[test]
fn each_peer_reports_its_queue_retries_and_unanswered_batches() {
    let mut h = Harness::with_config(two_zone_config());
    h.advance(Duration::from_secs(16));
    for i in 0..3 {
        write_and_run(&mut h, i, Some("b2:1"));
    }
    let peers = h.node.peer_replication();
    let addrs: Vec<&str> = peers.iter().map(|p| p.addr.as_str()).collect();
    assert_eq!(addrs, ["b1:1", "b2:1"]);
    let (b1, b2) = (&peers[0], &peers[1]);
    assert_eq!((b1.zone.as_str(), b2.zone.as_str()), ("z2", "z2"));
    // b1 never answers: its batches are counted unanswered and their ops sent again.
    assert!(b1.unanswered_batches > 0, "{b1:?}");
    assert!(b1.retried > 0, "{b1:?}");
    // b2 answers everything sent to it.
    assert_eq!(b2.unanswered_batches, 0, "{b2:?}");
    assert_eq!(b2.queue_depth, 0, "{b2:?}");
    let statuses: Vec<_> = h.node.peers().into_iter().map(|p| p.status).collect();
    let seen: Vec<_> = peers.iter().map(|p| p.status).collect();
    assert_eq!(statuses, seen, "the same status as Node::peers");
}

/// The batches sent so far, taken: (to, forward, hostnames of their ops).
fn batches(h: &mut Harness) -> Vec<(String, bool, Vec<String>)> {
    let sent: Vec<_> = h.node.net_mut().sent.drain(..).collect();
    sent.into_iter()
        .filter_map(|(addr, message)| match message {
            PeerMessage::Replicate { forward, ops, .. } => Some((
                addr.to_string(),
                forward,
                ops.iter().map(|op| op.key().hostname.to_string()).collect(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_write_goes_to_this_zone_and_one_node_of_each_other_zone_which_passes_it_on_in_its_own() {
    let mut config = two_zone_config();
    config.cluster.seeds = vec!["self:1".into(), "a2:1".into()];
    let mut h = Harness::with_config(config);
    // Every peer answers what it was sent: no batch in flight, no back-off.
    for _ in 0..20 {
        h.advance(Duration::from_secs(1));
        ack_from(&mut h, &["a2:1", "b1:1", "b2:1"]);
    }
    h.node.net_mut().sent.clear();
    let enqueued = h.node.stats().replication_enqueued;
    let sent_batches = h.node.stats().replication_batches;
    h.call(Request::Register(register_args("h")));
    let mut sent = batches(&mut h);
    sent.sort();
    assert_eq!(
        sent,
        [
            ("a2:1".to_string(), false, vec!["h".to_string()]),
            ("b1:1".to_string(), true, vec!["h".to_string()]),
        ],
        "this zone's peer, and the first node of z2 marked to pass it on"
    );
    assert_eq!(h.node.stats().replication_enqueued, enqueued + 2);
    assert_eq!(h.node.stats().replication_batches, sent_batches + 2);

    // A write another zone's node passes on here goes to this zone's peers only, unmarked.
    let wall = crate::core::Clock::wall(&h.clock);
    let copy = crate::api::Instance {
        zone: "z2".into(),
        renew_timestamp: wall,
        ..crate::core::table::tests::instance("x", wall)
    };
    let forwarded = PeerMessage::Replicate {
        batch: 1,
        forward: true,
        ops: vec![std::sync::Arc::new(crate::api::ReplicatedOp::Write(
            crate::api::Version::Put(Box::new(copy)),
        ))],
        sent_at: wall,
    };
    h.node.handle_peer_message("b1:1", &forwarded);
    h.advance(Duration::from_secs(5));
    // (The register's batches were not answered: "h" may travel again beside "x".)
    let passed_on: Vec<(String, bool)> = batches(&mut h)
        .into_iter()
        .filter(|(_, _, hosts)| hosts.contains(&"x".to_string()))
        .map(|(to, forward, _)| (to, forward))
        .collect();
    assert_eq!(passed_on, [("a2:1".to_string(), false)]);
}
