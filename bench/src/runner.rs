//! One round on one build: a fresh node through the single-node phases, then a fresh 3-node
//! cluster for visibility.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::node::{Durability, Server};
use crate::phases::serving::{self, Sizing};
use crate::phases::{fanout, memory, visibility, PhaseResult};

/// The phases, in the order a round runs them.
pub(crate) const PHASES: [&str; 6] = [
    "register",
    "memory",
    "renew",
    "fetch",
    "fanout",
    "visibility",
];

/// What a round runs.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The phases to run (names from [`PHASES`]).
    pub(crate) phases: Vec<String>,
    /// Instances the register phase registers.
    pub(crate) register: usize,
    /// The closed-loop phases' connections and durations.
    pub(crate) sizing: Sizing,
    /// Parked pollers in the fan-out phase.
    pub(crate) pollers: usize,
    /// Writes in the fan-out phase (each notifies every poller).
    pub(crate) fanout_writes: usize,
    /// Writes timed in the visibility phase.
    pub(crate) visibility_writes: usize,
    /// The core the server processes are pinned to.
    pub(crate) server_cpu: Option<usize>,
    /// When the nodes started answer a client's write.
    pub(crate) durability: Durability,
}

impl Plan {
    fn runs(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

/// The node a round measures.
#[derive(Clone, Debug)]
pub(crate) enum Subject {
    /// Start this binary (fresh for every round).
    Binary(PathBuf),
    /// A node that already runs (its pid, if given, for CPU and memory).
    Running {
        /// `host:port`.
        addr: String,
        /// The process id.
        pid: Option<u32>,
    },
}

/// The results of one round, by phase.
pub(crate) type Round = BTreeMap<String, PhaseResult>;

/// Runs the plan's phases once against `subject`.
pub(crate) async fn round(subject: &Subject, plan: &Plan) -> Result<Round, std::io::Error> {
    let mut results = Round::new();
    let single = ["register", "memory", "renew", "fetch", "fanout"];
    if single.iter().any(|p| plan.runs(p)) {
        let server = match subject {
            Subject::Binary(binary) => {
                Server::start_cluster(binary, 1, plan.server_cpu, plan.durability)
                    .await?
                    .remove(0)
            }
            Subject::Running { addr, pid } => Server::running(addr, *pid),
        };
        single_node(&server, plan, &mut results).await;
    }
    if plan.runs("visibility") {
        if let Subject::Binary(binary) = subject {
            let cluster =
                Server::start_cluster(binary, 3, plan.server_cpu, plan.durability).await?;
            let result =
                visibility::visibility(&cluster[0], &cluster[2], plan.visibility_writes).await;
            results.insert("visibility".into(), result);
        }
    }
    Ok(results)
}

async fn single_node(server: &Server, plan: &Plan, results: &mut Round) {
    // Renew, fetch and memory read the registered instances: they need the register phase.
    let (register, rss) = serving::register(server, plan.register, plan.sizing.conns).await;
    if plan.runs("register") {
        results.insert("register".into(), register);
    }
    // Right after registering: the fan-out's thousands of answers would leave the allocator
    // holding memory that fetch/all then reuses, hiding what fetch/all itself costs.
    if plan.runs("memory") {
        results.insert("memory".into(), memory::memory(server, rss).await);
    }
    if plan.runs("renew") {
        let sizing = Sizing {
            renew_instances: plan.sizing.renew_instances.min(plan.register),
            ..plan.sizing
        };
        results.insert("renew".into(), serving::renew(server, sizing).await);
    }
    if plan.runs("fetch") {
        results.insert("fetch".into(), serving::fetch(server, plan.sizing).await);
    }
    if plan.runs("fanout") {
        let result = fanout::fanout(server, plan.pollers, plan.fanout_writes).await;
        results.insert("fanout".into(), result);
    }
}
