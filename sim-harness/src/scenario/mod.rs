//! Scenarios as data: a TOML file of `[min, max]` ranges, and the options one run draws.
//!
//! A scenario says what kind of trouble to simulate; each seed then draws its own concrete
//! options within the ranges (swarm testing), and a run prints them all with its seed first.
//!
//! ```toml
//! description = "a partition splits the cluster, then heals"
//!
//! [cluster]
//! nodes = [3, 5]              # required
//!
//! [phases]
//! safety_minutes = [10, 20]   # required
//! liveness_minutes = [5, 5]   # required
//!
//! [network]
//! loss = [0.0, 0.05]          # a probability: within [0, 1]
//! partitions_per_hour = [2, 6]
//!
//! [workload]
//! instances = [20, 200]       # required
//! ```
//!
//! Every key and its default is listed (with its unit in its name) in the `*Ranges` structs:
//! [`ClusterRanges`], [`PhasesRanges`], [`NetworkRanges`], [`FaultsRanges`],
//! [`WorkloadRanges`], [`NodeRanges`]. Whole numbers are counts, durations or rates; fractions are
//! probabilities. A fixed value is written as `[x, x]`.

mod error;
mod knobs;
mod range;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::net::NetConfig;

pub use error::ScenarioError;
pub use knobs::{
    ClientsOptions, ClientsRanges, ClusterOptions, ClusterRanges, FaultsOptions, FaultsRanges,
    NetworkOptions, NetworkRanges, NodeOptions, NodeRanges, PhasesOptions, PhasesRanges,
    WorkloadOptions, WorkloadRanges,
};
pub use range::{KnobValue, Range, RangeProblem};

/// A scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    description: String,
    #[serde(default)]
    cluster: knobs::ClusterRaw,
    #[serde(default)]
    phases: knobs::PhasesRaw,
    #[serde(default)]
    network: knobs::NetworkRaw,
    #[serde(default)]
    faults: knobs::FaultsRaw,
    #[serde(default)]
    workload: knobs::WorkloadRaw,
    #[serde(default)]
    node: knobs::NodeRaw,
    #[serde(default)]
    clients: knobs::ClientsRaw,
}

/// A checked scenario: every knob's range, defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The scenario's name: its file name without `.toml`.
    pub name: String,
    /// One line on what the scenario is for.
    pub description: String,
    /// The cluster's shape.
    pub cluster: ClusterRanges,
    /// Phase lengths.
    pub phases: PhasesRanges,
    /// The network.
    pub network: NetworkRanges,
    /// Node faults.
    pub faults: FaultsRanges,
    /// The clients.
    pub workload: WorkloadRanges,
    /// The nodes' own settings.
    pub node: NodeRanges,
    /// Client models beyond the workload's two.
    pub clients: ClientsRanges,
}

