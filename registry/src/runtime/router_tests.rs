//! The real router in front of a real node, without a socket: requests go in through
//! `tower::ServiceExt::oneshot`, the node's registry is read through its handle.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::handle::NodeHandle;
use super::{launch, Launched, Overrides, Settings};
use crate::api::{Data, Envelope, Instance, Request, Route, SmolStr};

/// A secret for the nodes that verify peer messages (at least `MIN_SECRET_BYTES`).
pub(super) const PEER_SECRET: &str = "router-tests-secret-0123456789";

/// One answer, as a client would read it.
#[derive(Debug)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: axum::http::HeaderMap,
    pub(super) body: Bytes,
}

impl Answer {
    /// The bilibili envelope of a `/discovery/*` answer; `None` if the body is not one.
    pub(super) fn envelope(&self) -> Option<Envelope<serde_json::Value>> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A node task and its router on a runtime of their own.
pub(super) struct TestNode {
    runtime: tokio::runtime::Runtime,
    router: Router,
    node: NodeHandle,
}

impl TestNode {
    /// A single dev node (no peers, so ready at once), verifying peer messages with
    /// [`PEER_SECRET`] when `peer_secret` is set. Long-polls hold briefly, and the stall guard
    /// is out of the way: a test thread busy between requests is no stall.
    pub(super) fn new(peer_secret: bool) -> TestNode {
        let flags = Overrides {
            dev: true,
            secret: peer_secret.then(|| PEER_SECRET.to_string()),
            ..Overrides::default()
        };
        let mut settings = Settings::load(None, flags).expect("dev settings");
        settings.config.poll_hold = Duration::from_millis(50);
        settings.config.stall.threshold = Duration::from_secs(3600);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let Launched { router, node, .. } = runtime
            .block_on(async { launch(settings) })
            .expect("the node starts");
        TestNode {
            runtime,
            router,
            node,
        }
    }

    /// Sends one request through the router.
    pub(super) fn send(&self, request: axum::http::Request<Body>) -> Answer {
        self.runtime.block_on(async {
            let response = self
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let (parts, body) = response.into_parts();
            let body = body.collect().await.expect("a body").to_bytes();
            Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            }
        })
    }

    /// POSTs `body` as a form to `route`.
    pub(super) fn post_form(&self, route: Route, body: &str) -> Answer {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri(route.path())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .expect("a request");
        self.send(request)
    }

    /// GETs `route` with `query`.
    pub(super) fn get(&self, route: Route, query: &str) -> Answer {
        let request = axum::http::Request::builder()
            .uri(format!("{}?{query}", route.path()))
            .body(Body::empty())
            .expect("a request");
        self.send(request)
    }

    /// Every instance the node holds, by appid, with the lease renewals (which the node's own
    /// registration makes on its own) left out: what a write would change.
    pub(super) fn registry(&self) -> BTreeMap<SmolStr, Vec<Instance>> {
        let reply = self.runtime.block_on(self.node.request(Request::FetchAll));
        let Data::All(mut all) = reply.data else {
            panic!("fetch/all answered {reply:?}");
        };
        for instance in all.values_mut().flatten() {
            instance.renew_timestamp = 0;
        }
        all
    }
}

const REGISTER: &str = "zone=z1&env=dev&appid=app&status=1&addrs=http://a:1";

/// Two hostnames that differ only in bytes that are not UTF-8 used to decode alike
/// (`host\u{FFFD}`), so the second register replaced the first instance. Neither is a
/// hostname: both are refused naming the field, in a query string and in a form body, as key
/// or value, and nothing is registered.
#[test]
fn percent_escapes_that_are_not_utf8_are_refused_naming_the_field() {
    let node = TestNode::new(false);
    let before = node.registry();
    for (body, field) in [
        (format!("{REGISTER}&hostname=host%FF"), "hostname"),
        (format!("{REGISTER}&hostname=host%FE"), "hostname"),
        (format!("{REGISTER}&hostname=h&version=%C3%28"), "version"),
        (format!("{REGISTER}&hostname=h&x%FF=1"), "x%FF"),
    ] {
        for answer in [
            node.post_form(Route::Register, &body),
            node.send(
                axum::http::Request::builder()
                    .method(Method::POST)
                    .uri(format!("{}?{body}", Route::Register.path()))
                    .body(Body::empty())
                    .expect("a request"),
            ),
        ] {
            assert_eq!(answer.status, StatusCode::OK, "{body}");
            let envelope = answer.envelope().expect("an envelope");
            assert_eq!(envelope.code, -400, "{body}: {envelope:?}");
            assert_eq!(
                answer
                    .headers
                    .get("kratos-status-code")
                    .map(|v| v.as_bytes()),
                Some(&b"-400"[..])
            );
            assert!(
                envelope.message.contains(&format!("`{field}`")),
                "{body}: {envelope:?}"
            );
        }
    }
    let fetch = node.get(Route::Fetch, "env=dev&appid=app%FF&status=3");
    assert_eq!(fetch.envelope().expect("an envelope").code, -400);
    assert_eq!(node.registry(), before);

    // Valid UTF-8 in escapes still decodes, and `+` is still a space as Go's and Python's
    // form encoders send it (`%2B` is a plus).
    let answer = node.post_form(
        Route::Register,
        &format!("{REGISTER}&hostname=h%C3%A9&version=v+1%2B"),
    );
    assert_eq!(answer.envelope().expect("an envelope").code, 0);
    let apps = node.registry();
    let registered = apps.get("app").expect("registered");
    assert_eq!(
        registered
            .iter()
            .map(|i| (i.hostname.as_str(), i.version.as_str()))
            .collect::<Vec<_>>(),
        [("hé", "v 1+")]
    );
}
