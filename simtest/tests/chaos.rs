//! The seeded chaos test: a cluster of real nodes, services that register, renew, set and
//! cancel through the SDK, watchers that long-poll, faults drawn from the seed through
//! madsim's APIs, then a healed liveness period and the checks (`simtest::checks`).
//! `.ci/simtest` runs it for many seeds (`MADSIM_TEST_NUM`); replay one with
//! `MADSIM_TEST_SEED=N` (README).
#![cfg(madsim)]

#[madsim::test]
async fn chaos() {
    let seed = madsim::runtime::Handle::current().seed();
    let violations = simtest::checks::run_chaos().await;
    assert!(violations.is_empty(), "seed {seed}: {violations:#?}");
}
