//! A three-node cluster of real processes: replication, long-poll, crash and restart, cancel,
//! graceful shutdown.

use std::time::Duration;

use super::support::{cluster, fetch_path, free_port, register_form, wait_until, Node, FAST};

#[test]
fn register_through_node_1_is_fetched_through_node_3() {
    let nodes = cluster(3, FAST);
    let reply = nodes[0].post("/discovery/register", &register_form("demo.app", "h1"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.code(), 0);
    assert_eq!(reply.header("kratos-status-code"), Some("0"));
    wait_until(Duration::from_secs(5), "node 3 holds h1", || {
        nodes[2].get(&fetch_path("demo.app")).hostnames() == ["h1"]
    });
    let fetched = nodes[2].get(&fetch_path("demo.app")).json();
    let instance = &fetched["data"]["instances"]["z1"][0];
    assert_eq!(
        instance["addrs"],
        serde_json::json!(["http://10.0.0.1:80", "grpc://10.0.0.1:90"])
    );
    // Unix nanoseconds: after 2020 and before 2262.
    assert!(instance["dirty_timestamp"].as_i64().expect("ts") > 1_577_836_800_000_000_000);
}

#[test]
fn long_poll_wakes_on_change() {
    let nodes = cluster(3, FAST);
    nodes[0].post("/discovery/register", &register_form("watched", "h1"));
    wait_until(Duration::from_secs(5), "node 2 holds h1", || {
        nodes[1].get(&fetch_path("watched")).hostnames() == ["h1"]
    });
    let cursor = nodes[1].get(&fetch_path("watched")).json()["data"]["latest_timestamp"]
        .as_i64()
        .expect("cursor");
    let addr = nodes[1].addr.clone();
    let poll = std::thread::spawn(move || {
        let path = format!(
            "/discovery/poll?zone=z1&env=dev&appid=watched&hostname=w&latest_timestamp={cursor}"
        );
        super::support::request(&addr, "GET", &path, "", &[])
    });
    wait_until(Duration::from_secs(5), "the poll is parked", || {
        nodes[1].metric("registry_poll_waiters") == 1
    });
    nodes[2].post("/discovery/register", &register_form("watched", "h2"));
    let woken = poll.join().expect("poll thread");
    assert_eq!(woken.code(), 0, "{}", woken.body);
    assert_eq!(woken.hostnames(), ["h1", "h2"]);
    assert!(
        woken.json()["data"]["latest_timestamp"]
            .as_i64()
            .expect("cursor")
            > cursor
    );
}

#[test]
fn a_killed_node_restarts_unready_until_synced_then_holds_every_write() {
    let mut nodes = cluster(3, FAST);
    nodes[0].post("/discovery/register", &register_form("kept", "h1"));
    wait_until(Duration::from_secs(5), "node 2 holds h1", || {
        nodes[1].get(&fetch_path("kept")).hostnames() == ["h1"]
    });
    nodes[1].kill9();
    for host in ["h2", "h3"] {
        let reply = nodes[0].post("/discovery/register", &register_form("kept", host));
        assert_eq!(reply.code(), 0);
    }
    // A loaded machine can starve a node past its stall threshold, and it then refuses client
    // writes for a moment (-503); a client retries, as this one does.
    wait_until(Duration::from_secs(10), "the set taken", || {
        nodes[2]
            .post(
                "/discovery/set",
                "zone=z1&env=dev&appid=kept&hostname=h1&status=2",
            )
            .code()
            == 0
    });
    nodes[1].restart();
    // Every answer is either -503 (not synced yet) or the whole registry: never a partial one.
    let mut refused = 0;
    wait_until(Duration::from_secs(10), "restarted node serves", || {
        let reply = nodes[1].get(&fetch_path("kept"));
        match reply.code() {
            -503 => {
                refused += 1;
                false
            }
            0 => {
                assert_eq!(reply.hostnames(), ["h1", "h2", "h3"], "partial read");
                true
            }
            other => panic!("unexpected {other}: {}", reply.body),
        }
    });
    let h1 = nodes[1].get(&fetch_path("kept")).json()["data"]["instances"]["z1"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["hostname"] == "h1").cloned())
        .expect("h1");
    assert_eq!(h1["status"], 2, "the set made while it was down is held");
    // The counter proves the refusals, if any, were the sync gate and not something else.
    assert_eq!(
        nodes[1].metric("registry_reads_refused_not_ready_total"),
        refused
    );
}

