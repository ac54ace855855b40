//! Measurements a run takes of its world at fixed virtual intervals, read-only so that they
//! change nothing in the run: when the up core first agrees in the liveness phase (always),
//! and each node's registry size and protection mode over the whole run (only when asked).
//!
//! A sample "at `t`" sees every event with a time up to and including `t`: the run takes it
//! just before it processes the first event later than `t`.

use registry::api::SmolStr;
use std::collections::BTreeMap;
use std::time::Duration;

use registry::api::{Instance, InstanceKey};
use registry::core::DISCOVERY_APPID;

use crate::time::SimTime;
use crate::world::World;

/// How often the run checks whether the up core agrees, during the liveness phase.
pub const CONVERGENCE_SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// What a run measures beyond what it always does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probes {
    /// Sample every node's registry size and protection mode at this interval (off: `None`).
    pub timeline_every: Option<Duration>,
}

/// One node at one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeSample {
    /// Whether the node was up (running or paused).
    pub up: bool,
    /// Instances it held (its `instance_count()`), zero when down.
    pub instances: usize,
    /// Whether it was in protection mode.
    pub protected: bool,
}

/// Every node sampled at a fixed interval from the start of the run to its deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The interval between samples.
    pub every: Duration,
    /// The samples: their time and one entry per node.
    pub samples: Vec<(SimTime, Vec<NodeSample>)>,
}

/// Takes the timeline samples that are due.
#[derive(Debug)]
pub(crate) struct TimelineSampler {
    next: SimTime,
    timeline: Timeline,
}

impl TimelineSampler {
    /// Samples every `every` from time zero.
    pub(crate) fn new(every: Duration) -> TimelineSampler {
        TimelineSampler {
            next: SimTime::ZERO,
            timeline: Timeline {
                every: every.max(Duration::from_millis(1)),
                samples: Vec::new(),
            },
        }
    }

    /// Takes every sample due before `before` (see the module docs), up to `until`.
    pub(crate) fn catch_up(&mut self, world: &World, before: SimTime, until: SimTime) {
        while self.next < before && self.next <= until {
            let nodes = (0..world.len())
                .map(|index| match world.node(index) {
                    Some(node) => NodeSample {
                        up: true,
                        instances: node.instance_count(),
                        protected: node.protection().protected,
                    },
                    None => NodeSample {
                        up: false,
                        instances: 0,
                        protected: false,
                    },
                })
                .collect();
            self.timeline.samples.push((self.next, nodes));
            self.next += self.timeline.every;
        }
    }

    /// The samples taken.
    pub(crate) fn finish(self) -> Timeline {
        self.timeline
    }
}

/// Watches for the first sample at which the up core agrees.
#[derive(Debug)]
pub(crate) struct ConvergenceSampler {
    start: SimTime,
    next: SimTime,
    converged: Option<Duration>,
}

impl ConvergenceSampler {
    /// Samples every [`CONVERGENCE_SAMPLE_EVERY`] from `start` (the liveness phase's start).
    pub(crate) fn new(start: SimTime) -> ConvergenceSampler {
        ConvergenceSampler {
            start,
            next: start,
            converged: None,
        }
    }

    /// Takes every sample due before `before`, up to `until`, until the core agrees once.
    pub(crate) fn catch_up(
        &mut self,
        world: &World,
        core: &[usize],
        before: SimTime,
        until: SimTime,
    ) {
        while self.converged.is_none() && self.next < before && self.next <= until {
            if core_agrees(world, core) {
                self.converged = Some(self.next.saturating_since(self.start));
            }
            self.next += CONVERGENCE_SAMPLE_EVERY;
        }
    }

    /// How long after the start the core first agreed, if it did.
    pub(crate) fn converged(&self) -> Option<Duration> {
        self.converged
    }
}

/// The fields two converged copies must agree on (the convergence checker's).
type Copy<'a> = (
    i64,
    registry::api::Status,
    &'a registry::api::Metadata,
    &'a [SmolStr],
    &'a str,
);

fn copy(i: &Instance) -> Copy<'_> {
    (
        i.dirty_timestamp,
        i.status,
        &i.metadata,
        &i.addrs,
        &i.version,
    )
}

/// Whether every up core node holds the same client-app instances, copy for copy.
///
/// Stricter than the convergence checker: a dead client's instance still held by a protected
/// node counts as disagreement here (the measurement asks when the core is identical).
pub(crate) fn core_agrees(world: &World, core: &[usize]) -> bool {
    let registries: Vec<BTreeMap<SmolStr, Vec<Instance>>> = core
        .iter()
        .filter_map(|&n| world.node(n))
        .map(|node| node.registry())
        .collect();
    let views: Vec<BTreeMap<InstanceKey, Copy<'_>>> = registries
        .iter()
        .map(|registry| {
            registry
                .iter()
                .filter(|(appid, _)| appid.as_str() != DISCOVERY_APPID)
                .flat_map(|(_, instances)| instances)
                .map(|i| (InstanceKey::of(i), copy(i)))
                .collect()
        })
        .collect();
    views.windows(2).all(|pair| pair[0] == pair[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::WorldConfig;

    #[test]
    fn a_quiet_world_agrees_at_once_and_samples_at_each_interval() {
        let world = World::new(1, &WorldConfig::default()).expect("valid config");
        let mut convergence = ConvergenceSampler::new(SimTime::ZERO);
        convergence.catch_up(&world, &[0, 1, 2], SimTime::from_secs(1), SimTime::MAX);
        assert_eq!(convergence.converged(), Some(Duration::ZERO));

        let mut timeline = TimelineSampler::new(Duration::from_secs(10));
        timeline.catch_up(&world, SimTime::from_secs(25), SimTime::from_secs(15));
        let timeline = timeline.finish();
        let times: Vec<SimTime> = timeline.samples.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, vec![SimTime::ZERO, SimTime::from_secs(10)]);
        assert!(timeline.samples[0].1.iter().all(|s| s.up && !s.protected));
    }
}
