use std::time::Duration;

use super::harness::*;
use crate::api::{Code, Data, Request, Status, StatusFilter, Version};
use crate::core::Clock;

#[test]
fn register_stores_the_instance_with_all_five_timestamps() {
    let mut h = Harness::new();
    assert_code(&h.register("a"), Code::Ok);
    let stored = h.stored("a").expect("registered");
    assert_eq!(*stored.addrs, ["http://a:8000"]);
    for (name, ts) in [
        ("reg", stored.reg_timestamp),
        ("up", stored.up_timestamp),
        ("renew", stored.renew_timestamp),
        ("dirty", stored.dirty_timestamp),
        ("latest", stored.latest_timestamp),
    ] {
        assert!(ts >= START_WALL, "{name}_timestamp not set: {ts}");
    }
    assert_eq!(h.node.instance_count(), SELF as usize + 1);
}

#[test]
fn re_register_replaces_content_but_keeps_up_timestamp() {
    let mut h = Harness::new();
    h.register("a");
    let first = h.stored("a").expect("registered");
    h.advance(Duration::from_secs(5));
    let mut args = register_args("a");
    args.version = "v2".into();
    assert_code(&h.call(Request::Register(args)), Code::Ok);
    let second = h.stored("a").expect("registered");
    assert_eq!(second.version, "v2");
    assert_eq!(second.up_timestamp, first.up_timestamp);
    assert!(second.dirty_timestamp > first.dirty_timestamp);
    assert_eq!(h.node.instance_count(), SELF as usize + 1);
    assert_eq!(
        h.node.protection().expected_renews,
        2 * SELF + 2,
        "a re-register is not a new instance"
    );
}

#[test]
fn replicated_register_with_an_older_version_is_refused_with_the_newer_copy() {
    let mut h = Harness::new();
    h.register("a");
    let stored = h.stored("a").expect("registered");
    let mut args = register_args("a");
    args.replication = true;
    args.dirty_timestamp = stored.dirty_timestamp - 1;
    args.version = "stale".into();
    let reply = h.call(Request::Register(args));
    assert_code(&reply, Code::Conflict);
    assert!(matches!(reply.data, Data::Instance(ref i) if i.version == "v1"));
    assert_eq!(h.stored("a").map(|i| i.version), Some("v1".into()));
}

#[test]
fn oversized_or_malformed_register_changes_nothing() {
    let mut h = Harness::new();
    type Mutation = Box<dyn Fn(&mut crate::api::RegisterArgs)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "hostname",
            Box::new(|a| a.key.hostname = "h".repeat(129).into()),
        ),
        (
            "appid",
            Box::new(|a| a.key.appid = "x".repeat(1_000).into()),
        ),
        (
            "addrs",
            Box::new(|a| a.addrs = vec!["http://x:1".into(); 17]),
        ),
        (
            "addrs",
            Box::new(|a| a.addrs = vec!["x".repeat(300).into()]),
        ),
        (
            "metadata",
            Box::new(|a| a.metadata = (0..33).map(|i| (i.to_string(), String::new())).collect()),
        ),
        (
            "metadata",
            Box::new(|a| a.metadata = [("k", "v".repeat(5_000))].into()),
        ),
        ("zone", Box::new(|a| a.key.zone = "bad\nzone".into())),
        ("env", Box::new(|a| a.key.env = "dev\u{7f}".into())),
        // Outside ASCII: a C1 control character next to an accented letter.
        (
            "hostname",
            Box::new(|a| a.key.hostname = "hôte\u{85}".into()),
        ),
    ];
    for (field, mutate) in cases {
        let mut args = register_args("a");
        mutate(&mut args);
        let reply = h.call(Request::Register(args));
        assert_code(&reply, Code::BadRequest);
        assert!(
            reply.message.contains(field),
            "{:?} should name {field}",
            reply.message
        );
    }
    assert_eq!(h.node.instance_count(), SELF as usize);
    assert!(!h.node.registry().contains_key("app"));
}

