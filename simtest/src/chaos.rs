//! The chaos test's options, drawn from the seed, and its fault schedule.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use registry::api::Status;
use tokio::time::{sleep_until, Instant};

use crate::cluster::Cluster;

/// The apps services register under and watchers watch.
pub const APPS: [&str; 2] = ["app.a", "app.b"];

/// One service's plan: its renew interval and its writes, at offsets from the start.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How often its registration renews.
    pub renew_interval: Duration,
    /// Its writes, in time order.
    pub writes: Vec<(Duration, Write)>,
}

/// A write a service makes.
#[derive(Clone, Debug)]
pub enum Write {
    /// `set` its status.
    Status(Status),
    /// `set` one metadata key.
    Metadata(String, String),
    /// Cancel the registration (the service's last write).
    Cancel,
}

/// A fault, applied for `lasting` (then undone) unless it is instantaneous.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Both directions between two nodes cut.
    ClogPair(usize, usize),
    /// One direction between two nodes cut.
    ClogOneWay(usize, usize),
    /// A node cut off from everyone, clients too.
    ClogNode(usize),
    /// Packets lost at this rate, everywhere.
    Loss(f64),
    /// A node killed (state lost), restarted after the fault's time.
    Kill(usize),
    /// A node paused, resumed after the fault's time.
    Pause(usize),
    /// A node stopped gracefully (ctrl-c), restarted after the fault's time.
    Stop(usize),
    /// Every node restarted at once (state lost everywhere).
    ClusterRestart,
}

/// Everything a seed decides, printed with it.
#[derive(Clone, Debug)]
pub struct Options {
    /// Registry nodes (3 to 5).
    pub nodes: usize,
    /// How long faults are injected before the heal.
    pub chaos: Duration,
    /// One plan per service.
    pub services: Vec<Plan>,
    /// Watchers of every app.
    pub watchers: usize,
    /// The faults, each with its start (offset from the start) and duration.
    pub faults: Vec<(Duration, Duration, Fault)>,
}

/// The options of `seed`: a stream of its own, so they do not depend on what the run does.
pub fn draw(seed: u64) -> Options {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let nodes = rng.gen_range(3..=5);
    let chaos = Duration::from_secs(rng.gen_range(20..=60));
    let services = (0..rng.gen_range(2..=6))
        .map(|_| plan(&mut rng, chaos))
        .collect();
    let watchers = rng.gen_range(1..=3);
    let mut faults = Vec::new();
    let mut at = Duration::from_secs(rng.gen_range(1..=5));
    while at < chaos {
        let lasting = Duration::from_millis(rng.gen_range(500..=10_000));
        faults.push((at, lasting, fault(&mut rng, nodes)));
        at += lasting + Duration::from_millis(rng.gen_range(0..=5_000));
    }
    Options {
        nodes,
        chaos,
        services,
        watchers,
        faults,
    }
}

fn plan(rng: &mut ChaCha8Rng, chaos: Duration) -> Plan {
    let renew_interval = Duration::from_secs(rng.gen_range(1..=10));
    let mut times: Vec<Duration> = (0..rng.gen_range(0..=6))
        .map(|_| Duration::from_millis(rng.gen_range(0..chaos.as_millis() as u64)))
        .collect();
    times.sort();
    let mut writes: Vec<(Duration, Write)> = times
        .into_iter()
        .map(|at| {
            let write = if rng.gen_bool(0.5) {
                let status = if rng.gen_bool(0.5) {
                    Status::Up
                } else {
                    Status::Waiting
                };
                Write::Status(status)
            } else {
                let key = format!("k{}", rng.gen_range(0..3));
                Write::Metadata(key, format!("v{}", rng.gen_range(0..100)))
            };
            (at, write)
        })
        .collect();
    if rng.gen_bool(0.3) {
        let last = writes.last().map_or(Duration::ZERO, |(at, _)| *at);
        writes.push((last + Duration::from_secs(1), Write::Cancel));
    }
    Plan {
        renew_interval,
        writes,
    }
}

fn fault(rng: &mut ChaCha8Rng, nodes: usize) -> Fault {
    let node = rng.gen_range(0..nodes);
    let other = (node + rng.gen_range(1..nodes)) % nodes;
    match rng.gen_range(0..16) {
        0..=2 => Fault::ClogPair(node, other),
        3..=4 => Fault::ClogOneWay(node, other),
        5..=6 => Fault::ClogNode(node),
        7..=8 => Fault::Loss(rng.gen_range(0.05..0.3)),
        9..=10 => Fault::Kill(node),
        11..=12 => Fault::Pause(node),
        13..=14 => Fault::Stop(node),
        _ => Fault::ClusterRestart,
    }
}

/// Runs the fault schedule until `heal_at`; returns how many faults were applied.
pub async fn run_faults(cluster: &Cluster, options: &Options, heal_at: Instant) -> u32 {
    let start = heal_at - options.chaos;
    let mut applied = 0;
    for (at, lasting, fault) in &options.faults {
        sleep_until(start + *at).await;
        apply(cluster, fault);
        applied += 1;
        sleep_until((start + *at + *lasting).min(heal_at)).await;
        undo(cluster, fault);
    }
    sleep_until(heal_at).await;
    applied
}

fn apply(cluster: &Cluster, fault: &Fault) {
    match *fault {
        Fault::ClogPair(a, b) => cluster.clog_pair(a, b),
        Fault::ClogOneWay(a, b) => cluster.clog_one_way(a, b),
        Fault::ClogNode(i) => cluster.clog_node(i),
        Fault::Loss(rate) => cluster.set_packet_loss(rate),
        Fault::Kill(i) => cluster.kill(i),
        Fault::Pause(i) => cluster.pause(i),
        Fault::Stop(i) => cluster.stop(i),
        Fault::ClusterRestart => (0..cluster.len()).for_each(|i| cluster.restart(i)),
    }
}

fn undo(cluster: &Cluster, fault: &Fault) {
    match *fault {
        Fault::ClogPair(..) | Fault::ClogOneWay(..) | Fault::ClogNode(_) | Fault::Loss(_) => {
            cluster.heal()
        }
        Fault::Kill(i) | Fault::Stop(i) => cluster.restart(i),
        Fault::Pause(i) => cluster.resume(i),
        Fault::ClusterRestart => {}
    }
}
