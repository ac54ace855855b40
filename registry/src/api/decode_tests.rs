//! Decoding every route: the happy path, every error path, and a form round trip.

use proptest::prelude::*;

use super::*;

fn decode(route: Route, query: &str) -> Result<Request, BadRequest> {
    Form::parse(query).and_then(|form| decode_request(route, &form))
}

fn field_of(result: Result<Request, BadRequest>) -> String {
    result.expect_err("should be rejected").field
}

const REGISTER: &str = "zone=z1&env=dev&appid=app&hostname=h1&status=1&addrs=http://a:1";

#[test]
fn register_decodes_all_fields() {
    let query = format!("{REGISTER}&region=r&version=v2&metadata=%7B%22w%22%3A%2210%22%7D&replication=true&dirty_timestamp=7&latest_timestamp=8");
    let Request::Register(args) = decode(Route::Register, &query).expect("valid") else {
        panic!("wrong request kind");
    };
    assert_eq!(
        (
            args.region.as_str(),
            args.key.zone.as_str(),
            args.key.hostname.as_str()
        ),
        ("r", "z1", "h1")
    );
    assert_eq!(args.status, Status::Up);
    assert_eq!(args.addrs, ["http://a:1"]);
    assert_eq!(args.metadata.get("w").map(|v| v.as_str()), Some("10"));
    assert!(args.replication);
    assert_eq!((args.dirty_timestamp, args.latest_timestamp), (7, 8));
}

#[test]
fn register_accepts_comma_joined_and_repeated_addrs() {
    let joined = decode(Route::Register, &format!("{REGISTER},grpc://b:2")).expect("joined");
    let repeated =
        decode(Route::Register, &format!("{REGISTER}&addrs=grpc://b:2")).expect("repeated");
    assert_eq!(joined, repeated);
    let Request::Register(args) = joined else {
        panic!("wrong request kind")
    };
    assert_eq!(args.addrs, ["http://a:1", "grpc://b:2"]);
}

#[test]
fn register_rejects_each_missing_required_field() {
    for field in ["zone", "env", "appid", "hostname", "status", "addrs"] {
        let query: Vec<&str> = REGISTER
            .split('&')
            .filter(|pair| !pair.starts_with(&format!("{field}=")))
            .collect();
        assert_eq!(
            field_of(decode(Route::Register, &query.join("&"))),
            field,
            "dropping {field}"
        );
    }
}

#[test]
fn register_rejects_bad_status_values() {
    for bad in ["0", "3", "-1", "up", "4294967296"] {
        let query = REGISTER.replace("status=1", &format!("status={bad}"));
        assert_eq!(
            field_of(decode(Route::Register, &query)),
            "status",
            "status={bad}"
        );
    }
}

#[test]
fn register_rejects_metadata_that_is_not_an_object_of_strings() {
    for bad in ["[1]", "{\"a\":1}", "{", "\"s\"", "{\"a\":{\"b\":\"c\"}}"] {
        let encoded: String = form_urlencoded::byte_serialize(bad.as_bytes()).collect();
        let query = format!("{REGISTER}&metadata={encoded}");
        assert_eq!(
            field_of(decode(Route::Register, &query)),
            "metadata",
            "metadata={bad}"
        );
    }
}

#[test]
fn negative_timestamps_are_rejected() {
    assert_eq!(
        field_of(decode(
            Route::Register,
            &format!("{REGISTER}&dirty_timestamp=-5")
        )),
        "dirty_timestamp"
    );
    let renew = "zone=z&env=e&appid=a&hostname=h&dirty_timestamp=-1";
    assert_eq!(field_of(decode(Route::Renew, renew)), "dirty_timestamp");
    let cancel = "zone=z&env=e&appid=a&hostname=h&latest_timestamp=-1";
    assert_eq!(field_of(decode(Route::Cancel, cancel)), "latest_timestamp");
}

