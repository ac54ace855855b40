//! Scripted scenarios of the real runtime and SDK, each measuring one behaviour; the tests in
//! `tests/scripted.rs` check the measure, `tests/teeth.rs` shows it fails on a broken variant.

use std::time::Duration;

use registry::client::Client;
use registry::core::DISCOVERY_APPID;
use registry::runtime::Settings;
use tokio::time::{sleep, Instant};

use crate::cluster::{node_addr, wait_until, Cluster, ENV};
use crate::raw;
use crate::reads::{hostnames, instance, read, Read};

/// Defaults, as the binary starts without a config file.
pub fn production(_: &mut Settings) {}

/// Waits (at most 60 s) until every node answers reads; whether they all did.
pub async fn ready(addrs: &[String]) -> bool {
    for addr in addrs {
        let up = wait_until(Duration::from_secs(60), || async {
            hostnames(addr, DISCOVERY_APPID).await.is_some()
        })
        .await;
        if !up {
            return false;
        }
    }
    true
}

/// A node runs alone for a minute, its peer starts, a client registers on the first node:
/// how long after the reply the instance was visible on the peer (`None`: not within 60 s).
pub async fn lonely_start_to_peer() -> Option<Duration> {
    let mut cluster = Cluster::start(2, production);
    cluster.kill(1);
    sleep(Duration::from_secs(60)).await;
    cluster.restart(1);
    let host = cluster.client_host("client");
    let addrs = cluster.addrs();
    host.spawn(async move {
        assert!(ready(&addrs).await, "nodes not ready within 60 s");
        let first = Client::new(vec![node_addr(0)]);
        first
            .register(&instance("app", "h1"))
            .await
            .expect("node 0 takes the register");
        let replied = Instant::now();
        // Read every 2 ms (plus the read's own trip): `wait_until`'s 100 ms is too coarse.
        while replied.elapsed() < Duration::from_secs(60) {
            if hostnames(&node_addr(1), "app").await == Some(vec!["h1".to_string()]) {
                return Some(replied.elapsed());
            }
            sleep(Duration::from_millis(2)).await;
        }
        None
    })
    .await
    .expect("client task")
}

/// `polls` the way bilibili's Go SDK does: one app, its cursor as it is.
async fn go_sdk_polls(addr: &str, cursor: i64) -> Result<serde_json::Value, String> {
    let query =
        format!("/discovery/polls?env={ENV}&appid=app&latest_timestamp={cursor}&hostname=go-sdk");
    raw::get(addr, &query, Duration::from_secs(40)).await
}

/// A Go-SDK watcher of an app whose last instance is then cancelled: how many answers it
/// gets in the 20 s after the cancel, asking again at once with the cursor it had.
pub async fn go_sdk_answers_after_the_last_cancel() -> u32 {
    let mut cluster = Cluster::start(3, production);
    let host = cluster.client_host("client");
    let addrs = cluster.addrs();
    host.spawn(async move {
        assert!(ready(&addrs).await, "nodes not ready within 60 s");
        let addr = node_addr(0);
        let client = Client::new(vec![addr.clone()]);
        let a = instance("app", "h1");
        client.register(&a).await.expect("register");
        let first = go_sdk_polls(&addr, 0).await.expect("first polls");
        let cursor = first["data"]["app"]["latest_timestamp"]
            .as_i64()
            .expect("an answer with the app");
        client.cancel(&a).await.expect("cancel");
        let start = Instant::now();
        let window = Duration::from_secs(20);
        let mut answers = 0u32;
        while start.elapsed() < window {
            let left = window.saturating_sub(start.elapsed());
            if let Ok(Ok(_)) = tokio::time::timeout(left, go_sdk_polls(&addr, cursor)).await {
                answers += 1;
            }
        }
        answers
    })
    .await
    .expect("client task")
}

/// A 3-node cluster; node 2 is stopped with ctrl-c: the peers that still list it 5 s later.
pub async fn peers_listing_a_stopped_node() -> Vec<usize> {
    let mut cluster = Cluster::start(3, production);
    let host = cluster.client_host("client");
    let addrs = cluster.addrs();
    host.spawn(async move {
        assert!(ready(&addrs).await, "nodes not ready within 60 s");
        let all = wait_until(Duration::from_secs(60), || async {
            hostnames(&node_addr(0), DISCOVERY_APPID)
                .await
                .map(|h| h.len())
                == Some(3)
        })
        .await;
        assert!(all, "node 0 never listed the three nodes");
    })
    .await
    .expect("client task");
    cluster.stop(2);
    sleep(Duration::from_secs(5)).await;
    let checker = cluster.client_host("checker");
    checker
        .spawn(async move {
            let mut listing = Vec::new();
            for peer in [0, 1] {
                let hosts = hostnames(&node_addr(peer), DISCOVERY_APPID).await;
                if hosts.is_none_or(|h| h.contains(&"n2".to_string())) {
                    listing.push(peer);
                }
            }
            listing
        })
        .await
        .expect("checker task")
}

