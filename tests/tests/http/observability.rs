//! `/metrics` and `/health`.

use super::support::{register_form, Node, FAST};

#[test]
fn metrics_report_every_documented_family() {
    let node = Node::single(FAST);
    node.post("/discovery/register", &register_form("m.app", "h1"));
    let reply = node.get("/metrics");
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .expect("type")
        .starts_with("text/plain"));
    for family in [
        "registry_instances",
        "registry_apps",
        "registry_renews_last_window",
        "registry_expected_renews",
        "registry_renew_threshold",
        "registry_protection_mode",
        "registry_protection_override",
        "registry_replication_queue_depth",
        "registry_replication_retried_total",
        "registry_replication_dropped_total",
        "registry_anti_entropy_rounds_total",
        "registry_anti_entropy_repairs_total",
        "registry_poll_waiters",
        "registry_ready",
        "registry_peers",
        "registry_requests_refused_unauthorized_total",
    ] {
        assert!(
            reply.body.contains(&format!("# TYPE {family} ")),
            "{family} missing"
        );
    }
    // The node itself (infra.discovery) plus the one registered.
    assert_eq!(node.metric("registry_instances"), 2);
    assert_eq!(node.metric("registry_apps"), 2);
    // Registered: 2 expected renews each.
    assert_eq!(node.metric("registry_expected_renews"), 4);
    assert_eq!(node.metric("registry_protection_mode"), 0);
    assert_eq!(node.metric("registry_ready"), 1);
}

#[test]
fn health_says_live_and_ready() {
    let node = Node::single(FAST);
    let reply = node.get("/health");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        serde_json::json!({"live": true, "ready": true, "peer_auth": false})
    );
}
