//! Sharded sweeps through the `sim` binary: two shards run as separate processes and merged
//! give the unsharded run's report byte for byte; bad shards and folders that do not merge
//! exit 2 saying why.

use std::path::Path;
use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(args)
        .output()
        .expect("the sim binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `sim run` over every scenario and `seeds` into `out`, as `shard` if given.
fn run(out: &Path, shard: Option<&str>, seeds: &str) -> Output {
    let out = out.display().to_string();
    let mut args = vec!["run", "--scenario", "all", "--seeds", seeds, "--jobs", "1"];
    args.extend(["--commit", "sweep-test", "--out", &out]);
    if let Some(shard) = shard {
        args.extend(["--shard", shard]);
    }
    let output = sim(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    output
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn two_shards_merged_are_the_unsharded_report_byte_for_byte() {
    let root = tempfile::tempdir().expect("a temp directory");
    let (whole, a, b, merged) = (
        root.path().join("whole"),
        root.path().join("shard-0"),
        root.path().join("shard-1"),
        root.path().join("merged"),
    );
    // The shards run at the same time, as separate processes, as on two machines.
    let shard = |dir: &Path, shard: &'static str| {
        let dir = dir.to_path_buf();
        std::thread::spawn(move || run(&dir, Some(shard), "0..2"))
    };
    let (first, second) = (shard(&a, "0/2"), shard(&b, "1/2"));
    run(&whole, None, "0..2");
    for handle in [first, second] {
        handle.join().expect("the shard ran");
    }
    let a_summary = text(&read(&a.join("summary.json")));
    assert!(a_summary.contains("\"seeds\": \"0..1\""), "{a_summary}");
    let out = merged.display().to_string();
    let (a_dir, b_dir) = (a.display().to_string(), b.display().to_string());
    // In reverse order: the merge orders shards by their index, not by the arguments.
    let output = sim(&["merge", &b_dir, &a_dir, "--out", &out]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("\ntotal "),
        "{}",
        text(&output.stdout)
    );
    for file in ["summary.json", "summary.md", "report.html"] {
        let (unsharded, merged) = (read(&whole.join(file)), read(&merged.join(file)));
        assert!(
            unsharded == merged,
            "{file} differs between the unsharded and the merged run"
        );
    }
    // Every scenario of the default suite, two seeds each; one seed each per shard.
    let scenarios = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"))
        .expect("the scenarios folder")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count();
    let summary = text(&read(&merged.join("summary.json")));
    let runs = format!("\"runs\": {},", 2 * scenarios);
    assert!(summary.contains(&runs), "{runs} in {summary}");
    assert!(summary.contains("\"seeds\": \"0..2\""), "{summary}");
    let timings = text(&read(&merged.join("timings.json")));
    let shard_runs = format!("\"shard\": \"1/2\", \"runs\": {scenarios}");
    assert!(timings.contains(&shard_runs), "{shard_runs} in {timings}");
    // A merged folder is written fresh: merging into it again is refused.
    let again = sim(&["merge", &a_dir, &b_dir, "--out", &out]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("is not empty"),
        "{}",
        text(&again.stderr)
    );
}

#[test]
fn shards_of_different_spaces_do_not_merge() {
    let root = tempfile::tempdir().expect("a temp directory");
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    let steady = |dir: &Path, shard: &str, seeds: &str| {
        let out = dir.display().to_string();
        let output = sim(&[
            "run",
            "--scenario",
            "steady",
            "--seeds",
            seeds,
            "--out",
            &out,
            "--shard",
            shard,
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    };
    steady(&a, "0/2", "0..2");
    steady(&b, "1/2", "0..4");
    let (a, b) = (a.display().to_string(), b.display().to_string());
    let out = root.path().join("merged").display().to_string();
    let output = sim(&["merge", &a, &b, "--out", &out]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not shards of one sweep"), "{stderr}");
    assert!(stderr.contains("the seed range (0..2 vs 0..4)"), "{stderr}");
}

#[test]
fn a_bad_shard_exits_2_saying_why() {
    for (shard, expected) in [
        ("3/2", "K must be below N"),
        ("0/0", "N must be at least 1"),
        ("1-2", "write K/N"),
    ] {
        let output = sim(&["run", "--scenario", "steady", "--shard", shard]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{shard}: {stderr}");
        assert!(stderr.contains(expected), "{shard}: {stderr}");
    }
    let output = sim(&[
        "run",
        "--scenario",
        "steady",
        "--seeds",
        "0..2",
        "--shard",
        "0/3",
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("fewer than 3 shards"), "{stderr}");
}
