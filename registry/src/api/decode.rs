//! Routes, and the translation between forms and typed [`Request`]s in both directions.
//!
//! Decoding checks syntax (presence, integers, status values, metadata JSON, list lengths);
//! the node checks configured limits (field lengths, counts, sizes) on top.

use super::args::*;
use super::{BadRequest, Form, InstanceKey, Metadata, SmolStr, Status};

/// A route of the HTTP API under `/discovery`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// `POST /discovery/register`
    Register,
    /// `POST /discovery/renew`
    Renew,
    /// `POST /discovery/cancel`
    Cancel,
    /// `POST /discovery/set`
    Set,
    /// `GET /discovery/fetch`
    Fetch,
    /// `GET /discovery/fetchs`
    Fetchs,
    /// `GET /discovery/poll`
    Poll,
    /// `GET /discovery/polls`
    Polls,
    /// `GET /discovery/nodes`
    Nodes,
    /// `GET /discovery/fetch/all`
    FetchAll,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 10] = [
        Route::Register,
        Route::Renew,
        Route::Cancel,
        Route::Set,
        Route::Fetch,
        Route::Fetchs,
        Route::Poll,
        Route::Polls,
        Route::Nodes,
        Route::FetchAll,
    ];

    /// The URL path.
    pub const fn path(self) -> &'static str {
        match self {
            Route::Register => "/discovery/register",
            Route::Renew => "/discovery/renew",
            Route::Cancel => "/discovery/cancel",
            Route::Set => "/discovery/set",
            Route::Fetch => "/discovery/fetch",
            Route::Fetchs => "/discovery/fetchs",
            Route::Poll => "/discovery/poll",
            Route::Polls => "/discovery/polls",
            Route::Nodes => "/discovery/nodes",
            Route::FetchAll => "/discovery/fetch/all",
        }
    }

    /// The route served at `path`, if any.
    pub fn from_path(path: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|e| e.path() == path)
    }

    /// Whether the route takes a POST form body (writes) rather than a GET query (reads).
    pub const fn is_post(self) -> bool {
        matches!(
            self,
            Route::Register | Route::Renew | Route::Cancel | Route::Set
        )
    }
}

/// Decodes the form sent to `route` into a typed request.
pub fn decode_request(route: Route, form: &Form) -> Result<Request, BadRequest> {
    Ok(match route {
        Route::Register => Request::Register(register(form)?),
        Route::Renew => Request::Renew(RenewArgs {
            key: instance_key(form)?,
            replication: form.flag("replication")?,
            dirty_timestamp: non_negative(form, "dirty_timestamp")?,
        }),
        Route::Cancel => Request::Cancel(CancelArgs {
            key: instance_key(form)?,
            replication: form.flag("replication")?,
            latest_timestamp: non_negative(form, "latest_timestamp")?,
        }),
        Route::Set => Request::Set(set(form)?),
        Route::Fetch => Request::Fetch(FetchArgs {
            zone: form.text("zone")?,
            env: form.required("env")?.into(),
            appid: form.required("appid")?.into(),
            status: status_filter(form)?,
        }),
        Route::Fetchs => Request::Fetchs(FetchsArgs {
            zone: form.text("zone")?,
            env: form.required("env")?.into(),
            appids: non_empty_list(form, "appid")?,
            status: status_filter(form)?,
        }),
        Route::Poll => Request::Poll(PollArgs {
            zone: form.text("zone")?,
            env: form.required("env")?.into(),
            appid: form.required("appid")?.into(),
            hostname: form.required("hostname")?.into(),
            latest_timestamp: non_negative(form, "latest_timestamp")?,
        }),
        Route::Polls => Request::Polls(polls(form)?),
        Route::Nodes => Request::Nodes,
        Route::FetchAll => Request::FetchAll,
    })
}

