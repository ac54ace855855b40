//! Long-polls held by a real node: a client going away abandons its poll; 10,000 idle polls
//! fit in one node (ignored by default, run by `.ci/run`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::support::{register_form, wait_until, Node, FAST};

pub(super) fn poll_request(addr: &str, appid: &str, cursor: i64) -> Vec<u8> {
    format!(
        "GET /discovery/poll?zone=z1&env=dev&appid={appid}&hostname=w&latest_timestamp={cursor} HTTP/1.1\r\nhost: {addr}\r\n\r\n"
    )
    .into_bytes()
}

/// The app's current cursor on `node`.
pub(super) fn cursor(node: &Node, appid: &str) -> i64 {
    node.get(&super::support::fetch_path(appid)).json()["data"]["latest_timestamp"]
        .as_i64()
        .expect("cursor")
}

#[test]
fn a_client_that_goes_away_abandons_its_poll() {
    let node = Node::single(FAST);
    node.post("/discovery/register", &register_form("p.app", "h1"));
    let at = cursor(&node, "p.app");
    let mut stream = TcpStream::connect(&node.addr).expect("connect");
    stream
        .write_all(&poll_request(&node.addr, "p.app", at))
        .expect("write");
    wait_until(Duration::from_secs(5), "poll parked", || {
        node.metric("registry_poll_waiters") == 1
    });
    drop(stream);
    wait_until(Duration::from_secs(5), "poll abandoned", || {
        node.metric("registry_poll_waiters") == 0
    });
}

/// Kilobytes of resident memory of process `pid`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Needs ~10,100 file descriptors in this process and in the node: raises the soft limit to
/// 20,000 (the node inherits it). `.ci/run` runs it by name.
#[test]
#[ignore = "opens 10,000 connections; run by .ci/run"]
fn ten_thousand_idle_polls() {
    const POLLS: usize = 10_000;
    let limit = rlimit::increase_nofile_limit(20_000).expect("raise the fd limit");
    assert!(limit >= POLLS as u64 + 200, "fd limit only {limit}");
    // One address opens them all: the per-client caps go up to let it.
    let node = Node::single(&format!(
        "poll_hold_ms = 600000\n{FAST}[http]\nmax_connections_per_client = 20000\nmax_polls_per_client = 20000\n"
    ));
    node.post("/discovery/register", &register_form("idle.app", "h1"));
    let at = cursor(&node, "idle.app");
    let before = rss_kib(node.pid());
    let mut streams = Vec::with_capacity(POLLS);
    for _ in 0..POLLS {
        let mut stream = TcpStream::connect(&node.addr).expect("connect");
        stream
            .write_all(&poll_request(&node.addr, "idle.app", at))
            .expect("write");
        streams.push(stream);
    }
    wait_until(Duration::from_secs(60), "all polls parked", || {
        node.metric("registry_poll_waiters") == POLLS as u64
    });
    let parked = rss_kib(node.pid());
    println!(
        "10,000 idle polls: node RSS {before} KiB before, {parked} KiB parked ({:.1} KiB per poll)",
        (parked.saturating_sub(before)) as f64 / POLLS as f64
    );
    assert!(parked < 512 * 1024, "RSS {parked} KiB");
    // A change wakes them all; the node still answers.
    node.post("/discovery/register", &register_form("idle.app", "h2"));
    for stream in streams.iter_mut().step_by(100) {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).expect("woken");
        assert_eq!(&head, b"HTTP/1.1 200");
    }
    wait_until(Duration::from_secs(30), "all answered", || {
        node.metric("registry_poll_waiters") == 0
    });
    assert_eq!(node.health().expect("health")["ready"], true);
}
