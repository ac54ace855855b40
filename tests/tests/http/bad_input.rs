//! Bad input over HTTP: every case is answered (-400 naming the field, or 404 / 405) and
//! changes nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::support::{fetch_path, raw, register_form, request, Node, Response, FAST};

/// Short HTTP timeouts so the slow-client cases finish fast.
fn node() -> Node {
    Node::single(&format!(
        "{FAST}\n[http]\nheader_read_timeout_ms = 500\nbody_read_timeout_ms = 500\nmax_form_fields = 64\n"
    ))
}

fn assert_bad(reply: &Response, field: &str) {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.code(), -400, "{}", reply.body);
    assert_eq!(reply.header("kratos-status-code"), Some("-400"));
    let message = reply.json()["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(
        message.contains(&format!("`{field}`")),
        "{field} not named in {message:?}"
    );
}

/// Nothing was registered by any bad request: only the node itself is held.
fn assert_unchanged(node: &Node) {
    assert_eq!(node.get(&fetch_path("bad.app")).code(), -404);
    assert_eq!(node.metric("registry_instances"), 1);
}

#[test]
fn missing_malformed_and_out_of_range_fields_are_refused_by_name() {
    let node = node();
    let full = register_form("bad.app", "h1");
    let cases: Vec<(String, &str)> = vec![
        (full.replace("appid=bad.app&", ""), "appid"),
        (full.replace("hostname=h1&", ""), "hostname"),
        (full.replace("status=1", "status=7"), "status"),
        (full.replace("status=1", "status=up"), "status"),
        (format!("{full}&metadata=%7Bnot-json"), "metadata"),
        (format!("{full}&metadata=%5B1%2C2%5D"), "metadata"),
        (format!("{full}&latest_timestamp=-1"), "latest_timestamp"),
        (
            format!("{full}&dirty_timestamp=99999999999999999999999"),
            "dirty_timestamp",
        ),
        (format!("{full}&replication=maybe"), "replication"),
        (
            full.replace("hostname=h1", &format!("hostname={}", "h".repeat(200))),
            "hostname",
        ),
        (
            full.replace("addrs=http://10.0.0.1:80,grpc://10.0.0.1:90", "addrs="),
            "addrs",
        ),
    ];
    for (body, field) in cases {
        assert_bad(&node.post("/discovery/register", &body), field);
    }
    assert_bad(
        &node.get("/discovery/fetch?env=dev&appid=bad.app&status=9"),
        "status",
    );
    assert_bad(&node.get("/discovery/fetch?env=dev&status=1"), "appid");
    assert_bad(
        &node.get("/discovery/polls?env=dev&appid=a,b&hostname=w&latest_timestamp=1"),
        "latest_timestamp",
    );
    assert_bad(
        &node.post(
            "/discovery/set",
            "zone=z1&env=dev&appid=bad.app&hostname=h1",
        ),
        "status",
    );
    assert_bad(
        &node.post("/discovery/renew", "zone=z1&env=dev&hostname=h1"),
        "appid",
    );
    assert_bad(
        &node.post("/discovery/cancel", "zone=z1&appid=a&hostname=h1"),
        "env",
    );
    assert_unchanged(&node);
}

