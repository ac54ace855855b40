//! The status page and `/status.json` for a fixed node state (insta snapshots: a change to the
//! page shows up as a diff to review), its escaping of client-supplied values, and the routes
//! through the real router.

use std::rc::Rc;
use std::time::Duration;

use super::history::History;
use super::model::StatusDoc;
use super::page::{render, PeerAnswer, StatusPage};
use crate::api::{decode_request, Form, Route};
use crate::core::{Clock, Config, ManualClock, Node, Outbox, ProtectionOverride, RequestId};
use crate::runtime::router_tests::TestNode;

/// 2023-11-14T22:13:20Z, in nanoseconds.
const START_WALL: i64 = 1_700_000_000_000_000_000;

/// What a client may put in a name or metadata to attack the page.
const EVIL_APPID: &str = "<script>alert(1)</script>";
const EVIL_HOST: &str = "<img src=x onerror=alert(2)>";
const EVIL_METADATA: &str = r#"{"note":"\"><svg onload=alert(3)>"}"#;

type FixedNode = Node<Rc<ManualClock>, Outbox>;

fn request(node: &mut FixedNode, id: u64, route: Route, form: &[(&str, &str)]) {
    let text = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let form = Form::parse(&text).expect("a valid form");
    let request = decode_request(route, &form).expect("a valid request");
    node.handle_request(RequestId(id), request);
}

fn register(node: &mut FixedNode, id: u64, appid: &str, host: &str, zone: &str, status: &str) {
    let metadata = if appid == EVIL_APPID {
        EVIL_METADATA
    } else {
        r#"{"weight":"10"}"#
    };
    let addrs = format!("grpc://10.1.0.{id}:9000");
    request(
        node,
        id,
        Route::Register,
        &[
            ("zone", zone),
            ("env", "prod"),
            ("appid", appid),
            ("hostname", host),
            ("addrs", &addrs),
            ("status", status),
            ("version", "v1.2"),
            ("metadata", metadata),
        ],
    );
}

/// Runs the node's timers for `by`, handing its events to `history` as the driver does.
fn advance(node: &mut FixedNode, clock: &ManualClock, history: &mut History, by: Duration) {
    let target = clock.mono() + by;
    while let Some(deadline) = node.poll_timeout().filter(|d| *d <= target) {
        clock.advance(deadline.saturating_since(clock.mono()));
        node.handle_timeout();
        while let Some(event) = node.poll_event() {
            history.note(&event, clock.wall().div_euclid(1_000_000));
        }
    }
    clock.advance(target.saturating_since(clock.mono()));
}

/// Node n1 of three, with four apps (one named to attack the page), after three minutes in
/// which nobody renewed (so protection came on by itself), then forced on by the operator.
fn fixed_state() -> StatusDoc {
    let mut config = Config::default();
    config.identity.hostname = "n1".into();
    config.identity.addr = "10.0.0.1:7171".into();
    config.identity.zone = "z1".into();
    config.identity.env = "prod".into();
    config.cluster.seeds = ["10.0.0.1:7171", "10.0.0.2:7171", "10.0.0.3:7171"]
        .map(String::from)
        .to_vec();
    let clock = Rc::new(ManualClock::new(START_WALL));
    let mut node = Node::new(config, clock.clone(), Outbox::default()).expect("valid config");
    let mut history = History::default();
    advance(&mut node, &clock, &mut history, Duration::from_secs(20));
    register(&mut node, 1, "demo.payments", "pay-1", "z1", "1");
    register(&mut node, 2, "demo.payments", "pay-2", "z1", "2");
    register(&mut node, 3, "demo.payments", "pay-3", "z2", "1");
    register(&mut node, 4, "demo.search", "search-1", "z1", "1");
    register(&mut node, 5, EVIL_APPID, EVIL_HOST, "z1", "1");
    advance(&mut node, &clock, &mut history, Duration::from_secs(180));
    node.set_protection_override(ProtectionOverride::ForceOn);
    while let Some(event) = node.poll_event() {
        history.note(&event, clock.wall().div_euclid(1_000_000));
    }
    let mut doc = StatusDoc::of(&node, &history);
    // Pinned apart from the crate's version, which every release changes.
    doc.node.version = "x.y.z".into();
    doc
}

/// The fixed state with one peer that answered (holding another registry) and one that did
/// not.
fn fixed_page() -> StatusPage {
    let own = fixed_state();
    let mut peer = own.clone();
    peer.node.addr = "10.0.0.2:7171".into();
    peer.node.hostname = "n2".into();
    peer.node.registry_digest = "00000000000000ff".into();
    peer.node.instances -= 1;
    peer.apps.clear();
    let now = own.node.now_unix_ms;
    StatusPage {
        peers: vec![
            PeerAnswer {
                addr: "10.0.0.2:7171".into(),
                status: Some(peer),
                error: None,
                last_answer_unix_ms: Some(now),
            },
            PeerAnswer {
                addr: "10.0.0.3:7171".into(),
                status: None,
                error: Some("no response within 500ms".into()),
                last_answer_unix_ms: Some(now - 95_000),
            },
        ],
        own,
        refresh: true,
        filter: String::new(),
    }
}

#[test]
fn the_status_document_of_a_fixed_state_is_pinned() {
    let doc = fixed_state();
    let json = serde_json::to_string_pretty(&doc).expect("serializes");
    insta::assert_snapshot!("status_json", json);
    // What the page is read for, checked outright as well.
    assert!(doc.protection.protected);
    assert_eq!(doc.protection.override_mode, "force_on");
    assert!(!doc.protection.timeline.is_empty());
    assert_eq!(doc.peers.len(), 2);
    let payments = doc.apps.iter().find(|a| a.appid == "demo.payments");
    let payments = payments.expect("demo.payments listed");
    assert_eq!((payments.up, payments.waiting), (2, 1));
    assert_eq!(payments.zones.len(), 2);
}

