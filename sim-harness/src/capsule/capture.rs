//! From a failing seed to a capsule on disk: rerun, shrink, rerun the shrunk run, excerpt.

use std::path::{Path, PathBuf};

use super::{capsule_path, excerpt, first_of, replay_command, Capsule, CapsuleError};
use crate::check::Checker;
use crate::plan::Plan;
use crate::run::Run;
use crate::scenario::Options;
use crate::shrink::{self, Limits};
use crate::suite::SeedOutcome;

/// Shrinks the run `seed` draws with `options` against its first violation's checker and
/// returns the capsule of the shrunk run, whose replay command names `path`. `None` if the run
/// finds no violation. `limits` and `stop` bound the shrink (see [`shrink::shrink`]).
pub fn capture(
    scenario: &str,
    seed: u64,
    options: &Options,
    checkers: &[Box<dyn Checker>],
    limits: Limits,
    stop: &dyn Fn() -> bool,
    path: &Path,
) -> Option<Capsule> {
    let plan = Plan::draw(seed, options);
    let original = Run::new(seed, options).plan(&plan).checkers(checkers).go();
    let checker = original.violations.first()?.checker;
    let shrunk = shrink::shrink(seed, options, &plan, checker, checkers, limits, stop);
    let result = Run::new(seed, &shrunk.options)
        .plan(&shrunk.plan)
        .checkers(checkers)
        .go();
    // The shrinker keeps only candidates on which `checker` fails, and runs are deterministic.
    let violation = first_of(&result.violations, checker)?;
    Some(Capsule {
        scenario: scenario.to_string(),
        seed,
        options: shrunk.options,
        plan: shrunk.plan,
        violation: violation.into(),
        trace_excerpt: excerpt(&result.trace, violation.at),
        original: shrunk.original,
        shrunk: shrunk.shrunk,
        shrink_attempts: shrunk.attempts,
        shrink_stopped_early: shrunk.stopped_early,
        replay: replay_command(path),
    })
}

/// One failing seed of a suite, captured.
#[derive(Debug)]
pub struct Captured {
    /// Where its capsule was (or was to be) written.
    pub path: PathBuf,
    /// The capsule, or why it could not be written (`Ok(None)`: the seed no longer fails).
    pub capsule: Result<Option<Capsule>, CapsuleError>,
}

/// Captures every failing outcome into `dir`, in order, each shrink within `per_seed`. Once
/// `stop` says yes (the caller's budget for all shrinks), the current shrink ends and later
/// seeds are captured unshrunk, so a suite with many or slow failures still ends soon after
/// its runs.
pub fn capture_all(
    outcomes: &[SeedOutcome],
    checkers: &[Box<dyn Checker>],
    per_seed: Limits,
    stop: &dyn Fn() -> bool,
    dir: &Path,
) -> Vec<Captured> {
    let failing = outcomes.iter().filter(|o| !o.violations.is_empty());
    failing
        .map(|outcome| {
            let path = capsule_path(dir, &outcome.scenario, outcome.seed);
            let capsule = capture(
                &outcome.scenario,
                outcome.seed,
                &outcome.options,
                checkers,
                per_seed,
                stop,
                &path,
            );
            let written = match capsule {
                Some(capsule) => capsule.write(&path).map(|()| Some(capsule)),
                None => Ok(None),
            };
            Captured {
                path,
                capsule: written,
            }
        })
        .collect()
}