#[test]
fn a_register_with_every_field_at_its_limit_is_accepted_and_one_more_of_each_is_not() {
    // The limits are inclusive: a client may use all of each (Limits' defaults: 128 bytes
    // per field, 16 addresses of 256 bytes, 32 metadata entries of 4,096 bytes in all).
    let mut h = Harness::new();
    let limits = h.node.config().limits.clone();
    let text = |n: usize| "x".repeat(n);
    let at_limit = |host: &str| {
        let mut args = register_args(host);
        let pad = |prefix: &str| format!("{prefix}{}", text(limits.max_field_len - prefix.len()));
        args.key.hostname = pad(host).into();
        args.key.zone = pad("z").into();
        args.key.env = pad("e").into();
        args.key.appid = pad("a").into();
        args.region = text(limits.max_field_len).into();
        args.version = text(limits.max_field_len).into();
        args.addrs = (0..limits.max_addrs)
            .map(|i| format!("{i:03}{}", text(limits.max_addr_len - 3)).into())
            .collect();
        // 32 entries whose keys and values add up to exactly the byte limit.
        let entries = limits.max_metadata_entries;
        let per_entry = limits.max_metadata_bytes / entries;
        args.metadata = (0..entries)
            .map(|i| (format!("{i:02}"), text(per_entry - 2)))
            .collect();
        assert_eq!(limits.max_metadata_bytes % entries, 0);
        args
    };
    assert_code(&h.call(Request::Register(at_limit("a"))), Code::Ok);
    type Over = Box<dyn Fn(&mut crate::api::RegisterArgs)>;
    let one_more: Vec<(&str, Over)> = vec![
        (
            "hostname",
            Box::new(|a| a.key.hostname = format!("{}y", a.key.hostname).into()),
        ),
        (
            "zone",
            Box::new(|a| a.key.zone = format!("{}y", a.key.zone).into()),
        ),
        (
            "env",
            Box::new(|a| a.key.env = format!("{}y", a.key.env).into()),
        ),
        (
            "appid",
            Box::new(|a| a.key.appid = format!("{}y", a.key.appid).into()),
        ),
        (
            "region",
            Box::new(|a| a.region = format!("{}y", a.region).into()),
        ),
        (
            "version",
            Box::new(|a| a.version = format!("{}y", a.version).into()),
        ),
        ("addrs", Box::new(|a| a.addrs.push("http://one:1".into()))),
        (
            "addrs",
            Box::new(|a| a.addrs[0] = format!("{}y", a.addrs[0]).into()),
        ),
        (
            "metadata",
            Box::new(|a| {
                a.metadata.insert("zz", "");
            }),
        ),
        (
            "metadata",
            Box::new(|a| {
                let longer = format!("{}y", a.metadata.get("00").map_or("", |v| v.as_str()));
                a.metadata.insert("00", longer);
            }),
        ),
    ];
    for (field, over) in one_more {
        let mut args = at_limit("b");
        over(&mut args);
        let reply = h.call(Request::Register(args));
        assert_code(&reply, Code::BadRequest);
        assert!(reply.message.contains(field), "{field}: {}", reply.message);
    }
}

#[test]
fn a_list_at_its_limit_is_accepted_and_one_longer_is_not() {
    let mut h = Harness::new();
    h.advance(Duration::from_secs(60)); // past the startup sync: reads are served
    let max = h.node.config().limits.max_list_len;
    let fetchs = |n: usize| {
        Request::Fetchs(crate::api::FetchsArgs {
            zone: Default::default(),
            env: "dev".into(),
            appids: (0..n).map(|i| format!("app{i}").into()).collect(),
            status: StatusFilter::ALL,
        })
    };
    let reply = h.call(fetchs(max));
    assert_ne!(reply.code, Code::BadRequest, "{reply:?}");
    let reply = h.call(fetchs(max + 1));
    assert_code(&reply, Code::BadRequest);
    assert!(reply.message.contains("appid"), "{}", reply.message);
}

