//! The phases of a run; each returns its figures and its errors.

pub(crate) mod fanout;
pub(crate) mod memory;
pub(crate) mod serving;
pub(crate) mod visibility;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::load::Outcome;
use crate::node::Server;
use crate::proc_stats;

/// What one phase measured in one round on one build.
#[derive(Debug, Default, Serialize)]
pub(crate) struct PhaseResult {
    /// Answers that were not HTTP 200 with `"code":0`, and failed exchanges.
    pub(crate) errors: u64,
    /// The first of them.
    pub(crate) first_error: Option<String>,
    /// Named figures (units in the name).
    pub(crate) figures: BTreeMap<&'static str, f64>,
}

impl PhaseResult {
    /// The figures of a closed-loop phase: throughput, latency, and the server's CPU seconds.
    pub(crate) fn from_load(outcome: &Outcome, server_cpu: Option<Duration>) -> PhaseResult {
        let mut result = PhaseResult {
            errors: outcome.errors,
            first_error: outcome.first_error.clone(),
            figures: BTreeMap::new(),
        };
        let figures = &mut result.figures;
        figures.insert("requests", outcome.ok as f64);
        figures.insert("req_per_s", outcome.req_per_s);
        figures.insert("p50_ms", outcome.latency.p50_us / 1e3);
        figures.insert("p99_ms", outcome.latency.p99_us / 1e3);
        figures.insert("max_ms", outcome.latency.max_us / 1e3);
        if let Some(cpu) = server_cpu {
            figures.insert("server_cpu_s", cpu.as_secs_f64());
            if outcome.ok > 0 {
                figures.insert(
                    "server_cpu_us_per_req",
                    cpu.as_secs_f64() * 1e6 / outcome.ok as f64,
                );
            }
        }
        result
    }

    /// Records an error that ends the phase.
    pub(crate) fn failed(problem: String) -> PhaseResult {
        PhaseResult {
            errors: 1,
            first_error: Some(problem),
            figures: BTreeMap::new(),
        }
    }
}

/// The server's CPU time so far, when its pid is known.
pub(crate) fn server_cpu(server: &Server) -> Option<Duration> {
    server.pid.map(proc_stats::cpu_time)
}

/// The server's CPU time since `before`.
pub(crate) fn cpu_since(server: &Server, before: Option<Duration>) -> Option<Duration> {
    Some(server_cpu(server)?.saturating_sub(before?))
}
