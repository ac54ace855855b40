use std::collections::BTreeSet;

use super::*;
use crate::check::{CheckInput, Violation};
use crate::rng::Streams;
use crate::scenario::Scenario;
use crate::trace::TraceEvent;

/// A swarm-like mix of every fault kind on four nodes, small enough to rerun quickly.
const MANY_FAULTS: &str = r#"
description = "many faults of every kind"
[cluster]
nodes = [4, 4]
zones = [1, 2]
[phases]
safety_minutes = [30, 30]
liveness_minutes = [1, 1]
[network]
loss = [0.0, 0.02]
partitions_per_hour = [4, 8]
partition_seconds = [10, 60]
[faults]
crashes_per_hour = [6, 10]
down_seconds = [10, 60]
pauses_per_hour = [6, 10]
pause_seconds = [5, 20]
clock_skew_ms = [0, 500]
clock_jumps_per_hour = [2, 4]
clock_jump_ms = [0, 2000]
[workload]
apps = [2, 2]
instances = [8, 12]
pollers = [1, 2]
status_sets_per_hour = [20, 20]
"#;

/// A planted bug: "fails" whenever node 1 crashed and some node was paused later.
#[derive(Debug)]
pub(crate) struct CrashThenPause;

impl Checker for CrashThenPause {
    fn name(&self) -> &'static str {
        "crash-then-pause"
    }

    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation> {
        let entries = input.trace.entries();
        let crash = entries
            .iter()
            .position(|(_, e)| matches!(e, TraceEvent::Fault(Fault::Crash { node: 1 })));
        let pause = crash.and_then(|c| {
            entries[c..]
                .iter()
                .find(|(_, e)| matches!(e, TraceEvent::Fault(Fault::Pause { .. })))
        });
        match pause {
            Some((at, TraceEvent::Fault(Fault::Pause { node }))) => vec![Violation {
                checker: self.name(),
                at: *at,
                node: Some(*node),
                instance: None,
                explanation: "node 1 crashed and a node paused after it".to_string(),
            }],
            _ => Vec::new(),
        }
    }
}

pub(crate) fn planted() -> Vec<Box<dyn Checker>> {
    vec![Box::new(CrashThenPause)]
}

/// The first seed whose drawn run has 20 or more faults and trips the planted checker.
pub(crate) fn planted_failure() -> (u64, Options, Plan) {
    let scenario = Scenario::parse("many.toml", MANY_FAULTS).expect("valid scenario");
    for seed in 0..50 {
        let options = scenario.draw(&mut Streams::new(seed).options());
        let plan = Plan::draw(seed, &options);
        if plan.faults.len() >= 20
            && !Run::new(seed, &options)
                .plan(&plan)
                .checkers(&planted())
                .go()
                .violations
                .is_empty()
        {
            return (seed, options, plan);
        }
    }
    panic!("no seed in 0..50 plants the failure; widen the scenario");
}

#[test]
fn a_planted_failure_shrinks_to_its_two_faults() {
    let (seed, options, plan) = planted_failure();
    let shrunk = shrink(
        seed,
        &options,
        &plan,
        "crash-then-pause",
        &planted(),
        Limits::default(),
        &never,
    );
    eprintln!(
        "seed {seed}: {} -> {} in {} attempts",
        shrunk.original, shrunk.shrunk, shrunk.attempts
    );
    assert!(
        !shrunk.stopped_early,
        "done within {} attempts",
        shrunk.attempts
    );
    // The known minimum is Crash{1} then a Pause: without either the planted checker passes,
    // so no smaller schedule fails. Their Restart and Resume are not needed and the single-
    // fault pass removes them, hence at most 2 (and, as the checker still fails, exactly 2).
    assert!(shrunk.plan.faults.len() <= 2, "{:?}", shrunk.plan.faults);
    assert!(!plan.actions.is_empty() && shrunk.plan.actions.is_empty());
    assert!(matches!(shrunk.plan.faults[0].1, Fault::Crash { node: 1 }));
    assert!(matches!(shrunk.plan.faults[1].1, Fault::Pause { .. }));
    let rerun = Run::new(seed, &shrunk.options)
        .plan(&shrunk.plan)
        .checkers(&planted())
        .go();
    assert_eq!(rerun.violations.len(), 1, "the planted checker still fails");
    assert!(shrunk.original.faults >= 20);
    assert_eq!(shrunk.shrunk, Sizes::of(&shrunk.options, &shrunk.plan));
    assert!(shrunk.shrunk.instances < shrunk.original.instances);
    assert!(shrunk.shrunk.safety_minutes < shrunk.original.safety_minutes);
}