fn register(form: &Form) -> Result<RegisterArgs, BadRequest> {
    Ok(RegisterArgs {
        key: instance_key(form)?,
        region: form.text("region")?,
        status: status(form.required("status")?)?,
        addrs: non_empty_list(form, "addrs")?,
        version: form.text("version")?,
        metadata: metadata(form.optional("metadata")?.unwrap_or(""))?,
        replication: form.flag("replication")?,
        latest_timestamp: non_negative(form, "latest_timestamp")?,
        dirty_timestamp: non_negative(form, "dirty_timestamp")?,
    })
}

/// The instance a register, renew or cancel names; [`push_instance_key`] encodes it.
fn instance_key(form: &Form) -> Result<InstanceKey, BadRequest> {
    Ok(InstanceKey {
        zone: form.required("zone")?.into(),
        env: form.required("env")?.into(),
        appid: form.required("appid")?.into(),
        hostname: form.required("hostname")?.into(),
    })
}

fn set(form: &Form) -> Result<SetArgs, BadRequest> {
    let hostnames = non_empty_list(form, "hostname")?;
    let statuses = form
        .list("status")
        .iter()
        .map(|s| status(s))
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = form
        .repeated("metadata")
        .iter()
        .map(|m| metadata(m))
        .collect::<Result<_, _>>()?;
    let args = SetArgs {
        zone: form.required("zone")?.into(),
        env: form.required("env")?.into(),
        appid: form.required("appid")?.into(),
        hostnames,
        statuses,
        metadata,
        replication: form.flag("replication")?,
        set_timestamp: non_negative(form, "set_timestamp")?,
    };
    let count = args.hostnames.len();
    if args.statuses.is_empty() && args.metadata.is_empty() {
        return Err(BadRequest::new(
            "status",
            "set needs `status` or `metadata` to change",
        ));
    }
    if !args.statuses.is_empty() && args.statuses.len() != count {
        return Err(BadRequest::new(
            "status",
            format!("needs one value per hostname ({count})"),
        ));
    }
    if !args.metadata.is_empty() && args.metadata.len() != count {
        return Err(BadRequest::new(
            "metadata",
            format!("needs one value per hostname ({count})"),
        ));
    }
    Ok(args)
}

fn polls(form: &Form) -> Result<PollsArgs, BadRequest> {
    let appids = non_empty_list(form, "appid")?;
    let mut latest_timestamps = form.int_list("latest_timestamp")?;
    // bilibili's registry treats absent cursors as "never seen"; a partial list is ambiguous.
    if latest_timestamps.is_empty() {
        latest_timestamps = vec![0; appids.len()];
    }
    if latest_timestamps.len() != appids.len() {
        return Err(BadRequest::new(
            "latest_timestamp",
            format!(
                "needs one value per appid ({}), got {}",
                appids.len(),
                latest_timestamps.len()
            ),
        ));
    }
    if latest_timestamps.iter().any(|ts| *ts < 0) {
        return Err(BadRequest::new("latest_timestamp", "must not be negative"));
    }
    Ok(PollsArgs {
        zone: form.text("zone")?,
        env: form.required("env")?.into(),
        appids,
        hostname: form.required("hostname")?.into(),
        latest_timestamps,
    })
}

fn status(value: &str) -> Result<Status, BadRequest> {
    let number: u32 = value.trim().parse().map_err(|_| {
        BadRequest::new(
            "status",
            format!("must be 1 (up) or 2 (waiting), got {value:?}"),
        )
    })?;
    Status::try_from(number).map_err(|problem| BadRequest::new("status", problem))
}

fn status_filter(form: &Form) -> Result<StatusFilter, BadRequest> {
    let raw = form.required("status")?;
    raw.trim()
        .parse()
        .ok()
        .and_then(StatusFilter::from_bits)
        .ok_or_else(|| {
            BadRequest::new(
                "status",
                format!("must be 1, 2 or 3 (a bitmask), got {raw:?}"),
            )
        })
}

/// Metadata arrives as a JSON object of strings in one form value; empty means none.
fn metadata(raw: &str) -> Result<Metadata, BadRequest> {
    if raw.trim().is_empty() {
        return Ok(Metadata::new());
    }
    serde_json::from_str(raw).map_err(|e| {
        BadRequest::new(
            "metadata",
            format!("must be a JSON object of strings ({e})"),
        )
    })
}

