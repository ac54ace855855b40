//! The short chaos sample mutation testing runs against every mutant of `registry::core`
//! (`.cargo/mutants.toml`): every scenario over a few seeds, judged by all ten checkers. It
//! is not the chaos suite (`tests/tests/chaos.rs`, 200 seeds a scenario): it has to finish in
//! seconds in the `mutants` profile, and it judges by invariants only, never by pinned trace
//! hashes, so a mutant counts as caught only when it breaks something a checker states.

use crate::check;
use crate::suite;

/// Seeds per scenario: each is a different cluster shape and fault schedule.
const SEEDS: std::ops::Range<u64> = 0..3;

#[test]
fn chaos_sample_every_scenario_holds_every_invariant() {
    let scenarios =
        suite::load(&suite::default_scenario_dir(), "all").expect("the scenario files parse");
    let work: Vec<_> = scenarios
        .iter()
        .flat_map(|s| SEEDS.map(move |seed| (s.clone(), seed)))
        .collect();
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let outcomes = suite::run_all(&work, jobs, check::all, &|_| {});
    let failures = suite::failure_lines(&outcomes);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let events: u64 = outcomes.iter().map(|o| o.events).sum();
    assert!(
        events > 10_000,
        "the sample simulated little: {events} events"
    );
}
