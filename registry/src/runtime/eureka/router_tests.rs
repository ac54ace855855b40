//! The Eureka routes in front of a real node, without a socket (see `runtime/router_tests.rs`
//! for the harness): what a Eureka client does, and what it must not be able to do.

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use proptest::prelude::*;

use crate::api::fuzz_tests::fuzz_config;
use crate::api::Route;
use crate::runtime::router_tests::{Answer, TestNode};

pub(super) const ID: &str = "127.0.0.1:my-app:9090";
/// The id as clients put it in a path.
pub(super) const ID_IN_PATH: &str = "127.0.0.1%3Amy-app%3A9090";

pub(super) fn register_json(status: &str, dirty_ms: &str) -> String {
    format!(
        r#"{{"instance": {{"instanceId": "{ID}", "hostName": "127.0.0.1", "app": "MY-APP",
        "ipAddr": "127.0.0.1", "status": "{status}", "port": {{"$": 9090, "@enabled": "true"}},
        "securePort": {{"$": 443, "@enabled": "false"}}, "vipAddress": "my-app",
        "dataCenterInfo": {{"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}},
        "metadata": {{"team": "a"}}, "lastDirtyTimestamp": "{dirty_ms}"}}}}"#
    )
}

const REGISTER_XML: &str = r#"<instance><instanceId>xml-1</instanceId><hostName>h</hostName>
<app>other-app</app><ipAddr>10.0.0.2</ipAddr><status>STARTING</status>
<port enabled="true">8080</port><metadata><zone>z</zone></metadata></instance>"#;

pub(super) fn send(
    node: &TestNode,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, &str)],
    body: &str,
) -> Answer {
    let mut request = axum::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    node.send(
        request
            .body(Body::from(body.to_string()))
            .expect("a request"),
    )
}

pub(super) fn json(node: &TestNode, path: &str) -> (StatusCode, serde_json::Value) {
    let answer = send(
        node,
        Method::GET,
        path,
        &[(header::ACCEPT, "application/json")],
        "",
    );
    let value = serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
    (answer.status, value)
}

fn now_ms() -> u64 {
    crate::runtime::peer_auth::now_unix_ms()
}

