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
            stats: Stats(m.stats),
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
                stats: self.stats.0,
                false_evictions: self.false_evictions,
                protection: self.protection,
                staleness: self.staleness,
                faults: self.faults,
                paths: self.paths,
            },
        })
    }
}

/// [`NodeStats`] with serde (the node's type has none; the core stays free of it): a JSON
/// object of every counter in `NodeStats::NAMES` order. Reading one refuses a missing or an
/// unknown counter, so records of another build are not merged as if they were alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stats(NodeStats);

impl Serialize for Stats {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let counters = self.0.counters();
        let mut map = serializer.serialize_map(Some(counters.len()))?;
        for (name, value) in counters {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Stats {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Stats, D::Error> {
        use serde::de::Error;
        let read = std::collections::BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut stats = NodeStats::default();
        for (name, value) in &read {
            *stats
                .counter_mut(name)
                .ok_or_else(|| D::Error::custom(format!("unknown counter `{name}`")))? = *value;
        }
        if let Some(missing) = NodeStats::NAMES
            .iter()
            .find(|name| !read.contains_key(**name))
        {
            return Err(D::Error::custom(format!("missing counter `{missing}`")));
        }
        Ok(Stats(stats))
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
    fn a_missing_or_unknown_counter_is_refused() {
        let line = serde_json::to_string(&RunRecord::of(&outcome(1))).expect("encodes");
        let missing = line.replacen("\"unheld_renews\":", "\"retired_counter\":", 1);
        let err = serde_json::from_str::<RunRecord>(&missing).expect_err("an unknown counter");
        assert!(
            err.to_string()
                .contains("unknown counter `retired_counter`"),
            "{err}"
        );
        let stats = NodeStats::default().counters();
        let without_last = stats[..stats.len() - 1]
            .iter()
            .map(|(name, value)| format!("\"{name}\":{value}"))
            .collect::<Vec<_>>()
            .join(",");
        let err = serde_json::from_str::<Stats>(&format!("{{{without_last}}}"))
            .expect_err("a missing counter");
        let last = stats[stats.len() - 1].0;
        assert!(
            err.to_string()
                .contains(&format!("missing counter `{last}`")),
            "{err}"
        );
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
