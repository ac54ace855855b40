//! Shared answers are the fresh encoding, always: after every kind of change, through the real
//! router, for every view; and one change answers every parked poll from one encoding.

use std::time::Duration;

use axum::body::Body;

use super::*;
use crate::api::{decode_request, Data, Form, Route};
use crate::runtime::router_tests::TestNode;

#[test]
fn equal_replies_share_one_encoding() {
    let mut answers = Answers::default();
    let view = View::of(&fetch_request("env=dev&appid=a&status=3")).expect("a view");
    let reply = Reply::ok(Data::None);
    let first = answers.encode(view.clone(), reply.clone());
    let second = answers.encode(view.clone(), reply.clone());
    assert_eq!(first, reply.to_json().as_bytes());
    assert_eq!(first.as_ptr(), second.as_ptr(), "not shared");
    let other = Reply::error(Code::NothingFound, "gone");
    let third = answers.encode(view, other.clone());
    assert_eq!(third, other.to_json().as_bytes());
    assert_eq!(answers.len(), 1);
}

#[test]
fn the_cache_starts_over_past_its_bound() {
    let mut answers = Answers::default();
    for n in 0..=MAX_VIEWS {
        let view = View::of(&fetch_request(&format!("env=dev&appid=a{n}&status=3")));
        answers.encode(view.expect("a view"), Reply::ok(Data::None));
    }
    assert_eq!(answers.len(), 1);
}

#[test]
fn writes_reads_and_fetch_all_share_no_answer() {
    let register = "zone=z1&env=dev&appid=a&hostname=h&status=1&addrs=http://a:1";
    let form = Form::parse(register).expect("a form");
    let request = decode_request(Route::Register, &form).expect("a register");
    assert_eq!(View::of(&request), None);
    assert_eq!(View::of(&crate::api::Request::FetchAll), None);
    assert_eq!(View::of(&crate::api::Request::Nodes), None);
}

#[test]
fn fetched_answers_last_until_cleared_and_only_fetches_are_kept() {
    let fetched = Fetched::default();
    let shared = fetched.clone();
    let view = View::of(&fetch_request("env=dev&appid=a&status=3")).expect("a view");
    assert_eq!(fetched.get(&view), None);
    shared.insert(view.clone(), Bytes::from_static(b"{\"code\":0}"));
    assert_eq!(fetched.get(&view).as_deref(), Some(&b"{\"code\":0}"[..]));
    shared.clear();
    assert_eq!(fetched.get(&view), None);
    assert!(is_fetch(&fetch_request("env=dev&appid=a&status=3")));
    let poll = decoded(Route::Poll, "env=dev&appid=a&hostname=c&latest_timestamp=1");
    assert!(!is_fetch(&poll), "a poll's answer depends on its cursor");
}

fn fetch_request(query: &str) -> crate::api::Request {
    decoded(Route::Fetch, query)
}

fn decoded(route: Route, query: &str) -> crate::api::Request {
    let form = Form::parse(query).expect("a form");
    decode_request(route, &form).expect("a valid request")
}

const APP: &str = "zone=z1&env=dev&appid=ans";

/// Every view of the app the test reads: each status filter, each zone filter, one app and
/// several.
fn views() -> Vec<(Route, String)> {
    let mut views = Vec::new();
    for status in 1..=3 {
        for zone in ["", "z1", "z2"] {
            let query = format!("env=dev&appid=ans&zone={zone}&status={status}");
            views.push((Route::Fetch, query));
            let query = format!("env=dev&appid=ans&appid=other&zone={zone}&status={status}");
            views.push((Route::Fetchs, query));
        }
    }
    views
}

#[test]
fn a_shared_answer_is_the_fresh_encoding_after_every_change() {
    let node = TestNode::new(false);
    let register = |zone: &str, host: &str| {
        format!("zone={zone}&env=dev&appid=ans&hostname={host}&status=1&addrs=http://{host}:1")
    };
    let steps: [(Route, String); 7] = [
        (Route::Register, register("z1", "h1")),
        (Route::Register, register("z2", "h2")),
        (Route::Set, format!("{APP}&hostname=h1&status=2")),
        (Route::Set, format!("{APP}&hostname=h1&status=1")),
        (
            Route::Set,
            "zone=z2&env=dev&appid=ans&hostname=h2&metadata=%7B%22w%22%3A%221%22%7D".to_string(),
        ),
        // A renew moves no cursor but changes the instance's renew_timestamp.
        (Route::Renew, format!("{APP}&hostname=h1")),
        (Route::Cancel, format!("{APP}&hostname=h1")),
    ];
    let mut last: Vec<Option<bytes::Bytes>> = vec![None; views().len()];
    for (route, form) in steps {
        std::thread::sleep(Duration::from_millis(2));
        let written = node.post_form(route, &form);
        assert_eq!(written.envelope().map(|e| e.code), Some(0), "{form}");
        let mut changed = 0;
        for ((view, query), last) in views().into_iter().zip(&mut last) {
            let fresh = node.fresh_json(decoded(view, &query));
            for _ in 0..2 {
                let answer = node.get(view, &query);
                assert_eq!(
                    answer.body,
                    fresh.as_bytes(),
                    "{view:?}?{query} after {route:?} {form}"
                );
            }
            changed += usize::from(last.as_deref() != Some(fresh.as_bytes()));
            *last = Some(fresh.into());
        }
        assert!(changed > 0, "{route:?} {form} changed no view");
    }
}

#[test]
fn one_change_answers_every_parked_poll_with_the_same_fresh_encoding() {
    let node = TestNode::with_poll_hold(false, Duration::from_secs(30));
    let first = format!("{APP}&hostname=h1&status=1&addrs=http://h1:1");
    assert_eq!(
        node.post_form(Route::Register, &first)
            .envelope()
            .map(|e| e.code),
        Some(0)
    );
    let fetched = node.get(Route::Fetch, "env=dev&appid=ans&status=1");
    let cursor = fetched
        .envelope()
        .and_then(|e| e.data?["latest_timestamp"].as_i64());
    let cursor = cursor.expect("a cursor");
    let poll = format!("env=dev&appid=ans&hostname=c&latest_timestamp={cursor}");
    let targets = [
        format!("{}?{poll}", Route::Poll.path()),
        format!("{}?{poll}", Route::Poll.path()),
        format!("{}?{poll}", Route::Polls.path()),
        format!("{}?{poll}", Route::Polls.path()),
    ];
    let parked = targets
        .iter()
        .map(|t| axum::http::Request::builder().uri(t).body(Body::empty()))
        .collect::<Result<Vec<_>, _>>()
        .expect("requests");
    let write = axum::http::Request::builder()
        .method("POST")
        .uri(Route::Register.path())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "{APP}&hostname=h2&status=1&addrs=http://h2:1"
        )))
        .expect("a request");
    let answers = node.polls_woken_by(parked, write);
    // A poll answers what a fetch of UP instances answers; polls, the same keyed by appid.
    let one = node.fresh_json(decoded(Route::Fetch, "env=dev&appid=ans&status=1"));
    let many = node.fresh_json(decoded(Route::Polls, &poll));
    assert!(one.contains("\"h2\""), "{one}");
    for (answer, target) in answers.iter().zip(&targets) {
        let expected = if target.contains("polls") {
            &many
        } else {
            &one
        };
        assert_eq!(answer.body, expected.as_bytes(), "{target}");
    }
}