#[test]
fn cancel_through_node_3_reaches_all() {
    let nodes = cluster(3, FAST);
    nodes[0].post("/discovery/register", &register_form("gone", "h1"));
    wait_until(Duration::from_secs(5), "everyone holds h1", || {
        nodes
            .iter()
            .all(|n| n.get(&fetch_path("gone")).hostnames() == ["h1"])
    });
    let reply = nodes[2].post(
        "/discovery/cancel",
        "zone=z1&env=dev&appid=gone&hostname=h1",
    );
    assert_eq!(reply.code(), 0);
    wait_until(Duration::from_secs(5), "nobody holds h1", || {
        nodes
            .iter()
            .all(|n| n.get(&fetch_path("gone")).code() == -404)
    });
}

#[test]
fn sigterm_removes_the_node_from_infra_discovery_on_the_others() {
    let mut nodes = cluster(3, FAST);
    let discovery = "/discovery/fetch?zone=z1&env=dev&appid=infra.discovery&status=3";
    wait_until(Duration::from_secs(5), "all three registered", || {
        nodes[0].get(discovery).hostnames() == ["n0", "n1", "n2"]
    });
    let status = nodes[2].terminate();
    assert!(status.success(), "exit status {status:?}");
    for node in &nodes[..2] {
        wait_until(
            Duration::from_secs(3),
            "n2 gone from infra.discovery",
            || node.get(discovery).hostnames() == ["n0", "n1"],
        );
    }
}

#[test]
fn a_write_its_client_gave_up_on_during_a_pause_does_not_undo_later_writes() {
    // A client's register reaches node 2 while node 2 is paused (SIGSTOP); the client gives up
    // on it, registers and cancels through node 1 (both answered 0). When node 2 resumes, the
    // old register must not bring the instance back with a fresh stamp.
    let nodes = cluster(3, FAST);
    nodes[1].signal("STOP");
    let form = register_form("paused.app", "h1");
    let stale = format!(
        "POST /discovery/register HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{form}",
        nodes[1].addr,
        form.len()
    );
    // The kernel accepts the connection and buffers the request; the client gives up on it
    // but leaves its socket open (as a pooled client does), so the node surely reads it: a
    // closed one may be dropped unread, and the test would prove nothing.
    let mut abandoned = std::net::TcpStream::connect(&nodes[1].addr).expect("connects");
    std::io::Write::write_all(&mut abandoned, stale.as_bytes()).expect("sends");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(nodes[0].post("/discovery/register", &form).code(), 0);
    let cancel = "zone=z1&env=dev&appid=paused.app&hostname=h1";
    assert_eq!(nodes[0].post("/discovery/cancel", cancel).code(), 0);
    std::thread::sleep(Duration::from_millis(1500));
    nodes[1].signal("CONT");
    // The waiting register is read after the resume: refused (the fix) or applied (the defect).
    // (10 s ran out once in a clean-clone CI run of 15266b8 on the loaded 2-core machine,
    // neither having happened; the test passed alone and in the whole suite right after.)
    wait_until(
        Duration::from_secs(30),
        "node 2 handles the waiting register",
        || {
            nodes[1].metric("registry_writes_refused_after_stall_total") >= 1
                || nodes
                    .iter()
                    .any(|n| n.get(&fetch_path("paused.app")).code() == 0)
        },
    );
    // Replication and anti-entropy (1 s here) have had time to spread a resurrected copy.
    std::thread::sleep(Duration::from_secs(3));
    for node in &nodes {
        let reply = node.get(&fetch_path("paused.app"));
        assert_ne!(
            reply.code(),
            0,
            "{} holds h1 again: {}",
            node.addr,
            reply.body
        );
    }
    assert!(
        nodes[1].metric("registry_writes_refused_after_stall_total") >= 1,
        "the stale register was refused, not lost on the way"
    );
    drop(abandoned);
}

/// A cluster started together has nothing to wait for once every node has heard from every
/// other: it serves reads at once, not after the 15 s sync timeout (it used to answer every
/// read -503 for 15 s).
#[test]
fn a_fresh_cluster_serves_reads_within_a_second_of_its_nodes_answering() {
    // FAST with the default sync timeout (15 s).
    let config = FAST.replace("sync_timeout_ms = 1000", "sync_timeout_ms = 15000");
    assert_ne!(config, FAST);
    let addrs: Vec<String> = (0..3)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    // `start` returns once the node answers /health (ready or not).
    let nodes: Vec<Node> = addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| Node::start(addr, &format!("n{i}"), &addrs, &config))
        .collect();
    let started = std::time::Instant::now();
    for node in &nodes {
        wait_until(Duration::from_secs(5), "ready", || {
            node.health().is_some_and(|h| h["ready"] == true)
        });
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "ready after {took:?}");
    assert_eq!(
        nodes[2].get(&fetch_path("none.yet")).code(),
        -404,
        "a read is answered"
    );
}
