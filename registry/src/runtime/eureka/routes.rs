//! The Eureka endpoints. Like the discovery handlers they only translate: each one becomes a
//! discovery [`Request`] the node already handles, and the node's [`Reply`] becomes Eureka's
//! HTTP status and document.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;

use super::mapping::{self, View};
use super::model::parse_instance;
use super::render::{self, App, Format};
use crate::api::{
    CancelArgs, Code, Data, FetchArgs, Instance, RenewArgs, Reply, Request, SmolStr, StatusFilter,
};
use crate::runtime::access::Guarded;
use crate::runtime::limits;
use crate::runtime::routes::{refuse, AppState};

/// The Eureka routes, relative to a mount point (`/eureka`, `/eureka/v2`).
pub(in crate::runtime) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps", get(all_apps))
        .route("/apps/", get(all_apps))
        // Before `apps/{app}`: Eureka's delta path shadows an app named "delta", as on Eureka.
        .route("/apps/delta", get(not_yet))
        .route("/apps/{app}", get(one_app).post(register))
        .route(
            "/apps/{app}/{id}",
            get(one_instance).put(heartbeat).delete(cancel),
        )
        .route("/instances/{id}", get(instance_by_id))
        .route("/vips/{vip}", get(by_vip))
        .route("/svips/{vip}", get(by_secure_vip))
        .route("/apps/{app}/{id}/status", put(not_yet).delete(not_yet))
        .route("/apps/{app}/{id}/metadata", put(not_yet))
}

/// An empty answer with `status`, or a short reason as text.
fn plain(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, reason.into()).into_response()
}

fn document(format: Format, body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response()
}

fn format(headers: &HeaderMap) -> Format {
    Format::from_accept(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()))
}

