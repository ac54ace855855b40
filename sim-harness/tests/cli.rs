//! The `sim` binary: capsule commands (exit codes and messages) and a closed stdout.

use std::path::Path;
use std::process::{Command, Output};

use sim_harness::capsule::{Capsule, ViolationRecord};
use sim_harness::plan::Plan;
use sim_harness::scenario::Scenario;
use sim_harness::shrink::Sizes;
use sim_harness::suite;
use sim_harness::time::SimTime;

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .output()
        .expect("the sim binary runs")
}

fn replay(path: &Path) -> (Option<i32>, String, String) {
    let out = sim(&["replay", "--capsule", &path.display().to_string()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unreadable_capsule_exits_2_naming_the_file() {
    let scratch = tempfile::tempdir().expect("a temp directory");
    let (code, _, stderr) = replay(&scratch.path().join("nowhere.json"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot read capsule"), "{stderr}");
    assert!(stderr.contains("nowhere.json"), "{stderr}");
}

#[test]
fn a_malformed_capsule_exits_2_naming_the_file_and_the_problem() {
    let scratch = tempfile::tempdir().expect("a temp directory");
    let path = scratch.path().join("broken.json");
    std::fs::write(&path, "{\"seed\": \"three\"}").expect("writable");
    let (code, _, stderr) = replay(&path);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("malformed capsule"), "{stderr}");
    assert!(stderr.contains("broken.json"), "{stderr}");
    assert!(stderr.contains("invalid type"), "{stderr}");
}

#[test]
fn a_capsule_that_no_longer_fails_replays_clean_with_exit_0() {
    let scratch = tempfile::tempdir().expect("a temp directory");
    let scenario = Scenario::load(suite::default_scenario_dir().join("steady.toml"))
        .expect("the steady scenario loads");
    let options = suite::draw(&scenario, 1);
    let plan = Plan::draw(1, &options);
    let sizes = Sizes::of(&options, &plan);
    let capsule = Capsule {
        scenario: scenario.name.clone(),
        seed: 1,
        options,
        plan,
        violation: ViolationRecord {
            checker: "convergence".to_string(),
            at: SimTime::from_secs(1),
            node: Some(0),
            instance: None,
            explanation: "recorded by a build that had a bug".to_string(),
        },
        trace_excerpt: Vec::new(),
        original: sizes,
        shrunk: sizes,
        shrink_attempts: 0,
        shrink_stopped_early: false,
        replay: String::new(),
    };
    let path = scratch.path().join("steady-1.json");
    capsule.write(&path).expect("writable");
    let (code, stdout, stderr) = replay(&path);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("no violations"), "{stdout}");
    assert!(stdout.contains("seed = 1"), "{stdout}");
}

#[test]
fn shrinking_a_passing_seed_exits_0_and_writes_nothing() {
    let out = sim(&[
        "shrink",
        "--scenario",
        "steady",
        "--seed",
        "1",
        "--name",
        "cli-test-never-written",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("nothing to shrink"), "{stdout}");
    assert!(!sim_harness::capsule::default_reports_dir()
        .join("cli-test-never-written")
        .exists());
}

/// `sim replay --trace | head`: the reader goes away early; the run must still finish with its
/// verdict instead of panicking (or complaining once per event) on the broken pipe.
#[test]
fn a_closed_stdout_ends_the_output_not_the_run() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["replay", "--scenario", "steady", "--seed", "1", "--trace"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sim binary runs");
    drop(child.stdout.take()); // The reader closes before the first line is written.
    let out = child.wait_with_output().expect("it finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
