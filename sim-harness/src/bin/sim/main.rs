//! `sim`: run seeded chaos scenarios against the production registry node (the whole space
//! or one shard of it), merge shards, replay a seed, check determinism, and measure speed.
//!
//! Exit codes: 0 clean, 1 a checker found a violation (or a run diverged), 2 harness error
//! (bad arguments, unreadable or malformed scenario file, shard folders that do not merge).

/// See `Cargo.toml`: glibc's malloc and free cost a run 2.4 times what mimalloc's do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use sim_harness::check;
use sim_harness::report;
use sim_harness::run::Run;
use sim_harness::suite::{self, SeedOutcome};
use sim_harness::sweep::Shard;
use sim_harness::trace::first_divergence;
use sim_harness::{capsule, shrink};

const EXIT_VIOLATION: u8 = 1;
const EXIT_HARNESS: u8 = 2;

/// `println!` that survives a closed stdout (`sim run | head`): the run goes on, writes its
/// report and exits with its verdict, where `println!` would panic on the broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that survives a closed stdout (see [`out!`]).
macro_rules! out_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod progress;
mod sweep;

/// Deterministic chaos simulation of the registry.
#[derive(Parser)]
#[command(name = "sim", version, about)]
struct Cli {
    /// Directory of scenario files.
    #[arg(long, global = true, default_value_os_t = suite::default_scenario_dir())]
    scenarios: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios over a range of seeds and print a summary.
    Run {
        /// A scenario name (file stem in the scenario directory) or `all`.
        #[arg(long, default_value = "all")]
        scenario: String,
        /// Seeds, `A..B` (half-open) or one seed.
        #[arg(long, default_value = "0..20")]
        seeds: String,
        /// Worker threads (default: available cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// The report's name: it is written to `reports/<name>/`, failure capsules to
        /// `reports/<name>/failures/`.
        #[arg(long, default_value = report::DEFAULT_NAME)]
        name: String,
        /// The report's folder, instead of `reports/<name>/` (failure capsules go to its
        /// `failures/`).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The commit the report names (default: `git rev-parse HEAD`, or `unknown`).
        #[arg(long)]
        commit: Option<String>,
        /// Run only shard K of N (from 0): seeds A+K*n/N..A+(K+1)*n/N of every scenario, and
        /// leave `runs.jsonl` and `shard.json` for `sim merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
        #[command(flatten)]
        capsules: CapsuleArgs,
    },
    /// Merge the report folders of all N shards (`sim run --shard K/N`) into one report, the
    /// same bytes as an unsharded run's (`summary.json`, `summary.md`, `report.html`), with
    /// every shard's failure capsules.
    Merge {
        /// The shard folders, all N of them, in any order.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
        /// The merged report's folder (default: `reports/merged/`); it must be new or empty.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Re-run one seed exactly, printing its options and (with --trace) every event; or, with
    /// --capsule, a failure capsule's seed, options and plan.
    Replay {
        /// The scenario.
        #[arg(long, required_unless_present = "capsule")]
        scenario: Option<String>,
        /// The seed.
        #[arg(long, required_unless_present = "capsule")]
        seed: Option<u64>,
        /// A failure capsule (JSON) to replay instead of a scenario's seed.
        #[arg(long, conflicts_with_all = ["scenario", "seed"])]
        capsule: Option<PathBuf>,
        /// Print every message, fault and decision.
        #[arg(long)]
        trace: bool,
    },
    /// Run each seed twice and report the first event where the runs differ.
    CheckDeterminism {
        /// The scenario, or `all`.
        #[arg(long, default_value = "all")]
        scenario: String,
        /// Seeds, `A..B` or one seed.
        #[arg(long, default_value = "0..5")]
        seeds: String,
    },
    /// Shrink one failing seed while the same checker still fails, and write its capsule.
    Shrink {
        /// The scenario.
        #[arg(long)]
        scenario: String,
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// Reruns the shrink may make.
        #[arg(long, alias = "max-attempts", default_value_t = 300)]
        shrink_attempts: usize,
        /// The report the capsule goes under: `reports/<name>/failures/` (as `sim run --name`).
        #[arg(long, alias = "run-name", default_value = report::DEFAULT_NAME)]
        name: String,
    },
    /// Measure events per second and simulated time per wall time.
    Bench {
        /// The scenario.
        #[arg(long, default_value = "standard")]
        scenario: String,
        /// Seeds to run (one core).
        #[arg(long, default_value = "0..3")]
        seeds: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            seeds,
            jobs,
            name,
            out,
            commit,
            shard,
            capsules,
        } => {
            let report = ReportArgs {
                dir: out.unwrap_or_else(|| report::report_dir(&name)),
                commit,
            };
            let space = Space {
                scenario: &scenario,
                seeds: &seeds,
                shard,
            };
            run(&cli.scenarios, &space, jobs, &report, &capsules)
        }
        Command::Merge { dirs, out } => {
            let out = out.unwrap_or_else(|| report::report_dir(sweep::MERGED_NAME));
            sweep::merge(&cli.scenarios, &dirs, &out)
        }
        Command::Replay {
            capsule: Some(path),
            trace,
            ..
        } => replay_capsule(&path, trace),
        Command::Replay {
            scenario,
            seed,
            trace,
            ..
        } => match (scenario, seed) {
            (Some(scenario), Some(seed)) => replay(&cli.scenarios, &scenario, seed, trace),
            _ => Err("replay needs --scenario and --seed, or --capsule".to_string()),
        },
        Command::Shrink {
            scenario,
            seed,
            shrink_attempts,
            name,
        } => shrink_seed(&cli.scenarios, &scenario, seed, shrink_attempts, &name),
        Command::CheckDeterminism { scenario, seeds } => {
            determinism(&cli.scenarios, &scenario, &seeds)
        }
        Command::Bench { scenario, seeds } => bench(&cli.scenarios, &scenario, &seeds),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sim: {message}");
            ExitCode::from(EXIT_HARNESS)
        }
    }
}

