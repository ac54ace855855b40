//! Per-client caps against a real process: one address cannot hold more than its share of
//! connections or parked long-polls; past a cap it gets a clear refusal, counted, and the slot
//! comes back when it lets go.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::long_polls::{cursor, poll_request};
use super::support::*;

/// Reads what the node sends on `stream` until it closes (or 5 s pass).
fn read_all(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_connection_past_the_clients_cap_is_answered_429_and_closed() {
    let node = Node::single(&format!("{FAST}[http]\nmax_connections_per_client = 4\n"));
    node.wait_ready();
    // Four connections, each answered once and kept open: the node has accepted (and counted)
    // every one of them before the fifth connects.
    let health = format!("GET /health HTTP/1.1\r\nhost: {}\r\n\r\n", node.addr);
    let mut held: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut stream = TcpStream::connect(&node.addr).expect("connect");
            stream.write_all(health.as_bytes()).expect("write");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut head = [0u8; 12];
            stream.read_exact(&mut head).expect("answered");
            assert_eq!(&head, b"HTTP/1.1 200");
            stream
        })
        .collect();
    let mut fifth = TcpStream::connect(&node.addr).expect("connect");
    fifth
        .write_all(format!("GET /health HTTP/1.1\r\nhost: {}\r\n\r\n", node.addr).as_bytes())
        .expect("write");
    let answer = read_all(&mut fifth);
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.contains("too many connections from 127.0.0.1: at most 4"),
        "{answer}"
    );
    // Letting two go frees their slots (one for each request below: a served connection
    // holds its slot until the client closes it).
    held.truncate(2);
    // The node frees a slot once it has seen the close: until then it may still refuse.
    let mut refused_meanwhile = 0;
    wait_until(Duration::from_secs(5), "a slot freed", || {
        match node.send("GET", "/health", "", &[]) {
            Ok(r) if r.status == 200 => true,
            Ok(r) => {
                refused_meanwhile += u64::from(r.status == 429);
                false
            }
            Err(_) => false,
        }
    });
    assert_eq!(
        node.metric("registry_requests_refused_per_client_total{cap=\"connections\"}"),
        1 + refused_meanwhile
    );
    drop(held);
}

#[test]
fn a_long_poll_past_the_clients_cap_is_answered_509_and_its_slot_comes_back() {
    let node = Node::single(&format!(
        "poll_hold_ms = 60000\n{FAST}[http]\nmax_polls_per_client = 2\n"
    ));
    node.post("/discovery/register", &register_form("capped.app", "h1"));
    let at = cursor(&node, "capped.app");
    let mut parked: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = TcpStream::connect(&node.addr).expect("connect");
            stream
                .write_all(&poll_request(&node.addr, "capped.app", at))
                .expect("write");
            stream
        })
        .collect();
    wait_until(Duration::from_secs(5), "two polls parked", || {
        node.metric("registry_poll_waiters") == 2
    });
    let path = format!(
        "/discovery/poll?zone=z1&env=dev&appid=capped.app&hostname=w&latest_timestamp={at}"
    );
    let refused = node.get(&path);
    assert_eq!(refused.code(), -509, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("too many long-polls from 127.0.0.1: at most 2"),
        "{}",
        refused.body
    );
    assert_eq!(
        node.metric("registry_requests_refused_per_client_total{cap=\"polls\"}"),
        1
    );
    assert_eq!(
        node.metric("registry_poll_waiters"),
        2,
        "nothing parked for it"
    );
    // A change answers both; their slots come back, and a poll behind the cursor is answered.
    node.post("/discovery/register", &register_form("capped.app", "h2"));
    for stream in &mut parked {
        let answer = read_all_head(stream);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    let answered = node.get(&path);
    assert_eq!(answered.code(), 0, "{}", answered.body);
}

/// Reads the first bytes of an answer on a kept-alive connection.
fn read_all_head(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).expect("answered");
    String::from_utf8_lossy(&head).into_owned()
}

/// Every connection and parked poll holds a descriptor: the node raises its soft open-file
/// limit to the hard one at start, whatever limit it was started with.
#[test]
fn a_node_raises_its_open_file_limit_to_the_hard_limit() {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -Sn 256 && exec "$0" --dev --listen "$1""#)
        .arg(binary())
        .arg(&addr)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("registry starts");
    let limits = format!("/proc/{}/limits", child.id());
    let max_open_files = || -> Option<(String, String)> {
        let text = std::fs::read_to_string(&limits).ok()?;
        let line = text.lines().find(|l| l.starts_with("Max open files"))?;
        let mut fields = line.split_whitespace().skip(3);
        Some((fields.next()?.to_string(), fields.next()?.to_string()))
    };
    let started = std::time::Instant::now();
    let mut last = None;
    while started.elapsed() < std::time::Duration::from_secs(10) {
        if try_request(&addr, "GET", "/health", "", &[]).is_ok_and(|r| r.status == 200) {
            last = max_open_files();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (soft, hard) = last.expect("the node started and its limits were read");
    assert_eq!(soft, hard, "soft limit raised to the hard one");
    assert_ne!(soft, "256");
}
