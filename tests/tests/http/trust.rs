//! Trust boundaries against real processes: membership cannot be joined through the client
//! API, and a node answers no one but its peers.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::support::*;

const SECRET: &str = "test-cluster-secret-0123456789";

/// The addresses `/discovery/nodes` lists.
fn listed_nodes(node: &Node) -> Vec<String> {
    let reply = node.get("/discovery/nodes");
    let mut addrs: Vec<String> = reply.json()["data"]
        .as_array()
        .expect("a list of nodes")
        .iter()
        .map(|n| n["addr"].as_str().expect("addr").to_string())
        .collect();
    addrs.sort();
    addrs
}

#[test]
fn a_client_cannot_join_a_cluster_with_a_secret_through_the_public_api() {
    let nodes = cluster(2, &format!("{FAST}\n[peer_auth]\nsecret = \"{SECRET}\"\n"));
    let before = listed_nodes(&nodes[0]);
    assert_eq!(before.len(), 2, "{before:?}");
    let attacker = TcpListener::bind("127.0.0.1:0").expect("bind");
    let form = format!(
        "zone=z1&env=dev&appid=infra.discovery&hostname=attacker&status=1&addrs=http://{}",
        attacker.local_addr().expect("addr")
    );
    for (path, body) in [
        ("/discovery/register", form.as_str()),
        ("/discovery/register", &format!("{form}&replication=true")),
        (
            "/discovery/cancel",
            "zone=z1&env=dev&appid=infra.discovery&hostname=n1",
        ),
    ] {
        let reply = nodes[0].post(path, body);
        assert_eq!(reply.code(), -400, "{path}: {}", reply.body);
        assert!(reply.body.contains("infra.discovery"), "{}", reply.body);
    }
    // Give replication and anti-entropy time to spread anything that was taken.
    std::thread::sleep(Duration::from_secs(2));
    for node in &nodes {
        assert_eq!(listed_nodes(node), before, "membership unchanged");
    }
    attacker.set_nonblocking(true).expect("nonblocking");
    assert!(
        attacker.accept().is_err(),
        "nothing was sent to the attacker"
    );
}

#[test]
fn without_a_secret_a_forged_sender_gets_nothing_sent_to_it() {
    // The documented trade-off without a secret: anyone can speak as a peer, but a node
    // answers only addresses it admitted, so it cannot be turned against a third party.
    let node = Node::single(FAST);
    node.wait_ready();
    let victim = TcpListener::bind("127.0.0.1:0").expect("bind");
    let victim_addr = victim.local_addr().expect("addr").to_string();
    let from = [("x-registry-from", victim_addr.as_str())];
    for body in [
        r#"{"type":"digests","digests":[]}"#,
        r#"{"type":"sync_request"}"#,
    ] {
        let reply = request(&node.addr, "POST", "/internal/peer", body, &from);
        assert_eq!(reply.status, 202, "accepted: {}", reply.body);
    }
    victim.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        assert!(victim.accept().is_err(), "the node connected to the victim");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        node.metric("registry_messages_to_strangers_dropped_total"),
        2
    );
    // Each forged sender's answer is dropped in the node, before the runtime sets up anything
    // for an address (a peer's outgoing queue and task are made on the first send to it): a
    // stream of distinct senders no longer leaves state behind for each.
    let body = r#"{"type":"digests","digests":[]}"#;
    for port in 1..=200 {
        let from = format!("198.51.100.7:{port}");
        let headers = [("x-registry-from", from.as_str())];
        let reply = request(&node.addr, "POST", "/internal/peer", body, &headers);
        assert_eq!(reply.status, 202);
    }
    assert_eq!(
        node.metric("registry_messages_to_strangers_dropped_total"),
        202
    );
}
