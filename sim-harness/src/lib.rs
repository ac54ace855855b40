//! A deterministic simulation harness for the registry.
//!
//! Everything here is driven by virtual time and one master seed: no system clock, no OS
//! randomness, no hash-ordered collections. The same seed gives the same run, event for event.
//!
//! The public surface is what the `sim` binary and the tests drive:
//!
//! - [`run`]: one seeded run, [`run::Run`], into a [`run::RunResult`].
//! - [`suite`]: many seeds of many scenarios, in parallel.
//! - [`scenario`]: scenario files of `[min, max]` ranges and the options a seed draws.
//! - [`check`]: the checkers that judge a finished run.
//! - [`trace`]: what happened, [`trace::Trace`], with a stable hash and
//!   [`trace::first_divergence`].
//! - [`probe`]: read-only measurements a run samples at fixed virtual intervals.
//! - [`report`]: a suite's consistency report (JSON, Markdown, HTML) from its outcomes.
//! - [`plan`]: a run's faults and workload actions as data, [`plan::Plan`].
//! - [`shrink`]: reduce a failing run while the same checker still fails.
//! - [`capsule`]: a failing run as a JSON file that replays it exactly.
//! - [`sweep`]: one shard of a (scenario, seed) space, and merging the shards of a sweep.
//! - [`time`]: virtual time, [`time::SimTime`].
//!
//! Inside: `rng` (the master seed split into named random streams), `queue` (the event queue
//! ordered by `(time, sequence)`), `clock` (each node's virtual monotonic time and skewed wall
//! time), `net` (delays, loss, duplication, partitions), `id` (typed node and client ids),
//! `fault`, `world` (production nodes on simulated clocks and network, stepped through the
//! queue) and `workload` (the simulated clients).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capsule;
#[cfg(test)]
mod chaos_sample;
pub mod check;
mod clock;
mod fault;
mod id;
mod net;
pub mod plan;
pub mod probe;
mod queue;
pub mod report;
mod rng;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod suite;
pub mod sweep;
pub mod time;
pub mod trace;
mod workload;
mod world;
