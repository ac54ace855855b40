//! Merging in-process: the merged outcomes are the unsharded ones, and folders that are not
//! all the shards of one sweep are refused with what is wrong. (`tests/sweep.rs` runs the
//! binary's shards as separate processes and compares the report files byte for byte.)

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::*;
use crate::check;
use crate::report::{self, Summary};
use crate::suite;

const SEEDS: Range<u64> = 0..4;

fn scenario_dir() -> PathBuf {
    suite::default_scenario_dir()
}

fn run(seeds: Range<u64>) -> Vec<SeedOutcome> {
    let scenarios = suite::load(&scenario_dir(), "steady").expect("steady loads");
    let work: Vec<_> = seeds.map(|seed| (scenarios[0].clone(), seed)).collect();
    suite::run_all(&work, 2, check::all, &|_| {})
}

/// Writes shard `index`/`count` of steady over [`SEEDS`] into `root/<index>` as `sim run
/// --shard` does (without the report files, which the merge does not read).
fn shard(root: &Path, index: u64, count: u64) -> PathBuf {
    let dir = root.join(index.to_string());
    std::fs::create_dir_all(&dir).expect("writable");
    let shard = Shard { index, count };
    let seeds = shard.seeds(&SEEDS).expect("enough seeds");
    let scenarios = suite::load(&scenario_dir(), "steady").expect("steady loads");
    write_runs(&dir, &run(seeds.clone())).expect("writable");
    Manifest {
        format: FORMAT,
        build: "test".to_string(),
        commit: "abc".to_string(),
        space: Space::of("steady", &scenarios, &SEEDS),
        shard,
        shard_seeds: format!("{}..{}", seeds.start, seeds.end),
        runs: seeds.end - seeds.start,
        wall_seconds: 1.5,
    }
    .write(&dir)
    .expect("writable");
    dir
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Manifest)) {
    let mut manifest = Manifest::read(dir).expect("readable");
    edit(&mut manifest);
    manifest.write(dir).expect("writable");
}

fn merge_error(dirs: &[PathBuf]) -> String {
    merge(dirs, &scenario_dir())
        .expect_err("does not merge")
        .to_string()
}

#[test]
fn merged_shards_are_the_unsharded_run() {
    let root = tempfile::tempdir().expect("a temp directory");
    let dirs = [
        shard(root.path(), 1, 3),
        shard(root.path(), 0, 3),
        shard(root.path(), 2, 3),
    ];
    let merged = merge(&dirs, &scenario_dir()).expect("merges");
    let whole = run(SEEDS);
    let seeds = |o: &[SeedOutcome]| o.iter().map(|o| o.seed).collect::<Vec<_>>();
    assert_eq!(seeds(&merged.outcomes), seeds(&whole));
    for (a, b) in merged.outcomes.iter().zip(&whole) {
        assert_eq!(a.options, b.options);
        assert_eq!(a.metrics, b.metrics);
        assert_eq!(a.violations, b.violations);
    }
    let names = report::checker_names();
    assert_eq!(
        Summary::build("abc", &names, &merged.outcomes),
        Summary::build("abc", &names, &whole)
    );
    assert_eq!(merged.commit, "abc");
    let shards: Vec<String> = merged
        .shards
        .iter()
        .map(|(_, m)| m.shard.to_string())
        .collect();
    assert_eq!(shards, ["0/3", "1/3", "2/3"]);
    let timings = merged_timings_json(&merged.shards);
    assert!(timings.contains("\"wall_seconds\": 4.500"), "{timings}");
}

#[test]
fn a_missing_or_repeated_shard_is_named() {
    let root = tempfile::tempdir().expect("a temp directory");
    let (a, b) = (shard(root.path(), 0, 3), shard(root.path(), 2, 3));
    let err = merge_error(&[a.clone(), b.clone()]);
    assert!(err.contains("shard(s) 1/3 missing"), "{err}");
    let err = merge_error(&[a.clone(), b, a]);
    assert!(err.contains("are both shard 0/3"), "{err}");
}

#[test]
fn shards_of_other_builds_commits_or_spaces_are_refused() {
    let root = tempfile::tempdir().expect("a temp directory");
    let (a, b) = (shard(root.path(), 0, 2), shard(root.path(), 1, 2));
    type Edit = fn(&mut Manifest);
    let cases: [(&str, Edit); 4] = [
        ("the sim build", |m| m.build = "other".to_string()),
        ("the commit", |m| m.commit = "def".to_string()),
        ("the seed range", |m| m.space.seeds = "0..5".to_string()),
        ("the scenarios", |m| {
            m.space.scenario_fingerprint = "x".to_string()
        }),
    ];
    for (what, edit) in cases {
        let original = Manifest::read(&b).expect("readable");
        edit_manifest(&b, edit);
        let err = merge_error(&[a.clone(), b.clone()]);
        assert!(err.contains("are not shards of one sweep"), "{err}");
        assert!(err.contains(what), "{what}: {err}");
        original.write(&b).expect("writable");
    }
    merge(&[a, b], &scenario_dir()).expect("merges again");
}