#[test]
fn renew_and_cancel_require_the_identity() {
    for route in [Route::Renew, Route::Cancel] {
        assert!(decode(route, "zone=z&env=e&appid=a&hostname=h").is_ok());
        assert_eq!(field_of(decode(route, "zone=z&env=e&appid=a")), "hostname");
        assert_eq!(field_of(decode(route, "env=e&appid=a&hostname=h")), "zone");
        assert_eq!(
            field_of(decode(
                route,
                "zone=z&env=e&appid=a&hostname=h&replication=maybe"
            )),
            "replication"
        );
    }
}

#[test]
fn set_pairs_values_with_hostnames() {
    let query = "zone=z&env=e&appid=a&hostname=h1,h2&status=2&status=1";
    let Request::Set(args) = decode(Route::Set, query).expect("valid") else {
        panic!("kind")
    };
    assert_eq!(args.hostnames, ["h1", "h2"]);
    assert_eq!(args.statuses, [Status::Waiting, Status::Up]);
    assert!(args.metadata.is_empty());
}

#[test]
fn set_rejects_mismatched_or_missing_changes() {
    let base = "zone=z&env=e&appid=a&hostname=h1&hostname=h2";
    assert_eq!(field_of(decode(Route::Set, base)), "status");
    assert_eq!(
        field_of(decode(Route::Set, &format!("{base}&status=1"))),
        "status"
    );
    assert_eq!(
        field_of(decode(Route::Set, &format!("{base}&metadata=%7B%7D"))),
        "metadata"
    );
    assert_eq!(
        field_of(decode(Route::Set, "zone=z&env=e&appid=a&status=1")),
        "hostname"
    );
    assert_eq!(
        field_of(decode(Route::Set, &format!("{base}&status=1&status=9"))),
        "status"
    );
}

#[test]
fn fetch_requires_a_status_bitmask() {
    let Request::Fetch(args) = decode(Route::Fetch, "env=e&appid=a&status=3").expect("valid")
    else {
        panic!("kind")
    };
    assert_eq!(args.status, StatusFilter::ALL);
    assert!(args.zone.is_empty());
    for bad in ["", "0", "4", "x"] {
        assert_eq!(
            field_of(decode(Route::Fetch, &format!("env=e&appid=a&status={bad}"))),
            "status"
        );
    }
}

#[test]
fn fetchs_accepts_both_list_styles_and_needs_an_appid() {
    let a = decode(Route::Fetchs, "env=e&appid=a,b&status=1").expect("joined");
    let b = decode(Route::Fetchs, "env=e&appid=a&appid=b&status=1").expect("repeated");
    assert_eq!(a, b);
    assert_eq!(field_of(decode(Route::Fetchs, "env=e&status=1")), "appid");
}

#[test]
fn polls_cursors_default_to_zero_and_must_match_appids() {
    let Request::Polls(args) = decode(Route::Polls, "env=e&appid=a,b&hostname=h").expect("valid")
    else {
        panic!("kind")
    };
    assert_eq!(args.latest_timestamps, [0, 0]);
    let joined = decode(
        Route::Polls,
        "env=e&appid=a,b&hostname=h&latest_timestamp=5,6",
    )
    .expect("joined");
    let repeated = decode(
        Route::Polls,
        "env=e&appid=a&appid=b&hostname=h&latest_timestamp=5&latest_timestamp=6",
    )
    .expect("repeated");
    assert_eq!(joined, repeated);
    let mismatch = "env=e&appid=a,b&hostname=h&latest_timestamp=5";
    assert_eq!(field_of(decode(Route::Polls, mismatch)), "latest_timestamp");
    assert_eq!(
        field_of(decode(Route::Polls, "env=e&appid=a&latest_timestamp=1")),
        "hostname"
    );
}

