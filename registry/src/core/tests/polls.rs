use std::sync::Arc;
use std::time::Duration;

use super::harness::*;
use crate::api::{AppState, Code, Data, Instance, PeerMessage, PollArgs, Request, Status};

fn poll(h: &mut Harness, cursor: i64) -> crate::core::RequestId {
    h.send(Request::Poll(PollArgs {
        zone: Default::default(),
        env: "dev".into(),
        appid: "app".into(),
        hostname: "poller".into(),
        latest_timestamp: cursor,
    }))
}

#[test]
fn poll_behind_the_cursor_answers_at_once() {
    let mut h = Harness::new();
    h.register("a");
    let id = poll(&mut h, 0);
    let reply = h.reply_to(id).expect("answered at once");
    let Data::App(info) = reply.data else {
        panic!("poll answers an app")
    };
    assert_eq!(hostnames(&info), ["a"]);
    assert_eq!(info.latest_timestamp, h.cursor());
}

#[test]
fn poll_of_an_unknown_app_is_404() {
    let mut h = Harness::new();
    let id = poll(&mut h, 0);
    assert_code(
        &h.reply_to(id).expect("answered at once"),
        Code::NothingFound,
    );
}

#[test]
fn an_up_to_date_poll_is_held_and_woken_by_a_register() {
    let mut h = Harness::new();
    h.register("a");
    let cursor = h.cursor();
    let id = poll(&mut h, cursor);
    assert!(h.reply_to(id).is_none(), "held");
    assert_eq!(h.node.waiting_polls(), 1);
    h.advance(Duration::from_secs(3));
    h.register("b");
    let reply = h.reply_to(id).expect("woken by the change");
    let Data::App(info) = reply.data else {
        panic!("poll answers an app")
    };
    assert_eq!(hostnames(&info), ["a", "b"]);
    assert!(info.latest_timestamp > cursor);
    assert_eq!(h.node.waiting_polls(), 0);
}

#[test]
fn renews_do_not_wake_pollers_and_the_hold_ends_in_304_after_30s() {
    let mut h = Harness::new();
    h.register("a");
    let cursor = h.cursor();
    let id = poll(&mut h, cursor);
    h.advance(Duration::from_secs(29));
    h.renew("a");
    assert!(h.reply_to(id).is_none(), "a renew is not a change");
    h.advance(Duration::from_secs(1));
    assert_code(
        &h.reply_to(id).expect("the hold expired"),
        Code::NotModified,
    );
}

#[test]
fn cancel_and_set_wake_pollers_with_the_new_snapshot() {
    let mut h = Harness::new();
    h.register("a");
    h.register("b");
    let cursor = h.cursor();
    let id = poll(&mut h, cursor);
    h.cancel("a");
    let Data::App(info) = h.reply_to(id).expect("woken by cancel").data else {
        panic!("app")
    };
    assert_eq!(hostnames(&info), ["b"]);

    let id = poll(&mut h, info.latest_timestamp);
    let mut args = set_args(&["b"]);
    args.statuses = vec![Status::Waiting];
    h.call(Request::Set(args));
    let Data::App(info) = h.reply_to(id).expect("woken by set").data else {
        panic!("app")
    };
    assert!(
        hostnames(&info).is_empty(),
        "polls return UP instances only"
    );
}

#[test]
fn polls_waits_for_an_unknown_app_and_reports_only_changed_apps() {
    let mut h = Harness::new();
    let mut other = register_args("o");
    other.key.appid = "other".into();
    h.call(Request::Register(other));
    let first = h.polls(&[("other", 0)]);
    let other_cursor = match h.reply_to(first).expect("behind").data {
        Data::Apps(apps) => apps["other"].latest_timestamp,
        data => panic!("polls answers a map, got {data:?}"),
    };
    let id = h.polls(&[("app", 0), ("other", other_cursor)]);
    assert!(h.reply_to(id).is_none(), "nothing new: held");
    h.register("a");
    let Data::Apps(apps) = h.reply_to(id).expect("woken").data else {
        panic!("map")
    };
    assert_eq!(apps.keys().collect::<Vec<_>>(), ["app"]);
}

