//! `sim merge`: shard folders back into the outcomes of the whole space, in the order an
//! unsharded run would have them, after checking that the folders are all the shards of one
//! sweep.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};

use super::error::SweepError;
use super::manifest::{Manifest, Space};
use super::record::RunRecord;
use super::{FAILURES_DIR, RUNS_FILE};
use crate::capsule::Capsule;
use crate::scenario::Scenario;
use crate::suite::{self, SeedOutcome};

/// Shards merged.
#[derive(Debug)]
pub struct Merged {
    /// The build all shards ran.
    pub build: String,
    /// The commit all shards name.
    pub commit: String,
    /// The space they cover together.
    pub space: Space,
    /// Each shard's folder and manifest, by shard index.
    pub shards: Vec<(PathBuf, Manifest)>,
    /// Every run of the space, scenario by scenario (in run order), seeds ascending: the
    /// order of an unsharded `sim run`.
    pub outcomes: Vec<SeedOutcome>,
    /// Every shard's failure capsules, by file name.
    pub capsules: Vec<PathBuf>,
}

/// Merges the shard folders `dirs`; `scenario_dir` must hold the scenario files they ran (the
/// merge draws each run's options from them again, see [`RunRecord`]).
pub fn merge(dirs: &[PathBuf], scenario_dir: &Path) -> Result<Merged, SweepError> {
    let mut shards = dirs
        .iter()
        .map(|dir| Ok((dir.clone(), Manifest::read(dir)?)))
        .collect::<Result<Vec<_>, SweepError>>()?;
    check_alike(&shards)?;
    check_complete(&mut shards)?;
    let (_, first) = &shards[0];
    let (build, commit, space) = (
        first.build.clone(),
        first.commit.clone(),
        first.space.clone(),
    );
    let scenarios = scenarios_run(scenario_dir, &space)?;
    let names = crate::report::checker_names();
    // One list per scenario; shards come in index order, so each list is seeds ascending.
    let mut by_scenario: Vec<Vec<SeedOutcome>> = vec![Vec::new(); scenarios.len()];
    for (dir, manifest) in &shards {
        read_runs(dir, manifest, &scenarios, &names, &mut by_scenario)?;
    }
    let capsules = capsules(&shards)?;
    Ok(Merged {
        build,
        commit,
        space,
        outcomes: by_scenario.into_iter().flatten().collect(),
        shards,
        capsules,
    })
}

/// Every folder ran the same build, commit and space, cut into the same number of shards.
fn check_alike(shards: &[(PathBuf, Manifest)]) -> Result<(), SweepError> {
    let Some((a, first)) = shards.first() else {
        return Err(SweepError::Missing {
            missing: "all".to_string(),
            count: 0,
        });
    };
    type Field = (&'static str, fn(&Manifest) -> String);
    let fields: [Field; 5] = [
        ("the sim build (the executable's fingerprint)", |m| {
            m.build.clone()
        }),
        ("the commit", |m| m.commit.clone()),
        ("the scenarios", |m| {
            let s = &m.space;
            format!(
                "{} = [{}], {}",
                s.scenario,
                s.scenarios.join(", "),
                s.scenario_fingerprint
            )
        }),
        ("the seed range", |m| m.space.seeds.clone()),
        ("the number of shards", |m| m.shard.count.to_string()),
    ];
    for (b, other) in &shards[1..] {
        for (what, value) in fields {
            let (a_value, b_value) = (value(first), value(other));
            if a_value != b_value {
                return Err(SweepError::Mismatch {
                    what,
                    a: a.clone(),
                    a_value,
                    b: b.clone(),
                    b_value,
                });
            }
        }
    }
    Ok(())
}

/// Each shard `0..N` is there exactly once; sorts `shards` by index.
fn check_complete(shards: &mut [(PathBuf, Manifest)]) -> Result<(), SweepError> {
    shards.sort_by_key(|(_, m)| m.shard.index);
    for pair in shards.windows(2) {
        if pair[0].1.shard == pair[1].1.shard {
            return Err(SweepError::Duplicate {
                shard: pair[0].1.shard.to_string(),
                a: pair[0].0.clone(),
                b: pair[1].0.clone(),
            });
        }
    }
    let count = shards[0].1.shard.count;
    let have: Vec<u64> = shards.iter().map(|(_, m)| m.shard.index).collect();
    let missing: Vec<String> = (0..count)
        .filter(|k| have.binary_search(k).is_err())
        .map(|k| format!("{k}/{count}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(SweepError::Missing {
            missing: missing.join(", "),
            count,
        })
    }
}

/// The scenarios of `space`, loaded from `dir`, if they are the ones the shards ran.
fn scenarios_run(dir: &Path, space: &Space) -> Result<Vec<Scenario>, SweepError> {
    let problem = |detail: String| SweepError::Scenarios {
        dir: dir.to_path_buf(),
        detail,
    };
    let scenarios = suite::load(dir, &space.scenario).map_err(|err| problem(err.to_string()))?;
    let seeds = suite::parse_seeds(&space.seeds).map_err(&problem)?;
    let here = Space::of(&space.scenario, &scenarios, &seeds);
    if here.scenarios != space.scenarios {
        return Err(problem(format!(
            "`{}` names [{}] here, [{}] in the shards",
            space.scenario,
            here.scenarios.join(", "),
            space.scenarios.join(", ")
        )));
    }
    if here.scenario_fingerprint != space.scenario_fingerprint {
        return Err(problem(format!(
            "same names, other values: fingerprint {} here, {} in the shards",
            here.scenario_fingerprint, space.scenario_fingerprint
        )));
    }
    Ok(scenarios)
}

