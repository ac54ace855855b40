//! Faults as data: what can go wrong, and the schedule a seed draws for a run.
//!
//! A run's faults are an explicit list of `(time, Fault)` drawn up front from the scenario's
//! options, so a run can be printed, replayed and (later) shrunk fault by fault.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::net::Rule;
use crate::scenario::Options;
use crate::time::SimTime;

/// One fault (or the end of one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// The node crashes: all its state is lost and it answers nothing.
    Crash {
        /// Which node.
        node: usize,
    },
    /// The node starts again, empty.
    Restart {
        /// Which node.
        node: usize,
    },
    /// The node stops processing (a long GC pause, a stopped VM); its inputs wait.
    Pause {
        /// Which node.
        node: usize,
    },
    /// The paused node catches up on what waited.
    Resume {
        /// Which node.
        node: usize,
    },
    /// A partition rule starts to apply.
    Partition {
        /// The rule.
        rule: Rule,
    },
    /// Every partition rule is lifted.
    HealNetwork,
    /// The node's wall clock is set `offset_ns` away from true time.
    ClockOffset {
        /// Which node.
        node: usize,
        /// Offset in nanoseconds.
        offset_ns: i64,
    },
    /// The node's wall clock drifts by `ppm` parts per million.
    ClockDrift {
        /// Which node.
        node: usize,
        /// Drift in parts per million.
        ppm: i64,
    },
    /// The node's wall clock jumps by `by_ns` (backwards when negative).
    ClockJump {
        /// Which node.
        node: usize,
        /// The jump in nanoseconds.
        by_ns: i64,
    },
}

impl Fault {
    /// A short name of the fault's kind, for coverage counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash { .. } => "crash",
            Fault::Restart { .. } => "restart",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::Partition {
                rule: Rule::Split { .. },
            } => "partition-split",
            Fault::Partition {
                rule: Rule::OneWay { .. },
            } => "partition-one-way",
            Fault::Partition {
                rule: Rule::IsolateFromPeers(_),
            } => "partition-isolate-peers",
            Fault::Partition {
                rule: Rule::IsolateFromClients(_),
            } => "partition-isolate-clients",
            Fault::HealNetwork => "heal",
            Fault::ClockOffset { .. } => "clock-offset",
            Fault::ClockDrift { .. } => "clock-drift",
            Fault::ClockJump { .. } => "clock-jump",
        }
    }
}

/// The faults of one run's safety phase, in time order.
pub(crate) fn schedule(options: &Options, rng: &mut ChaCha8Rng) -> Vec<(SimTime, Fault)> {
    let nodes = options.cluster.nodes.max(1) as usize;
    let safety = Duration::from_secs(options.phases.safety_minutes * 60);
    let hours = safety.as_secs_f64() / 3600.0;
    let faults = &options.faults;
    let network = &options.network;
    let mut out: Vec<(SimTime, Fault)> = Vec::new();
    let at = |rng: &mut ChaCha8Rng| {
        SimTime::from_nanos(rng.gen_range(0..safety.as_nanos().max(1) as u64))
    };

    let skew_ns = (faults.clock_skew_ms as i64) * 1_000_000;
    let drift = faults.clock_drift_ppm as i64;
    for node in 0..nodes {
        if skew_ns > 0 {
            let offset_ns = rng.gen_range(-skew_ns..=skew_ns);
            out.push((SimTime::ZERO, Fault::ClockOffset { node, offset_ns }));
        }
        if drift > 0 {
            let ppm = rng.gen_range(-drift..=drift);
            out.push((SimTime::ZERO, Fault::ClockDrift { node, ppm }));
        }
    }
    for _ in 0..count(faults.crashes_per_hour as f64 * hours, rng) {
        let node = rng.gen_range(0..nodes);
        let down = Duration::from_secs(faults.down_seconds);
        let (crash, restart) = (Fault::Crash { node }, Fault::Restart { node });
        push_pair(&mut out, at(rng), down, crash, restart);
    }
    for _ in 0..count(faults.rolling_restarts_per_hour as f64 * hours, rng) {
        let mut start = at(rng);
        for node in 0..nodes {
            out.push((start, Fault::Crash { node }));
            start += Duration::from_secs(faults.down_seconds);
            out.push((start, Fault::Restart { node }));
            start += Duration::from_secs(30);
        }
    }
    for _ in 0..count(faults.total_restarts_per_hour as f64 * hours, rng) {
        let start = at(rng);
        let down = Duration::from_secs(faults.down_seconds);
        for node in 0..nodes {
            let (crash, restart) = (Fault::Crash { node }, Fault::Restart { node });
            push_pair(&mut out, start, down, crash, restart);
        }
    }
    for _ in 0..count(faults.pauses_per_hour as f64 * hours, rng) {
        let node = rng.gen_range(0..nodes);
        let paused = Duration::from_secs(faults.pause_seconds);
        let (pause, resume) = (Fault::Pause { node }, Fault::Resume { node });
        push_pair(&mut out, at(rng), paused, pause, resume);
    }
    for _ in 0..count(faults.clock_jumps_per_hour as f64 * hours, rng) {
        let node = rng.gen_range(0..nodes);
        let jump = faults.clock_jump_ms as i64 * 1_000_000;
        let by_ns = if rng.gen_bool(0.5) { jump } else { -jump };
        out.push((at(rng), Fault::ClockJump { node, by_ns }));
    }
    for _ in 0..count(network.partitions_per_hour as f64 * hours, rng) {
        if let Some(rule) = partition_rule(options, nodes, rng) {
            let start = at(rng);
            out.push((start, Fault::Partition { rule }));
            out.push((
                start + Duration::from_secs(network.partition_seconds),
                Fault::HealNetwork,
            ));
        }
    }
    // Stable: faults drawn for the same instant keep the order they were drawn in.
    out.sort_by_key(|(time, _)| *time);
    out
}