/// 20 instances on a 3-node cluster (nodes set up by `tweak`); node 2 restarts (state lost)
/// and is read every 10 ms for 20 s: the answers that were neither "not ready" nor the 20
/// instances, and how many were the 20.
pub async fn reads_of_a_restarted_node(tweak: fn(&mut Settings)) -> (Vec<String>, u32) {
    let mut cluster = Cluster::start(3, tweak);
    let host = cluster.client_host("client");
    let addrs = cluster.addrs();
    host.spawn(async move {
        assert!(ready(&addrs).await, "nodes not ready within 60 s");
        let client = Client::new(addrs.clone());
        for i in 0..20 {
            let registered = client.register(&instance("app", &format!("h{i}"))).await;
            registered.expect("register");
        }
        let everywhere = wait_until(Duration::from_secs(60), || async {
            hostnames(&node_addr(2), "app").await.map(|h| h.len()) == Some(20)
        })
        .await;
        assert!(everywhere, "node 2 never held the 20 instances");
    })
    .await
    .expect("client task");
    cluster.restart(2);
    let prober = cluster.client_host("prober");
    prober
        .spawn(async move {
            let (mut partial, mut served) = (Vec::new(), 0u32);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                match read(&node_addr(2), "app").await {
                    Read::Instances(found) if found.len() == 20 => served += 1,
                    Read::NotReady | Read::Failed(_) => {}
                    other => partial.push(format!("{:?}: {other:?}", start.elapsed())),
                }
                sleep(Duration::from_millis(10)).await;
            }
            (partial, served)
        })
        .await
        .expect("prober task")
}

/// How often the scripted service renews.
const RENEW_INTERVAL: Duration = Duration::from_secs(5);

/// A service registered through the SDK on a 3-node cluster: its first node dies for good,
/// then every node restarts (state lost). What went wrong: nodes that lost it while its
/// lease was renewed elsewhere, or that did not get it back within 30 s of the restart.
pub async fn registration_through_failover_and_cluster_restart() -> Vec<String> {
    let mut cluster = Cluster::start(3, production);
    let service = cluster.client_host("service");
    let addrs = cluster.addrs();
    let registration = service
        .spawn(async move {
            assert!(ready(&addrs).await, "nodes not ready within 60 s");
            let client = Client::new(addrs);
            let registration = client.keep_registered(instance("app", "h1"), RENEW_INTERVAL);
            let there = wait_until(Duration::from_secs(10), || async {
                hostnames(&node_addr(1), "app").await == Some(vec!["h1".into()])
            })
            .await;
            assert!(there, "never registered");
            registration
        })
        .await
        .expect("service task");
    // Renews must fail over. Not "the instance is still there": protection mode may keep an
    // instance nobody renews. Its last renew must be recent.
    cluster.kill(0);
    sleep(Duration::from_secs(150)).await;
    let checker = cluster.client_host("checker");
    let mut problems = checker
        .spawn(async move {
            let mut problems = Vec::new();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64);
            for i in [1, 2] {
                let renewed = match read(&node_addr(i), "app").await {
                    Read::Instances(found) => found.get("h1").map(|h1| h1.renew_timestamp),
                    _ => None,
                };
                let age = renewed.map(|at| Duration::from_nanos(now.saturating_sub(at) as u64));
                if age.is_none_or(|age| age > RENEW_INTERVAL * 2 + Duration::from_secs(5)) {
                    problems.push(format!(
                        "node {i}, 150 s after node 0 died: h1 last renewed {age:?} ago"
                    ));
                }
            }
            problems
        })
        .await
        .expect("checker task");
    for i in 0..3 {
        cluster.restart(i);
    }
    let addrs = cluster.addrs();
    let after_restart = checker
        .spawn(async move {
            let mut problems = Vec::new();
            if !ready(&addrs).await {
                problems.push("the restarted cluster never became ready".to_string());
            }
            for i in 0..3 {
                let back = wait_until(Duration::from_secs(30), || async {
                    hostnames(&node_addr(i), "app").await == Some(vec!["h1".into()])
                })
                .await;
                if !back {
                    problems.push(format!("not registered again on node {i} within 30 s"));
                }
            }
            problems
        })
        .await
        .expect("checker task");
    problems.extend(after_restart);
    drop(registration);
    problems
}
