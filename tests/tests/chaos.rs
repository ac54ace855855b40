//! The seeded chaos suite: every scenario in `scenarios/` over pinned seeds, each run checked
//! by all ten checkers, plus a determinism check over a sample of seeds.
//!
//! A failure lists each failing seed with the one command that replays it.

use sim_harness::check;
use sim_harness::run::Run;
use sim_harness::suite;
use sim_harness::trace::first_divergence;

/// Seeds per scenario: 20 scenarios make 2,000 runs, about four minutes on two cores inside
/// `cargo test` (debug assertions on). The README's `sim run --scenario all --seeds 0..200`
/// measures twice the range; `.ci/fresh-seeds` adds 2,000 new swarm seeds to every CI run. At
/// 200 seeds this test alone took nine minutes and CI ran past its 40-minute budget.
const SEEDS_PER_SCENARIO: u64 = 100;

fn jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn every_scenario_holds_every_invariant_over_pinned_seeds() {
    let scenarios =
        suite::load(&suite::default_scenario_dir(), "all").expect("the scenario files parse");
    assert!(
        scenarios.len() >= 15,
        "expected at least 15 scenarios, found {}",
        scenarios.len()
    );
    let work: Vec<_> = scenarios
        .iter()
        .flat_map(|s| (0..SEEDS_PER_SCENARIO).map(move |seed| (s.clone(), seed)))
        .collect();
    let outcomes = suite::run_all(&work, jobs(), check::all, &|_| {});
    assert_eq!(outcomes.len(), work.len(), "every run finished");
    let failures = suite::failure_lines(&outcomes);
    assert!(
        failures.is_empty(),
        "{} of {} runs failed:\n{}",
        failures.len(),
        outcomes.len(),
        failures.join("\n")
    );
    let events: u64 = outcomes.iter().map(|o| o.events).sum();
    assert!(
        events > 1_000_000,
        "the suite simulated suspiciously little: {events} events"
    );
}

/// Swarm seeds outside the pinned range that once failed, each with the defect it found (the
/// fix's own test lives where the defect did). A fresh seed that fails (`.ci/fresh-seeds`)
/// joins this list with its fix.
const ONCE_FAILED_SWARM_SEEDS: [(u64, &str); 32] = [
    (
        258,
        "session_order: a set answered after its client died (checker)",
    ),
    (
        368,
        "resurrection: a view without a WAITING instance (checker)",
    ),
    (
        437,
        "premature_eviction: a lease outliving its copy (checker)",
    ),
    (
        482,
        "session_order: concurrent writes ordered by skewed clocks (checker)",
    ),
    (538, "session_order: a set lost with its node (checker)"),
    (568, "oracle: a cancel lost with its node (checker)"),
    (
        586,
        "session_order: concurrent writes ordered by skewed clocks (checker)",
    ),
    (
        911,
        "oracle: a cancel outranked by a concurrent register (checker)",
    ),
    (
        2173,
        "oracle: a cancel outranked by a concurrent register (checker)",
    ),
    (
        3243,
        "oracle: a cancel lost with every node that had it (checker)",
    ),
    (
        4449,
        "session_order: a register replayed by a resumed node (node: stall)",
    ),
    (
        13499,
        "resurrection: a copy outranking the cancel by design (checker)",
    ),
    (
        15900,
        "poll_delivery: an emptied app dropped with its cursor (node: table)",
    ),
    (
        16350,
        "resurrection: a copy outranking the cancel by design (checker)",
    ),
    (
        17523,
        "convergence: a zone whose nodes were all lost (node: routing)",
    ),
    (
        39832,
        "session_order: a dead instance's stale copy kept alive by late renews (node: renew horizon)",
    ),
    (
        40486,
        "oracle: a cancel lost with its node after an older copy left it (checker: stamps)",
    ),
    (
        47601,
        "oracle: a register and a cancel given one stamp by two nodes (node: tie order)",
    ),
    (
        49525,
        "resurrection: a cancel that never left its node, outranked (checker: stamps)",
    ),
    (
        50299,
        "resurrection: a cancel that never left its node, outranked (checker: stamps)",
    ),
    (
        52083,
        "session_order: a dead instance's stale copy kept alive by late renews (node: renew horizon)",
    ),
    (
        53025,
        "session_order: a dead instance's stale copy kept alive by late renews (node: renew horizon)",
    ),
    (
        59133,
        "session_order: a dead instance's stale copy kept alive by late renews (node: renew horizon)",
    ),
    (
        69534,
        "resurrection: a cancel that never left its node, outranked (checker: stamps)",
    ),
    (
        100645,
        "oracle: a cancel answered -404 outranked by a concurrent register (checker: stamps)",
    ),
    (
        208718,
        "oracle: a cancel whose tombstone expired as it reached the other side (node: merge)",
    ),
    (
        218006,
        "poll_delivery: an answer to a poll the poller had given up on (checker: served views)",
    ),
    (
        117082,
        "poll_delivery: a poll answered on an eviction round's first change (node: wake)",
    ),
    (
        303348000861,
        "poll_delivery: an abandoned poll arriving after the newer one (checker: served views)",
    ),
    (
        469494001081,
        "poll_delivery: a change answered at the deadline itself (checker: served views)",
    ),
    (
        163,
        "oracle: an acknowledged set lost to an older copy renewed behind a partition (node: eviction forgot the version)",
    ),
    (
        161403001846,
        "oracle: an acknowledged set lost after a restart synced a copy whose lease had run out (node: the sync forgot the version)",
    ),
];

#[test]
fn swarm_seeds_that_once_failed_stay_clean() {
    let scenarios =
        suite::load(&suite::default_scenario_dir(), "swarm").expect("the swarm scenario parses");
    let work: Vec<_> = ONCE_FAILED_SWARM_SEEDS
        .iter()
        .map(|(seed, _)| (scenarios[0].clone(), *seed))
        .collect();
    let outcomes = suite::run_all(&work, jobs(), check::all, &|_| {});
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.violations.is_empty())
        .map(|o| {
            let found = ONCE_FAILED_SWARM_SEEDS
                .iter()
                .find(|(seed, _)| *seed == o.seed)
                .map_or("", |(_, what)| *what);
            format!(
                "swarm seed {} (once: {found}): {}\n  replay: {}",
                o.seed,
                o.violations[0],
                suite::replay_command(&o.scenario, o.seed)
            )
        })
        .collect();
    assert_eq!(outcomes.len(), ONCE_FAILED_SWARM_SEEDS.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_sample_of_runs_is_bit_for_bit_reproducible() {
    let scenarios =
        suite::load(&suite::default_scenario_dir(), "all").expect("the scenario files parse");
    for scenario in &scenarios {
        for seed in [7, 1_000_003] {
            let options = suite::draw(scenario, seed);
            let a = Run::new(seed, &options).go();
            let b = Run::new(seed, &options).go();
            assert_eq!(
                first_divergence(&a.trace, &b.trace),
                None,
                "{} seed {seed} diverged; check with: {} check-determinism --scenario {} --seeds {seed}",
                scenario.name,
                suite::SIM_COMMAND,
                scenario.name
            );
            assert_eq!(a.trace.hash(), b.trace.hash());
        }
    }
}