#[test]
fn a_eureka_client_registers_heartbeats_reads_and_cancels() {
    let node = TestNode::new(false);
    let body = register_json("UP", &now_ms().to_string());
    for prefix in ["/eureka", "/eureka/v2"] {
        let answer = send(
            &node,
            Method::POST,
            &format!("{prefix}/apps/MY-APP"),
            &[(header::CONTENT_TYPE, "application/json")],
            &body,
        );
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{prefix}: {answer:?}"
        );
        assert!(answer.body.is_empty());
    }
    // Stored once, under the canonical lower-case appid, in the node's environment.
    let stored = node.registry();
    let instances = stored.get("my-app").expect("registered");
    assert_eq!(instances.len(), 1);
    assert_eq!(
        (instances[0].env.as_str(), instances[0].zone.as_str()),
        ("dev", "eureka")
    );
    assert_eq!(instances[0].hostname, ID);

    // The app name matches in any case; the id is percent-decoded.
    for app in ["MY-APP", "my-app", "My-App"] {
        let path = format!("/eureka/apps/{app}/{ID_IN_PATH}?status=UP&lastDirtyTimestamp=1");
        let answer = send(&node, Method::PUT, &path, &[], "");
        assert_eq!(answer.status, StatusCode::OK, "{app}: {answer:?}");
    }

    for path in ["/eureka/apps/", "/eureka/apps", "/eureka/v2/apps/"] {
        let (status, doc) = json(&node, path);
        assert_eq!(status, StatusCode::OK, "{path}");
        let apps = doc["applications"]["application"]
            .as_array()
            .expect("a list of apps");
        let mine = apps
            .iter()
            .find(|a| a["name"] == "MY-APP")
            .expect("my app listed");
        let instance = &mine["instance"][0];
        assert_eq!(instance["instanceId"], ID);
        assert_eq!(instance["status"], "UP");
        assert_eq!(instance["port"]["$"], 9090);
        assert_eq!(instance["port"]["@enabled"], "true");
        assert_eq!(instance["metadata"]["team"], "a");
    }
    let (status, doc) = json(&node, "/eureka/apps/my-app");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["application"]["name"], "MY-APP");
    let (status, doc) = json(&node, &format!("/eureka/apps/MY-APP/{ID_IN_PATH}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["instance"]["app"], "MY-APP");
    let (status, doc) = json(&node, &format!("/eureka/instances/{ID_IN_PATH}"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["instance"]["ipAddr"], "127.0.0.1");

    let cancel = format!("/eureka/apps/MY-APP/{ID_IN_PATH}");
    assert_eq!(
        send(&node, Method::DELETE, &cancel, &[], "").status,
        StatusCode::OK
    );
    assert!(!node.registry().contains_key("my-app"));
    // Now unknown: a second cancel is 404, so are the reads, and so is a heartbeat (clients
    // then register again).
    for method in [Method::DELETE, Method::GET, Method::PUT] {
        let answer = send(&node, method.clone(), &cancel, &[], "");
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method}");
    }
    assert_eq!(json(&node, "/eureka/apps/MY-APP").0, StatusCode::NOT_FOUND);
    assert_eq!(
        json(&node, &format!("/eureka/instances/{ID_IN_PATH}")).0,
        StatusCode::NOT_FOUND
    );

    // Re-registering after the heartbeat's 404 with the same lastDirtyTimestamp (older than
    // the cancel's version) works: it answers the 404 (see `core/told_missing.rs`).
    let answer = send(&node, Method::POST, "/eureka/apps/my-app", &[], &body);
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    assert!(node.registry().contains_key("my-app"));
}

#[test]
fn a_register_its_clients_own_cancel_overtook_does_not_bring_the_instance_back() {
    // A client changes its status (a register) and then, shutting down, cancels; the two go
    // on different connections and the cancel arrives first (eureka-clients seed 79).
    // The status change was stamped (on the client's clock) a second before the cancel left.
    let node = TestNode::new(false);
    let stamp = now_ms() - 2_000;
    let json = [(header::CONTENT_TYPE, "application/json")];
    let up = register_json("UP", &stamp.to_string());
    let answer = send(&node, Method::POST, "/eureka/apps/MY-APP", &json, &up);
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    let cancel = format!("/eureka/apps/MY-APP/{ID_IN_PATH}");
    assert_eq!(
        send(&node, Method::DELETE, &cancel, &[], "").status,
        StatusCode::OK
    );
    let down = register_json("DOWN", &(stamp + 1_000).to_string());
    let answer = send(&node, Method::POST, "/eureka/apps/MY-APP", &json, &down);
    assert_eq!(answer.status, StatusCode::CONFLICT, "{answer:?}");
    assert!(
        !node.registry().contains_key("my-app"),
        "the client's cancel stays in force"
    );
}

#[test]
fn xml_in_and_xml_out_without_an_accept_header() {
    let node = TestNode::new(false);
    let answer = send(
        &node,
        Method::POST,
        "/eureka/v2/apps/OTHER-APP",
        &[(header::CONTENT_TYPE, "application/xml")],
        REGISTER_XML,
    );
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{answer:?}");
    let answer = send(&node, Method::GET, "/eureka/apps/", &[], "");
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/xml"[..])
    );
    let text = String::from_utf8_lossy(&answer.body);
    assert!(text.starts_with("<applications>"), "{text}");
    assert!(text.contains("<name>OTHER-APP</name>"), "{text}");
    assert!(text.contains("<status>STARTING</status>"), "{text}");
    assert!(
        text.contains(r#"<port enabled="true">8080</port>"#),
        "{text}"
    );
    assert!(text.contains("<zone>z</zone>"), "{text}");
    let answer = send(&node, Method::GET, "/eureka/apps/other-app/xml-1", &[], "");
    let text = String::from_utf8_lossy(&answer.body);
    assert!(text.starts_with("<instance>"), "{text}");
    // STARTING is out of rotation for a discovery client.
    let stored = node.registry();
    assert_eq!(stored["other-app"][0].status, crate::api::Status::Waiting);
}

#[test]
fn an_instance_registered_through_discovery_is_listed_for_eureka_clients() {
    let node = TestNode::new(false);
    let answer = node.post_form(
        Route::Register,
        "zone=z1&env=dev&appid=main.arch.test&hostname=host-1&status=1&addrs=grpc://10.0.0.7:9000",
    );
    assert_eq!(answer.envelope().expect("an envelope").code, 0);
    let (status, doc) = json(&node, "/eureka/apps/MAIN.ARCH.TEST/host-1");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["instance"]["ipAddr"], "10.0.0.7");
    assert_eq!(doc["instance"]["port"]["$"], 9000);
    assert_eq!(doc["instance"]["status"], "UP");
    // And a Eureka-registered one through discovery's fetch.
    let body = register_json("OUT_OF_SERVICE", "");
    assert_eq!(
        send(&node, Method::POST, "/eureka/apps/my-app", &[], &body).status,
        StatusCode::NO_CONTENT
    );
    let fetch = node.get(Route::Fetch, "env=dev&appid=my-app&status=3");
    let envelope = fetch.envelope().expect("an envelope");
    assert_eq!(envelope.code, 0);
    let data = envelope.data.expect("data");
    let instance = &data["instances"]["eureka"][0];
    assert_eq!(instance["addrs"][0], "http://127.0.0.1:9090");
    assert_eq!(instance["status"], 2);
    assert_eq!(instance["metadata"]["eureka.status"], "OUT_OF_SERVICE");
}

