//! Drives one registry node end to end through its public API: forms in, JSON envelopes out,
//! exactly as the HTTP server will.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use registry::api::{decode_request, Envelope, Form, Instance, InstanceInfo, NodeInfo, Route};
use registry::core::{Config, ManualClock, Node, Outbox, RequestId};

struct Client {
    node: Node<Rc<ManualClock>, Outbox>,
    clock: Rc<ManualClock>,
    next_id: u64,
}

impl Client {
    fn new() -> Client {
        let clock = Rc::new(ManualClock::new(1_700_000_000_000_000_000));
        let node =
            Node::new(Config::default(), clock.clone(), Outbox::default()).expect("default config");
        Client {
            node,
            clock,
            next_id: 0,
        }
    }

    /// Sends `query` to `path` and returns the JSON reply, or `None` if the request is held.
    fn send(&mut self, path: &str, query: &str) -> (RequestId, Option<String>) {
        let endpoint = Route::from_path(path).expect("known path");
        self.next_id += 1;
        let id = RequestId(self.next_id);
        match Form::parse(query).and_then(|form| decode_request(endpoint, &form)) {
            Ok(request) => self.node.handle_request(id, request),
            Err(bad) => return (id, Some(registry::api::Reply::from(bad).to_json())),
        }
        (id, self.node.net_mut().take_reply(id).map(|r| r.to_json()))
    }

    fn call<T: serde::de::DeserializeOwned>(&mut self, path: &str, query: &str) -> Envelope<T> {
        let (_, json) = self.send(path, query);
        serde_json::from_str(&json.expect("an immediate reply")).expect("a valid envelope")
    }
}

const REGISTER: &str = "zone=sh001&env=prod&appid=demo.service&status=1&version=v1";

#[test]
fn register_fetch_renew_set_cancel_through_forms_and_json() {
    let mut c = Client::new();
    let reg = format!("{REGISTER}&hostname=h1&addrs=grpc://10.0.0.1:9000,http://10.0.0.1:8000&metadata=%7B%22weight%22%3A%2210%22%7D");
    let reply: Envelope<serde_json::Value> = c.call("/discovery/register", &reg);
    assert_eq!((reply.code, reply.ttl), (0, 1));

    let fetched: Envelope<InstanceInfo> =
        c.call("/discovery/fetch", "env=prod&appid=demo.service&status=3");
    let info = fetched.data.expect("instances");
    let instance: &Instance = &info.instances["sh001"][0];
    assert_eq!(
        *instance.addrs,
        ["grpc://10.0.0.1:9000", "http://10.0.0.1:8000"]
    );
    assert_eq!(instance.metadata["weight"], "10");

    let renewed: Envelope<Instance> = c.call(
        "/discovery/renew",
        "zone=sh001&env=prod&appid=demo.service&hostname=h1",
    );
    assert_eq!(renewed.code, 0);

    let set: Envelope<serde_json::Value> = c.call(
        "/discovery/set",
        "zone=sh001&env=prod&appid=demo.service&hostname=h1&status=2",
    );
    assert_eq!(set.code, 0);
    let up_only: Envelope<InstanceInfo> =
        c.call("/discovery/fetch", "env=prod&appid=demo.service&status=1");
    assert!(up_only.data.expect("app").instances["sh001"].is_empty());

    let cancelled: Envelope<serde_json::Value> = c.call(
        "/discovery/cancel",
        "zone=sh001&env=prod&appid=demo.service&hostname=h1",
    );
    assert_eq!(cancelled.code, 0);
    let gone: Envelope<InstanceInfo> =
        c.call("/discovery/fetch", "env=prod&appid=demo.service&status=3");
    assert_eq!(gone.code, -404);
}

#[test]
fn bad_input_is_minus_400_naming_the_field_and_changes_nothing() {
    let mut c = Client::new();
    let cases = [
        (
            "/discovery/register",
            format!("{REGISTER}&addrs=http://a:1"),
            "hostname",
        ),
        (
            "/discovery/register",
            format!("{REGISTER}&hostname=h&addrs=http://a:1&status=7").replace("status=1&", ""),
            "status",
        ),
        (
            "/discovery/register",
            format!("{REGISTER}&hostname=h&addrs=a&metadata=not-json"),
            "metadata",
        ),
        (
            "/discovery/register",
            format!("{REGISTER}&hostname={}&addrs=a", "x".repeat(500)),
            "hostname",
        ),
        (
            "/discovery/polls",
            "env=prod&appid=a,b&hostname=p&latest_timestamp=1".to_string(),
            "latest_timestamp",
        ),
        (
            "/discovery/fetch",
            "env=prod&appid=a&status=9".to_string(),
            "status",
        ),
    ];
    for (path, query, field) in cases {
        let reply: Envelope<serde_json::Value> = c.call(path, &query);
        assert_eq!(reply.code, -400, "{path}?{query}");
        assert!(
            reply.message.contains(field),
            "{:?} should name {field}",
            reply.message
        );
    }
    let all: Envelope<BTreeMap<String, Vec<Instance>>> = c.call("/discovery/fetch/all", "");
    let all = all.data.expect("map");
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        ["infra.discovery"],
        "only the node itself is registered"
    );
}

#[test]
fn polls_with_comma_joined_cursors_is_held_then_woken() {
    let mut c = Client::new();
    c.call::<serde_json::Value>(
        "/discovery/register",
        &format!("{REGISTER}&hostname=h1&addrs=a"),
    );
    let first: Envelope<BTreeMap<String, InstanceInfo>> = c.call(
        "/discovery/polls",
        "env=prod&appid=demo.service,other&hostname=p&latest_timestamp=0,0",
    );
    let cursor = first.data.expect("changed")["demo.service"].latest_timestamp;

    let query = format!("env=prod&appid=demo.service,other&hostname=p&latest_timestamp={cursor},0");
    let (id, held) = c.send("/discovery/polls", &query);
    assert!(held.is_none(), "up to date: held");
    c.clock.advance(Duration::from_secs(5));
    c.call::<serde_json::Value>(
        "/discovery/register",
        &format!("{REGISTER}&hostname=h2&addrs=b"),
    );
    let woken = c
        .node
        .net_mut()
        .take_reply(id)
        .expect("woken by the register")
        .to_json();
    let woken: Envelope<BTreeMap<String, InstanceInfo>> =
        serde_json::from_str(&woken).expect("envelope");
    let info = &woken.data.expect("apps")["demo.service"];
    assert_eq!(info.instances["sh001"].len(), 2);
    assert!(info.latest_timestamp > cursor);
}

#[test]
fn nodes_answers_this_node() {
    let mut c = Client::new();
    let nodes: Envelope<Vec<NodeInfo>> = c.call("/discovery/nodes", "");
    assert_eq!(nodes.data.expect("list").len(), 1);
}
