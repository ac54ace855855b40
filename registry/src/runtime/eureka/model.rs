//! What a Eureka client sends when it registers: the instance document, in JSON
//! (`{"instance": {...}}`) or XML (`<instance>...</instance>`), parsed leniently where clients
//! differ (a port may be `9090` or `"9090"`, `@enabled` `true` or `"true"`).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A scalar clients send as a string, a number or a boolean (XML: always text). Kept as text;
/// the mapping parses it where a number is meant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Scalar(pub(super) String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.trim().to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::default())
            }
            // quick-xml hands an element to `deserialize_any` as a map: its text is `$text`,
            // its attributes (`class="..."` on Java's maps) are other keys, ignored here.
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                let mut text = Scalar::default();
                while let Some(key) = map.next_key::<String>()? {
                    if key == "$text" || key == "$value" {
                        text = Scalar(map.next_value::<String>()?.trim().to_string());
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                Ok(text)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// `port` / `securePort`: JSON `{"$": 9090, "@enabled": "true"}`, XML
/// `<port enabled="true">9090</port>` (quick-xml names element text `$text`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub(super) struct PortIn {
    #[serde(rename = "$", alias = "$text", default)]
    pub(super) number: Option<Scalar>,
    #[serde(rename = "@enabled", default)]
    pub(super) enabled: Option<Scalar>,
}

/// `dataCenterInfo`: JSON `{"@class": ..., "name": ...}`, XML `<dataCenterInfo class="...">`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub(super) struct DataCenterIn {
    #[serde(rename = "@class", default)]
    pub(super) class: Option<String>,
    #[serde(default)]
    pub(super) name: Option<String>,
}

/// `leaseInfo`: only the two intervals a client chooses; the timestamps are the node's.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub(super) struct LeaseIn {
    #[serde(rename = "renewalIntervalInSecs", default)]
    pub(super) renewal_interval: Option<Scalar>,
    #[serde(rename = "durationInSecs", default)]
    pub(super) duration: Option<Scalar>,
}

/// One instance as a client registers it. Everything is optional here so that a missing
/// field is reported by name (400) rather than as a parser error.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(super) struct InstanceIn {
    pub(super) instance_id: Option<String>,
    pub(super) host_name: Option<String>,
    pub(super) app: Option<String>,
    pub(super) ip_addr: Option<String>,
    pub(super) status: Option<String>,
    pub(super) port: Option<PortIn>,
    pub(super) secure_port: Option<PortIn>,
    pub(super) home_page_url: Option<String>,
    pub(super) status_page_url: Option<String>,
    pub(super) health_check_url: Option<String>,
    pub(super) secure_health_check_url: Option<String>,
    pub(super) vip_address: Option<String>,
    pub(super) secure_vip_address: Option<String>,
    pub(super) data_center_info: Option<DataCenterIn>,
    pub(super) lease_info: Option<LeaseIn>,
    /// Clients may send `"@class"` inside (Java's empty-map marker): dropped by the mapping.
    pub(super) metadata: Option<BTreeMap<String, Scalar>>,
    pub(super) last_dirty_timestamp: Option<Scalar>,
}

/// The JSON register body.
#[derive(Deserialize)]
struct JsonDoc {
    instance: InstanceIn,
}

/// Parses a register body: XML when the content type says so or the body starts with `<`,
/// JSON otherwise. The error is the parser's, for a 400.
pub(super) fn parse_instance(body: &[u8], content_type: &str) -> Result<InstanceIn, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let xml =
        content_type.to_ascii_lowercase().contains("xml") || text.trim_start().starts_with('<');
    if xml {
        quick_xml::de::from_str::<InstanceIn>(text).map_err(|e| format!("malformed XML: {e}"))
    } else {
        serde_json::from_str::<JsonDoc>(text)
            .map(|doc| doc.instance)
            .map_err(|e| format!("malformed JSON: {e}"))
    }
}
