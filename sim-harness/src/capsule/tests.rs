use std::path::PathBuf;

use super::*;
use crate::fault::Fault;
use crate::shrink::tests::{planted, planted_failure};
use crate::shrink::{never, Limits};
use crate::trace::{Phase, TraceEvent};

/// The planted failure captured (and shrunk) into a capsule for `path`.
fn capture_planted(path: &std::path::Path) -> Capsule {
    let (seed, options, _) = planted_failure();
    capture(
        "many",
        seed,
        &options,
        &planted(),
        Limits::default(),
        &never,
        path,
    )
    .expect("the planted run fails")
}

#[test]
fn a_written_capsule_replays_its_first_violation() {
    let seed = planted_failure().0;
    let scratch = tempfile::tempdir().expect("a temp directory");
    let dir = failures_dir(scratch.path(), "latest");
    let path = capsule_path(&dir, "many", seed);
    let capsule = capture_planted(&path);
    capsule.write(&path).expect("the capsule is written");
    assert!(path.ends_with(format!("latest/failures/many-{seed}.json")));

    let loaded = Capsule::load(&path).expect("the capsule reads back");
    assert_eq!(loaded, capsule);
    assert_eq!(loaded.replay, replay_command(&path));
    assert!(loaded.plan.faults.len() <= 2, "{:?}", loaded.plan.faults);
    assert!(loaded.shrunk.faults < loaded.original.faults);

    let replayed = replay(&loaded, &planted());
    let first = replayed.first.expect("the replay fails again");
    assert!(replayed.matches);
    assert_eq!(first.checker, loaded.violation.checker);
    assert_eq!(first.at, loaded.violation.at);
    assert_eq!(first.node, loaded.violation.node);
    assert_eq!(first.instance, loaded.violation.instance);
    assert_eq!(first.to_string(), loaded.violation.to_string());
}

/// Probabilities read back bit for bit: a capsule of `sim run --scenario mass-client-death
/// --seeds 0..20` (a scratch build whose eviction ignores protection) drew cancel_probability
/// 0.12153181691232409 and read back 0.12153181691232408 before serde_json parsed floats
/// exactly (`float_roundtrip`), so its replay, and `sim merge`'s copy, ran other options.
#[test]
fn a_capsule_reads_back_the_exact_floats_it_wrote() {
    let scratch = tempfile::tempdir().expect("a temp directory");
    let path = capsule_path(scratch.path(), "many", planted_failure().0);
    let mut capsule = capture_planted(&path);
    for (i, p) in [0.12153181691232409, 0.46217652229823725, 0.1, 1.0 / 3.0]
        .into_iter()
        .enumerate()
    {
        capsule.options.workload.cancel_probability = p;
        capsule.write(&path).expect("the capsule is written");
        let loaded = Capsule::load(&path).expect("the capsule reads back");
        assert_eq!(
            loaded.options.workload.cancel_probability.to_bits(),
            p.to_bits(),
            "case {i}: {p}"
        );
    }
}

#[test]
fn the_excerpt_surrounds_the_violation() {
    let scratch = tempfile::tempdir().expect("a temp directory");
    let path = capsule_path(scratch.path(), "many", planted_failure().0);
    let capsule = capture_planted(&path);
    let at = capsule.violation.at.to_string();
    let pivot = capsule
        .trace_excerpt
        .iter()
        .position(|line| line.starts_with(&at))
        .expect("the excerpt holds the violation's moment");
    assert!(capsule.trace_excerpt[pivot].contains("Pause"));
    assert!(pivot <= EXCERPT_BEFORE);
    assert!(capsule.trace_excerpt.len() - pivot <= EXCERPT_AFTER + 1);
}

