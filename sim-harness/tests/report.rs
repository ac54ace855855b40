//! The suite report: deterministic bytes, a pinned JSON schema, and the committed baseline of
//! the default suite (`reports/baseline.md`).

use std::path::Path;

use sim_harness::check;
use sim_harness::report::{self, markdown, summary_json, Summary};
use sim_harness::suite::{self, SeedOutcome};

/// Runs every scenario over `seeds` on `jobs` threads.
fn run_suite(seeds: std::ops::Range<u64>, jobs: usize) -> Vec<SeedOutcome> {
    let scenarios = suite::load(&suite::default_scenario_dir(), "all").expect("scenarios load");
    let work: Vec<_> = scenarios
        .iter()
        .flat_map(|s| seeds.clone().map(move |seed| (s.clone(), seed)))
        .collect();
    suite::run_all(&work, jobs, check::all, &|_| {})
}

fn summary(commit: &str, outcomes: &[SeedOutcome]) -> Summary {
    Summary::build(commit, &report::checker_names(), outcomes)
}

#[test]
fn the_same_seeds_give_byte_identical_summaries() {
    // Different thread counts finish runs in different orders; the bytes must not care.
    let a = summary("test", &run_suite(0..2, 2));
    let b = summary("test", &run_suite(0..2, 1));
    let json = summary_json(&a).expect("encodes");
    assert_eq!(json, summary_json(&b).expect("encodes"));
    assert_eq!(markdown(&a), markdown(&b));
    assert!(
        !json.contains("wall"),
        "no wall-clock figure in summary.json"
    );
    insta::assert_snapshot!("small_suite_summary_json", json);
}

/// Where the baseline lives, from this crate's manifest.
fn baseline_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/baseline.md")
}

/// The default suite (`sim run`: every scenario, seeds 0..20) renders `reports/baseline.md`.
///
/// The baseline names the commit `baseline` (a file cannot hold the hash of the commit that
/// adds it). Regenerate it after an intended change of behaviour with
/// `INSTA_UPDATE=always cargo test -p sim-harness --test report default_suite` or
/// `cargo run --profile sim -p sim-harness --bin sim -- run --commit baseline --name baseline &&
/// cp reports/baseline/summary.md reports/baseline.md`. CI (`CI` set) never writes it.
#[test]
fn the_default_suite_matches_the_baseline() {
    let actual = markdown(&summary("baseline", &run_suite(0..20, 2)));
    let path = baseline_path();
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return;
    }
    let update = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "always");
    if update && std::env::var_os("CI").is_none() {
        std::fs::write(&path, &actual).expect("reports/ is writable");
        return;
    }
    let first = actual
        .lines()
        .zip(expected.lines())
        .position(|(a, e)| a != e)
        .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
    panic!(
        "the default suite's summary drifted from {} at line {}:\n  baseline: {:?}\n  now:      {:?}\n\
         If the change is intended, regenerate it: INSTA_UPDATE=always cargo test -p sim-harness --test report default_suite",
        path.display(),
        first + 1,
        expected.lines().nth(first).unwrap_or("<end of file>"),
        actual.lines().nth(first).unwrap_or("<end of file>"),
    );
}
