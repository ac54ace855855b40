//! Replies, and the JSON envelope `{"code", "message", "ttl": 1, "data"}` they travel in.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{BadRequest, Code, Instance, InstanceInfo, NodeInfo, SmolStr};

/// The payload of a reply; which variant depends on the endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Data {
    /// No payload: serialized as `null`.
    None,
    /// One instance: renew (also with -409, the receiver's newer copy).
    Instance(Box<Instance>),
    /// One app: fetch and poll. Shared: every long-poll woken in one step for the same app and
    /// zone gets the same one, so a fan-out builds it once and the runtime, comparing a reply
    /// with the one it last encoded, finds them equal by pointer.
    App(Arc<InstanceInfo>),
    /// Several apps keyed by appid: fetchs and polls (each shared as in `App`).
    Apps(BTreeMap<SmolStr, Arc<InstanceInfo>>),
    /// The registry nodes: nodes.
    Nodes(Vec<NodeInfo>),
    /// Every instance keyed by appid: fetch/all.
    All(BTreeMap<SmolStr, Vec<Instance>>),
}

/// A node's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The business code.
    pub code: Code,
    /// A human-readable message; the code itself when there is nothing to add.
    pub message: SmolStr,
    /// The payload.
    pub data: Data,
}

impl Reply {
    /// A success carrying `data`.
    pub fn ok(data: Data) -> Reply {
        Reply {
            code: Code::Ok,
            message: Code::Ok.default_message().into(),
            data,
        }
    }

    /// A reply with `code` and no payload.
    pub fn code(code: Code) -> Reply {
        Reply {
            code,
            message: code.default_message().into(),
            data: Data::None,
        }
    }

    /// A reply with `code`, an explanation and no payload.
    pub fn error(code: Code, message: impl Into<SmolStr>) -> Reply {
        Reply {
            code,
            message: message.into(),
            data: Data::None,
        }
    }

    /// The envelope this reply is sent in.
    pub fn envelope(&self) -> Envelope<&Data> {
        let data = match self.data {
            Data::None => None,
            ref data => Some(data),
        };
        Envelope {
            code: self.code.as_i32(),
            message: self.message.clone(),
            ttl: 1,
            data,
        }
    }

    /// The JSON text of the envelope.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(&self.envelope()).unwrap_or_default()
    }
}

impl From<BadRequest> for Reply {
    fn from(err: BadRequest) -> Reply {
        Reply::error(Code::BadRequest, err.to_string())
    }
}

/// bilibili/discovery's reply envelope. Clients decode it with the `T` their endpoint returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The business code (see [`Code`]).
    pub code: i32,
    /// A human-readable message.
    #[serde(default)]
    pub message: SmolStr,
    /// Always 1.
    #[serde(default)]
    pub ttl: u32,
    /// The payload, `null` when there is none.
    pub data: Option<T>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{NodeStatus, Status};

    fn instance() -> Instance {
        Instance {
            region: Default::default(),
            zone: "z1".into(),
            env: "dev".into(),
            appid: "app".into(),
            hostname: "h1".into(),
            addrs: vec!["http://127.0.0.1:1".into()].into(),
            version: Default::default(),
            metadata: Default::default(),
            status: Status::Up,
            reg_timestamp: 10,
            up_timestamp: 10,
            renew_timestamp: 11,
            dirty_timestamp: 10,
            latest_timestamp: 10,
        }
    }

    #[test]
    fn envelope_has_the_four_fields_and_ttl_one() {
        let json: serde_json::Value =
            serde_json::from_str(&Reply::code(Code::NothingFound).to_json()).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"code": -404, "message": "-404", "ttl": 1, "data": null})
        );
    }

    #[test]
    fn fetch_reply_round_trips_through_the_envelope() {
        let info = InstanceInfo {
            instances: [("z1".into(), vec![instance()])].into(),
            latest_timestamp: 99,
        };
        let text = Reply::ok(Data::App(info.clone().into())).to_json();
        let back: Envelope<InstanceInfo> = serde_json::from_str(&text).expect("parses");
        assert_eq!(back.code, 0);
        assert_eq!(back.ttl, 1);
        assert_eq!(back.data, Some(info));
    }

    #[test]
    fn apps_nodes_and_all_round_trip() {
        let info = InstanceInfo {
            instances: Default::default(),
            latest_timestamp: 5,
        };
        let apps: BTreeMap<SmolStr, InstanceInfo> = [("a".into(), info)].into();
        let shared = apps
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        let back: Envelope<BTreeMap<SmolStr, InstanceInfo>> =
            serde_json::from_str(&Reply::ok(Data::Apps(shared)).to_json()).expect("apps");
        assert_eq!(back.data, Some(apps));

        let nodes = vec![NodeInfo {
            addr: "n:1".into(),
            status: NodeStatus::Up,
            zone: "z".into(),
        }];
        let back: Envelope<Vec<NodeInfo>> =
            serde_json::from_str(&Reply::ok(Data::Nodes(nodes.clone())).to_json()).expect("nodes");
        assert_eq!(back.data, Some(nodes));

        let all: BTreeMap<SmolStr, Vec<Instance>> = [("app".into(), vec![instance()])].into();
        let back: Envelope<BTreeMap<SmolStr, Vec<Instance>>> =
            serde_json::from_str(&Reply::ok(Data::All(all.clone())).to_json()).expect("all");
        assert_eq!(back.data, Some(all));
    }

    #[test]
    fn conflict_reply_carries_the_newer_instance() {
        let reply = Reply {
            code: Code::Conflict,
            message: "newer copy".into(),
            data: Data::Instance(Box::new(instance())),
        };
        let back: Envelope<Instance> = serde_json::from_str(&reply.to_json()).expect("parses");
        assert_eq!(back.code, -409);
        assert_eq!(back.data, Some(instance()));
    }

    #[test]
    fn bad_request_becomes_minus_400_naming_the_field() {
        let reply = Reply::from(BadRequest::new("appid", "is required"));
        assert_eq!(reply.code, Code::BadRequest);
        assert!(reply.message.contains("appid"));
    }
}