#[test]
fn the_excerpt_keeps_forty_before_and_ten_after() {
    let mut trace = Trace::new();
    for second in 0..100 {
        trace.record(SimTime::from_secs(second), TraceEvent::Phase(Phase::Safety));
    }
    let lines = excerpt(&trace, SimTime::from_millis(59_500));
    assert_eq!(lines.len(), 51);
    assert!(lines[0].starts_with("20.000000000s"), "{}", lines[0]);
    assert!(lines[40].starts_with("60.000000000s"), "{}", lines[40]);
    assert!(lines[50].starts_with("70.000000000s"));
    assert_eq!(excerpt(&trace, SimTime::from_secs(3)).len(), 14);
    assert_eq!(excerpt(&trace, SimTime::MAX).len(), 40);
}

#[test]
fn a_passing_run_gives_no_capsule() {
    let (seed, options, _) = planted_failure();
    let path = PathBuf::from("unused.json");
    assert!(capture(
        "many",
        seed,
        &options,
        &[],
        Limits::default(),
        &never,
        &path
    )
    .is_none());
}

#[test]
fn unreadable_malformed_and_invalid_capsules_name_the_file_and_the_problem() {
    let scratch = tempfile::tempdir().expect("a temp directory");
    let dir = scratch.path();
    let missing = dir.join("missing.json");
    let err = Capsule::load(&missing).expect_err("no such file");
    assert!(matches!(err, CapsuleError::Read { .. }));
    assert!(err.to_string().contains("missing.json"), "{err}");

    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "{\"seed\": 3,").expect("writable");
    let err = Capsule::load(&garbage).expect_err("not JSON");
    assert!(matches!(err, CapsuleError::Malformed { .. }));
    assert!(err.to_string().contains("garbage.json"), "{err}");
    assert!(err.to_string().contains("line 1"), "{err}");

    let mut capsule = capture_planted(&dir.join("good.json"));
    capsule
        .plan
        .faults
        .push((SimTime::MAX, Fault::Crash { node: 99 }));
    let invalid = dir.join("invalid.json");
    capsule.write(&invalid).expect("writable");
    let err = Capsule::load(&invalid).expect_err("node 99 does not exist");
    assert!(matches!(err, CapsuleError::Invalid { .. }));
    assert!(err.to_string().contains("invalid.json"), "{err}");
    assert!(err.to_string().contains("outside the"), "{err}");

    let text = std::fs::read_to_string(&invalid).expect("readable");
    let unknown = dir.join("unknown.json");
    std::fs::write(&unknown, text.replacen("\"seed\"", "\"sead\"", 1)).expect("writable");
    let err = Capsule::load(&unknown).expect_err("a misspelled field");
    assert!(err.to_string().contains("sead"), "{err}");
}

#[test]
fn once_the_budget_is_spent_failures_are_captured_unshrunk() {
    let (seed, options, plan) = planted_failure();
    let result = crate::run::Run::new(seed, &options)
        .plan(&plan)
        .checkers(&planted())
        .go();
    let outcome = crate::suite::SeedOutcome {
        scenario: "many".to_string(),
        seed,
        options,
        violations: result.violations,
        events: result.events,
        simulated: result.deadline,
        metrics: Default::default(),
    };
    let passing = crate::suite::SeedOutcome {
        violations: Vec::new(),
        seed: seed + 1,
        ..outcome.clone()
    };
    let scratch = tempfile::tempdir().expect("a temp directory");
    let spent = || true;
    let captured = capture_all(
        &[passing, outcome],
        &planted(),
        Limits::default(),
        &spent,
        scratch.path(),
    );
    assert_eq!(captured.len(), 1, "only the failing seed");
    let capsule = match &captured[0].capsule {
        Ok(Some(capsule)) => capsule,
        other => panic!("a capsule is written: {other:?}"),
    };
    assert!(capsule.shrink_stopped_early);
    assert_eq!(capsule.shrink_attempts, 0);
    assert_eq!(capsule.shrunk, capsule.original);
    assert_eq!(
        Capsule::load(&captured[0].path).ok().as_ref(),
        Some(capsule)
    );
    assert!(captured[0].path.ends_with(format!("many-{seed}.json")));
}
