//! The Eureka writes. Like the discovery handlers they only translate: a register, a renew, a
//! cancel, or a `set` (status overrides and metadata), each one request the node already
//! handles; the node's reply becomes Eureka's HTTP status.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;

use super::answer::{done, plain};
use super::mapping::{self, ZONE};
use super::model::parse_instance;
use super::overrides;
use super::routes::held;
use crate::api::{CancelArgs, Form, Instance, InstanceKey, RenewArgs, Request, SetArgs};
use crate::runtime::access::Guarded;
use crate::runtime::limits;
use crate::runtime::routes::{refuse, AppState};

/// `POST apps/{APP}`: register (or re-register). Clients require exactly 204.
pub(super) async fn register(
    State(state): State<AppState>,
    Path(app): Path<String>,
    http_request: axum::extract::Request,
) -> Response {
    if let Err(denied) = state.api_auth.check_write(http_request.headers()) {
        return refuse(&state, Guarded::Write, denied);
    }
    let (parts, body) = http_request.into_parts();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let limits = &state.limits;
    let bytes = match limits::read_body(body, limits.max_body_bytes, limits.body_read_timeout).await
    {
        Ok(bytes) => bytes,
        Err(bad) => return plain(StatusCode::BAD_REQUEST, bad.to_string()),
    };
    let mut args = match parse_instance(&bytes, content_type)
        .and_then(|doc| mapping::register_args(&state.eureka_env, &app, &doc))
    {
        Ok(args) => args,
        Err(reason) => return plain(StatusCode::BAD_REQUEST, reason),
    };
    // Read, then write: an override put between the two is lost to this register (the
    // operator puts it again); the node has no compare-and-set to close that window. A node
    // that serves no reads yet (startup sync) answers the read 503: the register goes ahead
    // without the override rather than be refused.
    let stored = held(&state, &app, &args.key.hostname)
        .await
        .ok()
        .filter(|i| i.zone == ZONE);
    overrides::keep_override(&mut args, stored.as_ref());
    // A stamped register older than what the node holds is refused (409), unless it answers
    // the node's 404 to this instance's heartbeat: the node decides (`core/told_missing.rs`).
    let reply = state.node.request(Request::Register(args)).await;
    done(&reply, StatusCode::NO_CONTENT)
}

/// A write naming one Eureka instance by its path: checks the write token, then sends the
/// request `to_request` makes of the instance's key. 200, or the node's refusal.
async fn keyed_write(
    state: &AppState,
    headers: &HeaderMap,
    (app, id): (String, String),
    to_request: impl FnOnce(InstanceKey) -> Request,
) -> Response {
    if let Err(denied) = state.api_auth.check_write(headers) {
        return refuse(state, Guarded::Write, denied);
    }
    let key = mapping::key(&state.eureka_env, &app, &id);
    done(&state.node.request(to_request(key)).await, StatusCode::OK)
}

/// `PUT apps/{APP}/{ID}`: renew. 404 when the node does not hold the instance, which makes
/// Eureka clients register again. `status` on a heartbeat is ignored, as Eureka's server
/// ignores it from clients: an override stays in force.
pub(super) async fn heartbeat(
    State(state): State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    keyed_write(&state, &headers, path.0, |key| {
        Request::Renew(RenewArgs {
            key,
            replication: false,
            dirty_timestamp: 0,
        })
    })
    .await
}

/// `DELETE apps/{APP}/{ID}`: cancel. 200, or 404 when there was nothing to cancel.
pub(super) async fn cancel(
    State(state): State<AppState>,
    path: Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    keyed_write(&state, &headers, path.0, |key| {
        Request::Cancel(CancelArgs {
            key,
            replication: false,
            latest_timestamp: 0,
        })
    })
    .await
}

/// The query's pairs, percent-decoded; a 400 reason when a key or value is not UTF-8 once
/// decoded (replacing such bytes could make two keys one).
fn pairs(query: Option<&str>) -> Result<Vec<(String, String)>, String> {
    let query = query.unwrap_or_default();
    // `Form::parse` is the node's lossless check; the pairs are then `form_urlencoded`'s,
    // which split and decode alike.
    Form::parse(query).map_err(|bad| bad.to_string())?;
    Ok(form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect())
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A change of the instance the path names, as a `set` that `change` computes from the
/// instance the node holds: 200; 404 when the node holds no such instance; 400 (nothing
/// changed) when `change` refuses the request.
async fn set(
    state: &AppState,
    headers: &HeaderMap,
    (app, id): (String, String),
    change: impl FnOnce(&Instance) -> Result<SetArgs, String>,
) -> Response {
    if let Err(denied) = state.api_auth.check_write(headers) {
        return refuse(state, Guarded::Write, denied);
    }
    let stored = match held(state, &app, &id).await {
        Ok(stored) => stored,
        Err(failure) => return failure,
    };
    match change(&stored) {
        Ok(args) => done(
            &state.node.request(Request::Set(args)).await,
            StatusCode::OK,
        ),
        Err(reason) => plain(StatusCode::BAD_REQUEST, reason),
    }
}

/// How a change request (`PUT`/`DELETE` of `apps/{APP}/{ID}/{what}`) changes the instance
/// held, given the query's pairs; `None` for a method and `what` Eureka does not have.
type Change = fn(&Instance, &[(String, String)]) -> Result<SetArgs, String>;

fn change_of(method: &Method, what: &str) -> Option<Change> {
    Some(match (method.as_str(), what) {
        ("PUT", "status") => |stored, pairs| overrides::put_override(stored, param(pairs, "value")),
        ("DELETE", "status") => {
            |stored, pairs| overrides::delete_override(stored, param(pairs, "value"))
        }
        ("PUT", "metadata") => overrides::put_metadata,
        _ => return None,
    })
}

/// `PUT apps/{APP}/{ID}/status?value=S` (put a status override), `DELETE` of the same
/// (remove it, `?value=` optional), `PUT apps/{APP}/{ID}/metadata?k=v&...` (merge keys).
pub(super) async fn change(
    State(state): State<AppState>,
    method: Method,
    Path((app, id, what)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(change) = change_of(&method, &what) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!("no Eureka operation {method} apps/{{APP}}/{{ID}}/{what}"),
        );
    };
    let pairs = match pairs(query.as_deref()) {
        Ok(pairs) => pairs,
        Err(reason) => return plain(StatusCode::BAD_REQUEST, reason),
    };
    set(&state, &headers, (app, id), |stored| change(stored, &pairs)).await
}
