//! Teeth: each check of the simtest layer fails on a deliberately broken runtime or SDK
//! (`registry::knobs`, which only `--cfg madsim` builds have, or a setting that breaks a
//! guarantee). Each is a madsim test, so a failure names a seed that replays.
#![cfg(madsim)]

use std::time::Duration;

use registry::api::Status;
use registry::knobs::{self, Knob};
use simtest::chaos::{draw, Write};
use simtest::checks::run_options;
use simtest::scripted;

/// Runs the chaos test with `knob` on; its violations. No service cancels and the first ends
/// UP: a seed whose services all cancel or wait leaves nothing for a broken variant to get
/// wrong.
async fn chaos_with(knob: Knob) -> Vec<String> {
    let mut options = draw(madsim::runtime::Handle::current().seed());
    for plan in &mut options.services {
        plan.writes
            .retain(|(_, write)| !matches!(write, Write::Cancel));
    }
    let last = options.chaos.saturating_sub(Duration::from_secs(1));
    options.services[0]
        .writes
        .push((last, Write::Status(Status::Up)));
    knobs::clear();
    knobs::set(knob);
    let violations = run_options(options).await;
    knobs::clear();
    println!("{knob:?}: {violations:#?}");
    violations
}

#[madsim::test]
async fn nodes_that_send_no_peer_message_fail_the_served_check() {
    let violations = chaos_with(Knob::DropPeerMessages).await;
    assert!(
        violations.iter().any(|v| v.contains("the clients believe")),
        "the served-as-believed check missed nodes that never replicate"
    );
    assert!(
        violations
            .iter()
            .any(|v| v.contains("lists registry nodes")),
        "the infra.discovery check missed nodes that never replicate"
    );
}

#[madsim::test]
async fn a_watcher_that_never_learns_a_change_fails_the_watcher_check() {
    let violations = chaos_with(Knob::DeafWatcher).await;
    assert!(
        violations.iter().any(|v| v.contains("last saw")),
        "the watcher check missed a watcher that never learned anything"
    );
}

#[madsim::test]
async fn a_watcher_that_never_moves_its_cursor_fails_the_hot_loop_check() {
    let violations = chaos_with(Knob::FrozenCursors).await;
    assert!(
        violations.iter().any(|v| v.contains("was answered")),
        "the hot-loop check missed a watcher answered at once, again and again"
    );
}

#[madsim::test]
async fn an_sdk_that_never_fails_over_fails_the_registration_check() {
    knobs::clear();
    knobs::set(Knob::NoFailover);
    let problems = scripted::registration_through_failover_and_cluster_restart().await;
    knobs::clear();
    println!("{problems:#?}");
    assert!(
        !problems.is_empty(),
        "the failover check missed an SDK stuck on a dead node"
    );
}

#[madsim::test]
async fn a_node_that_stops_without_cancelling_itself_fails_the_graceful_stop_check() {
    knobs::clear();
    knobs::set(Knob::AbruptStop);
    let listing = scripted::peers_listing_a_stopped_node().await;
    knobs::clear();
    assert_eq!(
        listing,
        [0, 1],
        "the check missed a node that stopped without a word"
    );
}

#[madsim::test]
async fn a_node_that_serves_before_it_synced_fails_the_read_before_sync_check() {
    // A zero sync timeout makes a restarted node serve at once, before any peer answered.
    let (partial, _) =
        scripted::reads_of_a_restarted_node(|s| s.config.cluster.sync_timeout = Duration::ZERO)
            .await;
    assert!(
        !partial.is_empty(),
        "the check missed a node that served reads before it synced"
    );
}
