//! `sim`: run seeded chaos scenarios against the production registry node, replay a seed,
//! check determinism, and measure speed.
//!
//! Exit codes: 0 clean, 1 a checker found a violation (or a run diverged), 2 harness error
//! (bad arguments, unreadable or malformed scenario file).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sim_harness::check;
use sim_harness::report;
use sim_harness::suite::{self, SeedOutcome};
use sim_harness::trace::first_divergence;

const EXIT_VIOLATION: u8 = 1;
const EXIT_HARNESS: u8 = 2;

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
        /// The report's name: it is written to `reports/<name>/`.
        #[arg(long, default_value = report::DEFAULT_NAME)]
        name: String,
        /// The commit the report names (default: `git rev-parse HEAD`, or `unknown`).
        #[arg(long)]
        commit: Option<String>,
    },
    /// Re-run one seed exactly, printing its options and (with --trace) every event.
    Replay {
        /// The scenario.
        #[arg(long)]
        scenario: String,
        /// The seed.
        #[arg(long)]
        seed: u64,
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
            commit,
        } => {
            let report = ReportArgs { name, commit };
            run(&cli.scenarios, &scenario, &seeds, jobs, &report)
        }
        Command::Replay {
            scenario,
            seed,
            trace,
        } => replay(&cli.scenarios, &scenario, seed, trace),
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

fn run(
    dir: &std::path::Path,
    scenario: &str,
    seeds: &str,
    jobs: Option<usize>,
    report: &ReportArgs,
) -> Result<ExitCode, String> {
    let work = work(dir, scenario, seeds)?;
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    eprintln!(
        "sim: {} runs ({} scenario(s), seeds {seeds}) on {jobs} thread(s)",
        work.len(),
        work.len() / suite::parse_seeds(seeds)?.count().max(1)
    );
    let bar = ProgressBar::new(work.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let outcomes = suite::run_all(&work, jobs, check::all, &|outcome| {
        if !outcome.violations.is_empty() {
            bar.println(format!(
                "FAIL {} seed {}: {}",
                outcome.scenario, outcome.seed, outcome.violations[0]
            ));
        }
        bar.inc(1);
    });
    bar.finish_and_clear();
    print_summary(&work, &outcomes, started.elapsed().as_secs_f64(), report)?;
    let failed: Vec<&SeedOutcome> = outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "\n{} failing seed(s); replay the first with:\n  {}",
        failed.len(),
        suite::replay_command(&failed[0].scenario, failed[0].seed)
    );
    Ok(ExitCode::from(EXIT_VIOLATION))
}

/// Where `sim run` writes its report and which commit it names.
struct ReportArgs {
    name: String,
    commit: Option<String>,
}

/// Prints the summary table and writes `reports/<name>/` (see `sim_harness::report`); an
/// unwritable report is a harness error.
fn print_summary(
    work: &[(sim_harness::scenario::Scenario, u64)],
    outcomes: &[SeedOutcome],
    wall_seconds: f64,
    args: &ReportArgs,
) -> Result<(), String> {
    let commit = args
        .commit
        .clone()
        .unwrap_or_else(|| report::current_commit(env!("CARGO_MANIFEST_DIR").as_ref()));
    let summary = report::Summary::build(&commit, &report::checker_names(), outcomes);
    print!("{}", report::table(&summary));
    println!("wall time {wall_seconds:.1} s");
    let dir = report::report_dir(&args.name);
    let sample = work.first().map(|(scenario, seed)| {
        let options = suite::draw(scenario, *seed);
        let probes = sim_harness::probe::Probes {
            timeline_every: Some(std::time::Duration::from_secs(10)),
        };
        let result = sim_harness::run::run_with(*seed, &options, &[], &probes);
        (
            scenario.name.clone(),
            *seed,
            result.timeline.unwrap_or_default(),
        )
    });
    let sample = sample
        .as_ref()
        .map(|(scenario, seed, timeline)| report::SampleRun {
            scenario,
            seed: *seed,
            timeline,
        });
    let written = report::write_report(&dir, &summary, outcomes, sample.as_ref()).and_then(|_| {
        report::write_file(
            &dir,
            "timings.json",
            &report::timings_json(outcomes.len(), wall_seconds),
        )
    });
    written.map_err(|err| format!("could not write the report: {err}"))?;
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
    println!("seed = {seed}");
    let options = suite::draw(scenario, seed);
    print!("{options}");
    let result = sim_harness::run::run(seed, &options, &check::all());
    if trace {
        tracing_subscriber::fmt()
            .with_target(false)
            .without_time()
            .init();
        for (at, event) in result.trace.entries() {
            tracing::info!(at = %at, "{event:?}");
        }
    }
    println!(
        "core = {:?}; liveness from {} to {}; {} events; trace hash {:016x}",
        result.core,
        result.liveness_start,
        result.deadline,
        result.events,
        result.trace.hash()
    );
    if result.violations.is_empty() {
        println!("no violations");
        return Ok(ExitCode::SUCCESS);
    }
    for violation in &result.violations {
        println!("{violation}");
    }
    Ok(ExitCode::from(EXIT_VIOLATION))
}

fn determinism(dir: &std::path::Path, scenario: &str, seeds: &str) -> Result<ExitCode, String> {
    let work = work(dir, scenario, seeds)?;
    let mut diverged = 0;
    for (scenario, seed) in &work {
        let options = suite::draw(scenario, *seed);
        let a = sim_harness::run::run(*seed, &options, &[]);
        let b = sim_harness::run::run(*seed, &options, &[]);
        match first_divergence(&a.trace, &b.trace) {
            None => println!(
                "{} seed {seed}: identical ({} events, hash {:016x})",
                scenario.name,
                a.trace.len(),
                a.trace.hash()
            ),
            Some(index) => {
                diverged += 1;
                println!("{} seed {seed}: DIVERGED at event {index}", scenario.name);
                println!("  first:  {:?}", a.trace.entries().get(index));
                println!("  second: {:?}", b.trace.entries().get(index));
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
        let result = sim_harness::run::run(*seed, &options, &[]);
        let seconds = started.elapsed().as_secs_f64();
        let sim_seconds = result.deadline.as_nanos() as f64 / 1e9;
        println!(
            "{} seed {seed}: {} events in {seconds:.3} s; {sim_seconds:.0} s simulated",
            scenario.name, result.events
        );
        events += result.events;
        simulated += sim_seconds;
        wall += seconds;
    }
    println!("events/s: {:.0}", events as f64 / wall.max(1e-9));
    println!(
        "simulated time / wall time: {:.0}x",
        simulated / wall.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
