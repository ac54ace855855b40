//! The Eureka routes and reads. Like the discovery handlers they only translate: each one
//! becomes a discovery [`Request`] the node already handles, and the node's [`Reply`] becomes
//! Eureka's HTTP status and document. The writes are in `writes.rs`.

use std::sync::Arc;

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use tokio::sync::MutexGuard;
use tokio::time::Instant;

use super::answer::{document, failure, format, plain};
use super::delta::{Changes, DeltaLog};
use super::mapping::{self, View, ZONE};
use super::render::{self, App};
use super::writes;
#[cfg(doc)]
use crate::api::Reply;
use crate::api::{Data, FetchArgs, Instance, Request, SmolStr, StatusFilter};
use crate::runtime::routes::AppState;

/// The Eureka routes, relative to a mount point (`/eureka`, `/eureka/v2`). Each mount keeps
/// its own delta log: a client reads through one mount, and each log is complete for what
/// was read through it.
pub(in crate::runtime) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps", get(all_apps))
        .route("/apps/", get(all_apps))
        // Before `apps/{app}`: Eureka's delta path shadows an app named "delta", as on Eureka.
        .route("/apps/delta", get(delta))
        .route("/apps/{app}", get(one_app).post(writes::register))
        .route(
            "/apps/{app}/{id}",
            get(one_instance)
                .put(writes::heartbeat)
                .delete(writes::cancel),
        )
        .route("/instances/{id}", get(instance_by_id))
        .route("/vips/{vip}", get(by_vip))
        .route("/svips/{vip}", get(by_secure_vip))
        // `status` (PUT, DELETE) and `metadata` (PUT); others are 404.
        .route(
            "/apps/{app}/{id}/{what}",
            put(writes::change).delete(writes::change),
        )
        .layer(Extension(Arc::new(DeltaLog::default())))
}

fn env(state: &AppState) -> &SmolStr {
    &state.eureka_env
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

/// `GET apps/`: the full registry, JSON or XML by `Accept` (`?regions=` is accepted and
/// answered with the one region there is). Recorded in the delta log: what a client was
/// shown, a later delta reports the change of.
async fn all_apps(
    State(state): State<AppState>,
    Extension(log): Extension<Arc<DeltaLog>>,
    headers: HeaderMap,
) -> Response {
    match observed(&state, &log).await {
        Ok((apps, changes)) => {
            drop(changes);
            let format = format(&headers);
            document(format, render::applications(&apps, format))
        }
        Err(failure) => failure,
    }
}

/// Every app, recorded in the delta log, whose lock comes back held: the delta's changes
/// are read from the same snapshot as its hash code.
async fn observed<'a>(
    state: &AppState,
    log: &'a DeltaLog,
) -> Result<(Vec<App>, MutexGuard<'a, Changes>), Response> {
    let mut changes = log.0.lock().await;
    let apps = everything(state).await?;
    changes.observe(&apps, Instant::now());
    Ok((apps, changes))
}

/// `GET apps/delta`: the changes of the last three minutes, with the full registry's hash
/// code (`?regions=` as for `GET apps/`).
async fn delta(
    State(state): State<AppState>,
    Extension(log): Extension<Arc<DeltaLog>>,
    headers: HeaderMap,
) -> Response {
    let (apps, changes) = match observed(&state, &log).await {
        Ok(observed) => observed,
        Err(failure) => return failure,
    };
    let (recent, version) = (changes.apps(), changes.version());
    drop(changes);
    let format = format(&headers);
    document(format, render::delta(&recent, version, &apps, format))
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
        Data::App(info) => Ok(Arc::unwrap_or_clone(info)
            .instances
            .into_values()
            .flatten()
            .collect()),
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

/// The instance `id` of `app` the node holds, in the facade's zone or, registered through
/// discovery, in another; 404 when there is none.
pub(super) async fn held(state: &AppState, app: &str, id: &str) -> Result<Instance, Response> {
    let mut instances = fetch_app(state, app).await?;
    instances.retain(|i| i.hostname == id);
    // Eureka's own first: that is the one its heartbeats renew.
    instances.sort_by_key(|i| i.zone != ZONE);
    instances
        .into_iter()
        .next()
        .ok_or_else(|| plain(StatusCode::NOT_FOUND, format!("no instance {id} of {app}")))
}

/// `GET apps/{APP}/{ID}`.
async fn one_instance(
    State(state): State<AppState>,
    Path((app, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match held(&state, &app, &id).await {
        Ok(instance) => {
            let format = format(&headers);
            document(format, render::instance(&View::of(&instance), format))
        }
        Err(failure) => failure,
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