fn non_empty_list(form: &Form, key: &str) -> Result<Vec<SmolStr>, BadRequest> {
    let items = form.list(key);
    if items.is_empty() {
        return Err(BadRequest::new(key, "needs at least one value"));
    }
    Ok(items)
}

fn non_negative(form: &Form, key: &str) -> Result<i64, BadRequest> {
    let value = form.int(key)?;
    if value < 0 {
        return Err(BadRequest::new(
            key,
            format!("must not be negative, got {value}"),
        ));
    }
    Ok(value)
}

impl Request {
    /// The route and form that carry this request; [`decode_request`] inverts it.
    pub fn to_form(&self) -> (Route, Form) {
        let mut form = Form::default();
        let route = match self {
            Request::Register(a) => {
                push_instance_key(&mut form, &a.key);
                form.push("region", &a.region);
                form.push("status", a.status.bit().to_string());
                form.push("addrs", a.addrs.join(","));
                form.push("version", &a.version);
                form.push("metadata", metadata_json(&a.metadata));
                flags(
                    &mut form,
                    a.replication,
                    "latest_timestamp",
                    a.latest_timestamp,
                );
                form.push("dirty_timestamp", a.dirty_timestamp.to_string());
                Route::Register
            }
            Request::Renew(a) => {
                push_instance_key(&mut form, &a.key);
                flags(
                    &mut form,
                    a.replication,
                    "dirty_timestamp",
                    a.dirty_timestamp,
                );
                Route::Renew
            }
            Request::Cancel(a) => {
                push_instance_key(&mut form, &a.key);
                flags(
                    &mut form,
                    a.replication,
                    "latest_timestamp",
                    a.latest_timestamp,
                );
                Route::Cancel
            }
            Request::Set(a) => {
                identity(&mut form, &a.zone, &a.env, &a.appid);
                a.hostnames.iter().for_each(|h| form.push("hostname", h));
                a.statuses
                    .iter()
                    .for_each(|s| form.push("status", s.bit().to_string()));
                a.metadata
                    .iter()
                    .for_each(|m| form.push("metadata", metadata_json(m)));
                flags(&mut form, a.replication, "set_timestamp", a.set_timestamp);
                Route::Set
            }
            Request::Fetch(a) => {
                identity(&mut form, &a.zone, &a.env, &a.appid);
                form.push("status", a.status.bits().to_string());
                Route::Fetch
            }
            Request::Fetchs(a) => {
                identity(&mut form, &a.zone, &a.env, &a.appids.join(","));
                form.push("status", a.status.bits().to_string());
                Route::Fetchs
            }
            Request::Poll(a) => {
                identity(&mut form, &a.zone, &a.env, &a.appid);
                form.push("hostname", &a.hostname);
                form.push("latest_timestamp", a.latest_timestamp.to_string());
                Route::Poll
            }
            Request::Polls(a) => {
                identity(&mut form, &a.zone, &a.env, "");
                a.appids.iter().for_each(|id| form.push("appid", id));
                form.push("hostname", &a.hostname);
                a.latest_timestamps
                    .iter()
                    .for_each(|ts| form.push("latest_timestamp", ts.to_string()));
                Route::Polls
            }
            Request::Nodes => Route::Nodes,
            Request::FetchAll => Route::FetchAll,
        };
        (route, form)
    }
}

fn push_instance_key(form: &mut Form, key: &InstanceKey) {
    identity(form, &key.zone, &key.env, &key.appid);
    form.push("hostname", &key.hostname);
}

fn identity(form: &mut Form, zone: &str, env: &str, appid: &str) {
    form.push("zone", zone);
    form.push("env", env);
    form.push("appid", appid);
}

fn flags(form: &mut Form, replication: bool, stamp_key: &str, stamp: i64) {
    form.push("replication", replication.to_string());
    form.push(stamp_key, stamp.to_string());
}

fn metadata_json(metadata: &Metadata) -> String {
    // A map of strings always serializes; an empty map is sent as `{}`.
    serde_json::to_string(metadata).unwrap_or_default()
}
