use std::collections::BTreeMap;

use super::*;
use crate::api::{Code, Status};
#[cfg(not(madsim))]
use crate::{api::Route, runtime::router_tests::TestNode};

fn instance(appid: &str, hostname: &str) -> Instance {
    Instance {
        region: "r".into(),
        zone: "z1".into(),
        env: "dev".into(),
        appid: appid.into(),
        hostname: hostname.into(),
        addrs: vec!["http://10.0.0.1:8080".into(), "grpc://10.0.0.1:9090".into()].into(),
        version: "v \"quoted\" \u{e9}".into(),
        metadata: [("weight", "10"), ("note", "a\nb")].into(),
        status: Status::Up,
        reg_timestamp: 1,
        up_timestamp: 2,
        renew_timestamp: 3,
        dirty_timestamp: 4,
        latest_timestamp: 5,
    }
}

fn all(apps: usize, per_app: usize) -> Reply {
    let map: BTreeMap<SmolStr, Vec<Instance>> = (0..apps)
        .map(|a| {
            let appid = format!("app\"{a}");
            let hosts = (0..per_app).map(|h| instance(&appid, &format!("h{h}")));
            (SmolStr::from(&appid), hosts.collect())
        })
        .collect();
    Reply::ok(Data::All(map))
}

fn streamed_text(reply: Reply, chunk_bytes: usize) -> (Vec<u8>, usize) {
    let chunks: Vec<Bytes> = AllChunks::new(reply, chunk_bytes)
        .expect("fetch/all")
        .collect();
    (chunks.concat(), chunks.len())
}

#[test]
fn the_streamed_text_is_the_whole_encoding_whatever_the_chunk_size() {
    for (apps, per_app) in [(0, 0), (1, 1), (3, 2), (40, 7)] {
        let whole = all(apps, per_app).to_json();
        for chunk_bytes in [1, 300, 4096, usize::MAX] {
            let (text, chunks) = streamed_text(all(apps, per_app), chunk_bytes);
            assert_eq!(
                String::from_utf8(text).expect("utf-8"),
                whole,
                "{apps} apps of {per_app}, chunks of {chunk_bytes}"
            );
            // At most the head, one chunk per app and the closing braces; one chunk when the
            // size allows.
            assert!(chunks <= apps + 2, "{chunks} chunks");
            if chunk_bytes == usize::MAX {
                assert_eq!(chunks, 1);
            }
        }
    }
}

#[test]
fn only_fetch_all_answers_are_streamed() {
    assert!(all_body(Reply::code(Code::NotReady)).is_err());
    assert!(all_body(Reply::ok(Data::Nodes(Vec::new()))).is_err());
    assert!(all_body(all(1, 1)).is_ok());
}

#[cfg(not(madsim))]
#[test]
fn fetch_all_over_the_router_reads_the_registry() {
    let node = TestNode::new(false);
    for host in ["h1", "h2"] {
        for appid in ["a", "b"] {
            let form = format!("zone=z1&env=dev&appid={appid}&hostname={host}&status=1&addrs=http://a:1&metadata=%7B%22w%22%3A%221%22%7D");
            let answer = node.post_form(Route::Register, &form);
            assert_eq!(answer.envelope().map(|e| e.code), Some(0), "{form}");
        }
    }
    let answer = node.get_path("/discovery/fetch/all");
    assert_eq!(answer.status, axum::http::StatusCode::OK);
    assert_eq!(
        answer
            .headers
            .get("kratos-status-code")
            .map(|v| v.as_bytes()),
        Some(&b"0"[..])
    );
    let envelope: crate::api::Envelope<BTreeMap<SmolStr, Vec<Instance>>> =
        serde_json::from_slice(&answer.body).expect("an envelope");
    let mut served = envelope.data.expect("data");
    for instance in served.values_mut().flatten() {
        instance.renew_timestamp = 0;
    }
    assert_eq!(served, node.registry());
    assert_eq!(served["a"].len(), 2);
}
