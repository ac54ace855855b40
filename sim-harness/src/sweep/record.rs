//! One run as a shard keeps it for the merge: a line of `runs.jsonl`.
//!
//! The merged report must be byte-identical to an unsharded run's, and its distributions
//! (convergence, staleness) are over runs, so a shard cannot hand over its summary: it hands
//! over each run's [`SeedOutcome`] without the options (the merge draws them again from the
//! scenario files, which it checks are the ones the shards ran) and with integers only, so
//! that reading a record back gives exactly the outcome that was written.

use std::collections::BTreeMap;

use registry::core::NodeStats;
use serde::{Deserialize, Serialize};

use crate::capsule::ViolationRecord;
use crate::check::Violation;
use crate::report::SeedMetrics;
use crate::scenario::Options;
use crate::suite::SeedOutcome;
use crate::time::SimTime;

/// A line of `runs.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunRecord {
    pub(crate) scenario: String,
    pub(crate) seed: u64,
    violations: Vec<ViolationRecord>,
    events: u64,
    simulated: SimTime,
    convergence_ns: Option<u64>,
    stats: Stats,
    false_evictions: crate::report::FalseEvictions,
    protection: crate::report::Episodes,
    staleness: crate::report::Staleness,
    faults: BTreeMap<String, u64>,
    paths: BTreeMap<String, u64>,
}

impl RunRecord {
    /// What a shard writes of `outcome`.
    pub(crate) fn of(outcome: &SeedOutcome) -> RunRecord {
        let m = &outcome.metrics;
        RunRecord {
            scenario: outcome.scenario.clone(),
            seed: outcome.seed,
            violations: outcome
                .violations
                .iter()
                .map(ViolationRecord::from)
                .collect(),
            events: outcome.events,
            simulated: outcome.simulated,
            convergence_ns: m.convergence.map(|d| d.as_nanos() as u64),
            stats: Stats::from(m.stats),
            false_evictions: m.false_evictions,
            protection: m.protection,
            staleness: m.staleness,
            faults: m.faults.clone(),
            paths: m.paths.clone(),
        }
    }