#[test]
fn text_outside_ascii_without_control_characters_is_accepted() {
    let mut h = Harness::new();
    let mut args = register_args("a");
    args.key.hostname = "hôte-ü-1".into();
    assert_code(&h.call(Request::Register(args)), Code::Ok);
}

#[test]
fn renew_refreshes_the_lease_and_answers_the_instance() {
    let mut h = Harness::new();
    h.register("a");
    let cursor = h.cursor();
    h.advance(Duration::from_secs(30));
    let reply = h.renew("a");
    assert_code(&reply, Code::Ok);
    let Data::Instance(instance) = reply.data else {
        panic!("renew answers the instance")
    };
    assert_eq!(instance.renew_timestamp, START_WALL + 30_000_000_000);
    assert_eq!(h.cursor(), cursor, "a renew is not a change");
    assert_eq!(
        h.node.protection().renews_this_window,
        2,
        "the client's and the node's own"
    );
}

#[test]
fn renew_of_an_unknown_instance_is_404() {
    let mut h = Harness::new();
    let reply = h.renew("ghost");
    assert_code(&reply, Code::NothingFound);
    assert!(reply.message.contains("ghost"));
    assert_eq!(
        h.node.protection().renews_this_window,
        0,
        "a renew of an instance the node does not hold does not count"
    );
    assert_eq!(h.node.stats().unheld_renews, 1);
}

#[test]
fn replicated_renew_compares_versions() {
    let mut h = Harness::new();
    h.register("a");
    let dirty = h.stored("a").expect("registered").dirty_timestamp;
    let mut args = renew_args("a");
    args.replication = true;

    args.dirty_timestamp = dirty;
    assert_code(&h.call(Request::Renew(args.clone())), Code::Ok);

    args.dirty_timestamp = dirty + 1; // the sender is newer: ask it for the full register
    assert_code(&h.call(Request::Renew(args.clone())), Code::NothingFound);

    args.dirty_timestamp = dirty - 1; // the receiver is newer: hand the sender our copy
    let reply = h.call(Request::Renew(args));
    assert_code(&reply, Code::Conflict);
    assert!(matches!(reply.data, Data::Instance(ref i) if i.dirty_timestamp == dirty));
}

#[test]
fn cancel_removes_and_a_second_cancel_is_404() {
    let mut h = Harness::new();
    h.register("a");
    h.register("b");
    assert_code(&h.cancel("a"), Code::Ok);
    assert_eq!(h.hosts(), ["b"]);
    assert_code(&h.cancel("a"), Code::NothingFound);
    assert!(
        h.node.tombstone(&key("a")).is_some(),
        "the cancel leaves a tombstone"
    );
    assert_eq!(h.node.protection().expected_renews, 2 * SELF + 2);
}

#[test]
fn a_register_older_than_the_cancel_does_not_resurrect() {
    let mut h = Harness::new();
    h.register("a");
    let registered = h.stored("a").expect("registered").dirty_timestamp;
    h.cancel("a");
    let mut late = register_args("a");
    late.replication = true;
    late.dirty_timestamp = registered;
    assert_code(&h.call(Request::Register(late)), Code::Conflict);
    assert!(h.stored("a").is_none());
}

#[test]
fn replicated_cancel_older_than_the_stored_copy_is_refused() {
    let mut h = Harness::new();
    h.register("a");
    let dirty = h.stored("a").expect("registered").dirty_timestamp;
    let reply = h.call(Request::Cancel(crate::api::CancelArgs {
        key: key("a"),
        replication: true,
        latest_timestamp: dirty - 10,
    }));
    assert_code(&reply, Code::Conflict);
    assert!(h.stored("a").is_some());
}

