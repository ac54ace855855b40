//! One seeded run: a safety phase with the scenario's faults, then a liveness phase in which a
//! random core of nodes gets the liveness conditions (partitions lifted, loss and duplication
//! off, down nodes restarted, paused ones resumed, the rest taken down) and must converge within
//! a bound, then the checkers.
//!
//! # The convergence bound
//!
//! Once the liveness phase begins, the core must agree by `liveness_start + max(liveness_minutes, bound)`:
//!
//! ```text
//! bound = sync_timeout                      a restarted core node stops waiting for sync
//!       + ack_timeout + backoff_max         a peer that was unreachable gets its retry
//!       + renew_delay                       a renew leaves; a peer lacking its instance
//!                                           answers -404 and gets the full copy
//!       + evict_after + eviction_interval   a dead instance is evicted everywhere
//!       + 2 * renew_window                  protection mode is left once renews recover
//!       + (ceil(log2(core)) + 2)            anti-entropy rounds to spread any difference
//!         * anti_entropy_interval * (1 + jitter)
//! ```
//!
//! With the reference defaults and a 5-node core: 15 + 3 + 30 + 1 + 90 + 60 + 120 + 5 * 36 = 499 s.

use std::fmt;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use registry::core::{Config, NodeStats};

use crate::check::{CheckInput, Checker, Rules, Violation};
use crate::fault::Fault;
use crate::plan::Plan;
use crate::probe::{ConvergenceSampler, Probes, Timeline, TimelineSampler};
use crate::rng::Streams;
use crate::scenario::Options;
use crate::time::SimTime;
use crate::trace::{Phase, Trace, TraceEvent};
use crate::workload::{Action, Workload};
use crate::world::{Output, World, WorldConfig};

/// Something scheduled in a run, handed back by the world at its time.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Planned {
    Fault(Fault),
    Action(Action),
    Liveness,
}

/// The outcome of one run.
#[derive(Debug)]
pub struct RunResult {
    /// The master seed.
    pub seed: u64,
    /// The options the seed drew.
    pub options: Options,
    /// Everything that happened.
    pub trace: Trace,
    /// Every violation found, checker by checker.
    pub violations: Vec<Violation>,
    /// The nodes brought up for the liveness phase.
    pub core: Vec<usize>,
    /// When the liveness phase began.
    pub liveness_start: SimTime,
    /// When the core had to have converged.
    pub deadline: SimTime,
    /// Events the world processed.
    pub events: u64,
    /// How long after the liveness phase began the up core first held identical client
    /// registries (sampled every [`crate::probe::CONVERGENCE_SAMPLE_EVERY`]); `None` if never
    /// by the deadline.
    pub convergence: Option<Duration>,
    /// Every node's counters summed over the run, crashed incarnations included.
    pub stats: NodeStats,
    /// Each node's registry size and protection mode over time, when the probes asked.
    pub timeline: Option<Timeline>,
}

/// The node configuration every simulated node runs: the reference defaults.
pub(crate) fn node_template(options: &Options) -> Config {
    let mut config = Config::default();
    if options.node.peer_durability > 0 {
        config.cluster.replication.durability = registry::core::Durability::Peer;
    }
    config
}

/// The convergence bound for a core of `core` nodes (see the module documentation).
pub(crate) fn convergence_bound(config: &Config, core: usize) -> Duration {
    let cluster = &config.cluster;
    let replication = &cluster.replication;
    // ceil(log2(core)) + 2: the bits needed to count to core - 1, plus two.
    let rounds = usize::BITS - core.max(1).saturating_sub(1).leading_zeros() + 2;
    let ae = cluster
        .anti_entropy_interval
        .mul_f64(1.0 + cluster.anti_entropy_jitter_percent as f64 / 100.0);
    cluster.sync_timeout
        + replication.ack_timeout
        + replication.backoff_max
        + replication.renew_delay
        + config.lease.evict_after
        + config.lease.eviction_interval
        + config.protection.renew_window * 2
        + ae * rounds
}

/// One run to make: a seed and the options it drew, plus what differs from the plain run (an
/// explicit plan instead of the drawn one, checkers to judge it, extra probes).
///
/// ```no_run
/// # use sim_harness::{check, run::Run, suite};
/// # let scenario = suite::load(&suite::default_scenario_dir(), "steady").expect("loads");
/// let options = suite::draw(&scenario[0], 7);
/// let result = Run::new(7, &options).checkers(&check::all()).go();
/// ```
pub struct Run<'a> {
    seed: u64,
    options: &'a Options,
    plan: Option<&'a Plan>,
    checkers: &'a [Box<dyn Checker>],
    probes: Probes,
}

