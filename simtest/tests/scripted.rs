//! Scripted runs of the real runtime and SDK under madsim (`simtest::scripted`): each shows
//! one behaviour users of real processes saw or rely on, on a seed that replays
//! (`MADSIM_TEST_SEED=N`, see README).
#![cfg(madsim)]

use std::time::Duration;

use simtest::scripted::{self, production};

#[madsim::test]
async fn the_first_write_after_a_lonely_start_is_on_the_peer_within_100_ms_of_its_reply() {
    // #16, real processes: a node started alone, its peer later; the first write after that
    // took about 1 s to reach the peer (later ones 11-14 ms): the queue towards the peer was
    // still backing off from the batches nobody answered while it was down.
    let took = scripted::lonely_start_to_peer().await;
    println!("first write visible on the peer {took:?} after its reply");
    assert!(
        took.is_some_and(|t| t <= Duration::from_millis(100)),
        "the first write after a lonely start reached the peer {took:?} after its reply"
    );
}

#[madsim::test]
async fn a_go_sdk_watcher_of_an_app_whose_last_instance_was_cancelled_is_held() {
    // #16, real processes: bilibili's Go SDK keeps its cursor when an answer has no
    // instances, and was answered at once again and again, about 4,900 polls/s.
    let answers = scripted::go_sdk_answers_after_the_last_cancel().await;
    println!("answers in 20 s to a watcher that keeps its cursor: {answers}");
    // The first answer tells it the app is empty; then it is held (the hold is 30 s).
    assert!(answers <= 1, "answered {answers} times in 20 s");
}

#[madsim::test]
async fn a_gracefully_stopped_node_is_gone_from_every_peer_s_infra_discovery() {
    let listing = scripted::peers_listing_a_stopped_node().await;
    assert!(
        listing.is_empty(),
        "nodes {listing:?} still list n2 5 s after it stopped"
    );
}

#[madsim::test]
async fn a_restarted_node_answers_no_read_before_it_synced() {
    let (partial, served) = scripted::reads_of_a_restarted_node(production).await;
    assert!(partial.is_empty(), "partial reads: {partial:#?}");
    assert!(served > 0, "the restarted node never served the app");
}

#[madsim::test]
async fn a_registration_fails_over_and_registers_again_after_a_whole_cluster_restart() {
    let problems = scripted::registration_through_failover_and_cluster_restart().await;
    assert!(problems.is_empty(), "{problems:#?}");
}