#[test]
fn oversized_bodies_too_many_fields_and_bad_encodings_are_refused() {
    let node = node();
    let padding = "x".repeat(70 * 1024);
    let big = format!("{}&version={padding}", register_form("bad.app", "h1"));
    assert_bad(&node.post("/discovery/register", &big), "body");
    let many: String = (0..100).map(|i| format!("k{i}=v&")).collect();
    assert_bad(
        &node.post(
            "/discovery/register",
            &format!("{many}{}", register_form("bad.app", "h1")),
        ),
        "form",
    );
    assert_bad(
        &node.get(&format!("/discovery/fetch?{many}env=dev&appid=a&status=1")),
        "form",
    );
    let json = [("content-type", "application/json")];
    let reply = request(&node.addr, "POST", "/discovery/register", "{}", &json);
    assert_bad(&reply, "content-type");
    // Not UTF-8: a raw 0xff byte in the body.
    let mut bytes = b"POST /discovery/register HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 3\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[b'a', b'=', 0xff]);
    assert_bad(&raw(&node.addr, &bytes).expect("answer"), "body");
    assert_unchanged(&node);
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405() {
    let node = node();
    assert_eq!(node.get("/discovery/nope").status, 404);
    assert_eq!(node.get("/nope").status, 404);
    // `/` is the status page: GET only.
    assert_eq!(node.post("/", "").status, 405);
    assert_eq!(node.get("/discovery/register").status, 405);
    assert_eq!(
        node.post("/discovery/fetch", "env=dev&appid=a&status=1")
            .status,
        405
    );
    assert_eq!(node.post("/metrics", "").status, 405);
    assert_eq!(node.get("/internal/peer").status, 405);
    assert_unchanged(&node);
}

#[test]
fn writes_accept_query_parameters_and_both_list_styles() {
    let node = node();
    let query = format!("/discovery/register?{}", register_form("q.app", "h1"));
    assert_eq!(node.post(&query, "").code(), 0);
    node.post("/discovery/register", &register_form("q.two", "h1"));
    for query in ["appid=q.app&appid=q.two", "appid=q.app,q.two"] {
        let reply = node.get(&format!("/discovery/fetchs?env=dev&status=3&{query}"));
        assert_eq!(reply.code(), 0, "{}", reply.body);
        let data = reply.json()["data"].clone();
        assert!(
            data["q.app"].is_object() && data["q.two"].is_object(),
            "{data}"
        );
    }
}

#[test]
fn slow_clients_are_cut_off_by_the_header_and_body_timeouts() {
    let node = node();
    // Half a request head, then silence: the server closes the connection.
    let mut stream = TcpStream::connect(&node.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .expect("write");
    let started = Instant::now();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "not closed by the header timeout"
    );
    assert!(
        !String::from_utf8_lossy(&out).contains("\"live\""),
        "answered a half request"
    );

    // A body announced as 100 bytes of which 10 arrive: -400 on `body`.
    let mut stream = TcpStream::connect(&node.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(b"POST /discovery/register HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nzone=z1&en")
        .expect("write");
    let mut out = vec![0; 4096];
    let n = stream
        .read(&mut out)
        .expect("an answer before the socket times out");
    let reply = super::support::parse(&out[..n]).expect("response");
    assert_bad(&reply, "body");
    assert_unchanged(&node);
}

#[test]
fn bad_peer_messages_are_refused_with_400() {
    let node = node();
    let from = [
        ("x-registry-from", "127.0.0.1:1"),
        ("content-type", "application/json"),
    ];
    let reply = request(
        &node.addr,
        "POST",
        "/internal/peer",
        r#"{"type":"sync_request"}"#,
        &[],
    );
    assert_eq!(reply.status, 400, "no sender header");
    let reply = request(&node.addr, "POST", "/internal/peer", "{not json", &from);
    assert_eq!(reply.status, 400);
    let reply = request(
        &node.addr,
        "POST",
        "/internal/peer",
        r#"{"type":"nonsense"}"#,
        &from,
    );
    assert_eq!(reply.status, 400);
    assert_unchanged(&node);
}

#[test]
fn a_version_stamped_far_in_the_future_is_refused_and_later_writes_keep_the_clock() {
    // Issue #14: after one register with dirty_timestamp i64::MAX every later write on every
    // node was stamped i64::MAX, also after a restart.
    let node = node();
    let poisoned = format!(
        "{}&dirty_timestamp=9223372036854775807",
        register_form("bad.app", "h1")
    );
    assert_bad(
        &node.post("/discovery/register", &poisoned),
        "dirty_timestamp",
    );
    assert_unchanged(&node);
    let reply = node.post("/discovery/register", &register_form("good.app", "h1"));
    assert_eq!(reply.code(), 0, "{}", reply.body);
    let fetched = node.get(&fetch_path("good.app")).json();
    let stamp = fetched["data"]["instances"]["z1"][0]["dirty_timestamp"]
        .as_i64()
        .expect("a stamp");
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos(),
    )
    .expect("fits");
    assert!(stamp <= now + 60_000_000_000, "stamped {stamp}, now {now}");
}

/// A request of `body` to `target` with `headers`, answered: a refusal that came as a reset
/// (a broken pipe while writing, or a connection reset while reading) fails the test.
fn send(
    node: &Node,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut bytes = format!(
        "{method} {target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    raw(&node.addr, &bytes).unwrap_or_else(|e| panic!("{method} {target}: no reply: {e}"))
}

/// Writes a register request whose body is `body`, in 128 KiB pieces a few milliseconds
/// apart (a client on a real network), then reads the reply to the end.
fn send_in_pieces(node: &Node, body: &[u8]) -> std::io::Result<Response> {
    let head = format!(
        "POST /discovery/register HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(&node.addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(head.as_bytes())?;
    for piece in body.chunks(128 * 1024) {
        stream.write_all(piece)?;
        std::thread::sleep(Duration::from_millis(3));
    }
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    super::support::parse(&out)
}

#[test]
fn bodies_of_one_to_three_megabytes_are_answered_400_not_cut_off() {
    let node = node();
    let form = [("content-type", "application/x-www-form-urlencoded")];
    for round in 0..2 {
        for megabytes in 1..=3 {
            let mut body = register_form("bad.app", "h1").into_bytes();
            body.extend_from_slice(b"&version=");
            body.resize(megabytes * 1024 * 1024 + round * 777, b'x');
            let reply = send(&node, "POST", "/discovery/register", &form, &body);
            assert_bad(&reply, "body");
            let reply = send_in_pieces(&node, &body)
                .unwrap_or_else(|e| panic!("{megabytes} MB in pieces: no reply: {e}"));
            assert_bad(&reply, "body");
        }
    }
    assert_unchanged(&node);
}

#[test]
fn request_heads_over_the_configured_limit_are_answered_431() {
    let node = node();
    let header = |kib: usize| "v".repeat(kib * 1024);
    // Under the default limit of 64 KiB: served.
    let small = header(60);
    let reply = send(&node, "GET", "/health", &[("x-padding", &small)], b"");
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Over it (hyper used to take heads up to about twice its buffer): answered 431.
    for kib in [65, 70, 100, 127, 200] {
        let big = header(kib);
        let reply = send(&node, "GET", "/health", &[("x-padding", &big)], b"");
        assert_eq!(reply.status, 431, "{kib} KiB: {}", reply.body);
    }
    // A query string counts into the head: a long one is answered 431 too, never 414.
    for kib in [65, 70, 100] {
        let query = format!("{}&x={}", fetch_path("bad.app"), "q".repeat(kib * 1024));
        let reply = send(&node, "GET", &query, &[], b"");
        assert_eq!(reply.status, 431, "{kib} KiB query: {}", reply.body);
    }
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let target = format!(
        "/discovery/register?{}&version={}",
        register_form("bad.app", "h1"),
        "q".repeat(80 * 1024)
    );
    assert_eq!(send(&node, "POST", &target, &form, b"").status, 431);
    assert_unchanged(&node);
}

#[test]
fn a_configured_header_limit_is_the_limit() {
    let node = Node::single(&format!("{FAST}\n[http]\nmax_header_bytes = 16384\n"));
    let under = "v".repeat(15 * 1024);
    let reply = send(&node, "GET", "/health", &[("x-padding", &under)], b"");
    assert_eq!(reply.status, 200);
    let over = "v".repeat(17 * 1024);
    let reply = send(&node, "GET", "/health", &[("x-padding", &over)], b"");
    assert_eq!(reply.status, 431);
}
