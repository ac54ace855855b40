//! Eureka's documents, in JSON (serde_json) and XML (quick-xml's serde serializer). JSON
//! carries timestamps as strings and ports as `{"$": 9090, "@enabled": "true"}`; XML as
//! integers and `<port enabled="true">9090</port>`. `application` and `instance` are always
//! lists (clients accept a list of one).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::mapping::{apps_hashcode, PortView, View};
use super::status::EurekaStatus;

/// The representation a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Xml,
}

impl Format {
    /// JSON when `Accept` names `application/json`, else XML (py_eureka_client sends no
    /// `Accept` and parses XML, as Eureka's server answers then).
    pub(super) fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.to_ascii_lowercase().contains("application/json") => Format::Json,
            _ => Format::Xml,
        }
    }

    pub(super) const fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
        }
    }
}

/// One app: its upper-case name and its instances.
pub(super) struct App {
    pub(super) name: String,
    pub(super) instances: Vec<View>,
}

/// Eureka writes UNKNOWN for "no override".
fn overridden(view: &View) -> &'static str {
    view.overridden.unwrap_or(EurekaStatus::Unknown).name()
}

fn port_json(port: &PortView) -> Value {
    json!({"$": port.number, "@enabled": port.enabled.to_string()})
}

pub(super) fn instance_json(view: &View) -> Value {
    let mut doc = serde_json::Map::new();
    doc.insert("instanceId".into(), view.instance_id.clone().into());
    doc.insert("app".into(), view.app.clone().into());
    for (wire, value) in &view.texts {
        doc.insert((*wire).into(), value.clone().into());
    }
    let rest = json!({
        "status": view.status.name(),
        "overriddenStatus": overridden(view),
        "port": port_json(&view.port),
        "securePort": port_json(&view.secure_port),
        "countryId": 1,
        "dataCenterInfo": {"@class": view.data_center_class, "name": view.data_center_name},
        "leaseInfo": {
            "renewalIntervalInSecs": view.renewal_interval_secs,
            "durationInSecs": view.duration_secs,
            "registrationTimestamp": view.registration_ms,
            "lastRenewalTimestamp": view.last_renewal_ms,
            "evictionTimestamp": 0,
            "serviceUpTimestamp": view.service_up_ms,
        },
        "metadata": view.metadata,
        "isCoordinatingDiscoveryServer": "false",
        "lastUpdatedTimestamp": view.last_updated_ms.to_string(),
        "lastDirtyTimestamp": view.last_dirty_ms.to_string(),
        "actionType": view.action.name(),
    });
    if let Value::Object(rest) = rest {
        doc.extend(rest);
    }
    Value::Object(doc)
}

fn app_json(app: &App) -> Value {
    json!({"name": app.name, "instance": app.instances.iter().map(instance_json).collect::<Vec<_>>()})
}

/// XML element names a metadata key can be: others are left out of the XML form (the JSON
/// form has them all), since no XML document could carry them as `<key>value</key>`.
fn xml_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !key.to_ascii_lowercase().starts_with("xml")
}

#[derive(Serialize)]
struct PortXml {
    #[serde(rename = "@enabled")]
    enabled: bool,
    #[serde(rename = "$text")]
    number: u16,
}

#[derive(Serialize)]
struct DataCenterXml<'a> {
    #[serde(rename = "@class")]
    class: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LeaseXml {
    renewal_interval_in_secs: u64,
    duration_in_secs: u64,
    registration_timestamp: i64,
    last_renewal_timestamp: i64,
    eviction_timestamp: i64,
    service_up_timestamp: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InstanceXml<'a> {
    instance_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    host_name: Option<&'a str>,
    app: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip_addr: Option<&'a str>,
    status: &'a str,
    overriddenstatus: &'a str,
    port: PortXml,
    secure_port: PortXml,
    country_id: u32,
    data_center_info: DataCenterXml<'a>,
    lease_info: LeaseXml,
    metadata: BTreeMap<&'a str, &'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    home_page_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_page_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    health_check_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secure_health_check_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip_address: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secure_vip_address: Option<&'a str>,
    is_coordinating_discovery_server: bool,
    last_updated_timestamp: i64,
    last_dirty_timestamp: i64,
    action_type: &'a str,
}