fn work(
    dir: &std::path::Path,
    scenario: &str,
    seeds: &str,
) -> Result<Vec<(sim_harness::scenario::Scenario, u64)>, String> {
    let scenarios = suite::load(dir, scenario).map_err(|e| e.to_string())?;
    let seeds = suite::parse_seeds(seeds)?;
    Ok(scenarios
        .iter()
        .flat_map(|s| seeds.clone().map(move |seed| (s.clone(), seed)))
        .collect())
}

/// What `sim run` runs: `--scenario`, `--seeds` and, for one shard of them, `--shard`.
struct Space<'a> {
    scenario: &'a str,
    seeds: &'a str,
    shard: Option<Shard>,
}

fn run(
    dir: &std::path::Path,
    space: &Space<'_>,
    jobs: Option<usize>,
    report: &ReportArgs,
    capsules: &CapsuleArgs,
) -> Result<ExitCode, String> {
    let scenarios = suite::load(dir, space.scenario).map_err(|e| e.to_string())?;
    let all = suite::parse_seeds(space.seeds)?;
    let seeds = match space.shard {
        Some(shard) => shard
            .seeds(&all)
            .map_err(|e| format!("--shard {shard}: {e}"))?,
        None => all.clone(),
    };
    let work: Vec<_> = scenarios
        .iter()
        .flat_map(|s| seeds.clone().map(move |seed| (s.clone(), seed)))
        .collect();
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let of_shard = space
        .shard
        .map(|shard| format!(", shard {shard} of seeds {}..{}", all.start, all.end))
        .unwrap_or_default();
    eprintln!(
        "sim: {} runs ({} scenario(s), seeds {}..{}{of_shard}) on {jobs} thread(s)",
        work.len(),
        scenarios.len(),
        seeds.start,
        seeds.end
    );
    let progress = progress::Progress::start(work.len() as u64);
    let started = Instant::now();
    let outcomes = suite::run_all(&work, jobs, check::all, &|outcome| {
        if !outcome.violations.is_empty() {
            progress.println(&format!(
                "FAIL {} seed {}: {}",
                outcome.scenario, outcome.seed, outcome.violations[0]
            ));
        }
        progress.tick();
    });
    progress.finish();
    let wall_seconds = started.elapsed().as_secs_f64();
    let commit = report.commit.clone().unwrap_or_else(default_commit);
    write_report(&report.dir, &commit, &outcomes)?;
    out!("wall time {wall_seconds:.1} s");
    write_timings(
        &report.dir,
        &report::timings_json(outcomes.len(), wall_seconds),
    )?;
    let failed: Vec<&SeedOutcome> = outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .collect();
    if let Some(first) = failed.first() {
        out!(
            "\n{} failing seed(s); replay the first with:\n  {}",
            failed.len(),
            suite::replay_command(&first.scenario, first.seed)
        );
        write_capsules(&outcomes, &report.dir, capsules);
    }
    if let Some(shard) = space.shard {
        let space = sim_harness::sweep::Space::of(space.scenario, &scenarios, &all);
        let shard = sweep::ShardRun {
            shard,
            seeds: &seeds,
            space,
            commit: &commit,
            wall_seconds,
        };
        sweep::write_shard(&report.dir, &shard, &outcomes)?;
    }
    Ok(if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VIOLATION)
    })
}

/// Where `sim run` writes its report and which commit it names.
struct ReportArgs {
    dir: PathBuf,
    commit: Option<String>,
}