/// A node reply that is not a success: 404 for "not there", 400 for a refused input, 503 for
/// a node that cannot serve (stopping, not ready), 500 otherwise; the message as the reason.
fn failure(reply: &Reply) -> Response {
    let status = match reply.code {
        Code::NothingFound => StatusCode::NOT_FOUND,
        Code::BadRequest | Code::LimitExceeded => StatusCode::BAD_REQUEST,
        Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        Code::Conflict => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    plain(status, reply.message.to_string())
}

fn env(state: &AppState) -> &SmolStr {
    &state.eureka_env
}

/// `POST apps/{APP}`: register (or re-register). Clients require exactly 204.
async fn register(
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
    let args = match parse_instance(&bytes, content_type)
        .and_then(|doc| mapping::register_args(env(&state), &app, &doc))
    {
        Ok(args) => args,
        Err(reason) => return plain(StatusCode::BAD_REQUEST, reason),
    };
    let given = args.dirty_timestamp;
    let mut reply = state.node.request(Request::Register(args.clone())).await;
    if reply.code == Code::Conflict && given > 0 {
        // The node holds a newer version (typically the tombstone of a cancel or an eviction,
        // stamped by a node after the client's lastDirtyTimestamp). The client is the
        // instance's owner and re-registers on purpose (Eureka clients do after a 404), so
        // its register is the latest word: it takes a fresh version from the node's clock.
        let fresh = crate::api::RegisterArgs {
            dirty_timestamp: 0,
            ..args
        };
        reply = state.node.request(Request::Register(fresh)).await;
    }
    if reply.code == Code::Ok {
        StatusCode::NO_CONTENT.into_response()
    } else {
        failure(&reply)
    }
}

/// `PUT apps/{APP}/{ID}`: renew. 404 when the node does not know the instance, which makes
/// Eureka clients register again.
async fn heartbeat(
    State(state): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = state.api_auth.check_write(&headers) {
        return refuse(&state, Guarded::Write, denied);
    }
    let request = Request::Renew(RenewArgs {
        key: mapping::key(env(&state), &app, &id),
        replication: false,
        dirty_timestamp: 0,
    });
    let reply = state.node.request(request).await;
    if reply.code == Code::Ok {
        StatusCode::OK.into_response()
    } else {
        failure(&reply)
    }
}

/// `DELETE apps/{APP}/{ID}`: cancel. 200, or 404 when there was nothing to cancel.
async fn cancel(
    State(state): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = state.api_auth.check_write(&headers) {
        return refuse(&state, Guarded::Write, denied);
    }
    let request = Request::Cancel(CancelArgs {
        key: mapping::key(env(&state), &app, &id),
        replication: false,
        latest_timestamp: 0,
    });
    let reply = state.node.request(request).await;
    if reply.code == Code::Ok {
        StatusCode::OK.into_response()
    } else {
        failure(&reply)
    }
}

/// Every instance of the facade's environment, grouped by app (upper-case names, sorted).
async fn everything(state: &AppState) -> Result<Vec<App>, Response> {
    let reply = state.node.request(Request::FetchAll).await;
    let Data::All(all) = &reply.data else {
        return Err(failure(&reply));
    };
    Ok(all
        .values()
        .filter_map(|instances| {
            let views: Vec<View> = instances
                .iter()
                .filter(|i| i.env == *env(state))
                .map(View::of)
                .collect();
            let name = views.first()?.app.clone();
            Some(App {
                name,
                instances: views,
            })
        })
        .collect())
}

/// `GET apps/`: the full registry, JSON or XML by `Accept`.
async fn all_apps(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match everything(&state).await {
        Ok(apps) => {
            let format = format(&headers);
            document(format, render::applications(&apps, format))
        }
        Err(failure) => failure,
    }
}

/// The instances of one app in every zone, UP or not; 404 when there are none.
async fn fetch_app(state: &AppState, app: &str) -> Result<Vec<Instance>, Response> {
    let request = Request::Fetch(FetchArgs {
        zone: SmolStr::default(),
        env: env(state).clone(),
        appid: mapping::appid(app),
        status: StatusFilter::ALL,
    });
    let reply = state.node.request(request).await;
    match reply.data {
        Data::App(info) => Ok(info.instances.into_values().flatten().collect()),
        _ => Err(failure(&reply)),
    }
}

/// `GET apps/{APP}`.
async fn one_app(
    State(state): State<AppState>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    match fetch_app(&state, &app).await {
        Ok(instances) => {
            let format = format(&headers);
            let app = App {
                name: app.to_ascii_uppercase(),
                instances: instances.iter().map(View::of).collect(),
            };
            document(format, render::application(&app, format))
        }
        Err(failure) => failure,
    }
}

/// `GET apps/{APP}/{ID}`.
async fn one_instance(
    State(state): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let instances = match fetch_app(&state, &app).await {
        Ok(instances) => instances,
        Err(failure) => return failure,
    };
    match instances.iter().find(|i| i.hostname == id) {
        Some(instance) => {
            let format = format(&headers);
            document(format, render::instance(&View::of(instance), format))
        }
        None => plain(StatusCode::NOT_FOUND, format!("no instance {id} of {app}")),
    }
}

/// `GET instances/{ID}`: the instance with this id in any app.
async fn instance_by_id(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let apps = match everything(&state).await {
        Ok(apps) => apps,
        Err(failure) => return failure,
    };
    let found = apps
        .iter()
        .flat_map(|a| &a.instances)
        .find(|v| v.instance_id == id);
    match found {
        Some(view) => {
            let format = format(&headers);
            document(format, render::instance(view, format))
        }
        None => plain(StatusCode::NOT_FOUND, format!("no instance {id}")),
    }
}

/// The apps with the instances whose `wire` field (`vipAddress`, `secureVipAddress`; Eureka
/// allows a comma-separated list) names `vip`; apps with none are left out.
async fn with_vip(state: &AppState, headers: &HeaderMap, wire: &str, vip: &str) -> Response {
    let mut apps = match everything(state).await {
        Ok(apps) => apps,
        Err(failure) => return failure,
    };
    for app in &mut apps {
        app.instances.retain(|view| {
            view.texts
                .iter()
                .any(|(w, value)| *w == wire && value.split(',').any(|v| v.trim() == vip))
        });
    }
    apps.retain(|app| !app.instances.is_empty());
    let format = format(headers);
    document(format, render::applications(&apps, format))
}

/// `GET vips/{vip}`.
async fn by_vip(
    State(state): State<AppState>,
    Path(vip): Path<String>,
    headers: HeaderMap,
) -> Response {
    with_vip(&state, &headers, "vipAddress", &vip).await
}

/// `GET svips/{svip}`.
async fn by_secure_vip(
    State(state): State<AppState>,
    Path(vip): Path<String>,
    headers: HeaderMap,
) -> Response {
    with_vip(&state, &headers, "secureVipAddress", &vip).await
}

/// Deltas, status overrides and metadata updates are not mapped yet: say so rather than
/// pretend (a delta answered as an unknown app, or empty, could hide changes from a client).
async fn not_yet() -> Response {
    plain(
        StatusCode::NOT_IMPLEMENTED,
        "not supported by this registry's Eureka facade yet (see README, \"Eureka clients\")",
    )
}
