//! What the report keeps of one run once its trace is gone.

use std::collections::BTreeMap;
use std::time::Duration;

use registry::core::NodeStats;

use super::coverage::{fault_counts, path_counts};
use super::episodes::{protection_episodes, Episodes};
use super::evictions::{false_evictions, FalseEvictions};
use super::staleness::{staleness, Staleness};
use crate::run::RunResult;

/// One run's measurements, small enough to keep for thousands of seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedMetrics {
    /// When the up core first agreed in the liveness phase (`None`: not by the deadline).
    pub convergence: Option<Duration>,
    /// Node counters summed over the run.
    pub stats: NodeStats,
    /// Instances evicted while their client was alive.
    pub false_evictions: FalseEvictions,
    /// Protection-mode episodes.
    pub protection: Episodes,
    /// Notification lag of the pollers.
    pub staleness: Staleness,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Protocol paths taken.
    pub paths: BTreeMap<String, u64>,
}

impl SeedMetrics {
    /// Measures a finished run.
    pub fn of(result: &RunResult) -> SeedMetrics {
        SeedMetrics {
            convergence: result.convergence,
            stats: result.stats,
            false_evictions: false_evictions(&result.trace),
            protection: protection_episodes(&result.trace, result.deadline),
            staleness: staleness(&result.trace),
            faults: fault_counts(&result.trace),
            paths: path_counts(&result.stats, &result.trace),
        }
    }
}