/// `git rev-parse HEAD` in the source tree the binary was built from, or `unknown`.
fn default_commit() -> String {
    report::current_commit(env!("CARGO_MANIFEST_DIR").as_ref())
}

/// Prints the summary table of `outcomes` and writes `summary.json`, `summary.md` and
/// `report.html` to `dir` (see `sim_harness::report`); an unwritable report is a harness
/// error. The page's sample run is the first outcome's, rerun with probes: the first seed of
/// the first scenario, for a shard its first seed.
fn write_report(
    dir: &std::path::Path,
    commit: &str,
    outcomes: &[SeedOutcome],
) -> Result<(), String> {
    let summary = report::Summary::build(commit, &report::checker_names(), outcomes);
    out_raw!("{}", report::table(&summary));
    let sample = outcomes.first().map(|outcome| {
        let probes = sim_harness::probe::Probes {
            timeline_every: Some(std::time::Duration::from_secs(10)),
        };
        let result = Run::new(outcome.seed, &outcome.options).probes(probes).go();
        (outcome, result.timeline.unwrap_or_default())
    });
    let sample = sample
        .as_ref()
        .map(|(outcome, timeline)| report::SampleRun {
            scenario: &outcome.scenario,
            seed: outcome.seed,
            timeline,
        });
    report::write_report(dir, &summary, outcomes, sample.as_ref())
        .map_err(|err| format!("could not write the report: {err}"))?;
    Ok(())
}

/// Writes `timings.json` and says where the report is.
fn write_timings(dir: &std::path::Path, timings: &str) -> Result<(), String> {
    report::write_file(dir, "timings.json", timings)
        .map_err(|err| format!("could not write the report: {err}"))?;
    eprintln!("sim: report written to {}", dir.display());
    Ok(())
}

fn replay(
    dir: &std::path::Path,
    scenario: &str,
    seed: u64,
    trace: bool,
) -> Result<ExitCode, String> {
    let scenarios = suite::load(dir, scenario).map_err(|e| e.to_string())?;
    let scenario = &scenarios[0];
    out!("seed = {seed}");
    let options = suite::draw(scenario, seed);
    out_raw!("{options}");
    let result = Run::new(seed, &options).checkers(&check::all()).go();
    if trace {
        tracing_subscriber::fmt()
            .with_target(false)
            .without_time()
            // A closed stdout (`--trace | head`) ends the printing, not one error per event.
            .log_internal_errors(false)
            .init();
        for (at, event) in result.trace.entries() {
            tracing::info!(at = %at, "{event:?}");
        }
    }
    out!(
        "core = {:?}; liveness from {} to {}; {} events; trace hash {:016x}",
        result.core,
        result.liveness_start,
        result.deadline,
        result.events,
        result.trace.hash()
    );
    if result.violations.is_empty() {
        out!("no violations");
        return Ok(ExitCode::SUCCESS);
    }
    for violation in &result.violations {
        out!("{violation}");
    }
    Ok(ExitCode::from(EXIT_VIOLATION))
}

fn determinism(dir: &std::path::Path, scenario: &str, seeds: &str) -> Result<ExitCode, String> {
    let work = work(dir, scenario, seeds)?;
    let mut diverged = 0;
    for (scenario, seed) in &work {
        let options = suite::draw(scenario, *seed);
        let a = Run::new(*seed, &options).go();
        let b = Run::new(*seed, &options).go();
        match first_divergence(&a.trace, &b.trace) {
            None => out!(
                "{} seed {seed}: identical ({} events, hash {:016x})",
                scenario.name,
                a.trace.len(),
                a.trace.hash()
            ),
            Some(index) => {
                diverged += 1;
                out!("{} seed {seed}: DIVERGED at event {index}", scenario.name);
                out!("  first:  {:?}", a.trace.entries().get(index));
                out!("  second: {:?}", b.trace.entries().get(index));
            }
        }
    }
    Ok(if diverged == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_VIOLATION)
    })
}