/// Reads `dir/runs.jsonl`, which must hold exactly the runs of the shard `manifest` names, in
/// run order, into `by_scenario`.
fn read_runs(
    dir: &Path,
    manifest: &Manifest,
    scenarios: &[Scenario],
    checkers: &[&'static str],
    by_scenario: &mut [Vec<SeedOutcome>],
) -> Result<(), SweepError> {
    let path = dir.join(RUNS_FILE);
    let malformed = |detail: String| SweepError::Malformed {
        path: dir.join(super::manifest::MANIFEST_FILE),
        detail,
    };
    let all = suite::parse_seeds(&manifest.space.seeds).map_err(malformed)?;
    let block = manifest.shard.seeds(&all).map_err(malformed)?;
    let block_text = format!("{}..{}", block.start, block.end);
    if manifest.shard_seeds != block_text {
        return Err(malformed(format!(
            "shard {} of seeds {} is {block_text}, not {}",
            manifest.shard, manifest.space.seeds, manifest.shard_seeds
        )));
    }
    let expected: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|s| block.clone().map(move |seed| (s, seed)))
        .collect();
    let file = std::fs::File::open(&path).map_err(|source| SweepError::Read {
        path: path.clone(),
        source,
    })?;
    let mut lines = std::io::BufReader::new(file).lines();
    let at = |line: usize, detail: String| SweepError::Runs {
        path: path.clone(),
        line,
        detail,
    };
    for (number, &(s, seed)) in (1..).zip(&expected) {
        let scenario = &scenarios[s];
        let text = match lines.next() {
            Some(Ok(text)) => text,
            Some(Err(source)) => return Err(SweepError::Read { path, source }),
            None => {
                return Err(at(
                    number,
                    format!(
                        "the file ends after {} run(s); shard {} has {} (was the run interrupted?)",
                        number - 1,
                        manifest.shard,
                        expected.len()
                    ),
                ))
            }
        };
        let record: RunRecord =
            serde_json::from_str(&text).map_err(|err| at(number, err.to_string()))?;
        if record.scenario != scenario.name || record.seed != seed {
            return Err(at(
                number,
                format!(
                    "{} seed {}, where shard {} ran {} seed {seed}",
                    record.scenario, record.seed, manifest.shard, scenario.name
                ),
            ));
        }
        let outcome = record
            .into_outcome(suite::draw(scenario, seed), checkers)
            .map_err(|detail| at(number, detail))?;
        by_scenario[s].push(outcome);
    }
    if lines.next().is_some() {
        return Err(at(
            expected.len() + 1,
            format!(
                "more runs than shard {} has ({})",
                manifest.shard,
                expected.len()
            ),
        ));
    }
    Ok(())
}

/// Every `*.json` in each shard's `failures/`, by file name (one run's capsule has one name,
/// and shards are disjoint, so a name found twice means the folders overlap).
fn capsules(shards: &[(PathBuf, Manifest)]) -> Result<Vec<PathBuf>, SweepError> {
    let mut found: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    for (dir, _) in shards {
        let failures = dir.join(FAILURES_DIR);
        let entries = match std::fs::read_dir(&failures) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(SweepError::Read {
                    path: failures,
                    source,
                })
            }
        };
        for entry in entries {
            let path = entry
                .map_err(|source| SweepError::Read {
                    path: failures.clone(),
                    source,
                })?
                .path();
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            let Some(name) = path.file_name().map(ToOwned::to_owned) else {
                continue;
            };
            if let Some(earlier) = found.insert(name, path.clone()) {
                return Err(SweepError::CapsuleClash {
                    a: earlier,
                    b: path,
                });
            }
        }
    }
    Ok(found.into_values().collect())
}

/// Refuses an output folder that exists with anything in it: a merge writes a fresh folder,
/// so that no capsule or file of an earlier report is taken for part of this one.
pub fn check_output(dir: &Path) -> Result<(), SweepError> {
    let refuse = |reason: &str| SweepError::Output {
        dir: dir.to_path_buf(),
        reason: reason.to_string(),
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(refuse(
                "it exists and is not empty (remove it, or name another with --out)",
            )),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(refuse(&err.to_string())),
    }
}

/// Copies `capsules` into `dir/failures/`; returns the copies. A capsule names the command
/// that replays it by its path, so each copy names its own (otherwise the same bytes).
pub fn copy_capsules(capsules: &[PathBuf], dir: &Path) -> Result<Vec<PathBuf>, SweepError> {
    let failures = dir.join(FAILURES_DIR);
    capsules
        .iter()
        .filter_map(|from| from.file_name().map(|name| (from, failures.join(name))))
        .map(|(from, to)| {
            let mut capsule = Capsule::load(from)?;
            capsule.replay = crate::capsule::replay_command(&to);
            capsule.write(&to)?;
            Ok(to)
        })
        .collect()
}