#[test]
fn set_changes_status_and_stamps_up_timestamp() {
    let mut h = Harness::new();
    h.register("a");
    let mut args = set_args(&["a"]);
    args.statuses = vec![Status::Waiting];
    assert_code(&h.call(Request::Set(args.clone())), Code::Ok);
    assert_code(&h.fetch(StatusFilter::UP), Code::Ok);
    let up_only = h.fetch(StatusFilter::UP);
    let Data::App(info) = up_only.data else {
        panic!("fetch answers an app")
    };
    assert!(
        hostnames(&info).is_empty(),
        "a WAITING instance is filtered out of status=1"
    );

    h.advance(Duration::from_secs(1));
    args.statuses = vec![Status::Up];
    h.call(Request::Set(args));
    let stored = h.stored("a").expect("registered");
    assert_eq!(stored.status, Status::Up);
    assert_eq!(
        stored.up_timestamp, stored.dirty_timestamp,
        "becoming UP stamps up_timestamp"
    );
}

#[test]
fn set_merges_metadata() {
    let mut h = Harness::new();
    let mut register = register_args("a");
    register.metadata = [("keep", "1"), ("change", "1")].into();
    h.call(Request::Register(register));
    let up_since = h.stored("a").expect("registered").up_timestamp;
    h.advance(Duration::from_secs(1));
    let mut args = set_args(&["a"]);
    args.metadata = vec![[("change", "2"), ("new", "3")].into()];
    assert_code(&h.call(Request::Set(args)), Code::Ok);
    let stored = h.stored("a").expect("registered");
    assert_eq!(
        stored.up_timestamp, up_since,
        "a set of metadata alone leaves the moment it became UP"
    );
    let metadata = stored.metadata;
    assert_eq!(metadata.get("keep").map(|v| v.as_str()), Some("1"));
    assert_eq!(metadata.get("change").map(|v| v.as_str()), Some("2"));
    assert_eq!(metadata.get("new").map(|v| v.as_str()), Some("3"));
}

#[test]
fn set_with_an_unknown_hostname_changes_nothing() {
    let mut h = Harness::new();
    h.register("a");
    let before = h.stored("a");
    let mut args = set_args(&["a", "ghost"]);
    args.statuses = vec![Status::Waiting, Status::Waiting];
    let reply = h.call(Request::Set(args));
    assert_code(&reply, Code::NothingFound);
    assert!(reply.message.contains("ghost"));
    assert_eq!(
        h.stored("a"),
        before,
        "the known host was not changed either"
    );
}

#[test]
fn set_that_would_overflow_metadata_changes_nothing() {
    let mut h = Harness::new();
    h.register("a");
    let mut args = set_args(&["a"]);
    args.metadata = vec![(0..20)
        .map(|i| (format!("k{i}"), "v".repeat(250)))
        .collect()];
    let reply = h.call(Request::Set(args));
    assert_code(&reply, Code::BadRequest);
    assert!(reply.message.contains("metadata"));
    assert!(h.stored("a").expect("registered").metadata.is_empty());
}

#[test]
fn replicated_set_older_than_the_stored_copy_is_refused() {
    let mut h = Harness::new();
    h.register("a");
    let dirty = h.stored("a").expect("registered").dirty_timestamp;
    let mut args = set_args(&["a"]);
    args.statuses = vec![Status::Waiting];
    args.replication = true;
    args.set_timestamp = dirty - 1;
    assert_code(&h.call(Request::Set(args)), Code::Conflict);
    assert_eq!(h.stored("a").map(|i| i.status), Some(Status::Up));
}

#[test]
fn a_replicated_set_that_changed_one_of_its_instances_is_answered_0() {
    // One set over two instances, stamped between their versions: it is older than b's and
    // newer than a's. It changed a, so it is answered 0; only a set that changed nothing is
    // a conflict (`replicated_set_older_than_the_stored_copy_is_refused`).
    let mut h = Harness::new();
    h.register("a");
    h.advance(Duration::from_secs(2));
    h.register("b");
    let (a, b) = (h.stored("a").expect("a"), h.stored("b").expect("b"));
    let mut args = set_args(&["a", "b"]);
    args.statuses = vec![Status::Waiting, Status::Waiting];
    args.replication = true;
    args.set_timestamp = (a.dirty_timestamp + b.dirty_timestamp) / 2;
    assert_code(&h.call(Request::Set(args)), Code::Ok);
    assert_eq!(h.stored("a").map(|i| i.status), Some(Status::Waiting));
    assert_eq!(h.stored("b").map(|i| i.status), Some(Status::Up));
}

