//! A deterministic simulation harness for the registry.
//!
//! Everything here is driven by virtual time and one master seed: no system clock, no OS
//! randomness, no hash-ordered collections. The same seed gives the same run, event for event.
//!
//! - [`rng`]: the master seed split into named streams.
//! - [`time`]: virtual time, [`time::SimTime`].
//! - [`queue`]: the event queue ordered by `(time, sequence)`.
//! - [`clock`]: each node's [`clock::SimClock`]: virtual monotonic time, skewed wall time.
//! - [`net`]: the network model, [`net::NetModel`]: delays, loss, duplication, partitions.
//! - [`trace`]: what happened, [`trace::Trace`], with a stable hash and
//!   [`trace::first_divergence`].
//! - [`scenario`]: scenario files of `[min, max]` ranges and the options a seed draws.
//! - [`world`]: production nodes on simulated clocks and network, stepped through the queue.
//! - [`probe`]: read-only measurements a run samples at fixed virtual intervals.
//! - [`report`]: a suite's consistency report (JSON, Markdown, HTML) from its outcomes.
//! - [`plan`]: a run's faults and workload actions as data, [`plan::Plan`].
//! - [`shrink`]: reduce a failing run while the same checker still fails.
//! - [`capsule`]: a failing run as a JSON file that replays it exactly.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod capsule;
pub mod check;
pub mod clock;
pub mod fault;
pub mod id;
pub mod net;
pub mod plan;
pub mod probe;
pub mod queue;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod shrink;
pub mod suite;
pub mod time;
pub mod trace;
pub mod workload;
pub mod world;