#[test]
fn poll_needs_appid_and_hostname() {
    assert!(decode(Route::Poll, "env=e&appid=a&hostname=h&latest_timestamp=3").is_ok());
    assert_eq!(field_of(decode(Route::Poll, "env=e&hostname=h")), "appid");
    assert_eq!(
        field_of(decode(
            Route::Poll,
            "env=e&appid=a&hostname=h&latest_timestamp=x"
        )),
        "latest_timestamp"
    );
}

#[test]
fn nodes_and_fetch_all_ignore_their_query() {
    assert_eq!(
        decode(Route::Nodes, "junk=%%").expect("no args"),
        Request::Nodes
    );
    assert_eq!(
        decode(Route::FetchAll, "").expect("no args"),
        Request::FetchAll
    );
}

#[test]
fn every_endpoint_has_a_unique_path() {
    for route in Route::ALL {
        assert_eq!(Route::from_path(route.path()), Some(route));
    }
    assert_eq!(Route::from_path("/discovery/nope"), None);
    assert!(Route::Register.is_post() && !Route::Fetch.is_post());
}

fn word() -> impl Strategy<Value = String> {
    "[a-z0-9.:/_-]{1,12}"
}

fn metadata() -> impl Strategy<Value = Metadata> {
    prop::collection::btree_map("[a-z]{1,5}", "[ -~]{0,8}", 0..3)
        .prop_map(|map| map.into_iter().collect())
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![Just(Status::Up), Just(Status::Waiting)]
}

fn request() -> impl Strategy<Value = Request> {
    let register = (
        word(),
        word(),
        word(),
        word(),
        status(),
        prop::collection::vec(word(), 1..3),
        metadata(),
        any::<bool>(),
        0..i64::MAX,
    )
        .prop_map(
            |(zone, env, appid, hostname, status, addrs, metadata, replication, dirty)| {
                Request::Register(RegisterArgs {
                    key: InstanceKey {
                        zone: zone.into(),
                        env: env.into(),
                        appid: appid.into(),
                        hostname: hostname.into(),
                    },
                    region: SmolStr::default(),
                    status,
                    addrs: addrs.into_iter().map(Into::into).collect(),
                    version: "v".into(),
                    metadata,
                    replication,
                    latest_timestamp: 0,
                    dirty_timestamp: dirty,
                })
            },
        );
    let set = (
        word(),
        prop::collection::vec(word(), 1..4),
        status(),
        metadata(),
        0..i64::MAX,
    )
        .prop_map(|(appid, hostnames, status, metadata, ts)| {
            Request::Set(SetArgs {
                zone: "z".into(),
                env: "e".into(),
                appid: appid.into(),
                statuses: vec![status; hostnames.len()],
                metadata: vec![metadata; hostnames.len()],
                hostnames: hostnames.into_iter().map(Into::into).collect(),
                replication: true,
                set_timestamp: ts,
            })
        });
    let polls = (prop::collection::vec((word(), 0..i64::MAX), 1..4), word()).prop_map(
        |(apps, hostname)| {
            Request::Polls(PollsArgs {
                zone: SmolStr::default(),
                env: "e".into(),
                appids: apps.iter().map(|(a, _)| a.into()).collect(),
                hostname: hostname.into(),
                latest_timestamps: apps.iter().map(|(_, ts)| *ts).collect(),
            })
        },
    );
    prop_oneof![
        register,
        set,
        polls,
        Just(Request::Nodes),
        Just(Request::FetchAll)
    ]
}

proptest! {
    #[test]
    fn encoding_then_decoding_returns_the_same_request(request in request()) {
        let (route, form) = request.to_form();
        let reparsed = Form::parse(&form.encode()).expect("encoded text decodes");
        prop_assert_eq!(decode_request(route, &reparsed), Ok(request));
    }

    #[test]
    fn decoding_arbitrary_text_never_panics(text in "[ -~]{0,200}") {
        for route in Route::ALL {
            let _ = Form::parse(&text).and_then(|form| decode_request(route, &form));
        }
    }
}