#[test]
fn a_cancel_over_a_tombstone_is_never_refused_and_the_later_stamp_stays() {
    // Cancels replicated bilibili-style carry the stamp their first node chose.
    let mut h = Harness::new();
    h.register("a");
    let stamp = h.stored("a").expect("registered").dirty_timestamp + 10;
    let cancel = |latest_timestamp| {
        Request::Cancel(crate::api::CancelArgs {
            key: key("a"),
            replication: true,
            latest_timestamp,
        })
    };
    assert_code(&h.call(cancel(stamp)), Code::Ok);
    // The same cancel again (a duplicate delivery): nothing to remove, nothing newer.
    assert_code(&h.call(cancel(stamp)), Code::NothingFound);
    // A later cancel of the gone instance: the same.
    assert_code(&h.call(cancel(stamp + 1)), Code::NothingFound);
    // An earlier one: the tombstone stays at the later stamp, so a register stamped between
    // the two is still refused as older.
    assert_code(&h.call(cancel(stamp - 1)), Code::NothingFound);
    let mut register = register_args("a");
    register.replication = true;
    register.dirty_timestamp = stamp;
    assert_code(&h.call(Request::Register(register)), Code::Conflict);
    assert!(h.stored("a").is_none());
}

#[test]
fn a_node_whose_wall_clock_lags_still_orders_its_writes_after_what_it_saw() {
    let mut h = Harness::new();
    let mut from_peer = register_args("a");
    from_peer.replication = true;
    from_peer.dirty_timestamp = START_WALL + 10_000_000_000; // a peer 10 s ahead
    h.call(Request::Register(from_peer));
    let mut args = set_args(&["a"]);
    args.statuses = vec![Status::Waiting];
    assert_code(&h.call(Request::Set(args)), Code::Ok);
    let stored = h.stored("a").expect("registered");
    assert_eq!(stored.status, Status::Waiting);
    assert!(stored.dirty_timestamp > START_WALL + 10_000_000_000);
}

#[test]
fn after_shutdown_the_node_neither_renews_nor_re_registers_itself() {
    let mut h = Harness::new();
    let own = crate::api::InstanceKey {
        env: "dev".into(),
        appid: crate::core::DISCOVERY_APPID.into(),
        zone: "local".into(),
        hostname: "localhost".into(),
    };
    assert!(h.node.instance(&own).is_some(), "registered at start");
    h.node.handle_shutdown();
    assert!(h.node.instance(&own).is_none(), "cancelled by the shutdown");
    h.advance(Duration::from_secs(120));
    assert!(
        h.node.instance(&own).is_none(),
        "the self-renew timer must not bring it back"
    );
}

#[test]
fn a_stopping_node_answers_every_client_request_503_and_changes_nothing() {
    let mut h = Harness::new();
    assert_code(&h.register("a"), Code::Ok);
    assert!(h.node.is_ready());
    h.node.handle_shutdown();
    assert!(
        !h.node.is_ready(),
        "a stopping node says it serves no reads"
    );
    let before = h.stored("a");
    for reply in [
        h.register("b"),
        h.renew("a"),
        h.cancel("a"),
        h.fetch(StatusFilter::ALL),
        h.call(Request::Nodes),
    ] {
        assert_code(&reply, Code::NotReady);
        assert!(reply.message.contains("stopping"), "{}", reply.message);
    }
    assert_eq!(h.stored("a"), before);
    assert!(h.stored("b").is_none());
}

