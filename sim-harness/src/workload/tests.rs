//! The client models, seen in the trace of whole runs.

use std::collections::{BTreeMap, BTreeSet};

use registry::api::Request;

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
