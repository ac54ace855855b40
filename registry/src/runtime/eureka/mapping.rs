//! The mapping between a Eureka instance and the node's [`Instance`] (ARCHITECTURE.md,
//! "The Eureka facade"). Nothing is stored twice: ports live in `addrs`, the Eureka fields the
//! node has no column for live in metadata under the reserved prefix [`RESERVED`], and the
//! timestamps are the node's own.

use std::collections::BTreeMap;

use super::model::{InstanceIn, Scalar};
use super::status::{EurekaStatus, STATUS_KEY};
use crate::api::{Instance, InstanceKey, RegisterArgs, SmolStr};

/// Metadata keys starting with this hold Eureka fields; a client may not send such keys.
pub(super) const RESERVED: &str = "eureka.";

/// The zone every Eureka-registered instance is stored in. Eureka has no zone in its paths, so
/// a heartbeat must find the instance without one; the same constant on every node keeps one
/// key per instance whichever node a client talks to.
pub(super) const ZONE: &str = "eureka";

const DEFAULT_DATA_CENTER_CLASS: &str = "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";
const DEFAULT_DATA_CENTER_NAME: &str = "MyOwn";
const DEFAULT_RENEWAL_SECS: u64 = 30;
const DEFAULT_DURATION_SECS: u64 = 90;

/// The Eureka fields kept verbatim in reserved metadata: (wire name, metadata key).
const TEXT_FIELDS: [(&str, &str); 8] = [
    ("hostName", "eureka.hostName"),
    ("ipAddr", "eureka.ipAddr"),
    ("homePageUrl", "eureka.homePageUrl"),
    ("statusPageUrl", "eureka.statusPageUrl"),
    ("healthCheckUrl", "eureka.healthCheckUrl"),
    ("secureHealthCheckUrl", "eureka.secureHealthCheckUrl"),
    ("vipAddress", "eureka.vipAddress"),
    ("secureVipAddress", "eureka.secureVipAddress"),
];

/// The canonical appid of a Eureka app name: names match case-insensitively (py_eureka_client
/// upper-cases them, eureka-js-client does not).
pub(super) fn appid(app: &str) -> SmolStr {
    app.to_ascii_lowercase().into()
}