#[test]
fn other_scenario_files_than_the_shards_ran_are_refused() {
    let root = tempfile::tempdir().expect("a temp directory");
    let dirs = [shard(root.path(), 0, 2), shard(root.path(), 1, 2)];
    let scenarios = root.path().join("scenarios");
    std::fs::create_dir_all(&scenarios).expect("writable");
    let steady = std::fs::read_to_string(scenario_dir().join("steady.toml")).expect("readable");
    let path = scenarios.join("steady.toml");
    std::fs::write(&path, format!("# a comment changes nothing\n{steady}")).expect("writable");
    merge(&dirs, &scenarios).expect("the same values merge");
    // Change one value: `nodes = [3, 5]` becomes `[3, 4]`.
    let edited = steady.replacen("nodes = [3, 5]", "nodes = [3, 4]", 1);
    assert_ne!(edited, steady, "steady.toml still has `nodes = [3, 5]`");
    std::fs::write(&path, edited).expect("writable");
    let err = merge(&dirs, &scenarios)
        .expect_err("another value")
        .to_string();
    assert!(err.contains("not the ones the shards ran"), "{err}");
}

#[test]
fn an_interrupted_or_edited_runs_file_is_refused() {
    let root = tempfile::tempdir().expect("a temp directory");
    let (a, b) = (shard(root.path(), 0, 2), shard(root.path(), 1, 2));
    let runs = b.join(RUNS_FILE);
    let text = std::fs::read_to_string(&runs).expect("readable");
    let first_line = text.lines().next().expect("a run").to_string();
    std::fs::write(&runs, format!("{first_line}\n")).expect("writable");
    let err = merge_error(&[a.clone(), b.clone()]);
    assert!(
        err.contains("line 2: the file ends after 1 run(s)"),
        "{err}"
    );
    std::fs::write(&runs, format!("{text}{first_line}\n")).expect("writable");
    let err = merge_error(&[a.clone(), b.clone()]);
    assert!(err.contains("more runs than shard 1/2 has"), "{err}");
    let swapped: Vec<&str> = text.lines().rev().collect();
    std::fs::write(&runs, swapped.join("\n") + "\n").expect("writable");
    let err = merge_error(&[a.clone(), b.clone()]);
    assert!(
        err.contains("line 1: steady seed 3, where shard 1/2 ran steady seed 2"),
        "{err}"
    );
    std::fs::write(&runs, "{\"scenario\": 1}\n").expect("writable");
    let err = merge_error(&[a, b]);
    assert!(err.contains("line 1: invalid type"), "{err}");
}

#[test]
fn a_folder_without_a_manifest_is_not_a_shard() {
    let root = tempfile::tempdir().expect("a temp directory");
    let a = shard(root.path(), 0, 2);
    let err = merge_error(&[a, root.path().to_path_buf()]);
    assert!(
        err.contains("is not a finished shard: it has no shard.json"),
        "{err}"
    );
}

/// Writes a capsule of steady's `seed` (made up: the merge only moves capsules) to `path`.
fn write_capsule(path: &Path, seed: u64) {
    use crate::capsule::{self, Capsule, ViolationRecord};
    let scenario = &suite::load(&scenario_dir(), "steady").expect("steady loads")[0];
    let options = suite::draw(scenario, seed);
    let plan = crate::plan::Plan::draw(seed, &options);
    let sizes = crate::shrink::Sizes::of(&options, &plan);
    Capsule {
        scenario: "steady".to_string(),
        seed,
        options,
        plan,
        violation: ViolationRecord {
            checker: "oracle".to_string(),
            at: crate::time::SimTime::from_secs(1),
            node: None,
            instance: None,
            explanation: "made up".to_string(),
        },
        trace_excerpt: Vec::new(),
        original: sizes,
        shrunk: sizes,
        shrink_attempts: 0,
        shrink_stopped_early: false,
        replay: capsule::replay_command(path),
    }
    .write(path)
    .expect("writable");
}

#[test]
fn capsules_of_every_shard_are_gathered_and_a_clash_is_refused() {
    let root = tempfile::tempdir().expect("a temp directory");
    let (a, b) = (shard(root.path(), 0, 2), shard(root.path(), 1, 2));
    write_capsule(&a.join(FAILURES_DIR).join("steady-0.json"), 0);
    write_capsule(&b.join(FAILURES_DIR).join("steady-3.json"), 3);
    std::fs::write(b.join(FAILURES_DIR).join("notes.txt"), "not a capsule").expect("writable");
    let merged = merge(&[b.clone(), a.clone()], &scenario_dir()).expect("merges");
    let out = root.path().join("merged");
    check_output(&out).expect("a new folder");
    let copies = copy_capsules(&merged.capsules, &out).expect("copies");
    let names: Vec<String> = copies
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["steady-0.json", "steady-3.json"]);
    let copy = crate::capsule::Capsule::load(&out.join(FAILURES_DIR).join("steady-3.json"))
        .expect("a capsule");
    assert_eq!(copy.seed, 3);
    assert!(
        copy.replay.ends_with("merged/failures/steady-3.json"),
        "the copy replays itself: {}",
        copy.replay
    );
    let err = check_output(&out).expect_err("not empty").to_string();
    assert!(err.contains("exists and is not empty"), "{err}");
    write_capsule(&b.join(FAILURES_DIR).join("steady-0.json"), 0);
    let err = merge_error(&[a, b]);
    assert!(err.contains("are capsules of the same run"), "{err}");
}
