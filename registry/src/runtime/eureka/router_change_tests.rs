//! Status overrides, metadata updates and deltas through the router, in front of a real
//! node (the harness and helpers of `router_tests.rs`).

use axum::http::{header, Method, StatusCode};

use super::router_tests::{json, register_json, send, ID};
use crate::api::{Route, Status};
use crate::runtime::router_tests::TestNode;

const INSTANCE: &str = "/eureka/apps/MY-APP/127.0.0.1%3Amy-app%3A9090";

fn register(node: &TestNode, status: &str) {
    let body = register_json(status, "");
    let answer = send(node, Method::POST, "/eureka/apps/MY-APP", &[], &body);
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
}

fn call(node: &TestNode, method: Method, path: &str) -> StatusCode {
    send(node, method, path, &[], "").status
}

/// `(status, overriddenStatus)` as Eureka shows the instance, and the node's own status.
fn statuses(node: &TestNode) -> (String, String, Status) {
    let (code, doc) = json(node, INSTANCE);
    assert_eq!(code, StatusCode::OK);
    let instance = &doc["instance"];
    let stored = node.registry()["my-app"][0].status;
    (
        instance["status"].as_str().unwrap_or_default().to_string(),
        instance["overriddenStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        stored,
    )
}

fn expect(node: &TestNode, status: &str, overridden: &str, stored: Status) {
    assert_eq!(
        statuses(node),
        (status.to_string(), overridden.to_string(), stored)
    );
}

#[test]
fn a_status_override_wins_over_heartbeats_and_registers_until_deleted() {
    let node = TestNode::new(false);
    register(&node, "UP");
    expect(&node, "UP", "UNKNOWN", Status::Up);
    let put = format!("{INSTANCE}/status?value=OUT_OF_SERVICE&lastDirtyTimestamp=1");
    assert_eq!(call(&node, Method::PUT, &put), StatusCode::OK);
    expect(&node, "OUT_OF_SERVICE", "OUT_OF_SERVICE", Status::Waiting);
    // The client keeps saying UP, in heartbeats and in a register: the override stays.
    for _ in 0..2 {
        let beat = format!("{INSTANCE}?status=UP&lastDirtyTimestamp=1");
        assert_eq!(call(&node, Method::PUT, &beat), StatusCode::OK);
    }
    expect(&node, "OUT_OF_SERVICE", "OUT_OF_SERVICE", Status::Waiting);
    register(&node, "UP");
    expect(&node, "OUT_OF_SERVICE", "OUT_OF_SERVICE", Status::Waiting);
    // Deleted: back to the client's own status at once.
    let delete = format!("{INSTANCE}/status?lastDirtyTimestamp=1");
    assert_eq!(call(&node, Method::DELETE, &delete), StatusCode::OK);
    expect(&node, "UP", "UNKNOWN", Status::Up);
    // Deleted with a value: that status, kept over heartbeats.
    assert_eq!(call(&node, Method::PUT, &put), StatusCode::OK);
    let delete_to_down = format!("{INSTANCE}/status?value=DOWN");
    assert_eq!(call(&node, Method::DELETE, &delete_to_down), StatusCode::OK);
    assert_eq!(call(&node, Method::PUT, INSTANCE), StatusCode::OK);
    expect(&node, "DOWN", "UNKNOWN", Status::Waiting);
    // A cancel ends an override with the instance: registered again, it is the client's.
    assert_eq!(call(&node, Method::PUT, &put), StatusCode::OK);
    assert_eq!(call(&node, Method::DELETE, INSTANCE), StatusCode::OK);
    register(&node, "UP");
    expect(&node, "UP", "UNKNOWN", Status::Up);
}

#[test]
fn an_override_to_up_lifts_a_starting_instance_and_its_deletion_restores_starting() {
    let node = TestNode::new(false);
    register(&node, "STARTING");
    let put = format!("{INSTANCE}/status?value=UP");
    assert_eq!(call(&node, Method::PUT, &put), StatusCode::OK);
    expect(&node, "UP", "UP", Status::Up);
    let delete = format!("{INSTANCE}/status");
    assert_eq!(call(&node, Method::DELETE, &delete), StatusCode::OK);
    expect(&node, "STARTING", "UNKNOWN", Status::Waiting);
}

#[test]
fn metadata_updates_merge_keys_and_keep_the_status() {
    let node = TestNode::new(false);
    register(&node, "UP");
    let put = format!("{INSTANCE}/metadata?team=b&zone=z%20one&a.b=c");
    assert_eq!(call(&node, Method::PUT, &put), StatusCode::OK);
    let (_, doc) = json(&node, INSTANCE);
    let metadata = &doc["instance"]["metadata"];
    assert_eq!(metadata["team"], "b", "{doc}");
    assert_eq!(metadata["zone"], "z one", "{doc}");
    assert_eq!(metadata["a.b"], "c", "{doc}");
    expect(&node, "UP", "UNKNOWN", Status::Up);
    // The reserved keys are the node's; the Eureka fields survive the merge.
    assert_eq!(doc["instance"]["vipAddress"], "my-app");
}

#[test]
fn changes_of_unknown_instances_are_404_and_bad_ones_400_and_change_nothing() {
    let node = TestNode::new(false);
    for (method, path) in [
        (Method::PUT, "/eureka/apps/A/i/status?value=OUT_OF_SERVICE"),
        (Method::DELETE, "/eureka/apps/A/i/status"),
        (Method::PUT, "/eureka/apps/A/i/metadata?k=v"),
        (Method::PUT, "/eureka/apps/A/i/sideways?k=v"),
        (Method::DELETE, "/eureka/apps/A/i/metadata"),
    ] {
        assert_eq!(call(&node, method, path), StatusCode::NOT_FOUND, "{path}");
    }
    register(&node, "UP");
    let before = node.registry();
    for (method, tail, reason) in [
        (Method::PUT, "/status", "value"),
        (Method::PUT, "/status?value=SIDEWAYS", "is not one of"),
        (Method::PUT, "/status?value=UNKNOWN", "DELETE the override"),
        (Method::DELETE, "/status?value=sideways", "is not one of"),
        (Method::PUT, "/metadata", "key=value"),
        (Method::PUT, "/metadata?eureka.status=UP", "eureka."),
        (Method::PUT, "/metadata?=v", "non-empty"),
        (Method::PUT, "/metadata?k=%FF", "UTF-8"),
    ] {
        let answer = send(&node, method, &format!("{INSTANCE}{tail}"), &[], "");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{tail}");
        let text = String::from_utf8_lossy(&answer.body);
        assert!(text.contains(reason), "{tail}: {text}");
    }
    assert_eq!(node.registry(), before);
}

#[test]
fn an_instance_registered_through_discovery_can_be_overridden_in_its_own_zone() {
    let node = TestNode::new(false);
    let form = "zone=z1&env=dev&appid=demo.app&hostname=h1&status=1&addrs=http://10.0.0.1:80";
    let answer = node.post_form(Route::Register, form);
    assert_eq!(answer.envelope().expect("an envelope").code, 0);
    let put = "/eureka/apps/DEMO.APP/h1/status?value=OUT_OF_SERVICE";
    assert_eq!(call(&node, Method::PUT, put), StatusCode::OK);
    let stored = &node.registry()["demo.app"];
    assert_eq!(stored.len(), 1, "no second instance in the Eureka zone");
    assert_eq!(
        (stored[0].zone.as_str(), stored[0].status),
        ("z1", Status::Waiting)
    );
}

/// The delta's `(id, actionType, status)` entries of MY-APP (the node's own registration as
/// `infra.discovery` may show too), its hash code and its version.
fn delta(node: &TestNode, path: &str) -> (Vec<(String, String, String)>, String, String) {
    let (code, doc) = json(node, path);
    assert_eq!(code, StatusCode::OK, "{path}");
    let apps = &doc["applications"];
    let mut entries = Vec::new();
    let all = apps["application"].as_array().expect("a list");
    for app in all.iter().filter(|app| app["name"] == "MY-APP") {
        for instance in app["instance"].as_array().expect("a list") {
            let text = |k: &str| instance[k].as_str().unwrap_or_default().to_string();
            entries.push((text("instanceId"), text("actionType"), text("status")));
        }
    }
    let text = |k: &str| apps[k].as_str().unwrap_or_default().to_string();
    (entries, text("apps__hashcode"), text("versions__delta"))
}

fn entry(id: &str, action: &str, status: &str) -> (String, String, String) {
    (id.to_string(), action.to_string(), status.to_string())
}

#[test]
fn the_delta_reports_adds_changes_and_deletions_with_the_full_registry_hashcode() {
    let node = TestNode::new(false);
    // What the client saw first: the node's own registration (UP) only.
    let (entries, hash, _) = delta(&node, "/eureka/apps/delta");
    assert!(entries.is_empty(), "{entries:?}");
    assert_eq!(hash, "UP_1_");
    register(&node, "UP");
    let other = register_json("STARTING", "").replace(ID, "other-1");
    let answer = send(&node, Method::POST, "/eureka/apps/MY-APP", &[], &other);
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let (entries, hash, first) = delta(&node, "/eureka/apps/delta");
    assert_eq!(
        entries,
        [
            entry(ID, "ADDED", "UP"),
            entry("other-1", "ADDED", "STARTING")
        ]
    );
    assert_eq!(hash, "STARTING_1_UP_2_");

    // A heartbeat is no change: the same delta, the same version.
    assert_eq!(call(&node, Method::PUT, INSTANCE), StatusCode::OK);
    assert_eq!(delta(&node, "/eureka/apps/delta").2, first);

    let put = format!("{INSTANCE}/status?value=OUT_OF_SERVICE");
    assert_eq!(call(&node, Method::PUT, &put), StatusCode::OK);
    assert_eq!(
        call(&node, Method::DELETE, "/eureka/apps/my-app/other-1"),
        StatusCode::OK
    );
    let (entries, hash, second) = delta(&node, "/eureka/v2/apps/delta");
    // The v2 mount keeps its own log, which starts now: nothing to compare with yet.
    assert!(entries.is_empty(), "{entries:?}");
    assert_eq!(hash, "OUT_OF_SERVICE_1_UP_1_");
    let (entries, hash, third) = delta(&node, "/eureka/apps/delta?regions=us-east-1");
    assert_eq!(
        entries,
        [
            entry(ID, "MODIFIED", "OUT_OF_SERVICE"),
            entry("other-1", "DELETED", "STARTING")
        ]
    );
    assert_eq!(hash, "OUT_OF_SERVICE_1_UP_1_");
    assert_ne!(third, first);
    assert_ne!(third, second);
    // The full registry carries the same hash code.
    let (_, full) = json(&node, "/eureka/apps/?regions=us-east-1,eu-west-1");
    assert_eq!(
        full["applications"]["apps__hashcode"],
        "OUT_OF_SERVICE_1_UP_1_"
    );
}

#[test]
fn the_delta_is_xml_without_an_accept_header() {
    let node = TestNode::new(false);
    assert_eq!(call(&node, Method::GET, "/eureka/apps/"), StatusCode::OK);
    register(&node, "UP");
    let answer = send(&node, Method::GET, "/eureka/apps/delta", &[], "");
    assert_eq!(answer.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&answer.body);
    assert!(text.starts_with("<applications>"), "{text}");
    assert!(text.contains("<actionType>ADDED</actionType>"), "{text}");
    assert!(
        text.contains("<apps__hashcode>UP_2_</apps__hashcode>"),
        "{text}"
    );
    let json = send(
        &node,
        Method::GET,
        "/eureka/apps/delta",
        &[(header::ACCEPT, "application/json")],
        "",
    );
    assert!(String::from_utf8_lossy(&json.body).starts_with('{'));
}

proptest::proptest! {
    #![proptest_config(crate::api::fuzz_tests::fuzz_config(256))]

    /// Arbitrary status and metadata changes of a registered instance: 200, or 400 and
    /// nothing changed; never a panic or a 5xx.
    #[test]
    fn fuzz_eureka_changes_are_200_or_400(
        tail in proptest::prop_oneof![
            "/status\\?value=[A-Z_a-z]{0,16}",
            "/metadata\\?[a-zA-Z0-9._%=&+-]{0,60}",
            "/status\\?[a-zA-Z0-9._%=&+-]{0,60}",
        ],
        delete in proptest::bool::ANY,
    ) {
        static NODE: std::sync::OnceLock<TestNode> = std::sync::OnceLock::new();
        let node = NODE.get_or_init(|| {
            let node = TestNode::new(false);
            register(&node, "UP");
            node
        });
        let before = node.registry();
        let method = if delete && tail.starts_with("/status") { Method::DELETE } else { Method::PUT };
        let status = call(node, method, &format!("{INSTANCE}{tail}"));
        match status {
            StatusCode::OK => {}
            StatusCode::BAD_REQUEST => proptest::prop_assert_eq!(node.registry(), before),
            other => proptest::prop_assert!(false, "{} for {}", other, tail),
        }
    }
}
