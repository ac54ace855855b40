//! A run's plan: everything a seed draws up front, as explicit data.
//!
//! [`crate::run::Run`] draws a [`Plan`] from the seed and runs it, or runs any plan it is
//! given ([`crate::run::Run::plan`]), so a failure capsule can replay a run from its data and the shrinker can
//! rerun it with faults removed or a shorter safety phase.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fault::{self, Fault};
use crate::rng::Streams;
use crate::scenario::Options;
use crate::time::SimTime;
use crate::workload::{self, Action};

/// The scheduled parts of a run: its faults and the workload's planned actions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The safety phase's faults, in time order.
    pub faults: Vec<(SimTime, Fault)>,
    /// The workload's planned actions, in time order (whom each hits is chosen when it runs).
    pub actions: Vec<(SimTime, Action)>,
}

impl Plan {
    /// The plan `seed` draws for `options`: what [`crate::run::Run`] runs unless given one.
    pub fn draw(seed: u64, options: &Options) -> Plan {
        let streams = Streams::new(seed);
        let safety = Duration::from_secs(options.phases.safety_minutes * 60);
        Plan {
            faults: fault::schedule(options, &mut streams.faults()),
            actions: workload::plan(&options.workload, safety, &mut streams.stream("actions", 0)),
        }
    }

    /// The same plan with nothing scheduled at or after `end` (a shorter safety phase).
    pub fn truncated(&self, end: SimTime) -> Plan {
        Plan {
            faults: self
                .faults
                .iter()
                .filter(|(at, _)| *at < end)
                .cloned()
                .collect(),
            actions: self
                .actions
                .iter()
                .filter(|(at, _)| *at < end)
                .copied()
                .collect(),
        }
    }
}
