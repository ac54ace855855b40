//! Shrinking: reduce a failing run while the same checker still reports a violation.
//!
//! Greedy and deterministic: each step proposes a smaller run, reruns it, and keeps it if the
//! target checker still fails. Rounds repeat until nothing more can be removed or the attempt
//! budget runs out. In each round, in this order:
//!
//! 1. drop faults, a fault and its paired end together (Crash/Restart, Pause/Resume,
//!    Partition/HealNetwork), first in halves of the list, then quarters, ... then one by one;
//! 2. drop single faults, so an end whose start is gone (or a start whose end does not matter)
//!    can go too; then workload actions, in halves down to one by one;
//! 3. fewer nodes, dropping faults on removed nodes and removed nodes from partition rules;
//! 4. a shorter safety phase, dropping faults and actions after its new end;
//! 5. fewer instances, then fewer pollers.
//!
//! The shrinker reads no clock: the same input and attempt cap give the same result. A caller
//! may also pass a `stop` predicate (the `sim` binary's wall-time budget for a suite); a shrink
//! it stops may end at a different point on a slower machine, and says so (`stopped_early`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::check::Checker;
use crate::fault::Fault;
use crate::net::Rule;
use crate::plan::Plan;
use crate::run::Run;
use crate::scenario::Options;
use crate::time::SimTime;

/// How much work a shrink may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Reruns at most (each is one full simulated run).
    pub max_attempts: usize,
}

impl Default for Limits {
    /// 300 reruns.
    fn default() -> Limits {
        Limits { max_attempts: 300 }
    }
}

/// A `stop` predicate that never stops: the shrink ends only when done or at its attempt cap.
pub fn never() -> bool {
    false
}

/// The size of a run along every axis the shrinker reduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// Scheduled faults (ends included).
    pub faults: usize,
    /// Service instances.
    pub instances: u64,
    /// Pollers.
    pub pollers: u64,
    /// Registry nodes.
    pub nodes: u64,
    /// Minutes of the safety phase.
    pub safety_minutes: u64,
}

impl Sizes {
    /// The sizes of `options` run with `plan`.
    pub fn of(options: &Options, plan: &Plan) -> Sizes {
        Sizes {
            faults: plan.faults.len(),
            instances: options.workload.instances,
            pollers: options.workload.pollers,
            nodes: options.cluster.nodes,
            safety_minutes: options.phases.safety_minutes,
        }
    }
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} faults, {} instances, {} pollers, {} nodes, {} safety minutes",
            self.faults, self.instances, self.pollers, self.nodes, self.safety_minutes
        )
    }
}

/// The outcome of a shrink.
#[derive(Clone, Debug)]
pub(crate) struct Shrunk {
    /// The reduced options.
    pub options: Options,
    /// The reduced plan.
    pub plan: Plan,
    /// Sizes before.
    pub original: Sizes,
    /// Sizes after.
    pub shrunk: Sizes,
    /// Reruns made.
    pub attempts: usize,
    /// Whether a limit stopped the shrink before it was done.
    pub stopped_early: bool,
}

/// Shrinks the run `(seed, options, plan)`, which must fail `checker` (a checker name) when
/// checked with `checkers`, keeping every step on which `checker` still reports a violation.
/// `stop` is asked before each rerun; once it says yes the shrink ends where it is.
pub(crate) fn shrink(
    seed: u64,
    options: &Options,
    plan: &Plan,
    checker: &str,
    checkers: &[Box<dyn Checker>],
    limits: Limits,
    stop: &dyn Fn() -> bool,
) -> Shrunk {
    let mut shrinker = Shrinker {
        seed,
        checker,
        checkers,
        limits,
        stop,
        attempts: 0,
        stopped_early: false,
        options: options.clone(),
        plan: plan.clone(),
    };
    while shrinker.round() {}
    Shrunk {
        original: Sizes::of(options, plan),
        shrunk: Sizes::of(&shrinker.options, &shrinker.plan),
        options: shrinker.options,
        plan: shrinker.plan,
        attempts: shrinker.attempts,
        stopped_early: shrinker.stopped_early,
    }
}

