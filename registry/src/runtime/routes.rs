//! The HTTP API: bilibili/discovery's endpoints under `/discovery`, the peer route, the
//! operator endpoint `/admin/protection`, `/metrics`, `/health`, and the status page at `/`
//! and `/status` with its JSON twin `/status.json`. Handlers only translate
//! (and check tokens); every decision is the node's.
//!
//! An incoming HTTP request is an `axum::extract::Request` (`http_request`); `Request` alone
//! means [`crate::api::Request`], the decoded discovery request the node handles, as in the
//! rest of the runtime.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::access::{ApiAuth, AuthRefusals, Denied, Guarded};
use super::answers::Answer;
use super::handle::NodeHandle;
use super::limits::{self, HttpLimits};
use super::metrics::override_label;
use super::peer_auth::{
    now_unix_ms, PeerAuth, PeerRefusal, PeerRefusals, SIGNATURE_HEADER, TIME_HEADER,
};
use super::peer_sender::{FROM_HEADER, PEER_PATH};
use super::per_client::{Capped, ClientAddr, PerClient};
use super::settings::parse_protection_override;
use super::status::{self, PeerStatus, StatusPage};
use super::streamed;
use crate::api::{decode_request, BadRequest, Code, Form, PeerMessage, Reply, Route};

/// What every handler shares.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    pub(crate) node: NodeHandle,
    pub(crate) limits: HttpLimits,
    pub(crate) auth: PeerAuth,
    pub(crate) refusals: Arc<PeerRefusals>,
    /// The client API's write and operator tokens.
    pub(crate) api_auth: ApiAuth,
    pub(crate) auth_refusals: Arc<AuthRefusals>,
    pub(crate) per_client: Arc<PerClient>,
    /// How the status page reaches the peers' `/status.json`.
    pub(crate) peer_status: PeerStatus,
    /// The environment the Eureka facade reads and writes (the node's own): Eureka's paths
    /// name no environment.
    pub(crate) eureka_env: crate::api::SmolStr,
}

/// The operator endpoint setting the protection override (`mode=auto|on|off`).
pub(crate) const PROTECTION_PATH: &str = "/admin/protection";

/// The header carrying the business code, as bilibili/discovery (kratos) sends it.
const STATUS_CODE_HEADER: &str = "kratos-status-code";

pub(crate) fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for route in Route::ALL {
        let handler = move |State(state): State<AppState>, http_request: axum::extract::Request| {
            discovery(state, route, http_request)
        };
        // axum's `MethodRouter`: the handler under the route's HTTP method.
        let method_router = if route.is_post() {
            post(handler)
        } else {
            get(handler)
        };
        router = router.route(route.path(), method_router);
    }
    router
        .route(PEER_PATH, post(peer))
        .route(PROTECTION_PATH, post(set_protection))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .route("/", get(status_page))
        .route("/status", get(status_page))
        .route("/status.json", get(status_json))
        .nest("/eureka", super::eureka::routes())
        .nest("/eureka/v2", super::eureka::routes())
        .fallback(not_found)
        .with_state(state)
}

/// A reply in bilibili's envelope: always HTTP 200, the code in the body and the header.
fn envelope(reply: &Reply) -> Response {
    encoded_envelope(reply.code, reply.to_json().into())
}

/// [`envelope`] of a reply already encoded (`body` is its JSON, or yields it).
fn encoded_envelope(code: Code, body: axum::body::Body) -> Response {
    let code = HeaderValue::from(code.as_i32());
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            ),
            (header::HeaderName::from_static(STATUS_CODE_HEADER), code),
        ],
        body,
    )
        .into_response()
}

async fn discovery(
    state: AppState,
    route: Route,
    http_request: axum::extract::Request,
) -> Response {
    if route.is_post() {
        if let Err(denied) = state.api_auth.check_write(http_request.headers()) {
            return refuse(&state, Guarded::Write, denied);
        }
    }
    // A long-poll holds a slot of its client's poll cap until it is answered (or abandoned).
    let _poll_slot = match (route, http_request.extensions().get::<ClientAddr>()) {
        (Route::Poll | Route::Polls, Some(&ClientAddr(ip))) => {
            match state.per_client.take(ip, Capped::Polls) {
                Ok(slot) => Some(slot),
                Err(cap) => {
                    return envelope(&Reply::error(
                        Code::LimitExceeded,
                        format!("too many long-polls from {ip}: at most {cap} may be in progress at once (http.max_polls_per_client)"),
                    ))
                }
            }
        }
        _ => None,
    };
    let form = match read_form(&state, route.is_post(), http_request).await {
        Ok(form) => form,
        Err(bad) => return envelope(&bad.into()),
    };
    match decode_request(route, &form) {
        Ok(request) => match state.node.request_encoded(request).await {
            Answer::Reply(reply) => match streamed::all_body(reply) {
                Ok(body) => encoded_envelope(Code::Ok, body),
                Err(reply) => envelope(&reply),
            },
            Answer::Encoded { code, body } => encoded_envelope(code, body.into()),
        },
        Err(bad) => envelope(&bad.into()),
    }
}

