//! One chaos run and the checks after its healed liveness period, returned as violations so
//! that the teeth tests can show each check fails on a broken runtime or SDK.

use std::collections::BTreeMap;
use std::time::Duration;

use registry::api::{Metadata, Status};
use registry::core::DISCOVERY_APPID;
use tokio::time::{sleep, Instant};

use crate::actors::{service, watcher, Belief, View};
use crate::chaos::{draw, run_faults, Fault, Options, APPS};
use crate::cluster::{node_addr, Cluster};
use crate::reads::{read, Read};

/// From the heal to the checks: long enough for anti-entropy (every 30 s) to repair twice
/// after the services wrote their state again (30 s after the heal).
const LIVENESS: Duration = Duration::from_secs(90);

/// Per app, what the clients believe registered: (host name, status, metadata), sorted.
type Expected = BTreeMap<&'static str, Vec<(String, Status, Metadata)>>;

/// Runs the chaos test for this simulation's seed; the violations found after the heal.
pub async fn run_chaos() -> Vec<String> {
    let seed = madsim::runtime::Handle::current().seed();
    run_options(draw(seed)).await
}

/// Runs the chaos test with `options` (drawn from this simulation's seed, perhaps changed).
pub async fn run_options(options: Options) -> Vec<String> {
    let seed = madsim::runtime::Handle::current().seed();
    println!("seed {seed}: {options:?}");
    let mut cluster = Cluster::start(options.nodes, |_| {});
    let heal_at = Instant::now() + options.chaos;
    let end_at = heal_at + LIVENESS;
    let mut services = Vec::new();
    for (id, plan) in options.services.iter().enumerate() {
        let host = cluster.client_host(&format!("service{id}"));
        services.push(host.spawn(service(id, plan.clone(), cluster.addrs(), heal_at)));
    }
    let mut watchers = Vec::new();
    for id in 0..options.watchers {
        let host = cluster.client_host(&format!("watcher{id}"));
        watchers.push(host.spawn(watcher(id, cluster.addrs(), end_at)));
    }
    let faults = run_faults(&cluster, &options, heal_at).await;
    cluster.heal();
    sleep(end_at - Instant::now()).await;
    let mut beliefs = Vec::new();
    // Held until the checks are done: a dropped registration stops renewing.
    let mut registrations = Vec::new();
    for task in services {
        let (belief, registration) = task.await.expect("service task");
        beliefs.push(belief);
        registrations.push(registration);
    }
    let mut views = Vec::new();
    for task in watchers {
        views.push(task.await.expect("watcher task"));
    }
    let expected = expected(&beliefs);
    let checker = cluster.client_host("checker");
    let n = options.nodes;
    let served = checker
        .spawn(async move {
            let mut served = Vec::new();
            for i in 0..n {
                for appid in APPS.iter().chain([&DISCOVERY_APPID]) {
                    served.push((i, *appid, read(&node_addr(i), appid).await));
                }
            }
            served
        })
        .await
        .expect("checker task");
    let writes: u32 = beliefs.iter().map(|b| b.writes).sum();
    println!(
        "seed {seed}: {writes} writes, {faults} faults, watcher answers {:?}",
        views.iter().map(|v| v.answers).collect::<Vec<_>>()
    );
    let mut violations = unsettled(&beliefs);
    violations.extend(served_as_believed(&served, &expected, n));
    let cluster_restarted = options
        .faults
        .iter()
        .any(|(_, _, fault)| matches!(fault, Fault::ClusterRestart));
    violations.extend(watchers_saw_the_end(&views, &expected, cluster_restarted));
    violations.extend(no_hot_loop(&views, writes + faults));
    drop(registrations);
    violations
}

fn expected(beliefs: &[Belief]) -> Expected {
    let mut apps: Expected = BTreeMap::new();
    for belief in beliefs.iter().filter(|b| !b.cancelled) {
        apps.entry(belief.appid).or_default().push((
            belief.hostname.clone(),
            belief.status,
            belief.metadata.clone(),
        ));
    }
    apps.values_mut().for_each(|v| v.sort());
    apps
}

/// Services that could not write their state again after the heal (the SDK's failover).
fn unsettled(beliefs: &[Belief]) -> Vec<String> {
    beliefs
        .iter()
        .filter_map(|b| {
            let why = b.unsettled.as_ref()?;
            Some(format!(
                "{} could not write its state again after the heal: {why}",
                b.hostname
            ))
        })
        .collect()
}

/// Every node serves exactly what the clients believe registered (their last status and
/// metadata, no cancelled instance), answers reads (no -503 left) and lists every node in
/// `infra.discovery`.
fn served_as_believed(
    served: &[(usize, &str, Read)],
    expected: &Expected,
    n: usize,
) -> Vec<String> {
    let mut violations = Vec::new();
    for (i, appid, answer) in served {
        let got: Vec<(String, Status, Metadata)> = match answer {
            Read::Instances(found) => found
                .values()
                .map(|inst| {
                    (
                        inst.hostname.to_string(),
                        inst.status,
                        inst.metadata.clone(),
                    )
                })
                .collect(),
            Read::Nothing => Vec::new(),
            other => {
                violations.push(format!(
                    "node {i} answered {other:?} for {appid} after the heal"
                ));
                continue;
            }
        };
        if *appid == DISCOVERY_APPID {
            let hosts: Vec<String> = got.into_iter().map(|(h, _, _)| h).collect();
            let all: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
            if hosts != all {
                violations.push(format!(
                    "node {i} lists registry nodes {hosts:?}, not {all:?}"
                ));
            }
            continue;
        }
        let want = expected.get(appid).cloned().unwrap_or_default();
        if got != want {
            violations.push(format!(
                "node {i} serves {appid} as {got:?}; the clients believe {want:?}"
            ));
        }
    }
    violations
}

/// Every watcher's last answer for each app shows the UP instances the clients believe in.
///
/// Except, after a whole-cluster restart, an app that ends with no instance: every node lost
/// its state, so an app nobody registered again is unknown everywhere, and `polls` waits for
/// an unknown app's first registration; a watcher keeps what it saw before (seed 1: the last
/// instance was cancelled while the cluster restarted). bilibili's registry does the same.
fn watchers_saw_the_end(
    views: &[View],
    expected: &Expected,
    cluster_restarted: bool,
) -> Vec<String> {
    let mut violations = Vec::new();
    for view in views {
        for appid in APPS {
            if cluster_restarted && expected.get(appid).is_none_or(Vec::is_empty) {
                continue;
            }
            let seen = view.apps.get(appid).cloned().unwrap_or_default();
            let up: Vec<String> = expected
                .get(appid)
                .into_iter()
                .flatten()
                .filter(|(_, status, _)| *status == Status::Up)
                .map(|(host, _, _)| host.clone())
                .collect();
            if seen != up {
                violations.push(format!(
                    "watcher {} last saw {appid} as {seen:?}; the clients believe {up:?} up",
                    view.id
                ));
            }
        }
    }
    violations
}

/// No watcher was answered more than a few times per change: every write, fault or
/// failover may earn it an answer or two, a hot loop earns thousands.
fn no_hot_loop(views: &[View], changes: u32) -> Vec<String> {
    let bound = 3 * changes + 20;
    views
        .iter()
        .filter(|view| view.answers > bound)
        .map(|view| {
            format!(
                "watcher {} was answered {} times for {changes} writes and faults (bound {bound})",
                view.id, view.answers
            )
        })
        .collect()
}
