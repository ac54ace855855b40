//! Checkers: each reads a finished run (its trace and final snapshot) and reports violations
//! of one property. One module per property, each with tests that feed it a trace breaking the
//! property and one that keeps it ("teeth").

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use registry::api::{Instance, InstanceKey};
use serde::Serialize;

use crate::time::SimTime;
use crate::trace::Trace;

mod causality;
mod convergence;
mod limits;
#[cfg(test)]
pub(crate) use limits::labelled_answers;
mod membership;
mod oracle;
mod poll_delivery;
mod premature_eviction;
mod protection;
mod read_before_sync;
mod resurrection;
mod session_order;
mod support;
#[cfg(test)]
mod tests_all;
#[cfg(test)]
mod tests_support;

/// Every checker, in report order.
pub fn all() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(convergence::Convergence),
        Box::new(oracle::Oracle),
        Box::new(resurrection::Resurrection),
        Box::new(session_order::SessionOrder),
        Box::new(premature_eviction::PrematureEviction),
        Box::new(protection::Protection),
        Box::new(poll_delivery::PollDelivery),
        Box::new(membership::Membership),
        Box::new(read_before_sync::ReadBeforeSync),
        Box::new(limits::Limits),
    ]
}

/// The node settings the checkers judge by (the simulator's node configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// A lease expires after this silence (90 s).
    pub evict_after: Duration,
    /// While protected, only instances silent longer than this may be evicted (1 h).
    pub protected_evict_after: Duration,
    /// Renew window (60 s).
    pub renew_window: Duration,
    /// Protection threshold percentage (85).
    pub threshold_percent: u64,
    /// An eviction round keeps at least this percentage of the registry (85).
    pub eviction_keep_percent: u64,
}

impl Rules {
    /// The rules of a node configuration.
    pub fn of(config: &registry::core::Config) -> Rules {
        Rules {
            evict_after: config.lease.evict_after,
            protected_evict_after: config.lease.protected_evict_after,
            renew_window: config.protection.renew_window,
            threshold_percent: config.protection.threshold_percent,
            eviction_keep_percent: config.lease.eviction_keep_percent,
        }
    }
}

/// One node at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSnapshot {
    /// The node's zone.
    pub zone: String,
    /// Whether the node was running.
    pub up: bool,
    /// Whether it had finished startup sync.
    pub ready: bool,
    /// Whether it was in protection mode.
    pub protected: bool,
    /// Every instance it held (the simulator's own `infra.discovery` registrations included).
    pub registry: BTreeMap<InstanceKey, Instance>,
    /// Indices of the peers it considered up.
    pub peers_up: Vec<usize>,
}

/// Everything a checker may look at.
#[derive(Clone, Debug)]
pub struct CheckInput<'a> {
    /// What happened, in order.
    pub trace: &'a Trace,
    /// The node settings.
    pub rules: Rules,
    /// How many nodes the run had.
    pub nodes: usize,
    /// The nodes healed for the liveness phase; they must converge.
    pub core: Vec<usize>,
    /// When the liveness phase began.
    pub liveness_start: SimTime,
    /// When the core had to have converged (the snapshot is taken then).
    pub deadline: SimTime,
    /// Each node at the deadline, by index.
    pub snapshot: Vec<NodeSnapshot>,
}

/// A broken property. Serializable only: its checker name is `'static`; a capsule keeps an
/// owned copy ([`crate::capsule::ViolationRecord`]) to read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The checker that found it.
    pub checker: &'static str,
    /// When (virtual time).
    pub at: SimTime,
    /// The node concerned, if one is.
    pub node: Option<usize>,
    /// The instance concerned, if one is.
    pub instance: Option<InstanceKey>,
    /// One sentence of explanation.
    pub explanation: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let instance = self.instance.as_ref();
        display(
            f,
            self.checker,
            self.at,
            self.node,
            instance,
            &self.explanation,
        )
    }
}

/// `[checker] at time node N instance app/zone/host: explanation`, the one way a violation
/// (or its record in a capsule) is shown.
pub(crate) fn display(
    f: &mut fmt::Formatter<'_>,
    checker: &str,
    at: SimTime,
    node: Option<usize>,
    instance: Option<&InstanceKey>,
    explanation: &str,
) -> fmt::Result {
    write!(f, "[{checker}] at {at}")?;
    if let Some(node) = node {
        write!(f, " node {node}")?;
    }
    if let Some(key) = instance {
        write!(f, " instance {}/{}/{}", key.appid, key.zone, key.hostname)?;
    }
    write!(f, ": {explanation}")
}

/// One property, checked over a finished run.
pub trait Checker {
    /// The checker's name, as reports and exit messages use it.
    fn name(&self) -> &'static str;
    /// Every violation of the property in this run.
    fn check(&self, input: &CheckInput<'_>) -> Vec<Violation>;
}
