//! Protection mode cannot be steered from outside for long, against real processes: renews of
//! names a node never had do not keep it evicting, and a flood of registrations that never
//! renew holds protection on only until the expectation's reset.

use std::time::{Duration, Instant};

use super::support::*;

const SECRET: &str = "test-cluster-secret-0123456789";

/// Short windows so the tests run in seconds: a 1 s renew window, a 6 s expectation reset, a
/// lease of `lease_ms` checked every 0.5 s (renews batched for at most 0.1 s: a tenth of the
/// lease at most). `FAST` ends in its `[cluster.replication]` table.
fn config(lease_ms: u64) -> String {
    format!(
        "{FAST}renew_delay_ms = 100
[peer_auth]
secret = \"{SECRET}\"
[lease]
evict_after_ms = {lease_ms}
eviction_interval_ms = 500
[protection]
renew_window_ms = 1000
expected_reset_interval_ms = 6000
"
    )
}

/// The stated bound for eviction to resume after a flood of registrations that never renew:
/// the reset interval + a window + an eviction round (see README, protection mode).
const BOUND: Duration = Duration::from_millis(6000 + 1000 + 500);

fn renew_form(appid: &str, hostname: &str) -> String {
    format!("zone=z1&env=dev&appid={appid}&hostname={hostname}")
}

fn renew_all(node: &Node, appid: &str, hosts: &[String]) {
    for host in hosts {
        node.post("/discovery/renew", &renew_form(appid, host));
    }
}

fn instance_count(node: &Node, appid: &str) -> usize {
    let reply = node.get(&fetch_path(appid));
    if reply.code() != 0 {
        return 0;
    }
    reply.hostnames().len()
}

fn protected(node: &Node) -> bool {
    node.metric("registry_protection_mode") == 1
}

/// Renews `hosts` every 250 ms until `done` holds on `node` or `limit` passes; returns how long
/// it took.
fn renewing_until(
    node: &Node,
    hosts: &[String],
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        renew_all(node, "real", hosts);
        if done() {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn a_flood_of_registrations_that_never_renew_lets_eviction_resume_within_the_bound() {
    let nodes = cluster(3, &config(1500));
    let real: Vec<String> = (0..5).map(|i| format!("real{i}")).collect();
    for host in &real {
        let reply = nodes[0].post("/discovery/register", &register_form("real", host));
        assert_eq!(reply.code(), 0, "{}", reply.body);
    }
    // Right after start, well before the first reset (6 s): the flood raises every node's
    // expectation at once and protection engages, so its expired leases are kept.
    for i in 0..200 {
        let form = register_form("flood", &format!("f{i}"));
        let reply = nodes[0].post("/discovery/register", &form);
        assert_eq!(reply.code(), 0, "{}", reply.body);
    }
    let flooded = Instant::now();
    renewing_until(
        &nodes[0],
        &real,
        Duration::from_secs(3),
        "protection",
        || nodes.iter().all(protected),
    );
    // The next reset drops the flood from the expectation: protection ends and eviction
    // resumes on every node within the bound.
    renewing_until(&nodes[0], &real, BOUND, "eviction", || {
        nodes
            .iter()
            .all(|n| !protected(n) && instance_count(n, "flood") < 200)
    });
    eprintln!("eviction resumed {:?} after the flood", flooded.elapsed());
    renewing_until(
        &nodes[0],
        &real,
        Duration::from_secs(30),
        "the flood gone",
        || nodes.iter().all(|n| instance_count(n, "flood") == 0),
    );
    for node in &nodes {
        assert_eq!(instance_count(node, "real"), 5, "live instances kept");
    }
}

#[test]
fn renews_of_names_a_node_never_had_do_not_keep_it_out_of_protection() {
    // A 5 s lease: protection (decided each second) engages before any lease expires.
    let nodes = cluster(3, &config(5000));
    let real: Vec<String> = (0..10).map(|i| format!("real{i}")).collect();
    for host in &real {
        assert_eq!(
            nodes[0]
                .post("/discovery/register", &register_form("real", host))
                .code(),
            0
        );
    }
    renewing_until(
        &nodes[0],
        &real,
        Duration::from_secs(10),
        "a window met",
        || {
            nodes.iter().all(|n| {
                let threshold = n.metric("registry_renew_threshold");
                threshold > 0 && n.metric("registry_renews_last_window") >= threshold
            })
        },
    );
    // The clients fall silent; an outsider renews 100 names no node has, through every node,
    // more often than the clients did.
    let ghosts: Vec<String> = (0..100).map(|i| format!("ghost{i}")).collect();
    let before = nodes[0].metric("registry_unheld_renews_total");
    wait_until(
        Duration::from_secs(5),
        "protection despite the ghosts",
        || {
            for node in &nodes {
                for ghost in &ghosts {
                    let reply = node.post("/discovery/renew", &renew_form("real", ghost));
                    assert_eq!(reply.code(), -404, "{}", reply.body);
                }
            }
            nodes.iter().all(protected)
        },
    );
    assert!(nodes[0].metric("registry_unheld_renews_total") >= before + 100);
    for node in &nodes {
        assert_eq!(
            instance_count(node, "real"),
            10,
            "protected: nothing evicted"
        );
    }
}