fn instance_xml(view: &View) -> InstanceXml<'_> {
    let text = |wire: &str| {
        view.texts
            .iter()
            .find(|(w, _)| *w == wire)
            .map(|(_, v)| v.as_str())
    };
    let port = |p: &PortView| PortXml {
        enabled: p.enabled,
        number: p.number,
    };
    InstanceXml {
        instance_id: &view.instance_id,
        host_name: text("hostName"),
        app: &view.app,
        ip_addr: text("ipAddr"),
        status: view.status.name(),
        overriddenstatus: overridden(view),
        port: port(&view.port),
        secure_port: port(&view.secure_port),
        country_id: 1,
        data_center_info: DataCenterXml {
            class: &view.data_center_class,
            name: &view.data_center_name,
        },
        lease_info: LeaseXml {
            renewal_interval_in_secs: view.renewal_interval_secs,
            duration_in_secs: view.duration_secs,
            registration_timestamp: view.registration_ms,
            last_renewal_timestamp: view.last_renewal_ms,
            eviction_timestamp: 0,
            service_up_timestamp: view.service_up_ms,
        },
        metadata: view
            .metadata
            .iter()
            .filter(|(k, _)| xml_name(k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        home_page_url: text("homePageUrl"),
        status_page_url: text("statusPageUrl"),
        health_check_url: text("healthCheckUrl"),
        secure_health_check_url: text("secureHealthCheckUrl"),
        vip_address: text("vipAddress"),
        secure_vip_address: text("secureVipAddress"),
        is_coordinating_discovery_server: false,
        last_updated_timestamp: view.last_updated_ms,
        last_dirty_timestamp: view.last_dirty_ms,
        action_type: view.action.name(),
    }
}

#[derive(Serialize)]
struct AppXml<'a> {
    name: &'a str,
    instance: Vec<InstanceXml<'a>>,
}

fn app_xml(app: &App) -> AppXml<'_> {
    AppXml {
        name: &app.name,
        instance: app.instances.iter().map(instance_xml).collect(),
    }
}

#[derive(Serialize)]
struct AppsXml<'a> {
    #[serde(rename = "versions__delta")]
    versions_delta: u64,
    #[serde(rename = "apps__hashcode")]
    apps_hashcode: String,
    application: Vec<AppXml<'a>>,
}

/// Serializes an XML document under `root`, indented for people reading it with curl. The
/// types above hold only strings, numbers and keys checked by [`xml_name`], so this cannot
/// fail; an error still answers (as text) rather than panics.
fn to_xml<T: Serialize>(root: &str, doc: &T) -> String {
    let mut text = String::new();
    let written = quick_xml::se::Serializer::with_root(&mut text, Some(root)).and_then(|mut s| {
        s.indent(' ', 2);
        doc.serialize(s).map(|_| ())
    });
    match written {
        Ok(()) => text,
        Err(e) => format!("<error>{e}</error>"),
    }
}

/// An `<applications>` document: `apps` with the full registry's `hashcode`.
fn applications_doc(apps: &[App], version: u64, hashcode: String, format: Format) -> String {
    match format {
        Format::Json => json!({"applications": {
            "versions__delta": version.to_string(),
            "apps__hashcode": hashcode,
            "application": apps.iter().map(app_json).collect::<Vec<_>>(),
        }})
        .to_string(),
        Format::Xml => to_xml(
            "applications",
            &AppsXml {
                versions_delta: version,
                apps_hashcode: hashcode,
                application: apps.iter().map(app_xml).collect(),
            },
        ),
    }
}

/// `GET apps/`: every app.
pub(super) fn applications(apps: &[App], format: Format) -> String {
    let hashcode = apps_hashcode(apps.iter().flat_map(|a| &a.instances));
    applications_doc(apps, 1, hashcode, format)
}

/// `GET apps/delta`: the recent `changes`, `version` (`versions__delta`), and the hash code
/// of the full registry `all` (what a client's copy must match once the changes are applied).
pub(super) fn delta(changes: &[App], version: u64, all: &[App], format: Format) -> String {
    let hashcode = apps_hashcode(all.iter().flat_map(|a| &a.instances));
    applications_doc(changes, version, hashcode, format)
}

/// `GET apps/{APP}`: one app.
pub(super) fn application(app: &App, format: Format) -> String {
    match format {
        Format::Json => json!({"application": app_json(app)}).to_string(),
        Format::Xml => to_xml("application", &app_xml(app)),
    }
}

/// `GET apps/{APP}/{ID}`, `GET instances/{ID}`: one instance.
pub(super) fn instance(view: &View, format: Format) -> String {
    match format {
        Format::Json => json!({"instance": instance_json(view)}).to_string(),
        Format::Xml => to_xml("instance", &instance_xml(view)),
    }
}