fn bench(dir: &std::path::Path, scenario: &str, seeds: &str) -> Result<ExitCode, String> {
    let work = work(dir, scenario, seeds)?;
    let (mut events, mut simulated, mut wall) = (0u64, 0f64, 0f64);
    for (scenario, seed) in &work {
        let options = suite::draw(scenario, *seed);
        let started = Instant::now();
        let result = Run::new(*seed, &options).go();
        let seconds = started.elapsed().as_secs_f64();
        let sim_seconds = result.deadline.as_nanos() as f64 / 1e9;
        out!(
            "{} seed {seed}: {} events in {seconds:.3} s; {sim_seconds:.0} s simulated",
            scenario.name,
            result.events
        );
        events += result.events;
        simulated += sim_seconds;
        wall += seconds;
    }
    out!("events/s: {:.0}", events as f64 / wall.max(1e-9));
    out!(
        "simulated time / wall time: {:.0}x",
        simulated / wall.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// How `sim run` shrinks failing seeds and where it writes their capsules.
#[derive(clap::Args)]
struct CapsuleArgs {
    /// Reruns each failing seed's shrink may make.
    #[arg(long, default_value_t = 100)]
    shrink_attempts: usize,
    /// Wall seconds all shrinks together may take; later failures get unshrunk capsules.
    #[arg(long, default_value_t = 300)]
    shrink_seconds: u64,
}

/// Shrinks every failing seed (within the budget) and writes its capsule to the report
/// folder `report`'s `failures/`.
fn write_capsules(outcomes: &[SeedOutcome], report: &std::path::Path, args: &CapsuleArgs) {
    let dir = report.join(sim_harness::sweep::FAILURES_DIR);
    let limits = shrink::Limits {
        max_attempts: args.shrink_attempts,
    };
    let budget = std::time::Duration::from_secs(args.shrink_seconds);
    eprintln!("sim: shrinking failing seeds (at most {budget:?} in all)");
    let started = Instant::now();
    let stop = || started.elapsed() >= budget;
    for captured in capsule::capture_all(outcomes, &check::all(), limits, &stop, &dir) {
        match captured.capsule {
            Ok(Some(c)) => out!(
                "capsule {}: {} -> {}{}\n  {}",
                captured.path.display(),
                c.original,
                c.shrunk,
                if c.shrink_stopped_early {
                    " (shrink stopped early)"
                } else {
                    ""
                },
                c.replay
            ),
            Ok(None) => eprintln!(
                "sim: {} no longer fails; no capsule",
                captured.path.display()
            ),
            Err(err) => eprintln!("sim: {err}"),
        }
    }
}

/// `sim shrink`: shrinks one seed and writes its capsule; exit 1 if it fails, 0 if it passes.
fn shrink_seed(
    dir: &std::path::Path,
    scenario: &str,
    seed: u64,
    shrink_attempts: usize,
    name: &str,
) -> Result<ExitCode, String> {
    let scenarios = suite::load(dir, scenario).map_err(|e| e.to_string())?;
    let scenario = &scenarios[0];
    let options = suite::draw(scenario, seed);
    let failures = capsule::failures_dir(&capsule::default_reports_dir(), name);
    let path = capsule::capsule_path(&failures, &scenario.name, seed);
    let limits = shrink::Limits {
        max_attempts: shrink_attempts,
    };
    let Some(c) = capsule::capture(
        &scenario.name,
        seed,
        &options,
        &check::all(),
        limits,
        &shrink::never,
        &path,
    ) else {
        out!(
            "{} seed {seed}: no violation; nothing to shrink",
            scenario.name
        );
        return Ok(ExitCode::SUCCESS);
    };
    c.write(&path).map_err(|e| e.to_string())?;
    out!("checker: {}", c.violation.checker);
    out!("original: {}", c.original);
    out!("shrunk:   {}", c.shrunk);
    out!(
        "{} reruns{}",
        c.shrink_attempts,
        if c.shrink_stopped_early {
            "; stopped at the attempt cap"
        } else {
            ""
        }
    );
    out!("first violation: {}", c.violation);
    out!("capsule written to {}\n  {}", path.display(), c.replay);
    Ok(ExitCode::from(EXIT_VIOLATION))
}

/// `sim replay --capsule`: runs the capsule's seed, options and plan; exit 1 if a violation
/// reproduces, 0 if the run is clean, 2 if the capsule cannot be read.
fn replay_capsule(path: &std::path::Path, trace: bool) -> Result<ExitCode, String> {
    let c = capsule::Capsule::load(path).map_err(|e| e.to_string())?;
    out!("seed = {}", c.seed);
    out_raw!("{}", c.options);
    out!(
        "plan: {} faults, {} actions",
        c.plan.faults.len(),
        c.plan.actions.len()
    );
    let replayed = capsule::replay(&c, &check::all());
    if trace {
        for (at, event) in replayed.result.trace.entries() {
            out!("{at} {event:?}");
        }
    }
    out!(
        "{} events; trace hash {:016x}",
        replayed.result.events,
        replayed.result.trace.hash()
    );
    let Some(first) = replayed.first else {
        out!("no violations: the capsule no longer fails");
        return Ok(ExitCode::SUCCESS);
    };
    out!("first violation: {first}");
    if !replayed.matches {
        out!("(the capsule recorded a different one: {})", c.violation);
    }
    Ok(ExitCode::from(EXIT_VIOLATION))
}
