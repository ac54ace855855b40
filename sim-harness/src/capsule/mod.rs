//! Failure capsules: everything needed to replay one failing run exactly, as a JSON file.
//!
//! A capsule holds the seed, the options, the (shrunk) plan, the first violation, the trace
//! around it and the command that replays it. Replaying it ([`replay`]) runs the capsule's own
//! options and plan under its seed, not whatever the scenario file says today, so a capsule
//! stays valid when scenario files change.

mod capture;
mod error;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use registry::api::InstanceKey;
use serde::{Deserialize, Serialize};

use crate::check::{Checker, Violation};
use crate::plan::Plan;
use crate::run::{Run, RunResult};
use crate::scenario::Options;
use crate::shrink::{self, Sizes};
use crate::time::SimTime;
use crate::trace::Trace;

pub use capture::{capture, capture_all, Captured};
pub use error::CapsuleError;

/// Trace entries kept before the violation's moment.
pub(crate) const EXCERPT_BEFORE: usize = 40;
/// Trace entries kept after it.
pub(crate) const EXCERPT_AFTER: usize = 10;

/// One failing run, reproducible from its data alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capsule {
    /// The scenario the run came from.
    pub scenario: String,
    /// The master seed.
    pub seed: u64,
    /// The options run (shrunk: possibly fewer nodes, clients, minutes than the seed drew).
    pub options: Options,
    /// The faults and actions run (shrunk).
    pub plan: Plan,
    /// The first violation of the failing checker in the shrunk run.
    pub violation: ViolationRecord,
    /// The trace around the violation, one `Debug` rendering per entry.
    pub trace_excerpt: Vec<String>,
    /// Sizes of the run the seed drew.
    pub original: Sizes,
    /// Sizes of the run in this capsule.
    pub shrunk: Sizes,
    /// Reruns the shrink made.
    pub shrink_attempts: usize,
    /// Whether a limit stopped the shrink early (the capsule still fails, but may not be minimal).
    pub shrink_stopped_early: bool,
    /// The command that replays this capsule.
    pub replay: String,
}

/// A violation as a capsule stores it (an owned checker name, so it can be read back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationRecord {
    /// The checker that found it.
    pub checker: String,
    /// When.
    pub at: SimTime,
    /// The node concerned, if one is.
    pub node: Option<usize>,
    /// The instance concerned, if one is.
    pub instance: Option<InstanceKey>,
    /// The checker's explanation.
    pub explanation: String,
}

impl From<&Violation> for ViolationRecord {
    fn from(v: &Violation) -> ViolationRecord {
        ViolationRecord {
            checker: v.checker.to_string(),
            at: v.at,
            node: v.node,
            instance: v.instance.clone(),
            explanation: v.explanation.clone(),
        }
    }
}

/// As [`Violation`] displays: `[checker] at time node N instance app/zone/host: explanation`.
impl std::fmt::Display for ViolationRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let instance = self.instance.as_ref();
        let (checker, explanation) = (&self.checker, &self.explanation);
        crate::check::display(f, checker, self.at, self.node, instance, explanation)
    }
}

impl ViolationRecord {
    /// Whether `violation` is this one: same checker, time, node, instance and explanation.
    pub fn matches(&self, violation: &Violation) -> bool {
        *self == ViolationRecord::from(violation)
    }
}

/// The outcome of replaying a capsule.
#[derive(Debug)]
pub struct Replayed {
    /// The run.
    pub result: RunResult,
    /// Its first violation of the capsule's checker, else its first violation of any checker.
    pub first: Option<Violation>,
    /// Whether `first` is exactly the capsule's violation.
    pub matches: bool,
}

/// Replays `capsule` from its seed, options and plan, checked with `checkers`.
pub fn replay(capsule: &Capsule, checkers: &[Box<dyn Checker>]) -> Replayed {
    let result = Run::new(capsule.seed, &capsule.options)
        .plan(&capsule.plan)
        .checkers(checkers)
        .go();
    let first = first_of(&result.violations, &capsule.violation.checker)
        .or_else(|| result.violations.first())
        .cloned();
    let matches = first.as_ref().is_some_and(|v| capsule.violation.matches(v));
    Replayed {
        result,
        first,
        matches,
    }
}