#[test]
fn shrinking_is_deterministic_and_respects_the_attempt_cap() {
    let (seed, options, plan) = planted_failure();
    let limits = Limits { max_attempts: 12 };
    let a = shrink(
        seed,
        &options,
        &plan,
        "crash-then-pause",
        &planted(),
        limits,
        &never,
    );
    let b = shrink(
        seed,
        &options,
        &plan,
        "crash-then-pause",
        &planted(),
        limits,
        &never,
    );
    assert!(a.stopped_early);
    assert_eq!(a.attempts, 12);
    assert_eq!((&a.options, &a.plan), (&b.options, &b.plan));
    assert!(a.shrunk.faults < a.original.faults, "halving made progress");
}

#[test]
fn only_the_same_checker_counts() {
    let (seed, options, plan) = planted_failure();
    // Under a name no checker reports, no candidate fails: nothing shrinks.
    let shrunk = shrink(
        seed,
        &options,
        &plan,
        "convergence",
        &planted(),
        Limits::default(),
        &never,
    );
    assert_eq!(shrunk.shrunk, shrunk.original);
    assert_eq!(shrunk.plan, plan);
}

#[test]
fn starts_pair_with_their_first_free_end() {
    let at = SimTime::from_secs;
    let faults = vec![
        (at(1), Fault::Crash { node: 0 }),
        (at(2), Fault::Pause { node: 1 }),
        (at(3), Fault::Crash { node: 0 }),
        (at(4), Fault::Restart { node: 0 }),
        (at(5), Fault::Resume { node: 2 }),
        (at(6), Fault::Resume { node: 1 }),
        (at(7), Fault::Restart { node: 0 }),
        (at(8), Fault::HealNetwork),
    ];
    assert_eq!(
        pair_ends(&faults),
        vec![vec![0, 3], vec![1, 5], vec![2, 6], vec![4], vec![7]]
    );
}

#[test]
fn removed_nodes_leave_faults_and_rules() {
    let set = |v: &[usize]| v.iter().copied().collect::<BTreeSet<usize>>();
    assert_eq!(restrict(&Fault::Crash { node: 2 }, 2), None);
    assert_eq!(
        restrict(&Fault::Pause { node: 1 }, 2),
        Some(Fault::Pause { node: 1 })
    );
    let split = Fault::Partition {
        rule: Rule::Split {
            a: set(&[0, 3]),
            b: set(&[1, 2]),
        },
    };
    assert_eq!(
        restrict(&split, 2),
        Some(Fault::Partition {
            rule: Rule::Split {
                a: set(&[0]),
                b: set(&[1]),
            }
        })
    );
    assert_eq!(restrict(&split, 1), None, "one side is gone");
    assert_eq!(restrict(&Fault::HealNetwork, 1), Some(Fault::HealNetwork));
}

#[test]
fn smaller_values_ascend_and_respect_the_floor() {
    assert_eq!(smaller(8, 1), vec![1, 4, 6, 7]);
    assert_eq!(smaller(2, 1), vec![1]);
    assert_eq!(smaller(1, 1), Vec::<u64>::new());
    assert_eq!(smaller(3, 0), vec![0, 1, 2]);
}