/// Splits a plan's faults or actions into groups of indices that are removed together.
type Grouping = fn(&Plan) -> Vec<Vec<usize>>;

/// Which list of a plan a pass removes from.
#[derive(Clone, Copy, Debug)]
enum Part {
    Faults,
    Actions,
}

/// The shrink in progress: the smallest failing run so far and the budget spent.
struct Shrinker<'a> {
    seed: u64,
    checker: &'a str,
    checkers: &'a [Box<dyn Checker>],
    limits: Limits,
    stop: &'a dyn Fn() -> bool,
    attempts: usize,
    stopped_early: bool,
    options: Options,
    plan: Plan,
}

impl Shrinker<'_> {
    /// One round of every pass; whether anything shrank (and there is budget for more).
    fn round(&mut self) -> bool {
        let mut progress = self.drop_groups(Part::Faults, fault_units);
        progress |= self.drop_groups(Part::Faults, singles);
        progress |= self.drop_groups(Part::Actions, |plan| each(&plan.actions));
        progress |= self.fewer_nodes();
        progress |= self.shorter_safety();
        progress |= self.fewer_clients();
        progress && !self.out_of_budget()
    }

    fn out_of_budget(&mut self) -> bool {
        if self.attempts >= self.limits.max_attempts || (self.stop)() {
            self.stopped_early = true;
        }
        self.stopped_early
    }

    /// Reruns a candidate; keeps it if the target checker still fails.
    fn attempt(&mut self, options: Options, plan: Plan) -> bool {
        if self.out_of_budget() {
            return false;
        }
        self.attempts += 1;
        let result = Run::new(self.seed, &options)
            .plan(&plan)
            .checkers(self.checkers)
            .go();
        let fails = result.violations.iter().any(|v| v.checker == self.checker);
        if fails {
            self.options = options;
            self.plan = plan;
        }
        fails
    }

    /// Removes groups of faults or actions (as `grouping` forms them from the plan): chunks of
    /// half the groups, then a quarter, ... then single groups.
    fn drop_groups(&mut self, part: Part, grouping: Grouping) -> bool {
        let mut progress = false;
        let mut size = grouping(&self.plan).len().div_ceil(2).max(1);
        loop {
            let mut start = 0;
            loop {
                let groups = grouping(&self.plan);
                if start >= groups.len() || self.out_of_budget() {
                    break;
                }
                let end = (start + size).min(groups.len());
                let removed: Vec<usize> = groups[start..end].concat();
                let mut plan = self.plan.clone();
                match part {
                    Part::Faults => plan.faults = without(&self.plan.faults, &removed),
                    Part::Actions => plan.actions = without(&self.plan.actions, &removed),
                }
                if self.attempt(self.options.clone(), plan) {
                    progress = true; // The next chunk now starts at `start`.
                } else {
                    start = end;
                }
            }
            if size == 1 || self.stopped_early {
                return progress;
            }
            size = size.div_ceil(2);
        }
    }

    /// Tries fewer nodes, smallest first.
    fn fewer_nodes(&mut self) -> bool {
        for nodes in smaller(self.options.cluster.nodes, 1) {
            let mut options = self.options.clone();
            options.cluster.nodes = nodes;
            options.cluster.zones = options.cluster.zones.min(nodes);
            let mut plan = self.plan.clone();
            plan.faults = self
                .plan
                .faults
                .iter()
                .filter_map(|(at, f)| restrict(f, nodes as usize).map(|f| (*at, f)))
                .collect();
            if self.attempt(options, plan) {
                return true;
            }
        }
        false
    }

    /// Tries a shorter safety phase, shortest first.
    fn shorter_safety(&mut self) -> bool {
        for minutes in smaller(self.options.phases.safety_minutes, 1) {
            let mut options = self.options.clone();
            options.phases.safety_minutes = minutes;
            let plan = self.plan.truncated(SimTime::from_secs(minutes * 60));
            if self.attempt(options, plan) {
                return true;
            }
        }
        false
    }

    /// Tries fewer instances, then fewer pollers, fewest first.
    fn fewer_clients(&mut self) -> bool {
        let mut progress = false;
        for instances in smaller(self.options.workload.instances, 0) {
            let mut options = self.options.clone();
            options.workload.instances = instances;
            if self.attempt(options, self.plan.clone()) {
                progress = true;
                break;
            }
        }
        for pollers in smaller(self.options.workload.pollers, 0) {
            let mut options = self.options.clone();
            options.workload.pollers = pollers;
            if self.attempt(options, self.plan.clone()) {
                return true;
            }
        }
        progress
    }
}

