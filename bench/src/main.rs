//! `bench`: the registry's serving benchmark.
//!
//! It starts builds of the `registry` binary (or targets a running node), drives the serving
//! phases over real HTTP from one pinned core while the server runs pinned on another, and
//! prints each figure per build and the candidate's ratio to the baseline. Builds alternate
//! round by round: on a shared machine only a ratio measured in one run means anything.
#![forbid(unsafe_code)]

mod http;
mod latency;
mod load;
mod node;
mod phases;
mod proc_stats;
mod report;
mod runner;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::node::Durability;
use crate::phases::serving::Sizing;
use crate::report::{Record, Run};
use crate::runner::{Plan, Subject, PHASES};

/// Serving benchmark for the registry: register exactly N, renew, fetch one app of 100
/// instances, long-poll fan-out, memory, and 3-node visibility.
///
/// Every answer that is not HTTP 200 with `"code":0` is an error; a run with errors exits
/// nonzero and is not a result. Server CPU comes from /proc/<pid>/task/*/schedstat, memory from
/// /proc/<pid>/status (VmRSS, VmHWM).
///
/// Compare two builds in one run (the ratio is the result; absolute figures move with the
/// machine's other load):
///
///   cargo run --release -p bench -- --baseline old/registry --candidate target/release/registry --rounds 3
///
/// Rounds alternate the order of the builds (baseline first in odd rounds, candidate first in
/// even ones) so a drift in the machine's load falls on both.
#[derive(Debug, Parser)]
#[command(name = "bench", verbatim_doc_comment)]
struct Args {
    /// The server build to compare against (a `registry` binary).
    #[arg(long, value_name = "BIN")]
    baseline: Option<PathBuf>,
    /// The server build measured (a `registry` binary); alone, it is measured without a ratio.
    #[arg(long, value_name = "BIN", required_unless_present = "target")]
    candidate: Option<PathBuf>,
    /// Measure a node that already runs at this address instead of starting one (the
    /// visibility phase, which needs a fresh cluster, is skipped). The node must let one
    /// address hold every poller (`[http] max_polls_per_client`, default 512) and hold polls
    /// longer than the phase (`poll_hold_ms`), as the nodes the benchmark starts do.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["baseline", "candidate"])]
    target: Option<String>,
    /// The running node's pid, for its CPU and memory figures (with --target).
    #[arg(long, value_name = "PID", requires = "target")]
    pid: Option<u32>,
    /// Rounds per build.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Phases to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "register,memory,renew,fetch,fanout,visibility"
    )]
    phases: Vec<String>,
    /// Instances the register phase registers (each exactly once), in apps of 100.
    #[arg(long, default_value_t = 100_000)]
    register: usize,
    /// Instances the renew phase renews round-robin.
    #[arg(long, default_value_t = 10_000)]
    renew_instances: usize,
    /// Connections of the register, renew and fetch phases.
    #[arg(long, default_value_t = 32)]
    conns: usize,
    /// Seconds the renew and fetch phases each run.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Parked pollers in the fan-out phase, each on its own connection.
    #[arg(long, default_value_t = 1000)]
    pollers: usize,
    /// Writes in the fan-out phase (each notifies every poller).
    #[arg(long, default_value_t = 10)]
    fanout_writes: usize,
    /// Writes timed in the visibility phase.
    #[arg(long, default_value_t = 200)]
    visibility_writes: usize,
    /// The core the server runs on.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// The core the load runs on.
    #[arg(long, default_value_t = 1)]
    load_cpu: usize,
    /// Pin neither the server nor the load.
    #[arg(long)]
    no_pin: bool,
    /// When the nodes the benchmark starts answer a client's write: `local` once applied (the
    /// registry's default), `peer` once a peer acknowledged it (builds from 2026-11 on). Only
    /// the visibility phase runs a cluster: its `ack_*` figures are what a writing client
    /// waits in each mode.
    #[arg(long, value_enum, default_value_t = Durability::Local)]
    durability: Durability,
    /// Where the JSON result is written.
    #[arg(long, value_name = "FILE", default_value = "bench-result.json")]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(unknown) = args.phases.iter().find(|p| !PHASES.contains(&p.as_str())) {
        eprintln!(
            "unknown phase {unknown:?}: the phases are {}",
            PHASES.join(",")
        );
        return ExitCode::from(2);
    }
    if !args.no_pin {
        if let Err(e) = node::pin_self(args.load_cpu) {
            eprintln!("cannot pin the load to core {}: {e}", args.load_cpu);
            return ExitCode::from(2);
        }
    }
    // Every poller holds a descriptor; the default soft limit is often 1,024.
    let _ = rlimit::increase_nofile_limit(args.pollers as u64 + 4096);
    // One thread: the load stays on the core it was pinned to and never competes with itself.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the load's runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let plan = Plan {
        phases: args.phases.clone(),
        register: args.register,
        sizing: Sizing {
            conns: args.conns,
            duration: Duration::from_secs_f64(args.seconds),
            renew_instances: args.renew_instances,
        },
        pollers: args.pollers,
        fanout_writes: args.fanout_writes,
        visibility_writes: args.visibility_writes,
        server_cpu: (!args.no_pin).then_some(args.server_cpu),
        durability: args.durability,
    };
    let builds = builds(&args);
    let mut records = Vec::new();
    for round in 1..=args.rounds {
        let mut order: Vec<&(String, Subject)> = builds.iter().collect();
        if round % 2 == 0 {
            order.reverse();
        }
        for (build, subject) in order {
            eprintln!("round {round}/{}: {build}", args.rounds);
            let phases = match runner::round(subject, &plan).await {
                Ok(phases) => phases,
                Err(e) => {
                    eprintln!("{build}: cannot run the round: {e}");
                    return ExitCode::from(2);
                }
            };
            print_round(&phases);
            records.push(Record {
                build: build.clone(),
                subject: describe(subject),
                round,
                phases,
            });
        }
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let run = Run::new(command, records);
    println!(
        "\nMedians over {} round(s):\n\n{}",
        args.rounds,
        run.table()
    );
    match serde_json::to_string_pretty(&run) {
        Ok(json) => {
            if let Err(e) = std::fs::write(&args.out, json) {
                eprintln!("cannot write {}: {e}", args.out.display());
                return ExitCode::from(2);
            }
            println!("JSON result: {}", args.out.display());
        }
        Err(e) => eprintln!("cannot encode the result: {e}"),
    }
    if run.errors > 0 {
        eprintln!(
            "{} error(s): this run is not a result (see first_error in {})",
            run.errors,
            args.out.display()
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The builds in the order a round runs them first.
fn builds(args: &Args) -> Vec<(String, Subject)> {
    if let Some(addr) = &args.target {
        let subject = Subject::Running {
            addr: addr.clone(),
            pid: args.pid,
        };
        return vec![("candidate".into(), subject)];
    }
    let mut builds = Vec::new();
    if let Some(binary) = &args.baseline {
        builds.push(("baseline".into(), Subject::Binary(binary.clone())));
    }
    if let Some(binary) = &args.candidate {
        builds.push(("candidate".into(), Subject::Binary(binary.clone())));
    }
    builds
}

fn describe(subject: &Subject) -> String {
    match subject {
        Subject::Binary(path) => path.display().to_string(),
        Subject::Running { addr, .. } => addr.clone(),
    }
}

fn print_round(phases: &runner::Round) {
    for (phase, result) in phases {
        let figures: Vec<String> = result
            .figures
            .iter()
            .map(|(name, value)| format!("{name}={value:.3}"))
            .collect();
        eprintln!("  {phase}: {}", figures.join(" "));
        if let Some(error) = &result.first_error {
            eprintln!("  {phase}: {} error(s), first: {error}", result.errors);
        }
    }
}
