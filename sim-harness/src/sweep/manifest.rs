//! `shard.json`: what a shard ran (the space, its slice, the build and commit), so a merge can
//! refuse folders that are not shards of one sweep.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use registry::core::Fnv1a;
use serde::{Deserialize, Serialize};

use super::error::SweepError;
use super::shard::Shard;
use crate::scenario::Scenario;

/// The file a shard's folder holds its manifest in. It is written last, after the report,
/// the runs and the capsules: a folder with it is a finished shard.
pub const MANIFEST_FILE: &str = "shard.json";

/// The version of the shard folder's format (`shard.json` and `runs.jsonl`); bump it when a
/// field changes meaning or goes, so a merge refuses folders it would misread.
pub const FORMAT: u32 = 1;

/// A (scenario, seed) space: what `--scenario` and `--seeds` chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    /// The `--scenario` argument (a name, or `all`).
    pub scenario: String,
    /// The scenarios it named, in run order.
    pub scenarios: Vec<String>,
    /// A fingerprint of the scenarios as parsed ([`fingerprint`]).
    pub scenario_fingerprint: String,
    /// The seed range, `A..B`.
    pub seeds: String,
}

impl Space {
    /// The space of `scenarios` (loaded for the argument `scenario`) over `seeds`.
    pub fn of(scenario: &str, scenarios: &[Scenario], seeds: &Range<u64>) -> Space {
        Space {
            scenario: scenario.to_string(),
            scenarios: scenarios.iter().map(|s| s.name.clone()).collect(),
            scenario_fingerprint: fingerprint(scenarios),
            seeds: format!("{}..{}", seeds.start, seeds.end),
        }
    }
}

/// A shard's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The `sim` executable that ran it ([`crate::sweep`]'s callers fingerprint the file):
    /// shards of one sweep must come from one build, or their runs are not one experiment.
    pub build: String,
    /// The commit the report names (`--commit`, else `git rev-parse HEAD`, else `unknown`).
    pub commit: String,
    /// The whole space the sweep covers.
    pub space: Space,
    /// Which slice of it this shard is.
    pub shard: Shard,
    /// This shard's seeds, `A..B`, of every scenario.
    pub shard_seeds: String,
    /// Runs this shard made (scenarios times its seeds).
    pub runs: u64,
    /// Wall seconds the runs took (the only figure that differs between two runs of a shard).
    pub wall_seconds: f64,
}

impl Manifest {
    /// Writes `dir/shard.json`.
    pub fn write(&self, dir: &Path) -> Result<(), SweepError> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|err| SweepError::Malformed {
            path: path.clone(),
            detail: err.to_string(),
        })? + "\n";
        std::fs::write(&path, text).map_err(|source| SweepError::Write { path, source })
    }

    /// Reads `dir/shard.json`.
    pub fn read(dir: &Path) -> Result<Manifest, SweepError> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(SweepError::NotAShard {
                    dir: dir.to_path_buf(),
                })
            }
            Err(source) => return Err(SweepError::Read { path, source }),
        };
        // The format first, so a folder of another format says so rather than failing on
        // whichever field changed.
        let format = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|value| value.get("format").and_then(serde_json::Value::as_u64));
        if format.is_some_and(|f| f != u64::from(FORMAT)) {
            return Err(SweepError::Malformed {
                path,
                detail: format!(
                    "format {} (this sim reads format {FORMAT}; merge with the sim that ran it)",
                    format.unwrap_or_default()
                ),
            });
        }
        serde_json::from_str(&text).map_err(|err| SweepError::Malformed {
            path,
            detail: err.to_string(),
        })
    }
}

/// FNV-1a over the scenarios as parsed (their `Debug` rendering, exact for every number), so
/// a comment or reordering in a file does not count as a change, and any value does.
pub fn fingerprint(scenarios: &[Scenario]) -> String {
    let mut hasher = Fnv1a::new();
    for scenario in scenarios {
        // Writing into a hasher cannot fail.
        let _ = write!(hasher, "{scenario:?}");
        hasher.write(&[0xff]);
    }
    format!("fnv1a64:{:016x}", hasher.finish())
}

/// FNV-1a over `bytes` (an executable, for [`Manifest::build`]).
pub fn bytes_fingerprint(bytes: &[u8]) -> String {
    let mut hasher = Fnv1a::new();
    hasher.write(bytes);
    format!("fnv1a64:{:016x}", hasher.finish())
}
