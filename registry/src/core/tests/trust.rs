//! Trust boundaries at the node: membership cannot be joined or changed through the client API,
//! a node answers only its peers, and what a peer sends is held to the client limits.

use std::sync::Arc;
use std::time::Duration;

use super::harness::*;
use crate::api::{
    CancelArgs, Code, Data, Instance, InstanceKey, NodeStatus, PeerMessage, RegisterArgs,
    RenewArgs, ReplicatedOp, Request, SetArgs, Status, Tombstone, Version,
};
use crate::core::{Clock, Config, DISCOVERY_APPID};

/// A node at `self:1` with one configured peer, `peer:1`.
fn config() -> Config {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.identity.zone = "z1".into();
    config.cluster.seeds = vec!["peer:1".into()];
    config
}

fn node_key(hostname: &str) -> InstanceKey {
    InstanceKey {
        env: "dev".into(),
        appid: DISCOVERY_APPID.into(),
        zone: "z1".into(),
        hostname: hostname.into(),
    }
}

/// A copy of a registry node's registration at `addr`, as a peer would replicate it.
fn node_instance(hostname: &str, addr: &str, stamp: i64) -> Instance {
    let key = node_key(hostname);
    Instance {
        region: Default::default(),
        zone: key.zone,
        env: key.env,
        appid: key.appid,
        hostname: key.hostname,
        addrs: vec![addr.into()].into(),
        version: Default::default(),
        metadata: Default::default(),
        status: Status::Up,
        reg_timestamp: stamp,
        up_timestamp: stamp,
        renew_timestamp: stamp,
        dirty_timestamp: stamp,
        latest_timestamp: stamp,
    }
}

fn replicate(ops: Vec<ReplicatedOp>) -> PeerMessage {
    PeerMessage::Replicate {
        batch: 1,
        forward: false,
        ops: ops.into_iter().map(Arc::new).collect(),
        sent_at: 0,
    }
}

fn peer_addrs(h: &Harness) -> Vec<String> {
    h.node.peers().iter().map(|p| p.addr.to_string()).collect()
}

#[test]
fn a_client_cannot_join_the_cluster_or_touch_a_nodes_registration() {
    let mut h = Harness::with_config(config());
    let own = h.node.config().identity.hostname.clone();
    let attacker = RegisterArgs {
        key: node_key("attacker"),
        addrs: vec!["http://attacker:80".into()],
        ..register_args("attacker")
    };
    let writes = [
        Request::Register(attacker),
        Request::Renew(RenewArgs {
            key: node_key(&own),
            replication: false,
            dirty_timestamp: 0,
        }),
        Request::Set(SetArgs {
            zone: "z1".into(),
            env: "dev".into(),
            appid: DISCOVERY_APPID.into(),
            hostnames: vec![own.clone()],
            statuses: vec![Status::Waiting],
            metadata: Vec::new(),
            replication: false,
            set_timestamp: 0,
        }),
        Request::Cancel(CancelArgs {
            key: node_key(&own),
            replication: false,
            latest_timestamp: 0,
        }),
    ];
    let before = h.node.instance(&node_key(&own)).cloned();
    for write in writes {
        let reply = h.call(write.clone());
        assert_code(&reply, Code::BadRequest);
        assert!(
            reply.message.contains(DISCOVERY_APPID),
            "the refusal says why: {}",
            reply.message
        );
        // Bilibili-style replication through the client API is refused the same way.
        let replicated = match write {
            Request::Register(mut a) => {
                a.replication = true;
                Request::Register(a)
            }
            Request::Cancel(mut a) => {
                a.replication = true;
                Request::Cancel(a)
            }
            other => other,
        };
        assert_code(&h.call(replicated), Code::BadRequest);
    }
    assert_eq!(peer_addrs(&h), ["peer:1"], "the attacker is no peer");
    assert_eq!(h.node.instance(&node_key(&own)).cloned(), before);
    assert!(h.node.instance(&node_key("attacker")).is_none());
}

#[test]
fn a_node_that_registers_through_the_peer_protocol_becomes_a_peer() {
    // The keep test of the one above: membership still grows the way nodes join.
    let mut h = Harness::with_config(config());
    let stamp = h.node.clock().wall();
    let op = ReplicatedOp::Write(Version::Put(Box::new(node_instance(
        "n3",
        "http://n3:1",
        stamp,
    ))));
    h.node.handle_peer_message("peer:1", &replicate(vec![op]));
    assert_eq!(peer_addrs(&h), ["n3:1", "peer:1"]);
}

#[test]
fn an_address_that_is_not_host_and_port_never_becomes_a_peer() {
    let mut h = Harness::with_config(config());
    let stamp = h.node.clock().wall();
    let bad = [
        "not-an-address",
        "http://",
        "http://host",
        "http://host:notaport",
        "http://host:99999",
        "http://a b:1",
        "http://host:1/path",
    ];
    let ops = bad
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            let instance = node_instance(&format!("bad{i}"), addr, stamp);
            ReplicatedOp::Write(Version::Put(Box::new(instance)))
        })
        .collect();
    h.node.handle_peer_message("peer:1", &replicate(ops));
    assert_eq!(peer_addrs(&h), ["peer:1"]);
}

