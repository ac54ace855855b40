//! Running many seeds of many scenarios, in parallel, deterministically.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::check::{Checker, Violation};
use crate::report::SeedMetrics;
use crate::rng::Streams;
use crate::run::{Run, RunResult};
use crate::scenario::{Options, Scenario, ScenarioError};
use crate::time::SimTime;

/// Where the scenario files live, relative to the workspace root.
pub(crate) const SCENARIO_DIR: &str = "scenarios";

/// The outcome of one seed, without its trace (suites keep thousands).
#[derive(Clone, Debug)]
pub struct SeedOutcome {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The options it drew.
    pub options: Options,
    /// What the checkers found.
    pub violations: Vec<Violation>,
    /// Events processed.
    pub events: u64,
    /// Virtual time simulated.
    pub simulated: SimTime,
    /// What the report keeps of the run.
    pub metrics: SeedMetrics,
}

/// The workspace root, where `scenarios/` and `reports/` live (found from this crate's
/// manifest), written without `..` so that printed paths read cleanly.
pub(crate) fn workspace_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or_else(|| manifest.join(".."), Path::to_path_buf)
}

/// The scenario directory of this workspace.
pub fn default_scenario_dir() -> PathBuf {
    workspace_dir().join(SCENARIO_DIR)
}

/// Loads `name` from `dir`, or every `*.toml` there (sorted by name) for `all`.
pub fn load(dir: &Path, name: &str) -> Result<Vec<Scenario>, ScenarioError> {
    if name != "all" {
        return Ok(vec![Scenario::load(dir.join(format!("{name}.toml")))?]);
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| ScenarioError::Read {
            file: dir.display().to_string(),
            source,
        })?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    paths.into_iter().map(Scenario::load).collect()
}

/// The options `seed` draws from `scenario`.
pub fn draw(scenario: &Scenario, seed: u64) -> Options {
    scenario.draw(&mut Streams::new(seed).options())
}

/// Runs one seed of one scenario.
pub(crate) fn run_seed(scenario: &Scenario, seed: u64, checkers: &[Box<dyn Checker>]) -> RunResult {
    Run::new(seed, &draw(scenario, seed))
        .checkers(checkers)
        .go()
}

/// Runs every `(scenario, seed)` on `jobs` threads; `progress` is called after each. Results
/// come back in input order whatever the threads did.
pub fn run_all(
    work: &[(Scenario, u64)],
    jobs: usize,
    checkers: fn() -> Vec<Box<dyn Checker>>,
    progress: &(dyn Fn(&SeedOutcome) + Sync),
) -> Vec<SeedOutcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<SeedOutcome>>> = Mutex::new(vec![None; work.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let checkers = checkers();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((scenario, seed)) = work.get(index) else {
                        break;
                    };
                    let result = run_seed(scenario, *seed, &checkers);
                    let metrics = SeedMetrics::of(&result);
                    let outcome = SeedOutcome {
                        scenario: scenario.name.clone(),
                        seed: *seed,
                        options: result.options,
                        violations: result.violations,
                        events: result.events,
                        simulated: result.deadline,
                        metrics,
                    };
                    progress(&outcome);
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(outcome);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Parses `A..B` (half-open) or a single seed `A`.
pub fn parse_seeds(text: &str) -> Result<std::ops::Range<u64>, String> {
    let parse = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| format!("`{s}` is not a seed (a whole number)"))
    };
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (parse(a)?, parse(b)?);
            if a >= b {
                return Err(format!("seed range `{text}` is empty"));
            }
            Ok(a..b)
        }
        None => {
            let a = parse(text)?;
            Ok(a..a + 1)
        }
    }
}

/// One line per failing run of `outcomes` (its first violation) with the command that replays
/// it: what a test over seeds prints when it fails.
pub fn failure_lines(outcomes: &[SeedOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .map(|o| {
            format!(
                "{} seed {}: {}\n  replay: {}",
                o.scenario,
                o.seed,
                o.violations[0],
                replay_command(&o.scenario, o.seed)
            )
        })
        .collect()
}

/// How a person runs the `sim` binary from the source tree, in its own build profile; the
/// commands the harness prints start with it.
pub const SIM_COMMAND: &str = "cargo run --profile sim -p sim-harness --bin sim --";

/// The command that replays one seed exactly.
pub fn replay_command(scenario: &str, seed: u64) -> String {
    format!("{SIM_COMMAND} replay --scenario {scenario} --seed {seed}")
}