/// Smaller values to try for a knob now at `current`, never below `floor`, ascending: the
/// floor, half, three quarters and one less.
fn smaller(current: u64, floor: u64) -> Vec<u64> {
    let mut out: Vec<u64> = [
        floor,
        current / 2,
        current * 3 / 4,
        current.saturating_sub(1),
    ]
    .into_iter()
    .filter(|v| *v >= floor && *v < current)
    .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `items` without the ones at `removed` (indices).
fn without<T: Clone>(items: &[T], removed: &[usize]) -> Vec<T> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| !removed.contains(i))
        .map(|(_, f)| f.clone())
        .collect()
}

/// Every fault on its own.
fn singles(plan: &Plan) -> Vec<Vec<usize>> {
    each(&plan.faults)
}

/// Every item on its own.
fn each<T>(items: &[T]) -> Vec<Vec<usize>> {
    (0..items.len()).map(|i| vec![i]).collect()
}

/// A plan's faults grouped with their paired ends (see [`pair_ends`]).
fn fault_units(plan: &Plan) -> Vec<Vec<usize>> {
    pair_ends(&plan.faults)
}

/// Faults grouped with their paired end: each start takes the first unpaired end after it.
pub(crate) fn pair_ends(faults: &[(SimTime, Fault)]) -> Vec<Vec<usize>> {
    let mut taken = vec![false; faults.len()];
    let mut units = Vec::new();
    for i in 0..faults.len() {
        if taken[i] {
            continue;
        }
        taken[i] = true;
        let mut unit = vec![i];
        let end = (i + 1..faults.len()).find(|&j| !taken[j] && ends(&faults[i].1, &faults[j].1));
        if let Some(j) = end {
            taken[j] = true;
            unit.push(j);
        }
        units.push(unit);
    }
    units
}

/// Whether `end` undoes `start`.
fn ends(start: &Fault, end: &Fault) -> bool {
    match (start, end) {
        (Fault::Crash { node: a }, Fault::Restart { node: b })
        | (Fault::Pause { node: a }, Fault::Resume { node: b }) => a == b,
        (Fault::Partition { .. }, Fault::HealNetwork) => true,
        _ => false,
    }
}

/// The fault as it applies to a cluster of only the first `nodes` nodes, if it still does.
pub(crate) fn restrict(fault: &Fault, nodes: usize) -> Option<Fault> {
    match fault {
        Fault::Crash { node }
        | Fault::Restart { node }
        | Fault::Pause { node }
        | Fault::Resume { node }
        | Fault::ClockOffset { node, .. }
        | Fault::ClockDrift { node, .. }
        | Fault::ClockJump { node, .. } => (*node < nodes).then(|| fault.clone()),
        Fault::Partition { rule } => {
            restrict_rule(rule, nodes).map(|rule| Fault::Partition { rule })
        }
        Fault::HealNetwork => Some(Fault::HealNetwork),
    }
}

/// A partition rule over only the first `nodes` nodes; `None` if it no longer separates any.
fn restrict_rule(rule: &Rule, nodes: usize) -> Option<Rule> {
    let keep = |set: &std::collections::BTreeSet<usize>| {
        let kept: std::collections::BTreeSet<usize> =
            set.iter().copied().filter(|n| *n < nodes).collect();
        (!kept.is_empty()).then_some(kept)
    };
    match rule {
        Rule::Split { a, b } => Some(Rule::Split {
            a: keep(a)?,
            b: keep(b)?,
        }),
        Rule::OneWay { from, to } => Some(Rule::OneWay {
            from: keep(from)?,
            to: keep(to)?,
        }),
        Rule::IsolateFromPeers(n) | Rule::IsolateFromClients(n) => {
            (*n < nodes).then(|| rule.clone())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
