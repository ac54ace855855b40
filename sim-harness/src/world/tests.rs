//! The world end to end: requests in, replies out, timers, determinism.

use registry::api::SmolStr;
use std::time::Duration;

use registry::api::{Code, Data, FetchArgs, RegisterArgs, Request, Status, StatusFilter};

use std::collections::BTreeMap;

use super::*;
use crate::fault::Fault;
use crate::net::Rule;
use crate::trace::first_divergence;

fn register(hostname: &str) -> Request {
    Request::Register(RegisterArgs {
        key: InstanceKey {
            zone: "zone0".into(),
            env: "sim".into(),
            appid: "demo.service".into(),
            hostname: hostname.into(),
        },
        region: "sim".into(),
        status: Status::Up,
        addrs: vec![format!("http://{hostname}:8080").into()],
        version: "v1".into(),
        metadata: Default::default(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    })
}

fn fetch() -> Request {
    Request::Fetch(FetchArgs {
        zone: Default::default(),
        env: "sim".into(),
        appid: "demo.service".into(),
        status: StatusFilter::ALL,
    })
}

fn hostnames(reply: &Reply) -> Vec<SmolStr> {
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

/// Steps the world up to `until`, collecting the replies that reached clients.
fn run_until(world: &mut World, until: SimTime) -> BTreeMap<RequestId, Reply> {
    let mut replies = BTreeMap::new();
    while world.peek_time().is_some_and(|at| at <= until) {
        if let Some((_, Some(Output::Reply { id, reply, .. }))) = world.step() {
            replies.insert(id, Reply::clone(&reply));
        }
    }
    replies
}

/// Instance client `client` sends `request` to node `node` at `at`; returns the request's id.
fn send(world: &mut World, at: SimTime, client: usize, node: usize, request: Request) -> RequestId {
    world.send_request(at, ClientId::Instance(client), NodeId(node), request)
}

/// Registers and fetches from a few clients against every node, then idles past a few
/// eviction rounds; returns the trace.
fn busy_run(seed: u64, config: &WorldConfig) -> Trace {
    let mut world = World::new(seed, config).expect("valid config");
    for client in 0..6 {
        let node = client % config.nodes;
        let at = SimTime::from_millis(10 * client as u64);
        send(
            &mut world,
            at,
            client,
            node,
            register(&format!("host{client}")),
        );
        send(
            &mut world,
            at + Duration::from_secs(20),
            client,
            node,
            fetch(),
        );
    }
    run_until(&mut world, SimTime::from_secs(200));
    world.trace().clone()
}

#[test]
fn a_write_through_one_node_is_fetched_through_another() {
    let mut world = World::new(7, &WorldConfig::default()).expect("valid config");
    let registered = send(&mut world, SimTime::ZERO, 0, 0, register("host-a"));
    // Reads wait for startup sync (the three nodes start together and time out waiting).
    let fetched = send(&mut world, SimTime::from_secs(20), 0, 2, fetch());
    let mut replies = run_until(&mut world, SimTime::from_secs(21));
    assert_eq!(replies.remove(&registered).map(|r| r.code), Some(Code::Ok));
    let reply = replies.remove(&fetched).expect("fetch answered");
    assert_eq!(reply.code, Code::Ok, "{reply:?}");
    assert_eq!(hostnames(&reply), ["host-a"]);
    let node = world.node(2).expect("up");
    assert_eq!(
        node.instance_count(),
        4,
        "host-a and three infra.discovery registrations"
    );
    assert!(world
        .trace()
        .entries()
        .iter()
        .any(|(_, e)| matches!(e, TraceEvent::PeerDelivered { .. })));
}

#[test]
fn nodes_have_distinct_identities_seeds_and_zone_peers() {
    let config = WorldConfig {
        nodes: 3,
        zones: 2,
        ..WorldConfig::default()
    };
    let world = World::new(7, &config).expect("valid config");
    let configs: Vec<_> = (0..3).map(|i| world.config(i).clone()).collect();
    assert_eq!(configs[1].identity.addr, "node1:7171");
    assert_eq!(configs[1].identity.zone, "zone1");
    assert_eq!(configs[0].cluster.seeds, ["node0:7171", "node2:7171"]);
    assert_eq!(configs[0].cluster.zones["zone1"], ["node1:7171"]);
    assert_ne!(configs[0].seed, configs[1].seed);
}

#[test]
fn node_timers_fire_at_their_deadlines() {
    let mut world = World::new(1, &WorldConfig::default()).expect("valid config");
    run_until(&mut world, SimTime::from_secs(61));
    let rounds = world
        .trace()
        .entries()
        .iter()
        .filter(|(at, event)| {
            *at == SimTime::from_secs(60)
                && matches!(
                    event,
                    TraceEvent::Node {
                        event: registry::core::NodeEvent::EvictionRound { .. },
                        ..
                    }
                )
        })
        .count();
    assert_eq!(rounds, 3, "every node runs its eviction round at 60 s");
}

#[test]
fn an_isolated_node_gets_no_client_traffic() {
    let mut world = World::new(3, &WorldConfig::default()).expect("valid config");
    world.net_mut().add_rule(Rule::IsolateFromClients(2));
    let id = send(&mut world, SimTime::ZERO, 0, 2, register("host-a"));
    let replies = run_until(&mut world, SimTime::from_secs(1));
    assert!(!replies.contains_key(&id));
    assert!(world.trace().entries().iter().any(|(_, event)| matches!(
        event,
        TraceEvent::Dropped {
            reason: Undelivered::Net(crate::net::DropReason::Partitioned),
            ..
        }
    )));
}

#[test]
fn a_crashed_node_loses_everything_and_syncs_when_it_restarts() {
    let mut world = World::new(5, &WorldConfig::default()).expect("valid config");
    send(&mut world, SimTime::ZERO, 0, 0, register("host-a"));
    run_until(&mut world, SimTime::from_secs(20));
    world.apply(&Fault::Crash { node: 1 });
    assert!(world.node(1).is_none());
    let lost = send(&mut world, SimTime::from_secs(21), 0, 1, fetch());
    let replies = run_until(&mut world, SimTime::from_secs(22));
    assert!(!replies.contains_key(&lost), "a down node answers nothing");
    world.apply(&Fault::Restart { node: 1 });
    assert!(
        !world.node(1).expect("restarted").is_ready(),
        "a restarted node starts unsynced"
    );
    run_until(&mut world, SimTime::from_secs(25));
    let node = world.node(1).expect("up");
    assert!(node.is_ready(), "synced from a peer");
    assert!(node.registry().contains_key("demo.service"));
}

#[test]
fn a_paused_node_answers_late_and_refuses_the_writes_that_waited_through_the_pause() {
    let mut world = World::new(5, &WorldConfig::default()).expect("valid config");
    run_until(&mut world, SimTime::from_secs(20));
    world.apply(&Fault::Pause { node: 0 });
    let write = send(&mut world, SimTime::from_secs(20), 0, 0, register("host-a"));
    let read = send(&mut world, SimTime::from_secs(20), 1, 0, fetch());
    assert!(
        run_until(&mut world, SimTime::from_secs(30)).is_empty(),
        "paused: no answer"
    );
    world.apply(&Fault::Resume { node: 0 });
    let replies = run_until(&mut world, SimTime::from_secs(31));
    // Its client may have given up and written elsewhere since: refused, to be retried.
    assert_eq!(replies.get(&write).map(|r| r.code), Some(Code::NotReady));
    assert_ne!(
        replies.get(&read).map(|r| r.code),
        None,
        "reads are answered"
    );
    // A pause shorter than the stall threshold changes nothing.
    world.apply(&Fault::Pause { node: 0 });
    let write = send(&mut world, SimTime::from_secs(31), 0, 0, register("host-a"));
    run_until(&mut world, SimTime::from_millis(31_500));
    world.apply(&Fault::Resume { node: 0 });
    let replies = run_until(&mut world, SimTime::from_secs(32));
    assert_eq!(replies.get(&write).map(|r| r.code), Some(Code::Ok));
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

/// A deadline that moves away and back (a batch's timer before the next round) reuses the
/// event still queued for its instant: a second one could only come out stale.
#[test]
fn a_node_never_has_two_timer_events_queued_for_one_instant() {
    let mut world = World::new(5, &lossy()).expect("valid config");
    for client in 0..6 {
        let at = SimTime::from_millis(700 * client as u64);
        send(
            &mut world,
            at,
            client,
            client % 3,
            register(&format!("host{client}")),
        );
    }
    while world
        .peek_time()
        .is_some_and(|at| at <= SimTime::from_secs(200))
    {
        world.step();
        let mut timers: Vec<(usize, SimTime)> = world
            .queue
            .iter()
            .filter_map(|(_, event)| match event {
                WorldEvent::NodeTimer { node, at } => Some((*node, *at)),
                _ => None,
            })
            .collect();
        let queued = timers.len();
        timers.sort_unstable();
        timers.dedup();
        assert_eq!(timers.len(), queued, "at {}", world.now());
    }
}