#[test]
fn a_node_answers_no_one_but_its_peers() {
    let mut h = Harness::with_config(config());
    h.advance(Duration::from_secs(20)); // synced (alone, after the timeout)
    h.register("a");
    h.node.net_mut().sent.clear();
    let stranger = "victim:80";
    let messages = [
        PeerMessage::Digests { digests: vec![] },
        PeerMessage::SyncRequest { full: true },
        PeerMessage::Repair {
            apps: vec![],
            sent_at: 0,
        },
        replicate(vec![]),
    ];
    for message in &messages {
        h.node.handle_peer_message(stranger, message);
    }
    let to_stranger: Vec<_> = h
        .node
        .net_mut()
        .sent
        .iter()
        .filter(|(to, _)| to == stranger)
        .map(|(_, m)| format!("{m:?}"))
        .collect();
    assert!(
        to_stranger.is_empty(),
        "sent to a stranger: {to_stranger:?}"
    );
    assert_eq!(h.node.stats().messages_to_strangers_dropped, 4);
    // The same messages from the peer are answered. (Not counting the batch the node's queue
    // sends the peer once it is heard from: it is no answer.)
    for message in &messages {
        h.node.handle_peer_message("peer:1", message);
    }
    let to_peer = h
        .node
        .net_mut()
        .sent
        .iter()
        .filter(|(to, m)| to == "peer:1" && !matches!(m, PeerMessage::Replicate { .. }))
        .count();
    assert_eq!(to_peer, 4);
}

#[test]
fn what_a_peer_sends_is_held_to_the_client_limits() {
    let mut h = Harness::with_config(config());
    h.advance(Duration::from_secs(20));
    let stamp = h.node.clock().wall();
    let good = node_instance("x", "http://x:1", stamp);
    let app = |mut i: Instance| {
        i.appid = "app".into();
        i
    };
    let mut oversized = Vec::new();
    let mut long_host = app(good.clone());
    long_host.hostname = "h".repeat(100_000).into();
    oversized.push(long_host);
    let mut empty_appid = app(good.clone());
    empty_appid.appid = "".into();
    empty_appid.hostname = "empty-appid".into();
    oversized.push(empty_appid);
    let mut nul = app(good.clone());
    nul.hostname = "nul\0byte".into();
    oversized.push(nul);
    let mut many_addrs = app(good.clone());
    many_addrs.hostname = "many-addrs".into();
    many_addrs.addrs = (0..10_000)
        .map(|i| format!("http://x:{i}").into())
        .collect::<Vec<_>>()
        .into();
    oversized.push(many_addrs);
    let mut many_metadata = app(good.clone());
    many_metadata.hostname = "many-metadata".into();
    many_metadata.metadata = (0..10_000).map(|i| (format!("k{i}"), "v")).collect();
    oversized.push(many_metadata);
    let count = oversized.len() as u64;
    let ops: Vec<_> = oversized
        .iter()
        .cloned()
        .map(|i| ReplicatedOp::Write(Version::Put(Box::new(i))))
        .collect();
    let before = h.node.instance_count();
    h.node.handle_peer_message("peer:1", &replicate(ops));
    // Through repair and startup sync too.
    let apps = vec![crate::api::AppState {
        app: crate::api::AppKey {
            env: "dev".into(),
            appid: "app".into(),
        },
        instances: oversized.clone(),
        tombstones: vec![Tombstone {
            key: InstanceKey {
                hostname: "t".repeat(100_000).into(),
                ..key("t")
            },
            dirty_timestamp: stamp,
        }],
    }];
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::Repair {
            apps: apps.clone(),
            sent_at: 0,
        },
    );
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::SyncResponse {
            ready: true,
            apps,
            sent_at: 0,
        },
    );
    assert_eq!(
        h.node.instance_count(),
        before,
        "nothing out of limits was stored"
    );
    assert_eq!(h.node.stats().peer_versions_refused, 3 * count + 2);
    // Within limits, the same write is taken.
    let ok = ReplicatedOp::Write(Version::Put(Box::new(app(good))));
    h.node.handle_peer_message("peer:1", &replicate(vec![ok]));
    assert_eq!(h.node.instance_count(), before + 1);
}

