//! The suite summary: what `summary.json` holds (its schema is documented in
//! `reports/README.md`) and what `summary.md` renders. Built from seed outcomes only, with no
//! wall-clock figure, so the same commit and seeds give the same summary.

use std::collections::BTreeMap;

use serde::Serialize;

use super::coverage::{add_counts, gaps};
use super::distribution::Distribution;
use super::episodes::{millis, Episodes};
use super::evictions::FalseEvictions;
use crate::suite::{replay_command, SeedOutcome};

/// The version of the `summary.json` schema; bump it when a field changes meaning or goes.
pub(super) const SCHEMA_VERSION: u32 = 1;

/// A whole suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The commit the suite ran (`git rev-parse HEAD`), or `unknown`.
    pub commit: String,
    /// All scenarios together.
    pub total: Totals,
    /// Suite-wide verdict per checker.
    pub checkers: BTreeMap<String, CheckerVerdict>,
    /// Per scenario, by name.
    pub scenarios: BTreeMap<String, ScenarioSummary>,
    /// Fault kinds and protocol paths over the whole suite.
    pub coverage: Coverage,
    /// Every failing seed with its first violation and the command that replays it.
    pub failing: Vec<FailingSeed>,
}

/// Counts over a set of runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Runs.
    pub runs: u64,
    /// Runs with at least one violation.
    pub failed: u64,
    /// Events processed.
    pub events: u64,
    /// Virtual time simulated, in milliseconds.
    pub simulated_ms: u64,
}

/// One checker's verdict over a set of runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckerVerdict {
    /// `pass` or `fail`.
    pub verdict: String,
    /// Violations found.
    pub violations: u64,
    /// Seeds with at least one violation, ascending.
    pub failing_seeds: Vec<u64>,
}

/// One scenario over its seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioSummary {
    /// The seeds run: `A..B` when contiguous, else a comma-separated list.
    pub seeds: String,
    /// `pass` or `fail`.
    pub verdict: String,
    /// Runs, failures, events, simulated time.
    pub totals: Totals,
    /// Verdict per checker.
    pub checkers: BTreeMap<String, CheckerVerdict>,
    /// Time from the liveness phase's start until the up core first agreed.
    pub convergence: Distribution,
    /// Instances evicted while their client was alive, by cause.
    pub false_evictions: FalseEvictions,
    /// Protection-mode episodes.
    pub protection: Protection,
    /// Replication counters.
    pub replication: Replication,
    /// Anti-entropy counters.
    pub anti_entropy: AntiEntropy,
    /// Notification lag of the pollers.
    pub staleness: StalenessSummary,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Protocol paths taken.
    pub paths: BTreeMap<String, u64>,
}

/// Protection-mode episodes over a scenario's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Protection {
    /// Episodes entered.
    pub entered: u64,
    /// Episodes exited.
    pub exited: u64,
    /// Time spent protected, summed over nodes and runs, in milliseconds.
    pub total_ms: u64,
    /// Mean episode length, in milliseconds.
    pub mean_ms: u64,
}

/// Replication counters summed over nodes and runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// Ops queued for peers.
    pub enqueued: u64,
    /// Batches sent.
    pub batches: u64,
    /// Ops sent again.
    pub retried: u64,
    /// Ops dropped by queue overflow.
    pub dropped_overflow: u64,
    /// Ops dropped past the retry horizon.
    pub dropped_expired: u64,
}

/// Anti-entropy counters summed over nodes and runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AntiEntropy {
    /// Exchanges started.
    pub rounds: u64,
    /// Versions changed by merging a peer's state (repairs and startup sync).
    pub repairs: u64,
    /// Peer copies not inserted because their lease had expired.
    pub skipped_expired: u64,
    /// Dead copies dropped.
    pub dead_copies_dropped: u64,
}

/// Notification lag over a scenario's runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StalenessSummary {
    /// (write, watching poller) pairs a later view followed.
    pub seen: u64,
    /// Pairs no later view followed.
    pub unseen: u64,
    /// The distribution over runs of each run's largest lag.
    pub max_lag_per_run: Distribution,
}

/// Fault kinds injected and protocol paths taken, and the ones never reached.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Protocol paths taken.
    pub paths: BTreeMap<String, u64>,
    /// `fault <kind>` / `path <name>` for every count that stayed zero.
    pub gaps: Vec<String>,
}

/// A seed a checker failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailingSeed {
    /// The scenario.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The first violation, rendered.
    pub violation: String,
    /// The command that replays it.
    pub replay: String,
}