#[test]
fn a_client_stamp_far_ahead_of_the_clock_is_refused_and_changes_nothing() {
    // Issue #14: one register with dirty_timestamp i64::MAX stamped every later write on
    // every node i64::MAX, for good.
    let mut h = Harness::new();
    let mut args = register_args("a");
    args.dirty_timestamp = i64::MAX;
    let reply = h.call(Request::Register(args));
    assert_code(&reply, Code::BadRequest);
    assert!(
        reply.message.contains("dirty_timestamp"),
        "{}",
        reply.message
    );
    assert!(h.stored("a").is_none());
    // Later writes are stamped by the clock, not by the refused stamp.
    h.register("a");
    let stamp = h.stored("a").expect("registered").dirty_timestamp;
    assert!(
        stamp < START_WALL + 3_600 * 1_000_000_000,
        "stamped {stamp}"
    );
    // Within the bound a peer-chosen stamp is taken as it is.
    let mut args = set_args(&["a"]);
    args.set_timestamp = stamp + 60 * 1_000_000_000;
    assert_code(&h.call(Request::Set(args)), Code::Ok);
    let mut args = set_args(&["a"]);
    args.set_timestamp = stamp + 3_600 * 1_000_000_000;
    assert_code(&h.call(Request::Set(args)), Code::BadRequest);
    // The bound itself is inside: exactly `max_timestamp_ahead` ahead is taken, a nanosecond
    // more is not.
    let bound = h.clock.wall() + h.node.config().limits.max_timestamp_ahead.as_nanos() as i64;
    let mut args = register_args("b");
    args.dirty_timestamp = bound + 1;
    assert_code(&h.call(Request::Register(args.clone())), Code::BadRequest);
    args.dirty_timestamp = bound;
    assert_code(&h.call(Request::Register(args)), Code::Ok);
    let mut args = crate::api::CancelArgs {
        key: key("a"),
        replication: true,
        latest_timestamp: i64::MAX,
    };
    // (A cancel replicated bilibili-style carries the stamp its first node chose.)
    assert_code(&h.call(Request::Cancel(args.clone())), Code::BadRequest);
    assert!(
        h.stored("a").is_some(),
        "the refused cancel changed nothing"
    );
    // A bilibili-style replicated renew carries its sender's stamp: bounded too, and a
    // refused one does not move the hybrid clock.
    let mut renew = renew_args("a");
    renew.replication = true;
    renew.dirty_timestamp = i64::MAX;
    assert_code(&h.call(Request::Renew(renew)), Code::BadRequest);
    args.latest_timestamp = 0;
    assert_code(&h.call(Request::Cancel(args)), Code::Ok);
    h.register("c");
    let stamp = h.stored("c").expect("registered").dirty_timestamp;
    assert!(
        stamp < START_WALL + 3_600 * 1_000_000_000,
        "stamped {stamp}"
    );
}

#[test]
fn a_peer_version_far_ahead_of_the_clock_is_refused_and_counted() {
    use crate::api::{PeerMessage, ReplicatedOp};
    let mut h = Harness::new();
    h.register("a");
    let mut future = h.stored("a").expect("registered");
    future.dirty_timestamp = i64::MAX;
    future.version = "future".into();
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::Replicate {
            batch: 1,
            forward: false,
            ops: vec![ReplicatedOp::Write(Version::Put(Box::new(future.clone()))).into()],
            sent_at: 0,
        },
    );
    assert_ne!(h.stored("a").map(|i| i.version), Some("future".into()));
    assert_eq!(h.node.stats().future_versions_refused, 1);
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::RepairBack {
            apps: vec![crate::api::AppState {
                app: key("a").app(),
                instances: vec![future],
                tombstones: Vec::new(),
            }],
            sent_at: 0,
        },
    );
    assert_eq!(h.node.stats().future_versions_refused, 2);
    h.register("b");
    let stamp = h.stored("b").expect("registered").dirty_timestamp;
    assert!(
        stamp < START_WALL + 3_600 * 1_000_000_000,
        "the hybrid clock did not move: {stamp}"
    );
}