#[test]
fn a_node_that_cancelled_its_registration_is_shown_down_at_once() {
    let mut h = Harness::with_config(config());
    h.advance(Duration::from_secs(20)); // synced (alone, after the timeout): reads are served
    let stamp = h.node.clock().wall();
    let peer = node_instance("peer", "http://peer:1", stamp);
    let put = ReplicatedOp::Write(Version::Put(Box::new(peer)));
    h.node.handle_peer_message("peer:1", &replicate(vec![put]));
    let status = |h: &Harness| {
        h.node
            .peers()
            .iter()
            .find(|p| p.addr == "peer:1")
            .map(|p| p.status)
    };
    assert_eq!(status(&h), Some(NodeStatus::Up));
    // The peer stops gracefully: its cancel arrives.
    let cancel = ReplicatedOp::Write(Version::Tombstone(Tombstone {
        key: node_key("peer"),
        dirty_timestamp: stamp + 1,
    }));
    h.node
        .handle_peer_message("peer:1", &replicate(vec![cancel]));
    assert_eq!(
        status(&h),
        Some(NodeStatus::Lost),
        "a seed that left is shown down"
    );
    let nodes = match h.call(Request::Nodes).data {
        Data::Nodes(nodes) => nodes,
        other => panic!("{other:?}"),
    };
    assert!(nodes
        .iter()
        .any(|n| n.addr == "peer:1" && n.status == NodeStatus::Lost));
    // It comes back: up again.
    let back = node_instance("peer", "http://peer:1", stamp + 2);
    let put = ReplicatedOp::Write(Version::Put(Box::new(back)));
    h.node.handle_peer_message("peer:1", &replicate(vec![put]));
    assert_eq!(status(&h), Some(NodeStatus::Up));
}

#[test]
fn registrations_beyond_the_caps_are_refused_with_limit_exceeded_and_change_nothing() {
    let mut config = config();
    config.limits.max_instances = 4; // its own registration and three more
    config.limits.max_instances_per_app = 2;
    config.limits.max_apps = 3; // infra.discovery, app, and one more
    let mut h = Harness::with_config(config);
    h.advance(Duration::from_secs(20));
    assert_code(&h.register("a"), Code::Ok);
    assert_code(&h.register("b"), Code::Ok);
    let reply = h.register("c");
    assert_code(&reply, Code::LimitExceeded);
    assert!(
        reply.message.contains("max_instances_per_app"),
        "{}",
        reply.message
    );
    assert_code(&h.register("a"), Code::Ok); // re-registering a held instance is no new one
    let other = |appid: &str, host: &str| RegisterArgs {
        key: InstanceKey {
            appid: appid.into(),
            ..key(host)
        },
        ..register_args(host)
    };
    assert_code(&h.call(Request::Register(other("other", "x"))), Code::Ok);
    let reply = h.call(Request::Register(other("third", "y")));
    assert_code(&reply, Code::LimitExceeded);
    assert!(reply.message.contains("max_apps"), "{}", reply.message);
    let reply = h.call(Request::Register(other("other", "z")));
    assert_code(&reply, Code::LimitExceeded);
    assert!(reply.message.contains("max_instances"), "{}", reply.message);
    assert_eq!(h.node.instance_count(), 4);
    // A peer's copy of a new instance is refused the same way, and counted.
    let stamp = h.node.clock().wall();
    let mut copy = node_instance("z", "http://z:1", stamp);
    copy.appid = "other".into();
    let put = ReplicatedOp::Write(Version::Put(Box::new(copy)));
    h.node.handle_peer_message("peer:1", &replicate(vec![put]));
    assert_eq!(h.node.instance_count(), 4);
    assert_eq!(h.node.stats().peer_versions_refused, 1);
    assert_eq!(h.node.stats().writes_refused_over_limits, 3);
}

#[test]
fn a_peer_batch_larger_than_the_limit_is_refused_whole() {
    let mut config = config();
    config.limits.max_peer_batch = 150; // above the default max_batch of 100
    let mut h = Harness::with_config(config);
    let stamp = h.node.clock().wall();
    let ops: Vec<_> = (0..151)
        .map(|i| {
            let mut copy = node_instance(&format!("h{i}"), "http://h:1", stamp);
            copy.appid = "app".into();
            ReplicatedOp::Write(Version::Put(Box::new(copy)))
        })
        .collect();
    let before = h.node.instance_count();
    h.node
        .handle_peer_message("peer:1", &replicate(ops.clone()));
    assert_eq!(h.node.instance_count(), before);
    assert_eq!(h.node.stats().peer_versions_refused, 151);
    h.node
        .handle_peer_message("peer:1", &replicate(ops[..150].to_vec()));
    assert_eq!(h.node.instance_count(), before + 150);
}

#[test]
fn a_node_serving_tls_registers_an_https_address() {
    for (tls, scheme) in [(false, "http"), (true, "https")] {
        let mut config = config();
        config.identity.serves_tls = tls;
        let h = Harness::with_config(config);
        let own = h
            .node
            .instance(&node_key(&h.node.config().identity.hostname))
            .cloned()
            .expect("registered at start");
        assert_eq!(
            own.addrs.first().map(|a| a.as_str()),
            Some(format!("{scheme}://self:1").as_str())
        );
    }
}