impl Scenario {
    /// Reads and checks the scenario file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: file.clone(),
            source,
        })?;
        Scenario::parse(&file, &text)
    }

    /// Parses and checks scenario `text`; `file` names it in errors, and its stem (`steady`
    /// for `scenarios/steady.toml`) becomes the scenario's name.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let raw: ScenarioFile =
            toml::from_str(text).map_err(|error| ScenarioError::from_toml(file, text, &error))?;
        let name = Path::new(file).file_stem().map_or_else(
            || file.to_string(),
            |stem| stem.to_string_lossy().into_owned(),
        );
        let scenario = Scenario {
            name,
            description: raw.description,
            cluster: raw.cluster.resolve(file)?,
            phases: raw.phases.resolve(file)?,
            network: raw.network.resolve(file)?,
            faults: raw.faults.resolve(file)?,
            workload: raw.workload.resolve(file)?,
            node: raw.node.resolve(file)?,
            clients: raw.clients.resolve(file)?,
        };
        scenario.check_consistency(file)?;
        Ok(scenario)
    }

    /// Checks what single ranges cannot: lower bounds and relations between keys.
    fn check_consistency(&self, file: &str) -> Result<(), ScenarioError> {
        let fail = |key: &str, problem: String| {
            Err(ScenarioError::Inconsistent {
                file: file.to_string(),
                key: key.to_string(),
                problem,
            })
        };
        let at_least_one = [
            ("cluster.nodes", self.cluster.nodes),
            ("cluster.zones", self.cluster.zones),
            ("phases.liveness_minutes", self.phases.liveness_minutes),
            ("workload.apps", self.workload.apps),
            ("workload.renew_seconds", self.workload.renew_seconds),
        ];
        for (key, range) in at_least_one {
            if range.min == 0 {
                return fail(key, format!("range {range} must not include 0"));
            }
        }
        if self.node.peer_durability.max > 1 {
            return fail(
                "node.peer_durability",
                format!(
                    "range {} must be within [0, 1] (1: answer after a peer's acknowledgement)",
                    self.node.peer_durability
                ),
            );
        }
        if self.cluster.zones.min > self.cluster.nodes.max {
            return fail(
                "cluster.zones",
                format!(
                    "at least {} zones cannot fit in at most {} nodes",
                    self.cluster.zones.min, self.cluster.nodes.max
                ),
            );
        }
        if self.network.delay_ms_mean.max < self.network.delay_ms_min.min {
            return fail(
                "network.delay_ms_mean",
                format!(
                    "mean {} is always below delay_ms_min {}",
                    self.network.delay_ms_mean, self.network.delay_ms_min
                ),
            );
        }
        Ok(())
    }

    /// Draws one run's options from the ranges, section by section in a fixed order, then
    /// clamps draws that depend on each other (zones ≤ nodes, mean delay ≥ minimum).
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Options {
        let mut options = Options {
            scenario: self.name.clone(),
            cluster: self.cluster.draw(rng),
            phases: self.phases.draw(rng),
            network: self.network.draw(rng),
            faults: self.faults.draw(rng),
            workload: self.workload.draw(rng),
            node: self.node.draw(rng),
            clients: self.clients.draw(rng),
        };
        options.cluster.zones = options.cluster.zones.min(options.cluster.nodes);
        options.network.delay_ms_mean = options
            .network
            .delay_ms_mean
            .max(options.network.delay_ms_min);
        options
    }
}

/// One run's concrete options, drawn from a [`Scenario`] by the run's seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// The scenario they were drawn from.
    pub scenario: String,
    /// The cluster's shape.
    pub cluster: ClusterOptions,
    /// Phase lengths.
    pub phases: PhasesOptions,
    /// The network.
    pub network: NetworkOptions,
    /// Node faults.
    pub faults: FaultsOptions,
    /// The clients.
    pub workload: WorkloadOptions,
    /// The nodes' own settings.
    pub node: NodeOptions,
    /// Client models beyond the workload's two. A capsule written before the section existed
    /// reads as none of them, which is what it ran.
    #[serde(default)]
    pub clients: ClientsOptions,
}

/// Every option, one per line, grouped as in a scenario file.
impl fmt::Display for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scenario = {:?}", self.scenario)?;
        write!(
            f,
            "{}{}{}{}{}{}{}",
            self.cluster,
            self.phases,
            self.network,
            self.faults,
            self.workload,
            self.node,
            self.clients
        )
    }
}

impl NetworkOptions {
    /// The network model's configuration for these options.
    pub fn net_config(&self) -> NetConfig {
        NetConfig {
            delay_min: Duration::from_millis(self.delay_ms_min),
            delay_mean: Duration::from_millis(self.delay_ms_mean.max(self.delay_ms_min)),
            tail_probability: self.tail_probability,
            tail_max: Duration::from_millis(self.tail_ms_max),
            loss: self.loss,
            duplicate: self.duplicate,
        }
    }
}

#[cfg(test)]
mod tests;
