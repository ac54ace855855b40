//! `registry`: one node of the service registry, serving bilibili/discovery's HTTP API.
//!
//! `registry --dev` runs a single node on 127.0.0.1:7171; a cluster is
//! `registry --listen A --peers A,B,C --hostname n1 --zone z1 --env dev` on each node.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use registry::core::ProtectionOverride;
use registry::runtime::{self, LogFormat, Overrides, Settings};

/// jemalloc rather than the system allocator (feature `jemalloc`, a default; see `Cargo.toml`).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One node of the service registry.
#[derive(Debug, Parser)]
#[command(name = "registry", version, about)]
struct Cli {
    /// Address to serve HTTP on, `host:port`; also the address peers reach this node at.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// This node's host name (default: the listen address).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,
    /// This node's zone.
    #[arg(long, value_name = "Z")]
    zone: Option<String>,
    /// This node's environment.
    #[arg(long, value_name = "E")]
    env: Option<String>,
    /// This node's region.
    #[arg(long, value_name = "R")]
    region: Option<String>,
    /// Seed peers of this zone, `host:port` comma-separated (may include this node).
    #[arg(long, value_name = "ADDR,ADDR,...", value_delimiter = ',')]
    peers: Option<Vec<String>>,
    /// TOML config file; flags win over it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Seed of the node's random choices (default: derived from the host name).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Log line format.
    #[arg(long, value_enum)]
    log_format: Option<Format>,
    /// A single node with default settings on 127.0.0.1:7171.
    #[arg(long)]
    dev: bool,
    /// PEM certificate chain to serve TLS with (with --tls-key and --tls-ca; TLS is off by
    /// default). Peers are then reached over TLS too.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificates trusted to sign the peers' certificates.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// Protection override at start: auto (default), on or off.
    #[arg(long, value_name = "MODE", value_parser = runtime::parse_protection_override)]
    protection_override: Option<ProtectionOverride>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Every connection and parked long-poll holds a file descriptor, and the default soft limit
/// (often 1,024) is far below the hard one: a node that keeps it runs out of descriptors long
/// before its per-client caps or its memory matter. Raised to the hard limit, as Go's runtime
/// does for bilibili/discovery.
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open file limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open file limit"),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        listen: cli.listen,
        hostname: cli.hostname,
        zone: cli.zone,
        env: cli.env,
        region: cli.region,
        peers: cli.peers,
        seed: cli.seed,
        log_format: cli.log_format.map(|f| match f {
            Format::Text => LogFormat::Text,
            Format::Json => LogFormat::Json,
        }),
        dev: cli.dev,
        secret: std::env::var(runtime::SECRET_ENV).ok(),
        previous_secret: std::env::var(runtime::PREVIOUS_SECRET_ENV).ok(),
        write_token: std::env::var(runtime::WRITE_TOKEN_ENV).ok(),
        admin_token: std::env::var(runtime::ADMIN_TOKEN_ENV).ok(),
        tls_cert: cli.tls_cert,
        tls_key: cli.tls_key,
        tls_ca: cli.tls_ca,
        protection: cli.protection_override,
    };
    let settings = match Settings::load(cli.config.as_deref(), overrides) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("registry: {error}");
            return ExitCode::from(2);
        }
    };
    init_logs(settings.log_format);
    raise_open_file_limit();
    block_on(run(settings))
}

/// Runs the node on a multi-threaded tokio runtime.
#[cfg(not(madsim))]
fn block_on(serve: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve),
        Err(error) => {
            eprintln!("registry: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Under madsim, madsim's runtime: madsim-tokio's `block_on` is unimplemented.
#[cfg(madsim)]
fn block_on(serve: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    madsim::runtime::Runtime::new().block_on(serve)
}

async fn run(settings: Settings) -> ExitCode {
    match runtime::serve_until(settings, wait_for_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("registry: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Waits for SIGINT or SIGTERM and names it in the log.
#[cfg(not(madsim))]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let name = match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        },
        // Without a SIGTERM handler, Ctrl-C still works.
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    };
    tracing::info!(signal = name, "signal received");
}

/// madsim simulates only ctrl-c (`Handle::send_ctrl_c`).
#[cfg(madsim)]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!(signal = "SIGINT", "signal received");
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