/// The query string, plus the form body for POSTs: like Go's form binding, writes accept
/// their parameters in either place.
async fn read_form(
    state: &AppState,
    post: bool,
    http_request: axum::extract::Request,
) -> Result<Form, BadRequest> {
    let (parts, body) = http_request.into_parts();
    let mut text = parts.uri.query().unwrap_or_default().to_string();
    if post {
        check_form_content_type(&parts.headers)?;
        let limits = &state.limits;
        let bytes =
            limits::read_body(body, limits.max_body_bytes, limits.body_read_timeout).await?;
        let body =
            std::str::from_utf8(&bytes).map_err(|_| BadRequest::new("body", "is not UTF-8"))?;
        if !body.is_empty() {
            text.push('&');
            text.push_str(body);
        }
    }
    let fields = limits::field_count(&text);
    if fields > state.limits.max_form_fields {
        return Err(BadRequest::new(
            "form",
            format!(
                "has {fields} fields, more than the limit of {}",
                state.limits.max_form_fields
            ),
        ));
    }
    Form::parse(&text)
}

/// A body is read as a form; a JSON or multipart body would be misread, so it is refused.
fn check_form_content_type(headers: &axum::http::HeaderMap) -> Result<(), BadRequest> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let value = value.to_str().unwrap_or_default().to_ascii_lowercase();
    if value.starts_with("application/x-www-form-urlencoded") || value.starts_with("text/plain") {
        Ok(())
    } else {
        Err(BadRequest::new(
            "content-type",
            format!("must be application/x-www-form-urlencoded, got {value:?}"),
        ))
    }
}

async fn peer(State(state): State<AppState>, http_request: axum::extract::Request) -> Response {
    let (parts, body) = http_request.into_parts();
    let Some(from) = parts
        .headers
        .get(FROM_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
    else {
        // With a secret, a message that names no sender cannot be verified: it is unsigned.
        if state.auth.is_on() {
            return refused(&state, "", PeerRefusal::Unsigned);
        }
        return (
            StatusCode::BAD_REQUEST,
            format!("missing header {FROM_HEADER}"),
        )
            .into_response();
    };
    let limits = &state.limits;
    let bytes =
        match limits::read_body(body, limits.max_peer_body_bytes, limits.body_read_timeout).await {
            Ok(bytes) => bytes,
            Err(bad) => return (StatusCode::BAD_REQUEST, bad.to_string()).into_response(),
        };
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let verified = state.auth.verify(
        &from,
        header(TIME_HEADER),
        header(SIGNATURE_HEADER),
        &bytes,
        now_unix_ms(),
    );
    if let Err(refusal) = verified {
        return refused(&state, &from, refusal);
    }
    let message: PeerMessage = match serde_json::from_slice(&bytes) {
        Ok(message) => message,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("invalid peer message: {error}"),
            )
                .into_response()
        }
    };
    if state.node.peer(from, message).await {
        StatusCode::ACCEPTED.into_response()
    } else {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

/// A refusal in the envelope's shape with an HTTP status: kratos' -401 (unauthorized) or
/// -403 (access denied), counted in `/metrics`.
pub(super) fn refuse(state: &AppState, guarded: Guarded, denied: Denied) -> Response {
    state.auth_refusals.count(guarded);
    let what = match guarded {
        Guarded::Write => "writes (register, renew, cancel, set) on this node",
        Guarded::Admin => "the operator endpoints of this node",
    };
    match denied {
        Denied::Unauthorized => {
            let message = format!(
                "unauthorized: {what} require the header `Authorization: Bearer <token>` with the configured token"
            );
            let mut response = error_json(StatusCode::UNAUTHORIZED, -401, &message);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer"),
            );
            response
        }
        Denied::Disabled => error_json(
            StatusCode::FORBIDDEN,
            -403,
            "the operator endpoints are disabled: no operator token is configured (set REGISTRY_ADMIN_TOKEN or `[auth] admin_token`)",
        ),
    }
}