/// The node's key for Eureka app `app`, instance `id`, in environment `env`.
pub(super) fn key(env: &SmolStr, app: &str, id: &str) -> InstanceKey {
    InstanceKey {
        env: env.clone(),
        appid: appid(app),
        zone: ZONE.into(),
        hostname: id.into(),
    }
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn port(number: &Option<Scalar>, what: &str) -> Result<Option<u16>, String> {
    match number
        .as_ref()
        .map(|s| s.0.as_str())
        .filter(|s| !s.is_empty())
    {
        None => Ok(None),
        Some(text) => text
            .parse::<u16>()
            .map(Some)
            .map_err(|_| format!("{what} must be a port number, got {text:?}")),
    }
}

fn enabled(value: &Option<Scalar>, default: bool) -> bool {
    value
        .as_ref()
        .map_or(default, |s| s.0.eq_ignore_ascii_case("true"))
}

/// A register as the node takes it. `path_app` is the `{APP}` of the URL; the body's `app`
/// must name the same app. Errors are short reasons for a 400.
pub(super) fn register_args(
    env: &SmolStr,
    path_app: &str,
    doc: &InstanceIn,
) -> Result<RegisterArgs, String> {
    let app = text(&doc.app).ok_or("instance.app is required")?;
    if !app.eq_ignore_ascii_case(path_app) {
        return Err(format!(
            "instance.app {app:?} does not match the app {path_app:?} of the path"
        ));
    }
    let host = text(&doc.host_name);
    let ip = text(&doc.ip_addr)
        .or(host)
        .ok_or("instance.ipAddr or instance.hostName is required")?;
    let id = text(&doc.instance_id).or(host).unwrap_or(ip);
    let status = match text(&doc.status) {
        None => EurekaStatus::Up,
        Some(s) => EurekaStatus::parse_given("instance.status", s)?,
    };
    // Built as a map, then stored at once (each insert into a `Metadata` copies it).
    let mut metadata = BTreeMap::<String, String>::new();
    for (k, v) in doc.metadata.iter().flatten() {
        if k.starts_with('@') {
            continue; // Java's type marker, not metadata.
        }
        if k.starts_with(RESERVED) {
            return Err(format!(
                "metadata key {k:?}: keys starting with {RESERVED:?} are reserved"
            ));
        }
        metadata.insert(k.clone(), v.0.clone());
    }
    let fields = [
        &doc.host_name,
        &doc.ip_addr,
        &doc.home_page_url,
        &doc.status_page_url,
        &doc.health_check_url,
        &doc.secure_health_check_url,
        &doc.vip_address,
        &doc.secure_vip_address,
    ];
    for ((_, meta_key), value) in TEXT_FIELDS.iter().zip(fields) {
        if let Some(value) = text(value) {
            metadata.insert((*meta_key).to_string(), value.to_string());
        }
    }
    if status != EurekaStatus::Up {
        metadata.insert(STATUS_KEY.into(), status.name().into());
    }
    if let Some(dc) = &doc.data_center_info {
        if let Some(class) = text(&dc.class).filter(|c| *c != DEFAULT_DATA_CENTER_CLASS) {
            metadata.insert("eureka.dataCenterInfo.class".into(), class.into());
        }
        if let Some(name) = text(&dc.name).filter(|n| *n != DEFAULT_DATA_CENTER_NAME) {
            metadata.insert("eureka.dataCenterInfo.name".into(), name.into());
        }
    }
    if let Some(lease) = &doc.lease_info {
        for (value, meta_key) in [
            (
                &lease.renewal_interval,
                "eureka.leaseInfo.renewalIntervalInSecs",
            ),
            (&lease.duration, "eureka.leaseInfo.durationInSecs"),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !v.0.is_empty()) {
                v.0.parse::<u64>()
                    .map_err(|_| format!("{meta_key} must be a whole number, got {:?}", v.0))?;
                metadata.insert(meta_key.into(), v.0.clone());
            }
        }
    }
    // The ports live in `addrs`: a discovery client dials them as it dials any instance.
    let mut addrs = Vec::new();
    let (http, https) = (
        doc.port.clone().unwrap_or_default(),
        doc.secure_port.clone().unwrap_or_default(),
    );
    if let Some(p) = port(&http.number, "instance.port")? {
        if enabled(&http.enabled, true) {
            addrs.push(SmolStr::from(format!("http://{ip}:{p}")));
        }
    }
    if let Some(p) = port(&https.number, "instance.securePort")? {
        if enabled(&https.enabled, false) {
            addrs.push(SmolStr::from(format!("https://{ip}:{p}")));
        }
    }
    if addrs.is_empty() {
        // Nothing to dial: refuse rather than invent an address (the node requires one).
        return Err("instance.port or instance.securePort must be enabled".into());
    }
    let dirty_timestamp = match doc
        .last_dirty_timestamp
        .as_ref()
        .filter(|s| !s.0.is_empty())
    {
        None => 0,
        Some(ms) => {
            let ms: i64 =
                ms.0.parse()
                    .ok()
                    .filter(|ms: &i64| *ms >= 0)
                    .ok_or_else(|| {
                        format!("lastDirtyTimestamp must be milliseconds, got {:?}", ms.0)
                    })?;
            // Milliseconds onto the node's nanosecond versions; the node refuses a stamp
            // further ahead of its clock than `max_timestamp_ahead`.
            ms.saturating_mul(1_000_000)
        }
    };
    Ok(RegisterArgs {
        key: key(env, app, id),
        region: SmolStr::default(),
        status: status.node_status(),
        addrs,
        version: SmolStr::default(),
        metadata: metadata.into_iter().collect(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp,
    })
}

/// A port as Eureka shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PortView {
    pub(super) number: u16,
    pub(super) enabled: bool,
}

/// Eureka's `actionType`: how a delta says an instance changed. Full documents say ADDED.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Action {
    Added,
    Modified,
    Deleted,
}

impl Action {
    pub(super) const fn name(self) -> &'static str {
        match self {
            Action::Added => "ADDED",
            Action::Modified => "MODIFIED",
            Action::Deleted => "DELETED",
        }
    }
}

