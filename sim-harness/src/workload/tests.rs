//! The client models, seen in the trace of whole runs.

use std::collections::{BTreeMap, BTreeSet};

use registry::api::{Code, Request};

use super::Limit;
use crate::id::ClientId;
use crate::run::Run;
use crate::scenario::Scenario;
use crate::trace::TraceEvent;

/// Three nodes with crashes and partitions, 20 instances that set and end, of the models
/// `weights` (keys of `[workload]`, then possibly a `[clients]` section) pick.
fn scenario(weights: &str) -> Scenario {
    let text = format!(
        r#"
description = "client models"
[cluster]
nodes = [3, 3]
[phases]
safety_minutes = [10, 10]
liveness_minutes = [5, 5]
[network]
partitions_per_hour = [6, 6]
partition_seconds = [30, 120]
[faults]
crashes_per_hour = [30, 30]
down_seconds = [30, 120]
[workload]
instances = [20, 20]
status_sets_per_hour = [600, 600]
instance_ends_per_hour = [60, 60]
cancel_probability = [1.0, 1.0]
careful_weight = [0, 0]
{weights}
"#
    );
    Scenario::parse("models.toml", &text).expect("valid scenario")
}

/// Per instance, over the safety phase (the liveness phase moves clients to the core): the
/// nodes its requests went to, and the kinds of request it sent.
fn requests(
    weights: &str,
    seed: u64,
) -> BTreeMap<usize, (BTreeSet<usize>, BTreeSet<&'static str>)> {
    let result = Run::new(seed, &crate::suite::draw(&scenario(weights), seed)).go();
    let mut seen: BTreeMap<usize, (BTreeSet<usize>, BTreeSet<&'static str>)> = BTreeMap::new();
    let safety = result
        .trace
        .entries()
        .iter()
        .take_while(|(at, _)| *at < result.liveness_start);
    for (_, event) in safety {
        if let TraceEvent::Request {
            client: ClientId::Instance(client),
            node,
            request,
            ..
        } = event
        {
            let kind = match **request {
                Request::Register(_) => "register",
                Request::Renew(_) => "renew",
                Request::Set(_) => "set",
                Request::Cancel(_) => "cancel",
                _ => "read",
            };
            let (nodes, kinds) = seen.entry(*client).or_default();
            nodes.insert(*node);
            kinds.insert(kind);
        }
    }
    seen
}

#[test]
fn a_python_client_stays_with_its_node_and_only_registers_and_renews() {
    for seed in 0..3 {
        let python = requests("[clients]\npython_weight = [1, 1]", seed);
        assert!(
            python.len() >= 20,
            "seed {seed}: {} instances",
            python.len()
        );
        for (client, (nodes, kinds)) in &python {
            assert_eq!(
                nodes.len(),
                1,
                "seed {seed}: instance {client} talked to {nodes:?}"
            );
            let allowed = BTreeSet::from(["register", "renew"]);
            assert!(
                kinds.is_subset(&allowed),
                "seed {seed}: instance {client} sent {kinds:?}"
            );
        }
        // The same faults move Go-SDK-like clients between nodes, and they set and cancel:
        // the checks above can fail.
        let go_sdk = requests("go_sdk_weight = [1, 1]", seed);
        assert!(
            go_sdk.values().any(|(nodes, _)| nodes.len() > 1),
            "seed {seed}"
        );
        for kind in ["set", "cancel"] {
            assert!(
                go_sdk.values().any(|(_, kinds)| kinds.contains(kind)),
                "seed {seed}: {kind}"
            );
        }
    }
}

#[test]
fn a_eureka_client_stamps_its_registers_off_its_own_clock_and_never_sets() {
    // Clocks 30 s off either way, ticking every 5 s: over 20 instances some are behind true
    // time and some ahead, and two status changes of one instance within a tick share a stamp.
    let weights = "[clients]\neureka_weight = [1, 1]\nclient_clock_skew_ms = [30000, 30000]\n\
                   client_stamp_ms = [5000, 5000]";
    let (mut behind, mut ahead, mut shared_stamps, mut refused_registers) = (0, 0, 0, 0);
    for seed in 0..3 {
        let result = Run::new(seed, &crate::suite::draw(&scenario(weights), seed)).go();
        // Per instance: the stamps its registers carried, with the status each asked for.
        let mut stamps: BTreeMap<usize, BTreeMap<i64, BTreeSet<String>>> = BTreeMap::new();
        let mut registers = BTreeSet::new();
        for (at, event) in result.trace.entries() {
            match event {
                TraceEvent::Request {
                    client: ClientId::Instance(client),
                    id,
                    request,
                    ..
                } => match &**request {
                    Request::Register(args) => {
                        assert!(
                            args.dirty_timestamp > 0,
                            "seed {seed}: instance {client} registered unstamped"
                        );
                        registers.insert(*id);
                        let true_wall = crate::clock::EPOCH_NS + at.as_nanos() as i64;
                        let off = args.dirty_timestamp - true_wall;
                        behind += usize::from(off < -5_000_000_000);
                        ahead += usize::from(off > 0);
                        assert_eq!(args.dirty_timestamp % 5_000_000_000, 0, "seed {seed}");
                        stamps
                            .entry(*client)
                            .or_default()
                            .entry(args.dirty_timestamp)
                            .or_default()
                            .insert(format!("{:?}", args.status));
                    }
                    Request::Set(_) => panic!("seed {seed}: instance {client} sent a set"),
                    _ => {}
                },
                TraceEvent::Reply { id, reply, .. } if reply.code == Code::Conflict => {
                    refused_registers += usize::from(registers.contains(id));
                }
                _ => {}
            }
        }
        shared_stamps += stamps
            .values()
            .flat_map(|by_stamp| by_stamp.values())
            .filter(|statuses| statuses.len() > 1)
            .count();
    }
    assert!(behind > 0 && ahead > 0, "behind {behind}, ahead {ahead}");
    assert!(
        shared_stamps > 0,
        "no two writes of one instance shared a stamp"
    );
    // A stamp not above the node's copy (a shared one that loses the tie, or one behind a
    // version the node stamped) is refused.
    assert!(refused_registers > 0, "no register was refused");
}

#[test]
fn a_python_poller_stays_with_its_node_polls_every_3_s_at_most_and_forgets_apps_left_out() {
    let weights = "pollers = [4, 4]\napps = [3, 3]\n[clients]\npython_weight = [1, 1]";
    let (mut forgotten, mut answers) = (0, 0);
    for seed in 0..3 {
        let result = Run::new(seed, &crate::suite::draw(&scenario(weights), seed)).go();
        // Per poller: the nodes it polled, and the cursors its last answer left it.
        let mut nodes: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        let mut asked: BTreeMap<u64, usize> = BTreeMap::new();
        let mut expected: BTreeMap<usize, BTreeMap<String, i64>> = BTreeMap::new();
        let mut last_sent: BTreeMap<usize, crate::time::SimTime> = BTreeMap::new();
        let safety = result
            .trace
            .entries()
            .iter()
            .take_while(|(at, _)| *at < result.liveness_start);
        for (at, event) in safety {
            match event {
                TraceEvent::Request {
                    client: ClientId::Poller(poller),
                    node,
                    id,
                    request,
                } => {
                    nodes.entry(*poller).or_default().insert(*node);
                    // Its crontab starts the polls task at most every 3 s.
                    if let Some(last) = last_sent.insert(*poller, *at) {
                        assert!(
                            *at >= last + std::time::Duration::from_secs(3),
                            "seed {seed}: poller {poller} polled at {at:?} after {last:?}"
                        );
                    }
                    // Only the answer to its latest poll counts (a late one is ignored).
                    asked.retain(|_, p| p != poller);
                    asked.insert(*id, *poller);
                    let Request::Polls(args) = &**request else {
                        panic!("a poller sent {request:?}")
                    };
                    if let Some(cursors) = expected.get(poller) {
                        for (app, cursor) in args.appids.iter().zip(&args.latest_timestamps) {
                            let want = cursors.get(app.as_str()).copied().unwrap_or(0);
                            assert_eq!(*cursor, want, "seed {seed}: poller {poller}, {app}");
                            forgotten += usize::from(want == 0);
                        }
                    }
                }
                TraceEvent::Reply { id, reply, .. } => {
                    let Some(poller) = asked.remove(id) else {
                        continue;
                    };
                    if let registry::api::Data::Apps(apps) = &reply.data {
                        answers += 1;
                        expected.insert(
                            poller,
                            apps.iter()
                                .map(|(app, info)| (app.to_string(), info.latest_timestamp))
                                .collect(),
                        );
                    }
                }
                _ => {}
            }
        }
        for (poller, nodes) in &nodes {
            assert_eq!(
                nodes.len(),
                1,
                "seed {seed}: poller {poller} polled {nodes:?}"
            );
        }
    }
    assert!(
        answers > 0 && forgotten > 0,
        "answers {answers}, forgotten {forgotten}"
    );
}

#[test]
fn edge_clients_reach_every_limit_from_both_sides_and_the_nodes_judge_each_right() {
    // Every client an edge client, of every model that writes after registering, with many
    // changes: each limit is reached at and one past, and every checker is satisfied (a -400
    // at a limit, or anything but -400 past it, is a `limits` violation).
    let weights = "go_sdk_weight = [1, 1]\npollers = [3, 3]\n\
                   metadata_sets_per_hour = [600, 600]\n\
                   [clients]\neureka_weight = [1, 1]\nedge_probability = [1.0, 1.0]";
    let mut answered: BTreeMap<(Limit, bool), BTreeSet<Code>> = BTreeMap::new();
    let checkers = crate::check::all();
    for seed in 0..3 {
        let result = Run::new(seed, &crate::suite::draw(&scenario(weights), seed))
            .checkers(&checkers)
            .go();
        assert!(
            result.violations.is_empty(),
            "seed {seed}: {:?}",
            result.violations
        );
        for answer in crate::check::labelled_answers(&result.trace) {
            let label = (answer.limit, answer.past);
            answered.entry(label).or_default().insert(answer.reply.code);
        }
    }
    for limit in Limit::INSTANCE.into_iter().chain([Limit::AppList]) {
        let at = answered.get(&(limit, false)).cloned().unwrap_or_default();
        let past = answered.get(&(limit, true)).cloned().unwrap_or_default();
        assert!(
            at.contains(&Code::Ok),
            "{limit:?}: no request at the limit answered 0 ({at:?})"
        );
        assert!(
            past.contains(&Code::BadRequest),
            "{limit:?}: no request one past the limit answered -400 ({past:?})"
        );
    }
}