/// `{"code","message","ttl":1}` with an HTTP status other than 200 (the operator endpoint,
/// and refusals before a request reaches the node).
fn error_json(status: StatusCode, code: i32, message: &str) -> Response {
    json_reply(
        status,
        code,
        serde_json::json!({"code": code, "message": message, "ttl": 1}),
    )
}

fn json_reply(status: StatusCode, code: i32, body: serde_json::Value) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            ),
            (
                header::HeaderName::from_static(STATUS_CODE_HEADER),
                HeaderValue::from(code),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

/// `POST /admin/protection` with `mode=auto|on|off` (form body or query): sets the node's
/// protection override. Needs the operator token; disabled without one.
async fn set_protection(
    State(state): State<AppState>,
    http_request: axum::extract::Request,
) -> Response {
    if let Err(denied) = state.api_auth.check_admin(http_request.headers()) {
        return refuse(&state, Guarded::Admin, denied);
    }
    let mode = match read_form(&state, true, http_request).await {
        Ok(form) => form.required("mode").and_then(|text| {
            parse_protection_override(text).map_err(|problem| BadRequest::new("mode", problem))
        }),
        Err(bad) => Err(bad),
    };
    let mode = match mode {
        Ok(mode) => mode,
        Err(bad) => return error_json(StatusCode::BAD_REQUEST, -400, &bad.to_string()),
    };
    if !state.node.set_protection(mode).await {
        return error_json(
            StatusCode::SERVICE_UNAVAILABLE,
            -503,
            "the node is stopping: nothing was changed",
        );
    }
    tracing::warn!(
        mode = override_label(mode),
        "protection override set by the operator"
    );
    json_reply(
        StatusCode::OK,
        0,
        serde_json::json!({
            "code": 0,
            "message": "0",
            "ttl": 1,
            "data": {"mode": override_label(mode)},
        }),
    )
}

/// A peer message not acted on: counted, logged, answered 401.
fn refused(state: &AppState, from: &str, refusal: PeerRefusal) -> Response {
    state.refusals.count(refusal);
    tracing::debug!(claimed_sender = %from, reason = refusal.label(), "peer message refused");
    (StatusCode::UNAUTHORIZED, refusal.to_string()).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    match state.node.metrics().await {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4"),
            )],
            text,
        )
            .into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Always 200 while the process serves: `ready` says whether reads are served (a load
/// balancer that wants 503 for "not ready" should check the field).
async fn health(State(state): State<AppState>) -> Response {
    let (status, ready) = match state.node.ready().await {
        Some(ready) => (StatusCode::OK, ready),
        None => (StatusCode::SERVICE_UNAVAILABLE, false),
    };
    let body = serde_json::json!({
        "live": status == StatusCode::OK,
        "ready": ready,
        "peer_auth": state.auth.is_on(),
    })
    .to_string();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

async fn not_found(http_request: axum::extract::Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("no such route: {}", http_request.uri().path()),
    )
        .into_response()
}

/// The query's value for `name`, if any (the status routes' switches).
fn query_value(http_request: &axum::extract::Request, name: &str) -> Option<String> {
    let query = http_request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `GET /` and `/status`: the status page, with every peer's answer (`?refresh=off` renders
/// it without auto-refresh).
async fn status_page(
    State(state): State<AppState>,
    http_request: axum::extract::Request,
) -> Response {
    let refresh = query_value(&http_request, "refresh").as_deref() != Some("off");
    let filter = query_value(&http_request, "filter").unwrap_or_default();
    let Some(own) = state.node.status().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let peers = state.peer_status.ask(&own).await;
    let html = status::render(&StatusPage {
        own,
        peers,
        refresh,
        filter,
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(status::content_security_policy()),
            ),
        ],
        html,
    )
        .into_response()
}

/// `GET /status.json`: the node's own status; `?apps=false` leaves the apps out (what peers
/// ask each other), `?peers=true` adds every peer's answer as the page shows them.
async fn status_json(
    State(state): State<AppState>,
    http_request: axum::extract::Request,
) -> Response {
    let with_apps = query_value(&http_request, "apps").as_deref() != Some("false");
    let with_peers = query_value(&http_request, "peers").as_deref() == Some("true");
    let Some(mut own) = state.node.status().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let answers = if with_peers {
        Some(state.peer_status.ask(&own).await)
    } else {
        None
    };
    if !with_apps {
        own.apps.clear();
    }
    let mut body = serde_json::to_value(&own).unwrap_or_default();
    if let (Some(answers), Some(object)) = (answers, body.as_object_mut()) {
        object.insert(
            "peer_answers".to_string(),
            serde_json::to_value(answers).unwrap_or_default(),
        );
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.to_string(),
    )
        .into_response()
}