/// One instance as Eureka shows it, whichever API registered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct View {
    pub(super) instance_id: String,
    pub(super) app: String,
    /// The wire name and value of each field of [`TEXT_FIELDS`].
    pub(super) texts: Vec<(&'static str, String)>,
    pub(super) status: EurekaStatus,
    /// The status override in force, if any (rendered as UNKNOWN when none, as Eureka does).
    pub(super) overridden: Option<EurekaStatus>,
    pub(super) port: PortView,
    pub(super) secure_port: PortView,
    pub(super) data_center_class: String,
    pub(super) data_center_name: String,
    pub(super) renewal_interval_secs: u64,
    pub(super) duration_secs: u64,
    pub(super) registration_ms: i64,
    pub(super) last_renewal_ms: i64,
    pub(super) service_up_ms: i64,
    pub(super) last_updated_ms: i64,
    pub(super) last_dirty_ms: i64,
    /// The instance's metadata without the reserved keys.
    pub(super) metadata: BTreeMap<String, String>,
    /// ADDED but in a delta.
    pub(super) action: Action,
}

/// `scheme://host:port` split, for an instance registered through the discovery API.
fn split_addr(addr: &str) -> Option<(&str, &str, u16)> {
    let (scheme, rest) = addr.split_once("://")?;
    let rest = rest.split('/').next().unwrap_or(rest);
    let (host, port) = rest.rsplit_once(':')?;
    Some((scheme, host, port.parse().ok()?))
}

fn ms(ns: i64) -> i64 {
    ns / 1_000_000
}

impl View {
    pub(super) fn of(instance: &Instance) -> View {
        let meta = &instance.metadata;
        let reserved = |k: &str| meta.get(k).map(|v| v.to_string());
        let mut port = PortView {
            number: 0,
            enabled: false,
        };
        let mut secure_port = PortView {
            number: 443,
            enabled: false,
        };
        let mut addr_host = None;
        for addr in instance.addrs.iter() {
            let Some((scheme, host, number)) = split_addr(addr) else {
                continue;
            };
            if scheme == "https" && !secure_port.enabled {
                secure_port = PortView {
                    number,
                    enabled: true,
                };
            } else if scheme != "https" && !port.enabled {
                port = PortView {
                    number,
                    enabled: true,
                };
            } else {
                continue;
            }
            addr_host.get_or_insert_with(|| host.to_string());
        }
        let texts = TEXT_FIELDS
            .iter()
            .filter_map(|(wire, key)| {
                let value = reserved(key).or_else(|| match *wire {
                    // Discovery-registered: the host name is the instance id, the IP the
                    // first address's host, the VIP the app.
                    "hostName" => Some(instance.hostname.to_string()),
                    "ipAddr" => addr_host
                        .clone()
                        .or_else(|| Some(instance.hostname.to_string())),
                    "vipAddress" => Some(instance.appid.to_string()),
                    _ => None,
                })?;
                Some((*wire, value))
            })
            .collect();
        let number =
            |k: &str, default: u64| reserved(k).and_then(|v| v.parse().ok()).unwrap_or(default);
        View {
            instance_id: instance.hostname.to_string(),
            app: instance.appid.to_ascii_uppercase(),
            texts,
            status: EurekaStatus::of(instance),
            overridden: EurekaStatus::overridden(instance),
            port,
            secure_port,
            data_center_class: reserved("eureka.dataCenterInfo.class")
                .unwrap_or_else(|| DEFAULT_DATA_CENTER_CLASS.into()),
            data_center_name: reserved("eureka.dataCenterInfo.name")
                .unwrap_or_else(|| DEFAULT_DATA_CENTER_NAME.into()),
            renewal_interval_secs: number(
                "eureka.leaseInfo.renewalIntervalInSecs",
                DEFAULT_RENEWAL_SECS,
            ),
            duration_secs: number("eureka.leaseInfo.durationInSecs", DEFAULT_DURATION_SECS),
            registration_ms: ms(instance.reg_timestamp),
            last_renewal_ms: ms(instance.renew_timestamp),
            service_up_ms: ms(instance.up_timestamp),
            last_updated_ms: ms(instance.latest_timestamp),
            last_dirty_ms: ms(instance.dirty_timestamp),
            metadata: meta
                .iter()
                .filter(|(k, _)| !k.starts_with(RESERVED))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            action: Action::Added,
        }
    }
}

/// Eureka's `apps__hashcode`: `{STATUS}_{count}_` for each status present, sorted by status
/// name (e.g. `DOWN_1_UP_3_`). Clients compare it after applying a delta.
pub(super) fn apps_hashcode<'a>(views: impl IntoIterator<Item = &'a View>) -> String {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for view in views {
        *counts.entry(view.status.name()).or_default() += 1;
    }
    counts.iter().map(|(s, n)| format!("{s}_{n}_")).collect()
}
