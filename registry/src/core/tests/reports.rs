//! What a node reports about itself: the figures `/metrics` and the status page read.

use super::harness::*;
use crate::api::{Code, Request, StatusFilter};
use crate::core::Config;

#[test]
fn a_node_counts_its_apps_and_gives_each_a_digest_that_follows_its_changes() {
    let mut h = Harness::new();
    let before = h.node.app_count();
    h.register("a");
    let mut other = register_args("b");
    other.key.appid = "other".into();
    assert_code(&h.call(Request::Register(other)), Code::Ok);
    assert_eq!(h.node.app_count(), before + 2);
    let digests = h.node.digests();
    assert_eq!(digests.len(), h.node.app_count(), "one digest per app");
    let digest_of = |digests: &[(crate::api::AppKey, u64)], appid: &str| {
        digests
            .iter()
            .find(|(app, _)| app.appid == appid)
            .map(|(_, digest)| *digest)
            .expect("a digest for every app")
    };
    let (app, other) = (digest_of(&digests, "app"), digest_of(&digests, "other"));
    h.register("c");
    let after = h.node.digests();
    assert_ne!(digest_of(&after, "app"), app, "the app changed");
    assert_eq!(digest_of(&after, "other"), other, "the other app did not");
}

#[test]
fn a_node_reports_the_config_it_was_given() {
    let mut config = Config::default();
    config.identity.addr = "self:7".into();
    let h = Harness::with_config(config);
    assert_eq!(h.node.config().identity.addr, "self:7");
}

#[test]
fn reads_refused_before_the_startup_sync_are_counted() {
    let mut config = Config::default();
    config.identity.addr = "self:1".into();
    config.cluster.seeds = vec!["p1:1".into()];
    let mut h = Harness::with_config(config);
    for expected in 1..=2 {
        assert_code(&h.fetch(StatusFilter::UP), Code::NotReady);
        assert_eq!(h.node.stats().reads_refused_not_ready, expected);
    }
}

#[test]
fn copies_older_than_a_tombstone_are_counted_as_absorbed() {
    let mut h = Harness::new();
    h.register("a");
    assert_code(&h.cancel("a"), Code::Ok);
    let tombstone = h.node.tombstone(&key("a")).expect("cancelled");
    for expected in 1..=2 {
        let mut late = register_args("a");
        late.replication = true;
        late.dirty_timestamp = tombstone - 1;
        h.call(Request::Register(late));
        assert!(h.stored("a").is_none(), "the cancel stands");
        assert_eq!(h.node.stats().absorbed_by_tombstone, expected);
    }
}
