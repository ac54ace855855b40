//! The world end to end: requests in, replies out, timers, determinism.

use std::time::Duration;

use registry::api::{Code, Data, FetchArgs, RegisterArgs, Request, Status, StatusFilter};

use super::*;
use crate::net::Rule;
use crate::trace::first_divergence;

fn register(hostname: &str) -> Request {
    Request::Register(RegisterArgs {
        region: "sim".into(),
        zone: "zone0".into(),
        env: "sim".into(),
        appid: "demo.service".into(),
        hostname: hostname.into(),
        status: Status::Up,
        addrs: vec![format!("http://{hostname}:8080")],
        version: "v1".into(),
        metadata: Default::default(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    })
}

fn fetch() -> Request {
    Request::Fetch(FetchArgs {
        zone: String::new(),
        env: "sim".into(),
        appid: "demo.service".into(),
        status: StatusFilter::ALL,
    })
}

fn hostnames(reply: &Reply) -> Vec<String> {
    match &reply.data {
        Data::App(info) => info
            .instances
            .values()
            .flatten()
            .map(|instance| instance.hostname.clone())
            .collect(),
        other => panic!("fetch answered {other:?}"),
    }
}

fn lossy() -> WorldConfig {
    WorldConfig {
        net: NetConfig {
            delay_min: Duration::from_millis(1),
            delay_mean: Duration::from_millis(30),
            tail_probability: 0.1,
            tail_max: Duration::from_millis(500),
            loss: 0.1,
            duplicate: 0.05,
        },
        ..WorldConfig::default()
    }
}

/// Registers and fetches from a few clients against every node, then idles past a few
/// eviction rounds; returns the trace.
fn busy_run(seed: u64, config: &WorldConfig) -> Trace {
    let mut world = World::new(seed, config).expect("valid config");
    for client in 0..6 {
        let node = client % config.nodes;
        let at = SimTime::from_millis(10 * client as u64);
        world.send_request(at, client, node, register(&format!("host{client}")));
        world.send_request(at + Duration::from_secs(1), client, node, fetch());
    }
    world.run_until(SimTime::from_secs(200));
    world.trace().clone()
}

#[test]
fn a_registered_instance_is_fetched() {
    let mut world = World::new(7, &WorldConfig::default()).expect("valid config");
    let registered = world.send_request(SimTime::ZERO, 0, 0, register("host-a"));
    let fetched = world.send_request(SimTime::from_secs(1), 0, 0, fetch());
    world.run_until(SimTime::from_secs(2));
    let reply = world.take_reply(registered).expect("register answered");
    assert_eq!(reply.code, Code::Ok);
    let reply = world.take_reply(fetched).expect("fetch answered");
    assert_eq!(reply.code, Code::Ok);
    assert_eq!(hostnames(&reply), ["host-a"]);
    assert_eq!(
        world.nodes()[0].instance_count(),
        2,
        "host-a and the node's own registration"
    );
    assert_eq!(world.now(), SimTime::from_secs(2));
}

#[test]
fn nodes_have_distinct_identities_and_seeds() {
    let world = World::new(
        7,
        &WorldConfig {
            nodes: 3,
            zones: 2,
            ..WorldConfig::default()
        },
    )
    .expect("valid config");
    let configs: Vec<_> = world.nodes().iter().map(|n| n.config().clone()).collect();
    assert_eq!(configs[1].identity.addr, "node1:7171");
    assert_eq!(configs[1].identity.hostname, "node1");
    assert_eq!(configs[1].identity.zone, "zone1");
    assert_eq!(configs[2].identity.zone, "zone0");
    assert_ne!(configs[0].seed, configs[1].seed);
    assert_eq!(configs[0].seed, Seeds::new(7).node(0));
}

#[test]
fn node_timers_fire_at_their_deadlines() {
    let mut world = World::new(1, &WorldConfig::default()).expect("valid config");
    world.send_request(SimTime::ZERO, 0, 1, register("host-a"));
    world.run_until(SimTime::from_secs(61));
    let fired: Vec<(SimTime, usize)> = world
        .trace()
        .entries()
        .iter()
        .filter_map(|(at, event)| match event {
            TraceEvent::TimerFired { node } => Some((*at, *node)),
            _ => None,
        })
        .collect();
    // The renew window and the eviction round are both due at 60 s on every node.
    for node in 0..3 {
        assert!(fired.contains(&(SimTime::from_secs(60), node)), "{fired:?}");
    }
    let rounds = world
        .trace()
        .entries()
        .iter()
        .filter(|(_, event)| {
            matches!(
                event,
                TraceEvent::Node {
                    event: registry::core::NodeEvent::EvictionRound { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(rounds, 3);
}

#[test]
fn an_isolated_node_gets_no_client_traffic() {
    let mut world = World::new(3, &WorldConfig::default()).expect("valid config");
    world.net_mut().add_rule(Rule::IsolateFromClients(2));
    let id = world.send_request(SimTime::ZERO, 0, 2, register("host-a"));
    world.run_until(SimTime::from_secs(1));
    assert!(world.take_reply(id).is_none());
    assert_eq!(
        world.nodes()[2].instance_count(),
        1,
        "only the node's own registration"
    );
    assert!(world.trace().entries().iter().any(|(_, event)| matches!(
        event,
        TraceEvent::Dropped {
            reason: Undelivered::Net(crate::net::DropReason::Partitioned),
            ..
        }
    )));
}

#[test]
fn the_same_seed_replays_the_same_trace() {
    let config = lossy();
    let a = busy_run(11, &config);
    let b = busy_run(11, &config);
    assert!(a.len() > 20, "too little happened: {} entries", a.len());
    assert_eq!(first_divergence(&a, &b), None);
    assert_eq!(a.hash(), b.hash());
}

#[test]
fn different_seeds_usually_differ() {
    let config = lossy();
    let base = busy_run(11, &config).hash();
    let differing = (12..17)
        .filter(|seed| busy_run(*seed, &config).hash() != base)
        .count();
    assert!(differing >= 4, "only {differing} of 5 seeds differ");
}

#[test]
fn recorded_events_land_at_the_current_time() {
    let mut world = World::new(0, &WorldConfig::default()).expect("valid config");
    world.run_until(SimTime::from_secs(5));
    world.record(TraceEvent::Phase {
        name: "liveness".into(),
    });
    let last = world.trace().entries().last().expect("just recorded");
    assert_eq!(last.0, SimTime::from_secs(5));
}
