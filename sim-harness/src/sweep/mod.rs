//! Sweeps beyond one machine: `sim run --shard K/N` runs one disjoint slice of a (scenario,
//! seed) space ([`Shard`]) and leaves, besides its ordinary report, every run's outcome
//! (`runs.jsonl`, [`RUNS_FILE`]) and what it ran (`shard.json`, [`Manifest`]); [`merge`]
//! puts the shards of one sweep back together into the outcomes an unsharded run would have
//! had, so the merged report is the unsharded one byte for byte.
//!
//! Whatever runs the shards (a CI matrix, a Kubernetes Indexed Job, GNU parallel over ssh)
//! only has to start `sim run --shard K/N` once per K and bring the folders together.

mod error;
mod manifest;
mod merge;
mod record;
mod shard;
#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use error::SweepError;
pub use manifest::{bytes_fingerprint, fingerprint, Manifest, Space, FORMAT, MANIFEST_FILE};
pub use merge::{check_output, copy_capsules, merge, Merged};
pub use shard::Shard;

use crate::suite::SeedOutcome;

/// The file a shard keeps its runs in, one JSON object per line, in run order.
pub const RUNS_FILE: &str = "runs.jsonl";

/// The folder of a report that holds its failure capsules (as [`crate::capsule::failures_dir`]).
pub const FAILURES_DIR: &str = "failures";

/// Writes `dir/runs.jsonl`: one line per outcome, in the order given (its scenario, seed,
/// violations, events, simulated time and report metrics; integers only).
pub fn write_runs(dir: &Path, outcomes: &[SeedOutcome]) -> Result<PathBuf, SweepError> {
    let path = dir.join(RUNS_FILE);
    let failed = |source| SweepError::Write {
        path: path.clone(),
        source,
    };
    let file = std::fs::File::create(&path).map_err(failed)?;
    let mut out = std::io::BufWriter::new(file);
    for outcome in outcomes {
        let line = serde_json::to_string(&record::RunRecord::of(outcome)).map_err(|err| {
            SweepError::Malformed {
                path: path.clone(),
                detail: err.to_string(),
            }
        })?;
        writeln!(out, "{line}").map_err(failed)?;
    }
    out.flush().map_err(failed)?;
    Ok(path)
}

/// `timings.json` of a merged report: the shards' runs and wall times, each and added up
/// (the sum is what the sweep cost in shard-seconds; the shards may have run at once).
pub fn merged_timings_json(shards: &[(PathBuf, Manifest)]) -> String {
    let runs: u64 = shards.iter().map(|(_, m)| m.runs).sum();
    let wall: f64 = shards.iter().map(|(_, m)| m.wall_seconds).sum();
    let per_second = runs as f64 / wall.max(1e-9);
    let each: Vec<String> = shards
        .iter()
        .map(|(_, m)| {
            format!(
                "    {{ \"shard\": \"{}\", \"runs\": {}, \"wall_seconds\": {:.3} }}",
                m.shard, m.runs, m.wall_seconds
            )
        })
        .collect();
    format!(
        "{{\n  \"runs\": {runs},\n  \"wall_seconds\": {wall:.3},\n  \"runs_per_second\": {per_second:.3},\n  \"shards\": [\n{}\n  ]\n}}\n",
        each.join(",\n")
    )
}
