//! Fault and path coverage ("sometimes" assertions): how often each fault kind was injected and
//! each protocol path was taken, so that a suite that never reached one says so.

use std::collections::BTreeMap;

use registry::core::{NodeEvent, NodeStats};

use crate::trace::{Trace, TraceEvent};

/// Every fault kind [`crate::fault::Fault::kind`] names.
pub(super) const FAULT_KINDS: [&str; 12] = [
    "crash",
    "restart",
    "pause",
    "resume",
    "partition-split",
    "partition-one-way",
    "partition-isolate-peers",
    "partition-isolate-clients",
    "heal",
    "clock-offset",
    "clock-drift",
    "clock-jump",
];

/// Every protocol path the report counts, in report order.
pub(super) const PATHS: [&str; 10] = [
    "renew_not_found_resent",
    "conflicts_adopted",
    "anti_entropy_repairs",
    "absorbed_by_tombstone",
    "protection_entered",
    "protection_exited",
    "eviction_rounds_capped",
    "reads_refused_not_ready",
    "replication_dropped_overflow",
    "dead_copies_dropped",
];

/// How often each fault kind was injected in a trace (every kind listed, zeros included).
pub(super) fn fault_counts(trace: &Trace) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = FAULT_KINDS.iter().map(|k| (k.to_string(), 0)).collect();
    for (_, event) in trace.entries() {
        if let TraceEvent::Fault(fault) = event {
            *out.entry(fault.kind().to_string()).or_default() += 1;
        }
    }
    out
}

/// How often each protocol path was taken: node counters (summed over the run) plus the
/// protection changes in the trace. Every path is listed, zeros included.
pub(super) fn path_counts(stats: &NodeStats, trace: &Trace) -> BTreeMap<String, u64> {
    let (mut entered, mut exited) = (0, 0);
    for (_, event) in trace.entries() {
        if let TraceEvent::Node {
            event: NodeEvent::ProtectionChanged(status),
            ..
        } = event
        {
            if status.protected {
                entered += 1;
            } else {
                exited += 1;
            }
        }
    }
    let counts = [
        stats.renew_not_found_resent,
        stats.conflicts_adopted,
        stats.anti_entropy_repairs,
        stats.absorbed_by_tombstone,
        entered,
        exited,
        stats.eviction_rounds_capped,
        stats.reads_refused_not_ready,
        stats.replication_dropped_overflow,
        stats.dead_copies_dropped,
    ];
    PATHS
        .iter()
        .zip(counts)
        .map(|(path, count)| (path.to_string(), count))
        .collect()
}

/// Adds every count of `more` into `total`.
pub(super) fn add_counts(total: &mut BTreeMap<String, u64>, more: &BTreeMap<String, u64>) {
    for (name, count) in more {
        *total.entry(name.clone()).or_default() += count;
    }
}

/// The names whose count is zero, as `fault <kind>` / `path <name>` lines.
pub(super) fn gaps(faults: &BTreeMap<String, u64>, paths: &BTreeMap<String, u64>) -> Vec<String> {
    let never = |kind: &str, counts: &BTreeMap<String, u64>| {
        counts
            .iter()
            .filter(|(_, count)| **count == 0)
            .map(|(name, _)| format!("{kind} {name}"))
            .collect::<Vec<_>>()
    };
    let mut out = never("fault", faults);
    out.extend(never("path", paths));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::fault::Fault;
    use crate::net::Rule;

    #[test]
    fn every_fault_kind_is_listed() {
        let a: BTreeSet<usize> = [0].into();
        let b: BTreeSet<usize> = [1].into();
        let all = [
            Fault::Crash { node: 0 },
            Fault::Restart { node: 0 },
            Fault::Pause { node: 0 },
            Fault::Resume { node: 0 },
            Fault::Partition {
                rule: Rule::Split {
                    a: a.clone(),
                    b: b.clone(),
                },
            },
            Fault::Partition {
                rule: Rule::OneWay { from: a, to: b },
            },
            Fault::Partition {
                rule: Rule::IsolateFromPeers(0),
            },
            Fault::Partition {
                rule: Rule::IsolateFromClients(0),
            },
            Fault::HealNetwork,
            Fault::ClockOffset {
                node: 0,
                offset_ns: 1,
            },
            Fault::ClockDrift { node: 0, ppm: 1 },
            Fault::ClockJump { node: 0, by_ns: 1 },
        ];
        let kinds: BTreeSet<&str> = all.iter().map(Fault::kind).collect();
        let listed: BTreeSet<&str> = FAULT_KINDS.into_iter().collect();
        assert_eq!(kinds, listed);
    }

    #[test]
    fn zero_counts_are_gaps() {
        let mut trace = Trace::new();
        trace.record(
            crate::time::SimTime::ZERO,
            TraceEvent::Fault(Fault::Crash { node: 0 }),
        );
        let stats = NodeStats {
            anti_entropy_repairs: 3,
            ..NodeStats::default()
        };
        let faults = fault_counts(&trace);
        let paths = path_counts(&stats, &trace);
        assert_eq!(faults["crash"], 1);
        assert_eq!(paths["anti_entropy_repairs"], 3);
        let gaps = gaps(&faults, &paths);
        assert!(gaps.contains(&"fault restart".to_string()), "{gaps:?}");
        assert!(!gaps.contains(&"fault crash".to_string()));
        assert!(!gaps.contains(&"path anti_entropy_repairs".to_string()));
        assert_eq!(gaps.len(), FAULT_KINDS.len() - 1 + PATHS.len() - 1);
    }
}