impl fmt::Debug for Run<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checkers: Vec<&str> = self.checkers.iter().map(|c| c.name()).collect();
        f.debug_struct("Run")
            .field("seed", &self.seed)
            .field("options", self.options)
            .field("plan", &self.plan)
            .field("checkers", &checkers)
            .field("probes", &self.probes)
            .finish()
    }
}

impl<'a> Run<'a> {
    /// Runs `options` under `seed` with the plan the seed draws, judged by no checker and
    /// measured by the default probes.
    pub fn new(seed: u64, options: &'a Options) -> Run<'a> {
        Run {
            seed,
            options,
            plan: None,
            checkers: &[],
            probes: Probes::default(),
        }
    }

    /// Runs `plan` (faults and workload actions) instead of the one the seed draws. Everything
    /// else (network, node and client randomness, the liveness core) still comes from the seed.
    pub fn plan(self, plan: &'a Plan) -> Run<'a> {
        Run {
            plan: Some(plan),
            ..self
        }
    }

    /// Judges the finished run with `checkers`.
    pub fn checkers(self, checkers: &'a [Box<dyn Checker>]) -> Run<'a> {
        Run { checkers, ..self }
    }

    /// Takes the extra measurements `probes` asks for (they change nothing in the run).
    pub fn probes(self, probes: Probes) -> Run<'a> {
        Run { probes, ..self }
    }

    /// Makes the run: the safety phase, the liveness phase, then the checkers.
    pub fn go(self) -> RunResult {
        let drawn;
        let plan = match self.plan {
            Some(plan) => plan,
            None => {
                drawn = Plan::draw(self.seed, self.options);
                &drawn
            }
        };
        let mut running = Running::start(self.seed, self.options, plan, self.probes);
        running.play();
        running.finish(self.checkers)
    }
}

/// A run under way: the world, its clients, what the driver scheduled, the phase and the
/// samplers.
struct Running<'a> {
    seed: u64,
    options: &'a Options,
    streams: Streams,
    template: Config,
    world: World,
    workload: Workload,
    /// What the world hands back through `Output::Scheduled`, by index.
    planned: Vec<Planned>,
    /// The nodes that must converge: all of them until the liveness phase draws its core.
    core: Vec<usize>,
    liveness_start: SimTime,
    /// `SimTime::MAX` until the liveness phase begins.
    deadline: SimTime,
    events: u64,
    /// Whether the run stopped because time stopped moving (`play`).
    stuck: bool,
    timeline: Option<TimelineSampler>,
    convergence: Option<ConvergenceSampler>,
}

/// Events at one instant past which a run is stuck (see `Running::play`).
const STUCK_AFTER: u64 = 100_000;

impl<'a> Running<'a> {
    /// Builds the world, schedules `plan` and the liveness phase, and starts the clients.
    fn start(seed: u64, options: &'a Options, plan: &Plan, probes: Probes) -> Running<'a> {
        let streams = Streams::new(seed);
        let nodes = options.cluster.nodes.max(1) as usize;
        let zones = options.cluster.zones.max(1) as usize;
        let template = node_template(options);
        let world_config = WorldConfig {
            nodes,
            zones,
            net: options.network.net_config(),
            node: template.clone(),
        };
        let mut world = match World::new(seed, &world_config) {
            Ok(world) => world,
            Err(err) => panic!("the reference node configuration is invalid: {err}"),
        };
        world.record(TraceEvent::Phase(Phase::Safety));
        let safety_end = SimTime::ZERO + Duration::from_secs(options.phases.safety_minutes * 60);
        let planned = schedule(&mut world, plan, safety_end);
        let mut workload = Workload::new(
            &options.workload,
            &options.clients,
            &template.limits,
            nodes,
            zones,
            &streams,
        );
        workload.start(&mut world);
        Running {
            seed,
            options,
            streams,
            template,
            world,
            workload,
            planned,
            core: (0..nodes).collect(),
            liveness_start: safety_end,
            deadline: SimTime::MAX,
            events: 0,
            stuck: false,
            timeline: probes.timeline_every.map(TimelineSampler::new),
            convergence: None,
        }
    }

    /// Steps the world until nothing is left or the next event is past the deadline, or until
    /// the world is stuck: [`STUCK_AFTER`] events at one instant (a run makes tens of
    /// thousands in all) mean time will never move again.
    fn play(&mut self) {
        let (mut instant, mut at_instant) = (SimTime::ZERO, 0u64);
        while let Some(at) = self.world.peek_time() {
            if at > self.deadline {
                break;
            }
            if at == instant {
                at_instant += 1;
                if at_instant > STUCK_AFTER {
                    self.world.record(TraceEvent::Stuck { events: at_instant });
                    self.stuck = true;
                    break;
                }
            } else {
                (instant, at_instant) = (at, 1);
            }
            self.sample(at);
            self.events += 1;
            let Some((_, output)) = self.world.step() else {
                break;
            };
            self.dispatch(output);
        }
    }

    /// Takes the samples due before the world moves past `before`.
    fn sample(&mut self, before: SimTime) {
        if let Some(sampler) = &mut self.timeline {
            sampler.catch_up(&self.world, before, self.deadline);
        }
        if let Some(sampler) = &mut self.convergence {
            sampler.catch_up(&self.world, &self.core, before, self.deadline);
        }
    }

    /// Hands what a step produced to the clients, or carries out what the driver scheduled.
    fn dispatch(&mut self, output: Option<Output>) {
        match output {
            None => {}
            Some(Output::Reply { client, id, reply }) => {
                self.workload.on_reply(&mut self.world, client, id, &reply)
            }
            Some(Output::ClientWake { client, wake }) => {
                self.workload.on_wake(&mut self.world, client, wake)
            }
            Some(Output::Scheduled { index }) => match &self.planned[index] {
                // Faults stop once the liveness phase begins.
                Planned::Fault(fault) if self.deadline == SimTime::MAX => self.world.apply(fault),
                Planned::Fault(_) => {}
                Planned::Action(action) => self.workload.act(&mut self.world, action),
                Planned::Liveness => self.begin_liveness(),
            },
        }
    }

    /// Draws the core, sets the deadline, imposes the liveness conditions and settles the
    /// clients on the core.
    fn begin_liveness(&mut self) {
        self.core = choose_core(self.world.len(), &self.streams);
        self.liveness_start = self.world.now();
        let liveness = Duration::from_secs(self.options.phases.liveness_minutes * 60);
        self.deadline =
            self.liveness_start + liveness.max(convergence_bound(&self.template, self.core.len()));
        impose_liveness_conditions(&mut self.world, &self.core);
        self.convergence = Some(ConvergenceSampler::new(self.liveness_start));
        self.workload.enter_liveness(&mut self.world, &self.core);
        self.world.record(TraceEvent::Phase(Phase::Liveness {
            core: self.core.clone(),
            deadline: self.deadline,
        }));
    }

    /// Ends the run at its deadline and judges it with `checkers`.
    fn finish(mut self, checkers: &[Box<dyn Checker>]) -> RunResult {
        if self.deadline != SimTime::MAX && !self.stuck {
            // Nothing changes after the last event: the samples still due see the final state.
            self.sample(SimTime::MAX);
            self.world.advance_to(self.deadline);
        }
        let stats = self.world.total_stats();
        self.world.record(TraceEvent::Phase(Phase::End));
        let snapshot = self.world.snapshot();
        let trace = self.world.take_trace();
        let input = CheckInput {
            trace: &trace,
            rules: Rules::of(&self.template),
            nodes: self.world.len(),
            core: self.core.clone(),
            liveness_start: self.liveness_start,
            deadline: self.deadline,
            snapshot,
        };
        let violations = judge(&input, checkers);
        RunResult {
            seed: self.seed,
            options: self.options.clone(),
            trace,
            violations,
            core: self.core,
            liveness_start: self.liveness_start,
            deadline: self.deadline,
            events: self.events,
            convergence: self.convergence.and_then(|sampler| sampler.converged()),
            stats,
            timeline: self.timeline.map(TimelineSampler::finish),
        }
    }
}

/// Schedules the plan's faults, then its actions, then the liveness phase at `safety_end`;
/// returns what each scheduled index stands for. The scheduling order breaks ties between
/// equal times, so it must stay this order.
fn schedule(world: &mut World, plan: &Plan, safety_end: SimTime) -> Vec<Planned> {
    let mut planned: Vec<Planned> = Vec::new();
    for (at, fault) in &plan.faults {
        world.schedule(*at, planned.len());
        planned.push(Planned::Fault(fault.clone()));
    }
    for (at, action) in &plan.actions {
        world.schedule(*at, planned.len());
        planned.push(Planned::Action(*action));
    }
    world.schedule(safety_end, planned.len());
    planned.push(Planned::Liveness);
    planned
}

/// Every violation `checkers` find, checker by checker.
fn judge(input: &CheckInput<'_>, checkers: &[Box<dyn Checker>]) -> Vec<Violation> {
    checkers
        .iter()
        .flat_map(|checker| checker.check(input))
        .collect()
}

/// A random core: at least a majority of the nodes.
fn choose_core(nodes: usize, streams: &Streams) -> Vec<usize> {
    let mut rng = streams.stream("core", 0);
    let size = rng.gen_range(nodes.div_ceil(2).max(1)..=nodes);
    let mut all: Vec<usize> = (0..nodes).collect();
    all.shuffle(&mut rng);
    let mut core = all[..size].to_vec();
    core.sort_unstable();
    core
}

/// The liveness phase's conditions: heals the network (no partitions, and no loss or
/// duplication: delays stay), brings every core node up and running, and takes the others down.
///
/// Loss is lifted too because a lost poll or renew costs a client its full timeout, and a bound
/// on convergence that held for every client under loss would be a bound on timeouts instead.
fn impose_liveness_conditions(world: &mut World, core: &[usize]) {
    world.apply(&Fault::HealNetwork);
    let mut quiet = world.net_mut().config().clone();
    quiet.loss = 0.0;
    quiet.duplicate = 0.0;
    world.net_mut().set_config(quiet);
    for node in 0..world.len() {
        let in_core = core.contains(&node);
        if in_core && world.node(node).is_none() {
            world.apply(&Fault::Restart { node });
        } else if in_core && !world.is_running(node) {
            world.apply(&Fault::Resume { node });
        } else if !in_core && world.node(node).is_some() {
            world.apply(&Fault::Crash { node });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    const SMALL: &str = r#"
description = "a small quick run"
[cluster]
nodes = [3, 3]
[phases]
safety_minutes = [3, 3]
liveness_minutes = [1, 1]
[network]
delay_ms_min = [1, 1]
delay_ms_mean = [2, 2]
[faults]
crashes_per_hour = [40, 40]
down_seconds = [10, 10]
[workload]
apps = [2, 2]
instances = [10, 10]
pollers = [2, 2]
"#;

    fn small_options(seed: u64) -> Options {
        let scenario = Scenario::parse("small.toml", SMALL).expect("valid scenario");
        scenario.draw(&mut Streams::new(seed).options())
    }

    #[test]
    fn the_bound_follows_the_documented_formula() {
        let bound = convergence_bound(&Config::default(), 5);
        assert_eq!(
            bound,
            Duration::from_secs(499),
            "15 + 3 + 30 + 1 + 90 + 60 + 120 + 5 * 36"
        );
        let single = convergence_bound(&Config::default(), 1);
        assert_eq!(single, Duration::from_secs(319 + 2 * 36));
    }

    #[test]
    fn the_core_is_a_majority_and_drawn_from_the_seed() {
        for seed in 0..50 {
            let core = choose_core(5, &Streams::new(seed));
            assert!(core.len() >= 3 && core.len() <= 5, "{core:?}");
            assert!(core.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(core, choose_core(5, &Streams::new(seed)));
        }
    }

    #[test]
    fn a_run_restores_its_core_and_ends_at_the_deadline() {
        let result = Run::new(3, &small_options(3)).go();
        let phases: Vec<&Phase> = result
            .trace
            .entries()
            .iter()
            .filter_map(|(_, e)| match e {
                TraceEvent::Phase(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(phases.len(), 3, "{phases:?}");
        assert!(matches!(phases[1], Phase::Liveness { .. }));
        assert_eq!(result.liveness_start, SimTime::from_secs(180));
        assert!(
            result.deadline
                >= result.liveness_start + convergence_bound(&Config::default(), result.core.len())
        );
        let writes = result
            .trace
            .entries()
            .iter()
            .filter(|(_, e)| {
                matches!(
                    e,
                    TraceEvent::Client(crate::trace::ClientEvent::Wrote { .. })
                )
            })
            .count();
        assert!(
            writes >= 10,
            "every instance registered at least once: {writes}"
        );
    }

    #[test]
    fn probes_measure_without_changing_the_run() {
        let plain = Run::new(3, &small_options(3)).go();
        let probes = Probes {
            timeline_every: Some(Duration::from_secs(10)),
        };
        let probed = Run::new(3, &small_options(3)).probes(probes).go();
        assert_eq!(
            plain.trace.hash(),
            probed.trace.hash(),
            "sampling is read-only"
        );
        assert_eq!(plain.events, probed.events);
        assert!(plain.timeline.is_none());
        let converged = plain.convergence.expect("a healed quiet core converges");
        assert!(plain.liveness_start + converged <= plain.deadline);
        assert_eq!(
            converged.as_secs() % 5,
            0,
            "sampled every 5 s: {converged:?}"
        );
        let timeline = probed.timeline.expect("asked for");
        let last = timeline.samples.last().expect("samples").0;
        assert!(last <= probed.deadline && last + Duration::from_secs(10) > probed.deadline);
        assert_eq!(
            timeline.samples.len() as u64,
            probed.deadline.as_nanos() / 10_000_000_000 + 1
        );
        assert!(timeline
            .samples
            .iter()
            .any(|(_, n)| n.iter().any(|s| s.instances > 0)));
        assert!(plain.stats.anti_entropy_rounds > 0 && plain.stats.replication_enqueued > 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_run() {
        let a = Run::new(9, &small_options(9)).go();
        let b = Run::new(9, &small_options(9)).go();
        assert_eq!(a.trace.hash(), b.trace.hash());
        assert_eq!(crate::trace::first_divergence(&a.trace, &b.trace), None);
        let c = Run::new(10, &small_options(10)).go();
        assert_ne!(a.trace.hash(), c.trace.hash());
    }

    /// Pinned trace hashes: the explicit plan must not change a single event of the drawn run
    /// (first recorded before explicit plans existed, at 3ae78ab). The swarm seed pins
    /// `swarm.toml` too. A deliberate change of behaviour (a scenario file, the node, the
    /// clients or the network's draws) or of how an event renders (`Debug`, which the hash
    /// covers) re-records them with `sim replay`. Re-recorded so far when: long-polls began to
    /// be answered once at the end of a step; digests began to cover each copy's content;
    /// renews began to expire after the renew horizon; the world began recording `Stamped`;
    /// requests began naming their instance by one `InstanceKey` and a replicated write began
    /// to carry its `Version` (rendering only: the events stayed the same, line for line);
    /// renews of instances a node does not hold stopped counting towards protection
    /// (`WindowClosed` reports them) and the expectation's reset began counting only instances
    /// that renewed; the simulated clients began renewing on their own ticker whatever else
    /// they wrote, and peer messages began carrying `sent_at` so a copy keeps the age its
    /// sender measured; leases stopped running while a node is paused (swarm seed 2 pauses;
    /// the small scenario does not); a cluster started together became ready once its nodes
    /// had heard from each other instead of at the sync timeout; a client's `Wrote` record
    /// began saying whether it reads back its writes (rendering only for the small scenario),
    /// and `swarm.toml` began drawing whether nodes answer writes after a peer's
    /// acknowledgement (seed 2 draws it); a message
    /// from a peer began ending the back-off of the replication queue towards it, and a
    /// `polls` caller already told that an app is empty began to be held when it asks again
    /// with the same cursor (#16); writes began to leave at once when nothing is in flight to
    /// the peer (#17).
    #[test]
    fn an_explicit_drawn_plan_gives_the_traces_recorded_before_plans_existed() {
        for (seed, hash) in [
            (3, 0x5dcc_61e3_047a_e9dc_u64),
            (9, 0x092f_a497_19b7_f23a),
            (21, 0x862b_79f3_52a0_c948),
        ] {
            let options = small_options(seed);
            assert_eq!(
                Run::new(seed, &options).go().trace.hash(),
                hash,
                "seed {seed}"
            );
            let plan = Plan::draw(seed, &options);
            assert_eq!(Run::new(seed, &options).plan(&plan).go().trace.hash(), hash);
        }
        let swarm = crate::scenario::Scenario::load(
            crate::suite::default_scenario_dir().join("swarm.toml"),
        )
        .expect("the swarm scenario loads");
        let options = crate::suite::draw(&swarm, 2);
        assert_eq!(
            Run::new(2, &options).go().trace.hash(),
            0x6ec7_c89c_d040_666a
        );
    }

    #[test]
    fn a_plan_without_its_faults_changes_the_run() {
        let options = small_options(3);
        let mut plan = Plan::draw(3, &options);
        assert!(!plan.faults.is_empty(), "the small scenario crashes nodes");
        plan.faults.clear();
        let quiet = Run::new(3, &options).plan(&plan).go();
        // The liveness conditions may crash nodes outside the core; the safety phase must not.
        let safety_crashes = quiet
            .trace
            .entries()
            .iter()
            .filter(|(at, e)| {
                *at < quiet.liveness_start && matches!(e, TraceEvent::Fault(Fault::Crash { .. }))
            })
            .count();
        assert_eq!(safety_crashes, 0);
        let drawn = Run::new(3, &options).go();
        assert_ne!(drawn.trace.hash(), quiet.trace.hash());
    }
}