/// The first of `violations` reported by `checker`.
fn first_of<'a>(violations: &'a [Violation], checker: &str) -> Option<&'a Violation> {
    violations.iter().find(|v| v.checker == checker)
}

/// The trace around `at`: [`EXCERPT_BEFORE`] entries before the first entry at or after `at`,
/// that entry, and [`EXCERPT_AFTER`] after it.
pub(crate) fn excerpt(trace: &Trace, at: SimTime) -> Vec<String> {
    let entries = trace.entries();
    let pivot = entries.partition_point(|(t, _)| *t < at);
    let start = pivot.saturating_sub(EXCERPT_BEFORE);
    let end = (pivot + EXCERPT_AFTER + 1).min(entries.len());
    entries[start..end]
        .iter()
        .map(|(t, event)| format!("{t} {event:?}"))
        .collect()
}

/// The reports directory of this workspace.
pub fn default_reports_dir() -> PathBuf {
    crate::suite::workspace_dir().join("reports")
}

/// Where a suite run named `run` keeps its capsules: `<reports>/<run>/failures`.
pub fn failures_dir(reports: &Path, run: &str) -> PathBuf {
    reports.join(run).join("failures")
}

/// The capsule file of `scenario`'s `seed` in `dir`.
pub fn capsule_path(dir: &Path, scenario: &str, seed: u64) -> PathBuf {
    dir.join(format!("{scenario}-{seed}.json"))
}

/// The command that replays the capsule at `path`.
pub fn replay_command(path: &Path) -> String {
    format!(
        "{} replay --capsule {}",
        crate::suite::SIM_COMMAND,
        path.display()
    )
}

impl Capsule {
    /// Writes the capsule as pretty JSON to `path`, creating its directory.
    pub fn write(&self, path: &Path) -> Result<(), CapsuleError> {
        let file = path.display().to_string();
        let text = serde_json::to_string_pretty(self).map_err(|source| CapsuleError::Encode {
            file: file.clone(),
            source,
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| CapsuleError::Write {
                file: file.clone(),
                source,
            })?;
        }
        std::fs::write(path, text + "\n").map_err(|source| CapsuleError::Write { file, source })
    }

    /// Reads and checks the capsule at `path`.
    pub fn load(path: &Path) -> Result<Capsule, CapsuleError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CapsuleError::Read {
            file: file.clone(),
            source,
        })?;
        let capsule: Capsule =
            serde_json::from_str(&text).map_err(|source| CapsuleError::Malformed {
                file: file.clone(),
                source,
            })?;
        capsule
            .check()
            .map_err(|problem| CapsuleError::Invalid { file, problem })?;
        Ok(capsule)
    }

    /// Checks what the JSON shape cannot: the plan fits the cluster and is in time order.
    fn check(&self) -> Result<(), String> {
        let nodes = self.options.cluster.nodes;
        if nodes == 0 {
            return Err("options.cluster.nodes is 0; a run needs at least one node".to_string());
        }
        for (i, (_, fault)) in self.plan.faults.iter().enumerate() {
            if shrink::restrict(fault, nodes as usize).as_ref() != Some(fault) {
                return Err(format!(
                    "plan.faults[{i}] ({fault:?}) names a node outside the {nodes}-node cluster"
                ));
            }
        }
        let sorted = |times: Vec<SimTime>| times.windows(2).all(|w| w[0] <= w[1]);
        if !sorted(self.plan.faults.iter().map(|(t, _)| *t).collect()) {
            return Err("plan.faults is not in time order".to_string());
        }
        if !sorted(self.plan.actions.iter().map(|(t, _)| *t).collect()) {
            return Err("plan.actions is not in time order".to_string());
        }
        Ok(())
    }
}