#[test]
fn bad_registers_are_400_with_a_reason_and_change_nothing() {
    let node = TestNode::new(false);
    let before = node.registry();
    let far_future = (now_ms() + 3_600_000).to_string();
    let cases = [
        ("{", "malformed JSON"),
        ("<instance><app>", "malformed XML"),
        (
            r#"{"instance": {"hostName": "h", "port": {"$": 1}}}"#,
            "instance.app",
        ),
        (&register_json("SIDEWAYS", ""), "is not one of"),
        (
            &register_json("UP", &far_future),
            "ahead of this node's clock",
        ),
        (&register_json("UP", "soon"), "milliseconds"),
    ];
    for (body, reason) in cases {
        let answer = send(&node, Method::POST, "/eureka/apps/MY-APP", &[], body);
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let text = String::from_utf8_lossy(&answer.body);
        assert!(text.contains(reason), "{body}: {text}");
    }
    assert_eq!(node.registry(), before);
}

#[test]
fn vips_list_the_instances_that_name_them() {
    let node = TestNode::new(false);
    let body = register_json("UP", "").replace(
        r#""vipAddress": "my-app","#,
        r#""vipAddress": "my-app,shared", "secureVipAddress": "secure-x","#,
    );
    assert_eq!(
        send(&node, Method::POST, "/eureka/apps/my-app", &[], &body).status,
        StatusCode::NO_CONTENT
    );
    let names = |path: &str| {
        let (status, doc) = json(&node, path);
        assert_eq!(status, StatusCode::OK, "{path}");
        doc["applications"]["application"]
            .as_array()
            .map(|apps| {
                apps.iter()
                    .map(|a| a["name"].to_string())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    assert_eq!(names("/eureka/vips/my-app"), [r#""MY-APP""#]);
    assert_eq!(names("/eureka/vips/shared"), [r#""MY-APP""#]);
    assert_eq!(names("/eureka/v2/svips/secure-x"), [r#""MY-APP""#]);
    assert!(names("/eureka/vips/secure-x").is_empty());
    assert!(names("/eureka/vips/nobody").is_empty());
    let xml = send(&node, Method::GET, "/eureka/vips/nobody", &[], "");
    assert!(String::from_utf8_lossy(&xml.body).starts_with("<applications>"));
}

proptest! {
    #![proptest_config(fuzz_config(256))]

    /// Arbitrary bodies and app names: a register is 204 (and changes the registry) or 400
    /// (and changes nothing); never a panic or a 5xx.
    #[test]
    fn fuzz_eureka_registers_are_204_or_400(
        app in "[a-zA-Z0-9._-]{1,12}",
        body in prop_oneof![
            Just(register_json("UP", "")),
            "\\PC{0,200}",
            "[<>a-z/\"{}:$@ ]{0,120}",
            ("[A-Z_]{0,14}", "[0-9]{0,15}").prop_map(|(s, t)| register_json(&s, &t)),
        ],
        content_type in prop::sample::select(vec!["", "application/json", "application/xml", "text/xml"]),
    ) {
        static NODE: std::sync::OnceLock<TestNode> = std::sync::OnceLock::new();
        let node = NODE.get_or_init(|| TestNode::new(false));
        let before = node.registry();
        let headers = [(header::CONTENT_TYPE, content_type)];
        let answer = send(node, Method::POST, &format!("/eureka/apps/{app}"), &headers, &body);
        match answer.status {
            StatusCode::NO_CONTENT => {}
            StatusCode::BAD_REQUEST => prop_assert_eq!(node.registry(), before),
            other => prop_assert!(false, "{} for {:?}", other, body),
        }
    }
}