#[test]
fn the_status_page_of_a_fixed_state_is_pinned() {
    insta::assert_snapshot!("status_page", render(&fixed_page()));
}

#[test]
fn a_peer_answer_reads_back_as_the_document_it_was() {
    let doc = fixed_state();
    let json = serde_json::to_vec(&doc).expect("serializes");
    let back: StatusDoc = serde_json::from_slice(&json).expect("parses");
    assert_eq!(back, doc);
}

#[test]
fn client_supplied_names_and_metadata_are_rendered_as_text() {
    let html = render(&fixed_page());
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(!html.contains("<img"));
    assert!(!html.contains("<svg onload"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(html.contains("note=&quot;&gt;&lt;svg onload=alert(3)&gt;"));
}

#[test]
fn the_page_shows_which_peers_answered_and_whether_registries_agree() {
    let html = render(&fixed_page());
    assert_eq!(html.matches("<tr class=\"node ").count(), 3);
    assert!(html.contains("no: no response within 500ms (last answer 95 s ago)"));
    assert!(html.contains("1 of 1 answering peer(s) hold a different registry"));
    assert!(html.contains("1 peer(s) did not answer."));
    let mut agreeing = fixed_page();
    agreeing.peers.truncate(1);
    let digest = agreeing.own.node.registry_digest.clone();
    if let Some(peer) = agreeing.peers[0].status.as_mut() {
        peer.node.registry_digest = digest;
    }
    let html = render(&agreeing);
    assert!(html.contains("The 2 node(s) that answered hold the same registry."));
}

#[test]
fn auto_refresh_can_be_turned_off() {
    let mut page = fixed_page();
    assert!(render(&page).contains("<meta http-equiv=\"refresh\" content=\"10\">"));
    assert!(render(&page).contains("data-refresh=\"10\""));
    page.refresh = false;
    let html = render(&page);
    assert!(!html.contains("http-equiv=\"refresh\""));
    assert!(html.contains("data-refresh=\"0\""));
    assert!(html.contains("<a href=\"?\">resume</a>"));
}

#[test]
fn the_filter_hides_apps_that_do_not_match_and_expands_those_that_do() {
    let mut page = fixed_page();
    let all = render(&page);
    assert_eq!(all.matches("<details class=\"app\"").count(), 4);
    assert!(!all.contains(" hidden><summary>") && !all.contains(" open><summary>"));
    // A hostname of demo.payments, in another case.
    page.filter = "PAY-3".into();
    let html = render(&page);
    assert_eq!(html.matches(" open><summary>").count(), 1);
    assert_eq!(html.matches(" hidden><summary>").count(), 3);
    assert!(html.contains(" open><summary><span class=\"appid\">demo.payments<"));
    assert!(html.contains("name=\"filter\" value=\"PAY-3\""));
    page.filter = "\"><script>".into();
    let html = render(&page);
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;\""),
        "the filter is escaped"
    );
    assert_eq!(html.matches("<script").count(), 1);
}

#[test]
fn the_routes_serve_the_page_and_its_json_twin() {
    let node = TestNode::new(false);
    let body = format!(
        "zone=z1&env=dev&appid={}&hostname={}&status=1&addrs=http://h:1",
        form_urlencoded::byte_serialize(EVIL_APPID.as_bytes()).collect::<String>(),
        form_urlencoded::byte_serialize(EVIL_HOST.as_bytes()).collect::<String>(),
    );
    let answer = node.post_form(Route::Register, &body);
    assert_eq!(answer.envelope().map(|e| e.code), Some(0));
    for path in ["/", "/status"] {
        let page = node.get_path(path);
        assert_eq!(page.status, axum::http::StatusCode::OK, "{path}");
        let content_type = page
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("text/html; charset=utf-8"));
        let html = String::from_utf8_lossy(&page.body);
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("http-equiv=\"refresh\""));
        let policy = page.headers.get("content-security-policy");
        let policy = policy.and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(policy.contains("script-src 'sha256-"), "{policy}");
    }
    let filtered = node.get_path("/?filter=nothing-matches");
    let html = String::from_utf8_lossy(&filtered.body);
    let apps = html.matches("<details class=\"app\"").count();
    assert!(apps >= 2, "{html}");
    assert_eq!(html.matches(" hidden><summary>").count(), apps, "{html}");
    let paused = node.get_path("/?refresh=off");
    assert!(!String::from_utf8_lossy(&paused.body).contains("http-equiv=\"refresh\""));

    let json = node.get_path("/status.json");
    let doc: serde_json::Value = serde_json::from_slice(&json.body).expect("JSON");
    let appids: Vec<&str> = doc["apps"]
        .as_array()
        .map(|apps| apps.iter().filter_map(|a| a["appid"].as_str()).collect())
        .unwrap_or_default();
    assert!(appids.contains(&EVIL_APPID), "{appids:?}");
    assert!(doc.get("peer_answers").is_none());
    let summary = node.get_path("/status.json?apps=false&peers=true");
    let doc: serde_json::Value = serde_json::from_slice(&summary.body).expect("JSON");
    assert_eq!(doc["apps"], serde_json::json!([]));
    assert_eq!(doc["peer_answers"], serde_json::json!([]), "a single node");
}
