//! The Rust client SDK against real nodes: node discovery, keep-alive with re-register,
//! failover and watching.

use std::time::Duration;

use registry::api::{InstanceKey, RegisterArgs, Status};
use registry::client::Client;

use super::support::{cluster, fetch_path, wait_until, FAST};

pub(crate) fn instance(hostname: &str) -> RegisterArgs {
    RegisterArgs {
        key: InstanceKey {
            zone: "z1".into(),
            env: "dev".into(),
            appid: "sdk.app".into(),
            hostname: hostname.into(),
        },
        region: Default::default(),
        status: Status::Up,
        addrs: vec!["http://10.0.0.9:80".into()],
        version: "v1".into(),
        metadata: Default::default(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    // Multi-threaded so the keep-alive task runs between `block_on` calls.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn client_learns_nodes_keeps_registered_fails_over_and_watches() {
    let mut nodes = cluster(3, FAST);
    let rt = runtime();
    let client = Client::new(vec![nodes[0].addr.clone()]);
    let learned = rt
        .block_on(client.refresh_nodes("dev"))
        .expect("infra.discovery");
    let mut addrs: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    addrs.sort();
    assert_eq!(learned, addrs);

    let _kept = rt.block_on(async {
        let kept = client.keep_registered(instance("k1"), Duration::from_millis(200));
        tokio::time::sleep(Duration::from_millis(300)).await;
        kept
    });
    let mut watcher = client.watch("dev", "watcher", &["sdk.app"]);
    let first = rt.block_on(watcher.next()).expect("first snapshot");
    let hosts: Vec<_> = first["sdk.app"]
        .instances
        .values()
        .flatten()
        .map(|i| i.hostname.clone())
        .collect();
    assert_eq!(hosts, ["k1"]);

    // The node the client talks to dies: the watcher moves on and resets its cursor.
    let watched = watcher.node().expect("node").to_string();
    let dead = nodes
        .iter()
        .position(|n| n.addr == watched)
        .expect("known node");
    nodes[dead].kill9();
    let other = Client::new(vec![nodes[(dead + 1) % 3].addr.clone()]);
    rt.block_on(other.register(&instance("k2")))
        .expect("register k2");
    let seen = rt.block_on(async {
        loop {
            let apps = watcher.next().await.expect("watch after failover");
            let hosts: Vec<_> = apps["sdk.app"]
                .instances
                .values()
                .flatten()
                .map(|i| i.hostname.clone())
                .collect();
            if hosts.iter().any(|h| h == "k2") {
                break hosts;
            }
        }
    });
    assert!(seen.iter().any(|h| h == "k1"), "{seen:?}");
    assert_ne!(watcher.node(), Some(watched.as_str()));

    // A cancel behind its back: the keep-alive sees -404 on renew and registers again.
    let alive = &nodes[(dead + 1) % 3];
    alive.post(
        "/discovery/cancel",
        "zone=z1&env=dev&appid=sdk.app&hostname=k1",
    );
    wait_until(Duration::from_secs(5), "k1 registered again", || {
        alive
            .get(&fetch_path("sdk.app"))
            .hostnames()
            .contains(&"k1".to_string())
    });
}