    /// The outcome again, with `options` (drawn from the scenario by the seed) and the
    /// checkers' names `checkers`, to which each violation's name must belong.
    pub(crate) fn into_outcome(
        self,
        options: Options,
        checkers: &[&'static str],
    ) -> Result<SeedOutcome, String> {
        let violations = self
            .violations
            .into_iter()
            .map(|v| {
                let checker = checkers
                    .iter()
                    .find(|name| **name == v.checker)
                    .ok_or_else(|| format!("no checker is named `{}`", v.checker))?;
                Ok(Violation {
                    checker,
                    at: v.at,
                    node: v.node,
                    instance: v.instance,
                    explanation: v.explanation,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(SeedOutcome {
            scenario: self.scenario,
            seed: self.seed,
            options,
            violations,
            events: self.events,
            simulated: self.simulated,
            metrics: SeedMetrics {
                convergence: self.convergence_ns.map(std::time::Duration::from_nanos),
                stats: NodeStats::from(self.stats),
                false_evictions: self.false_evictions,
                protection: self.protection,
                staleness: self.staleness,
                faults: self.faults,
                paths: self.paths,
            },
        })
    }
}

/// [`NodeStats`] with serde (the node's type has none; the core stays free of it). Both
/// conversions name every field without `..`, so a counter added to the node does not compile
/// here until it is carried too, rather than being lost in the merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stats {
    replication_enqueued: u64,
    replication_batches: u64,
    replication_retried: u64,
    replication_dropped_overflow: u64,
    replication_dropped_expired: u64,
    renew_not_found_resent: u64,
    conflicts_adopted: u64,
    absorbed_by_tombstone: u64,
    anti_entropy_rounds: u64,
    anti_entropy_repairs: u64,
    repairs_skipped_expired: u64,
    dead_copies_dropped: u64,
    reads_refused_not_ready: u64,
    eviction_rounds_capped: u64,
    writes_refused_after_stall: u64,
    future_versions_refused: u64,
    peer_versions_refused: u64,
    messages_to_strangers_dropped: u64,
    writes_refused_over_limits: u64,
    unheld_renews: u64,
    writes_answered_unacknowledged: u64,
}

/// Expands to a struct literal of `$to` naming each field of `$from`: the pattern and the
/// literal both list every field, so the compiler checks the two types stay alike.
macro_rules! same_fields {
    ($from:ident => $to:ident, $value:expr, $($field:ident),* $(,)?) => {{
        let $from { $($field),* } = $value;
        $to { $($field),* }
    }};
}

macro_rules! stats_fields {
    ($from:ident => $to:ident, $value:expr) => {
        same_fields!(
            $from => $to,
            $value,
            replication_enqueued,
            replication_batches,
            replication_retried,
            replication_dropped_overflow,
            replication_dropped_expired,
            renew_not_found_resent,
            conflicts_adopted,
            absorbed_by_tombstone,
            anti_entropy_rounds,
            anti_entropy_repairs,
            repairs_skipped_expired,
            dead_copies_dropped,
            reads_refused_not_ready,
            eviction_rounds_capped,
            writes_refused_after_stall,
            future_versions_refused,
            peer_versions_refused,
            messages_to_strangers_dropped,
            writes_refused_over_limits,
            unheld_renews,
            writes_answered_unacknowledged,
        )
    };
}

impl From<NodeStats> for Stats {
    fn from(stats: NodeStats) -> Stats {
        stats_fields!(NodeStats => Stats, stats)
    }
}

impl From<Stats> for NodeStats {
    fn from(stats: Stats) -> NodeStats {
        stats_fields!(Stats => NodeStats, stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use crate::suite;

    /// Runs a seed that fails (a broken-looking run is not needed: any run with a violation
    /// appended exercises the violation path).
    fn outcome(seed: u64) -> SeedOutcome {
        let scenarios =
            suite::load(&suite::default_scenario_dir(), "steady").expect("steady loads");
        let work = vec![(scenarios[0].clone(), seed)];
        let mut outcomes = suite::run_all(&work, 1, check::all, &|_| {});
        let mut outcome = outcomes.remove(0);
        outcome.violations.push(Violation {
            checker: "oracle",
            at: SimTime::from_millis(1234),
            node: Some(2),
            instance: None,
            explanation: "made up for the round trip".to_string(),
        });
        outcome
    }

    #[test]
    fn a_record_read_back_is_the_outcome_written() {
        let original = outcome(3);
        assert!(original.metrics.stats.anti_entropy_rounds > 0, "a real run");
        let line = serde_json::to_string(&RunRecord::of(&original)).expect("encodes");
        assert!(!line.contains('\n'), "one line per run");
        let record: RunRecord = serde_json::from_str(&line).expect("decodes");
        let names = crate::report::checker_names();
        let back = record
            .into_outcome(original.options.clone(), &names)
            .expect("known checkers");
        assert_eq!(back.scenario, original.scenario);
        assert_eq!(back.seed, original.seed);
        assert_eq!(back.violations, original.violations);
        assert_eq!(back.events, original.events);
        assert_eq!(back.simulated, original.simulated);
        assert_eq!(back.metrics, original.metrics);
    }

    #[test]
    fn an_unknown_checker_is_refused() {
        let mut record = RunRecord::of(&outcome(1));
        record.violations[0].checker = "retired".to_string();
        let options = suite::draw(
            &suite::load(&suite::default_scenario_dir(), "steady").expect("loads")[0],
            1,
        );
        let err = record
            .into_outcome(options, &crate::report::checker_names())
            .expect_err("no such checker");
        assert!(err.contains("`retired`"), "{err}");
    }
}