/// A whole number of events for an expected count: the integer part, plus one more with the
/// probability of the fraction.
/// A fault at `start` and the one that ends it `length` later (a crash and its restart).
fn push_pair(
    out: &mut Vec<(SimTime, Fault)>,
    start: SimTime,
    length: Duration,
    begin: Fault,
    end: Fault,
) {
    out.push((start, begin));
    out.push((start + length, end));
}

fn count(expected: f64, rng: &mut ChaCha8Rng) -> usize {
    let whole = expected.floor();
    let extra = rng.gen_bool((expected - whole).clamp(0.0, 1.0));
    whole as usize + usize::from(extra)
}

fn partition_rule(options: &Options, nodes: usize, rng: &mut ChaCha8Rng) -> Option<Rule> {
    let n = &options.network;
    let weights = [
        n.split_weight,
        n.one_way_weight,
        n.isolate_peers_weight,
        n.isolate_clients_weight,
    ];
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.gen_range(0..total);
    let kind = weights.iter().position(|w| {
        if pick < *w {
            true
        } else {
            pick -= w;
            false
        }
    })?;
    let mut order: Vec<usize> = (0..nodes).collect();
    order.shuffle(rng);
    let cut = if nodes > 1 {
        rng.gen_range(1..nodes)
    } else {
        1
    };
    let a: BTreeSet<usize> = order[..cut.min(nodes)].iter().copied().collect();
    let b: BTreeSet<usize> = order[cut.min(nodes)..].iter().copied().collect();
    Some(match kind {
        0 => Rule::Split { a, b },
        1 => Rule::OneWay { from: a, to: b },
        2 => Rule::IsolateFromPeers(order[0]),
        _ => Rule::IsolateFromClients(order[0]),
    })
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::scenario::Scenario;

    fn options(extra: &str) -> Options {
        let text = format!(
            "description = \"t\"\n[cluster]\nnodes = [4, 4]\n[phases]\nsafety_minutes = [60, 60]\nliveness_minutes = [1, 1]\n{extra}\n[workload]\ninstances = [1, 1]\n"
        );
        let scenario = Scenario::parse("t.toml", &text).expect("valid");
        scenario.draw(&mut ChaCha8Rng::seed_from_u64(0))
    }

    #[test]
    fn crashes_come_with_restarts_inside_the_safety_phase() {
        let options = options("[faults]\ncrashes_per_hour = [6, 6]\ndown_seconds = [20, 20]");
        let schedule = schedule(&options, &mut ChaCha8Rng::seed_from_u64(1));
        let crashes = schedule
            .iter()
            .filter(|(_, f)| matches!(f, Fault::Crash { .. }))
            .count();
        let restarts = schedule
            .iter()
            .filter(|(_, f)| matches!(f, Fault::Restart { .. }))
            .count();
        assert_eq!((crashes, restarts), (6, 6));
        assert!(
            schedule.windows(2).all(|w| w[0].0 <= w[1].0),
            "sorted by time"
        );
        assert!(schedule
            .iter()
            .all(|(at, _)| *at < SimTime::from_secs(3600 + 20)));
    }

    #[test]
    fn partitions_heal_and_follow_the_weights() {
        let options = options("[network]\npartitions_per_hour = [10, 10]\npartition_seconds = [30, 30]\nsplit_weight = [0, 0]\none_way_weight = [1, 1]\nisolate_peers_weight = [0, 0]\nisolate_clients_weight = [0, 0]");
        let schedule = schedule(&options, &mut ChaCha8Rng::seed_from_u64(2));
        let kinds: Vec<&str> = schedule.iter().map(|(_, f)| f.kind()).collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "partition-one-way").count(),
            10
        );
        assert_eq!(kinds.iter().filter(|k| **k == "heal").count(), 10);
    }

    #[test]
    fn clock_skew_gives_every_node_an_offset_within_range() {
        let options = options("[faults]\nclock_skew_ms = [500, 500]");
        let schedule = schedule(&options, &mut ChaCha8Rng::seed_from_u64(3));
        let offsets: Vec<i64> = schedule
            .iter()
            .filter_map(|(_, f)| match f {
                Fault::ClockOffset { offset_ns, .. } => Some(*offset_ns),
                _ => None,
            })
            .collect();
        assert_eq!(offsets.len(), 4);
        assert!(offsets.iter().all(|o| o.abs() <= 500_000_000));
    }

    #[test]
    fn the_same_rng_draws_the_same_schedule() {
        let options = options("[faults]\ncrashes_per_hour = [3, 3]\npauses_per_hour = [3, 3]");
        let a = schedule(&options, &mut ChaCha8Rng::seed_from_u64(4));
        let b = schedule(&options, &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(a, b);
    }
}
