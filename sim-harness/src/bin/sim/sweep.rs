//! `sim run --shard K/N`'s extra files and `sim merge` (the library side is
//! `sim_harness::sweep`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sim_harness::suite;
use sim_harness::sweep::{self, Manifest, Shard, Space};

use crate::{write_report, write_timings, EXIT_VIOLATION};

/// The default name of a merged report: `reports/merged/`.
pub(crate) const MERGED_NAME: &str = "merged";

/// What a shard ran, for its `shard.json`.
pub(crate) struct ShardRun<'a> {
    pub(crate) shard: Shard,
    pub(crate) seeds: &'a Range<u64>,
    pub(crate) space: Space,
    pub(crate) commit: &'a str,
    pub(crate) wall_seconds: f64,
}

/// Writes `runs.jsonl`, then `shard.json` (last: a folder with it is a finished shard).
pub(crate) fn write_shard(
    dir: &Path,
    run: &ShardRun<'_>,
    outcomes: &[suite::SeedOutcome],
) -> Result<(), String> {
    sweep::write_runs(dir, outcomes).map_err(|e| e.to_string())?;
    let manifest = Manifest {
        format: sweep::FORMAT,
        build: build(),
        commit: run.commit.to_string(),
        space: run.space.clone(),
        shard: run.shard,
        shard_seeds: format!("{}..{}", run.seeds.start, run.seeds.end),
        runs: outcomes.len() as u64,
        wall_seconds: run.wall_seconds,
    };
    manifest.write(dir).map_err(|e| e.to_string())?;
    eprintln!(
        "sim: shard {} written to {} (merge all {} with `sim merge DIR...`)",
        run.shard,
        dir.display(),
        run.shard.count
    );
    Ok(())
}

/// This executable's fingerprint: shards of one sweep must be runs of one binary (the same
/// commit built by another toolchain or with other flags is not guaranteed to run the same
/// events, and a commit named `unknown` says nothing).
fn build() -> String {
    std::env::current_exe().and_then(std::fs::read).map_or_else(
        |err| format!("unknown ({err})"),
        |bytes| sweep::bytes_fingerprint(&bytes),
    )
}

/// `sim merge`: the shards in `dirs` into the report folder `out`.
pub(crate) fn merge(scenarios: &Path, dirs: &[PathBuf], out: &Path) -> Result<ExitCode, String> {
    sweep::check_output(out).map_err(|e| e.to_string())?;
    let merged = sweep::merge(dirs, scenarios).map_err(|e| e.to_string())?;
    eprintln!(
        "sim: merging {} shard(s): {} runs ({} scenario(s), seeds {}), commit {}",
        merged.shards.len(),
        merged.outcomes.len(),
        merged.space.scenarios.len(),
        merged.space.seeds,
        merged.commit
    );
    write_report(out, &merged.commit, &merged.outcomes)?;
    let wall: f64 = merged.shards.iter().map(|(_, m)| m.wall_seconds).sum();
    out!(
        "wall time {wall:.1} s, the {} shards' added",
        merged.shards.len()
    );
    write_timings(out, &sweep::merged_timings_json(&merged.shards))?;
    let copies = sweep::copy_capsules(&merged.capsules, out).map_err(|e| e.to_string())?;
    let failed: Vec<&suite::SeedOutcome> = merged
        .outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .collect();
    let Some(first) = failed.first() else {
        return Ok(ExitCode::SUCCESS);
    };
    out!(
        "\n{} failing seed(s); replay the first with:\n  {}",
        failed.len(),
        suite::replay_command(&first.scenario, first.seed)
    );
    for copy in &copies {
        out!("capsule {}", copy.display());
    }
    Ok(ExitCode::from(EXIT_VIOLATION))
}
