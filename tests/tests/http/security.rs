//! Client write tokens and the operator endpoint: with a token configured, a write without it
//! is answered HTTP 401 and changes nothing; reads stay open; the operator endpoint that sets
//! the protection override needs its own token and is disabled without one.

use super::support::{fetch_path, register_form, request, Node, Response, FAST};

const WRITE_TOKEN: &str = "write-token-0123456789abcdef";
const ADMIN_TOKEN: &str = "admin-token-0123456789abcdef";
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

fn node(auth: &str) -> Node {
    Node::single(&format!("{FAST}\n{auth}"))
}

fn post(node: &Node, path: &str, body: &str, token: Option<&str>) -> Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![FORM];
    if let Some(bearer) = &bearer {
        headers.push(("authorization", bearer));
    }
    request(&node.addr, "POST", path, body, &headers)
}

fn assert_refused(reply: &Response, status: u16, code: i64) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.code(), code, "{}", reply.body);
    let message = reply.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.len() > 20, "an unclear message: {message:?}");
}

fn refused(node: &Node, endpoint: &str) -> u64 {
    node.metric(&format!(
        "registry_requests_refused_unauthorized_total{{endpoint=\"{endpoint}\"}}"
    ))
}

fn override_mode(node: &Node, mode: &str) -> u64 {
    node.metric(&format!("registry_protection_override{{mode=\"{mode}\"}}"))
}

#[test]
fn with_a_write_token_a_write_without_it_is_refused_401_and_changes_nothing() {
    let node = node(&format!("[auth]\nwrite_token = \"{WRITE_TOKEN}\"\n"));
    let form = register_form("tok.app", "h1");
    for token in [None, Some("wrong-token-0123456789abcdef"), Some("")] {
        let reply = post(&node, "/discovery/register", &form, token);
        assert_refused(&reply, 401, -401);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    // Basic instead of Bearer, and the token in the form instead of the header.
    let basic = [FORM, ("authorization", "Basic d3JpdGU6dG9rZW4=")];
    let reply = request(&node.addr, "POST", "/discovery/register", &form, &basic);
    assert_refused(&reply, 401, -401);
    let in_form = format!("{form}&token={WRITE_TOKEN}");
    assert_refused(
        &post(&node, "/discovery/register", &in_form, None),
        401,
        -401,
    );
    assert_eq!(node.get(&fetch_path("tok.app")).code(), -404);
    assert_eq!(node.metric("registry_instances"), 1);
    assert_eq!(refused(&node, "write"), 5);

    assert_eq!(
        post(&node, "/discovery/register", &form, Some(WRITE_TOKEN)).code(),
        0
    );
    assert_eq!(node.get(&fetch_path("tok.app")).hostnames(), ["h1"]);
    let key = "zone=z1&env=dev&appid=tok.app&hostname=h1";
    let set = format!("{key}&status=2");
    for (path, body) in [
        ("/discovery/renew", key),
        ("/discovery/set", set.as_str()),
        ("/discovery/cancel", key),
    ] {
        assert_refused(&post(&node, path, body, None), 401, -401);
    }
    assert_eq!(node.get(&fetch_path("tok.app")).hostnames(), ["h1"]);
    for (path, body) in [
        ("/discovery/renew", key),
        ("/discovery/set", set.as_str()),
        ("/discovery/cancel", key),
    ] {
        assert_eq!(
            post(&node, path, body, Some(WRITE_TOKEN)).code(),
            0,
            "{path}"
        );
    }
    assert_eq!(node.get(&fetch_path("tok.app")).code(), -404);
    assert_eq!(refused(&node, "write"), 8);
    let metrics = node.get("/metrics").body;
    assert!(!metrics.contains(WRITE_TOKEN), "the token is in /metrics");
}

#[test]
fn without_a_write_token_writes_need_no_header_and_the_operator_endpoint_is_disabled() {
    let node = node("");
    assert_eq!(
        post(
            &node,
            "/discovery/register",
            &register_form("open.app", "h1"),
            None
        )
        .code(),
        0
    );
    assert_eq!(refused(&node, "write"), 0);
    for token in [None, Some(ADMIN_TOKEN), Some("")] {
        let reply = post(&node, "/admin/protection", "mode=on", token);
        assert_refused(&reply, 403, -403);
    }
    assert_eq!(override_mode(&node, "auto"), 1);
    assert_eq!(override_mode(&node, "force_on"), 0);
}

#[test]
fn the_operator_endpoint_sets_the_protection_override_with_its_token_only() {
    let node = node(&format!(
        "[auth]\nwrite_token = \"{WRITE_TOKEN}\"\nadmin_token = \"{ADMIN_TOKEN}\"\n"
    ));
    assert_eq!(override_mode(&node, "auto"), 1);
    for token in [
        None,
        Some(WRITE_TOKEN),
        Some("admin-token-0123456789abcdeX"),
    ] {
        assert_refused(
            &post(&node, "/admin/protection", "mode=on", token),
            401,
            -401,
        );
    }
    assert_eq!(override_mode(&node, "auto"), 1);
    assert_eq!(refused(&node, "admin"), 3);
    for bad in ["", "mode=maybe", "mode=on&mode=off"] {
        let reply = post(&node, "/admin/protection", bad, Some(ADMIN_TOKEN));
        assert_refused(&reply, 400, -400);
        assert!(reply.body.contains("`mode`"), "{}", reply.body);
    }
    assert_eq!(override_mode(&node, "auto"), 1);

    let reply = post(&node, "/admin/protection", "mode=on", Some(ADMIN_TOKEN));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.code(), 0, "{}", reply.body);
    assert_eq!(reply.json()["data"]["mode"], "force_on");
    assert_eq!(override_mode(&node, "force_on"), 1);
    assert_eq!(override_mode(&node, "auto"), 0);
    assert_eq!(node.metric("registry_protection_mode"), 1);
    let off = "/admin/protection?mode=off";
    assert_eq!(post(&node, off, "", Some(ADMIN_TOKEN)).code(), 0);
    assert_eq!(override_mode(&node, "force_off"), 1);
    assert_eq!(
        post(&node, "/admin/protection", "mode=auto", Some(ADMIN_TOKEN)).code(),
        0
    );
    assert_eq!(override_mode(&node, "auto"), 1);
    let metrics = node.get("/metrics").body;
    assert!(!metrics.contains(ADMIN_TOKEN), "the token is in /metrics");
}

#[test]
fn the_initial_protection_override_comes_from_the_config() {
    let node = node("[protection]\noverride = \"on\"\n");
    assert_eq!(override_mode(&node, "force_on"), 1);
    assert_eq!(node.metric("registry_protection_mode"), 1);
}

#[test]
fn the_sdk_sends_its_token() {
    use registry::client::{Client, ClientError};
    let node = node(&format!("[auth]\nwrite_token = \"{WRITE_TOKEN}\"\n"));
    let instance = super::sdk::instance("h1");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let without = Client::new(vec![node.addr.clone()]);
    let refused = runtime.block_on(without.register(&instance));
    assert!(
        matches!(refused, Err(ClientError::Refused { code: -401, .. })),
        "{refused:?}"
    );
    assert_eq!(node.get(&fetch_path("sdk.app")).code(), -404);
    let with = Client::new(vec![node.addr.clone()]).with_token(WRITE_TOKEN);
    runtime
        .block_on(with.register(&instance))
        .expect("registered with the token");
    assert_eq!(node.get(&fetch_path("sdk.app")).hostnames(), ["h1"]);
    assert!(!format!("{with:?}").contains(WRITE_TOKEN));
}