#[test]
fn pollers_of_one_view_woken_in_one_step_share_one_answer() {
    let mut h = Harness::new();
    h.register("a");
    let cursor = h.cursor();
    let in_zone = |zone: &str| {
        Request::Poll(PollArgs {
            zone: zone.into(),
            env: "dev".into(),
            appid: "app".into(),
            hostname: "poller".into(),
            latest_timestamp: cursor,
        })
    };
    let (first, second) = (h.send(in_zone("")), h.send(in_zone("")));
    let (zoned, many) = (h.send(in_zone("z1")), h.polls(&[("app", cursor)]));
    h.register("b");
    let app = |h: &mut Harness, id| match h.reply_to(id).expect("woken").data {
        Data::App(info) => info,
        data => panic!("poll answers an app, got {data:?}"),
    };
    let (first, second, zoned) = (app(&mut h, first), app(&mut h, second), app(&mut h, zoned));
    let Data::Apps(apps) = h.reply_to(many).expect("woken").data else {
        panic!("polls answers a map")
    };
    // One view, one copy: a fan-out builds the app's instances once, and the runtime finds
    // the replies equal by pointer.
    assert!(Arc::ptr_eq(&first, &second));
    assert!(Arc::ptr_eq(&first, &apps["app"]));
    // Another zone filter is another view (here with the same instances, all in z1).
    assert!(!Arc::ptr_eq(&first, &zoned));
    assert_eq!(first, zoned);
    assert_eq!(hostnames(&first), ["a", "b"]);
    assert_eq!(first.latest_timestamp, h.cursor());
}

#[test]
fn an_abandoned_poll_is_never_answered() {
    let mut h = Harness::new();
    h.register("a");
    let cursor = h.cursor();
    let id = poll(&mut h, cursor);
    h.node.handle_abandon(id);
    assert_eq!(h.node.waiting_polls(), 0);
    h.register("b");
    h.advance(Duration::from_secs(60));
    assert!(h.reply_to(id).is_none());
}

#[test]
fn the_node_asks_to_be_woken_for_the_poll_deadline() {
    let mut h = Harness::new();
    h.register("a");
    let start = h.clock.as_ref().mono_now();
    let cursor = h.cursor();
    poll(&mut h, cursor);
    assert_eq!(h.node.poll_timeout(), Some(start + Duration::from_secs(30)));
}

trait MonoNow {
    fn mono_now(&self) -> crate::core::Mono;
}

impl MonoNow for crate::core::ManualClock {
    fn mono_now(&self) -> crate::core::Mono {
        crate::core::Clock::mono(self)
    }
}

#[test]
fn a_poller_whose_cursor_is_ahead_stays_parked_until_the_app_passes_it() {
    let mut h = Harness::new();
    h.register("a");
    // A cursor from another node whose clock runs an hour ahead.
    let ahead = h.cursor() + 3_600_000_000_000;
    let id = h.polls(&[("app", ahead)]);
    h.register("b");
    assert!(
        h.reply_to(id).is_none(),
        "nothing past its cursor: no empty answer"
    );
    h.advance(Duration::from_secs(30));
    assert_code(
        &h.reply_to(id).expect("the hold expired"),
        Code::NotModified,
    );
}

#[test]
fn a_peer_state_repeating_what_the_node_holds_moves_no_cursor_and_wakes_no_poll() {
    let mut h = Harness::new();
    h.register("a");
    let cursor = h.cursor();
    let parked = poll(&mut h, cursor);
    let held = h.stored("a").expect("registered");
    let state = AppState {
        app: key("a").app(),
        instances: vec![held.clone()],
        tombstones: Vec::new(),
    };
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::RepairBack {
            apps: vec![state.clone()],
            sent_at: 0,
        },
    );
    assert_eq!(h.cursor(), cursor, "its own copy is not a change");
    assert!(h.reply_to(parked).is_none(), "woken by its own copy");

    // The same instance at a newer version is a change.
    let newer = Instance {
        dirty_timestamp: held.dirty_timestamp + 1,
        version: "v2".into(),
        ..held
    };
    h.node.handle_peer_message(
        "peer:1",
        &PeerMessage::RepairBack {
            apps: vec![AppState {
                instances: vec![newer],
                ..state
            }],
            sent_at: 0,
        },
    );
    assert!(h.cursor() > cursor);
    let reply = h.reply_to(parked).expect("woken by the newer version");
    let Data::App(info) = reply.data else {
        panic!("poll answers an app")
    };
    assert_eq!(
        info.instances
            .values()
            .flatten()
            .next()
            .map(|i| i.version.as_str()),
        Some("v2")
    );
}

