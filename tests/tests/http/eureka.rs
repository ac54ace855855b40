//! The Eureka facade on real processes: a three-node cluster seen by a Eureka client and a
//! discovery client at once, and the write token applied to Eureka writes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::support::{cluster, register_form, wait_until, Node, FAST};

const ID_IN_PATH: &str = "127.0.0.1%3Amy-app%3A9090";

fn register_body() -> String {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    format!(
        r#"{{"instance": {{"instanceId": "127.0.0.1:my-app:9090", "hostName": "127.0.0.1",
        "app": "MY-APP", "ipAddr": "127.0.0.1", "status": "UP",
        "port": {{"$": 9090, "@enabled": "true"}}, "securePort": {{"$": 443, "@enabled": "false"}},
        "vipAddress": "my-app", "lastDirtyTimestamp": "{now_ms}",
        "dataCenterInfo": {{"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo", "name": "MyOwn"}}}}}}"#
    )
}

fn register(node: &Node, headers: &[(&str, &str)]) -> u16 {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    node.request("POST", "/eureka/apps/MY-APP", &register_body(), &all)
        .status
}

fn heartbeat(node: &Node) -> u16 {
    let path = format!("/eureka/v2/apps/MY-APP/{ID_IN_PATH}?status=UP");
    node.request("PUT", &path, "", &[]).status
}

#[test]
fn a_eureka_instance_is_seen_by_both_apis_on_every_node_and_reregisters_after_a_404() {
    let nodes = cluster(3, FAST);
    assert_eq!(register(&nodes[0], &[]), 204);
    wait_until(
        Duration::from_secs(5),
        "node 3 lists my-app for Eureka (XML)",
        || {
            let reply = nodes[2].get("/eureka/apps/");
            reply.status == 200
                && reply.body.starts_with("<applications>")
                && reply
                    .body
                    .contains("<instanceId>127.0.0.1:my-app:9090</instanceId>")
        },
    );
    // Through discovery's fetch, in the facade's zone, out of the node's own environment (on
    // node 2, which the replication reaches on its own schedule).
    let fetch = "/discovery/fetch?env=dev&appid=my-app&status=3";
    wait_until(Duration::from_secs(5), "node 2 holds my-app", || {
        nodes[1].get(fetch).code() == 0
    });
    let fetched = nodes[1].get(fetch);
    let instance = &fetched.json()["data"]["instances"]["eureka"][0];
    assert_eq!(instance["hostname"], "127.0.0.1:my-app:9090");
    assert_eq!(instance["addrs"][0], "http://127.0.0.1:9090");

    assert_eq!(heartbeat(&nodes[1]), 200);
    let cancel = format!("/eureka/apps/my-app/{ID_IN_PATH}");
    assert_eq!(nodes[2].request("DELETE", &cancel, "", &[]).status, 200);
    wait_until(
        Duration::from_secs(5),
        "node 1 answers the heartbeat 404",
        || heartbeat(&nodes[0]) == 404,
    );
    // What a client does on that 404: register again, at once.
    assert_eq!(register(&nodes[0], &[]), 204);
    assert_eq!(heartbeat(&nodes[0]), 200);
}

#[test]
fn a_discovery_instance_is_listed_by_eureka_in_json() {
    let nodes = cluster(3, FAST);
    let reply = nodes[0].post("/discovery/register", &register_form("demo.app", "h1"));
    assert_eq!(reply.code(), 0);
    wait_until(
        Duration::from_secs(5),
        "node 2 lists demo.app for Eureka (JSON)",
        || {
            let reply =
                nodes[1].request("GET", "/eureka/apps", "", &[("accept", "application/json")]);
            reply.status == 200 && reply.body.contains("DEMO.APP")
        },
    );
    let reply = nodes[1].request(
        "GET",
        "/eureka/apps/demo.app/h1",
        "",
        &[("accept", "application/json")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let instance = &reply.json()["instance"];
    assert_eq!(instance["app"], "DEMO.APP");
    assert_eq!(instance["status"], "UP");
    assert_eq!(instance["ipAddr"], "10.0.0.1");
    assert_eq!(instance["port"]["$"], 80);
}

#[test]
fn eureka_writes_need_the_write_token_when_one_is_set() {
    const TOKEN: &str = "eureka-write-token-0123456789";
    let node = Node::single(&format!("{FAST}\n[auth]\nwrite_token = \"{TOKEN}\"\n"));
    assert_eq!(register(&node, &[]), 401);
    assert_eq!(heartbeat(&node), 401);
    let cancel = format!("/eureka/apps/my-app/{ID_IN_PATH}");
    assert_eq!(node.request("DELETE", &cancel, "", &[]).status, 401);
    assert_eq!(
        node.get("/eureka/apps/my-app").status,
        404,
        "nothing was registered"
    );
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(register(&node, &[("authorization", &bearer)]), 204);
    // Reads stay open, as discovery's do.
    assert_eq!(node.get("/eureka/apps/my-app").status, 200);
}

/// The instance's status and overridden status as `node` shows them; empty while it does not
/// hold the instance yet (answered 404: replication reaches each node on its own schedule).
fn eureka_status(node: &Node) -> (String, String) {
    let path = format!("/eureka/apps/my-app/{ID_IN_PATH}");
    let reply = node.request("GET", &path, "", &[("accept", "application/json")]);
    if reply.status != 200 {
        return (String::new(), String::new());
    }
    let instance = &reply.json()["instance"];
    let text = |k: &str| instance[k].as_str().unwrap_or_default().to_string();
    (text("status"), text("overriddenStatus"))
}

#[test]
fn a_status_override_put_on_one_node_holds_on_every_node_over_heartbeats_until_deleted() {
    let nodes = cluster(3, FAST);
    assert_eq!(register(&nodes[0], &[]), 204);
    let status = format!("/eureka/apps/MY-APP/{ID_IN_PATH}/status");
    let put = format!("{status}?value=OUT_OF_SERVICE");
    wait_until(Duration::from_secs(5), "node 2 holds my-app", || {
        nodes[1].request("PUT", &put, "", &[]).status == 200
    });
    let overridden = ("OUT_OF_SERVICE".to_string(), "OUT_OF_SERVICE".to_string());
    wait_until(Duration::from_secs(5), "node 3 shows the override", || {
        eureka_status(&nodes[2]) == overridden
    });
    // Heartbeats saying UP, through each node: the override stays, for Eureka and discovery.
    for node in &nodes {
        assert_eq!(heartbeat(node), 200);
    }
    assert_eq!(eureka_status(&nodes[2]), overridden);
    let fetch = nodes[2].get("/discovery/fetch?env=dev&appid=my-app&status=3");
    assert_eq!(fetch.json()["data"]["instances"]["eureka"][0]["status"], 2);
    let changed = nodes[0].request("DELETE", &status, "", &[]);
    assert_eq!(changed.status, 200, "{}", changed.body);
    let up = ("UP".to_string(), "UNKNOWN".to_string());
    wait_until(Duration::from_secs(5), "node 3 shows UP again", || {
        eureka_status(&nodes[2]) == up
    });
}