impl Summary {
    /// Summarises `outcomes` (in any order) of a suite run at `commit`, judged by `checkers`.
    pub fn build(commit: &str, checkers: &[&str], outcomes: &[SeedOutcome]) -> Summary {
        let mut by_scenario: BTreeMap<&str, Vec<&SeedOutcome>> = BTreeMap::new();
        for o in outcomes {
            by_scenario.entry(&o.scenario).or_default().push(o);
        }
        let scenarios: BTreeMap<String, ScenarioSummary> = by_scenario
            .iter()
            .map(|(name, runs)| (name.to_string(), scenario(checkers, runs)))
            .collect();
        let all: Vec<&SeedOutcome> = outcomes.iter().collect();
        let mut coverage = Coverage::default();
        for s in scenarios.values() {
            add_counts(&mut coverage.faults, &s.faults);
            add_counts(&mut coverage.paths, &s.paths);
        }
        coverage.gaps = gaps(&coverage.faults, &coverage.paths);
        let mut failing: Vec<FailingSeed> = outcomes
            .iter()
            .filter_map(|o| {
                o.violations.first().map(|v| FailingSeed {
                    scenario: o.scenario.clone(),
                    seed: o.seed,
                    violation: v.to_string(),
                    replay: replay_command(&o.scenario, o.seed),
                })
            })
            .collect();
        failing.sort_by(|a, b| (&a.scenario, a.seed).cmp(&(&b.scenario, b.seed)));
        Summary {
            schema_version: SCHEMA_VERSION,
            commit: commit.to_string(),
            total: totals(&all),
            checkers: verdicts(checkers, &all),
            scenarios,
            coverage,
            failing,
        }
    }
}

fn scenario(checkers: &[&str], runs: &[&SeedOutcome]) -> ScenarioSummary {
    let mut stats = registry::core::NodeStats::default();
    let mut false_evictions = FalseEvictions::default();
    let mut episodes = Episodes::default();
    let mut staleness = StalenessSummary::default();
    let (mut faults, mut paths) = (BTreeMap::new(), BTreeMap::new());
    for o in runs {
        let m = &o.metrics;
        stats.add(&m.stats);
        false_evictions.add(&m.false_evictions);
        episodes.add(&m.protection);
        staleness.seen += m.staleness.seen;
        staleness.unseen += m.staleness.unseen;
        add_counts(&mut faults, &m.faults);
        add_counts(&mut paths, &m.paths);
    }
    staleness.max_lag_per_run = Distribution::of(runs.iter().map(|o| {
        let s = &o.metrics.staleness;
        (s.seen > 0).then(|| std::time::Duration::from_millis(s.max_lag_ms))
    }));
    let totals = totals(runs);
    ScenarioSummary {
        seeds: seed_list(runs.iter().map(|o| o.seed).collect()),
        verdict: verdict(totals.failed == 0),
        totals,
        checkers: verdicts(checkers, runs),
        convergence: Distribution::of(runs.iter().map(|o| o.metrics.convergence)),
        false_evictions,
        protection: Protection {
            entered: episodes.entered,
            exited: episodes.exited,
            total_ms: episodes.total_ms,
            mean_ms: episodes.mean_ms(),
        },
        replication: Replication {
            enqueued: stats.replication_enqueued,
            batches: stats.replication_batches,
            retried: stats.replication_retried,
            dropped_overflow: stats.replication_dropped_overflow,
            dropped_expired: stats.replication_dropped_expired,
        },
        anti_entropy: AntiEntropy {
            rounds: stats.anti_entropy_rounds,
            repairs: stats.anti_entropy_repairs,
            skipped_expired: stats.repairs_skipped_expired,
            dead_copies_dropped: stats.dead_copies_dropped,
        },
        staleness,
        faults,
        paths,
    }
}

fn totals(runs: &[&SeedOutcome]) -> Totals {
    Totals {
        runs: runs.len() as u64,
        failed: runs.iter().filter(|o| !o.violations.is_empty()).count() as u64,
        events: runs.iter().map(|o| o.events).sum(),
        simulated_ms: runs
            .iter()
            .map(|o| millis(o.simulated.saturating_since(crate::time::SimTime::ZERO)))
            .sum(),
    }
}

/// Every checker's verdict (listed even when it found nothing).
fn verdicts(checkers: &[&str], runs: &[&SeedOutcome]) -> BTreeMap<String, CheckerVerdict> {
    let mut out: BTreeMap<String, CheckerVerdict> = checkers
        .iter()
        .map(|name| (name.to_string(), CheckerVerdict::default()))
        .collect();
    for o in runs {
        for v in &o.violations {
            let entry = out.entry(v.checker.to_string()).or_default();
            entry.violations += 1;
            if entry.failing_seeds.last() != Some(&o.seed) {
                entry.failing_seeds.push(o.seed);
            }
        }
    }
    for entry in out.values_mut() {
        entry.failing_seeds.sort_unstable();
        entry.failing_seeds.dedup();
        entry.verdict = verdict(entry.violations == 0);
    }
    out
}

fn verdict(pass: bool) -> String {
    if pass { "pass" } else { "fail" }.to_string()
}

/// `A..B` for a contiguous run of seeds, else the seeds comma-separated.
fn seed_list(mut seeds: Vec<u64>) -> String {
    seeds.sort_unstable();
    seeds.dedup();
    match (seeds.first(), seeds.last()) {
        (Some(&first), Some(&last)) if last - first + 1 == seeds.len() as u64 => {
            format!("{first}..{}", last + 1)
        }
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_seeds_are_a_range() {
        assert_eq!(seed_list(vec![2, 0, 1]), "0..3");
        assert_eq!(seed_list(vec![5, 1]), "1,5");
        assert_eq!(seed_list(Vec::new()), "");
    }
}
