//! A node stopping gracefully answers every request it still reads -503 (not ready: ask
//! another node), never -500, which is kept for states the node's invariants rule out.

use std::time::{Duration, Instant};

use super::support::{fetch_path, free_port, register_form, try_request, Node, FAST};

#[test]
fn a_stopping_node_answers_503_during_its_drain() {
    // A seed peer nobody listens on: the self-cancel stays unacknowledged, so the drain lasts
    // the whole `shutdown_drain_ms`.
    let ghost = format!("127.0.0.1:{}", free_port());
    let addr = format!("127.0.0.1:{}", free_port());
    let config = FAST.replace("shutdown_drain_ms = 2000", "shutdown_drain_ms = 3000");
    let mut node = Node::start(&addr, "stopping", &[addr.clone(), ghost], &config);
    node.wait_ready();
    assert_eq!(
        node.post("/discovery/register", &register_form("s.app", "h1"))
            .code(),
        0
    );
    assert_eq!(node.health().expect("health")["ready"], true);
    node.signal("TERM");
    let started = Instant::now();
    let mut answers = Vec::new();
    let mut health_ready = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        let Ok(reply) = try_request(&node.addr, "GET", &fetch_path("s.app"), "", &[]) else {
            break; // the node has exited
        };
        // SIGTERM is handled asynchronously: answers before the first -503 may still be the
        // running node's. From the first on, every answer must be the stopping node's.
        if reply.code() != -503 && answers.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        answers.push((reply.code(), reply.json()["message"].to_string()));
        if let Ok(health) = try_request(&node.addr, "GET", "/health", "", &[]) {
            health_ready.push(health.json()["ready"].clone());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let register = try_request(
        &node.addr,
        "POST",
        "/discovery/register",
        &register_form("s.app", "h2"),
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    assert!(
        answers.len() >= 10,
        "too few answers in the drain: {answers:?}"
    );
    // Load balancers that read `/health` take the node out at once.
    assert!(!health_ready.is_empty(), "no health answer in the drain");
    assert!(
        health_ready.iter().all(|r| r == false),
        "ready during the drain: {health_ready:?}"
    );
    for (code, message) in &answers {
        assert_eq!(*code, -503, "{answers:?}");
        assert!(message.contains("stopping"), "{message}");
    }
    if let Ok(reply) = register {
        assert_eq!(reply.code(), -503, "{}", reply.body);
    }
    node.wait_exit();
}