#[test]
fn a_poller_behind_an_app_emptied_by_eviction_is_answered_after_the_tombstone_sweep() {
    // Swarm seed 15900: the eviction round emptied the app and the tombstone sweep, due at the
    // same instant, dropped the app and its cursor; the poller that had seen the evicted
    // instance was then parked for good with a stale view.
    use crate::core::ProtectionOverride;
    let mut h = Harness::new();
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    h.register("a");
    let seen = h.cursor();
    // The eviction round at 120 s removes "a" (silent > 90 s); the sweep runs at 300 s.
    h.advance(Duration::from_secs(299));
    let before_sweep = h.polls(&[("app", seen)]);
    assert!(
        h.reply_to(before_sweep).is_some(),
        "behind: answered at once"
    );
    h.advance(Duration::from_secs(2));
    // Another poller that saw the instance: the first was told the app is empty and, asking
    // again with the same cursor, is held (see the Go SDK test below).
    let after_sweep = h.polls_as("late-poller", &[("app", seen)]);
    assert!(
        h.reply_to(after_sweep).is_some(),
        "still behind after the sweep: answered at once, not parked"
    );
}

#[test]
fn one_step_s_changes_reach_a_parked_poll_in_one_answer() {
    // Swarm seed 117082: an eviction round removed two instances of the app; the poll was
    // answered on the first, and its answer still listed the second.
    use crate::core::ProtectionOverride;
    let mut h = Harness::new();
    h.node.set_protection_override(ProtectionOverride::ForceOff);
    // Enough instances that one round may evict two (it keeps 85 %).
    let live: Vec<String> = (0..18).map(|i| format!("k{i:02}")).collect();
    for host in ["a", "b"]
        .into_iter()
        .chain(live.iter().map(String::as_str))
    {
        h.register(host);
    }
    // The others keep renewing; "a" and "b" go silent and leave in the round at 120 s.
    for _ in 0..2 {
        h.advance(Duration::from_secs(55));
        for host in &live {
            h.renew(host);
        }
    }
    let cursor = h.cursor();
    let id = poll(&mut h, cursor);
    assert!(h.reply_to(id).is_none(), "held");
    h.advance(Duration::from_secs(10));
    let reply = h.reply_to(id).expect("woken by the eviction round");
    let Data::App(info) = reply.data else {
        panic!("poll answers an app")
    };
    assert_eq!(hostnames(&info), live, "both evictions in the one answer");
}

#[test]
fn a_poller_told_an_app_is_empty_is_held_when_it_asks_again_with_the_same_cursor() {
    // #16: bilibili's Go SDK does not move its cursor on an app without instances, so after
    // the app's last instance was cancelled it asked again at once with the old cursor and was
    // answered at once, about 4,900 times a second.
    let mut h = Harness::new();
    h.register("a");
    let seen = h.cursor();
    h.cancel("a");
    let first = h.polls(&[("app", seen)]);
    let Data::Apps(apps) = h.reply_to(first).expect("behind: answered at once").data else {
        panic!("polls answers a map")
    };
    assert!(hostnames(&apps["app"]).is_empty(), "told once: no instance");
    let again = h.polls(&[("app", seen)]);
    assert!(
        h.reply_to(again).is_none(),
        "told already and nothing changed since: held, not answered again"
    );
    let other = h.polls_as("other-poller", &[("app", seen)]);
    assert!(
        h.reply_to(other).is_some(),
        "a poller not told yet learns once that the app is empty"
    );
    h.register("b");
    let Data::Apps(apps) = h.reply_to(again).expect("woken by the next change").data else {
        panic!("polls answers a map")
    };
    assert_eq!(hostnames(&apps["app"]), ["b"]);
}
