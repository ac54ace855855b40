//! The instance record and the views of it that replies carry.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::Metadata;

/// An instance's status. On the wire: 1 = UP (takes traffic), 2 = WAITING (out of rotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub enum Status {
    /// Ready to receive traffic.
    Up,
    /// Registered but intentionally out of rotation.
    Waiting,
}

impl Status {
    /// The status bit used by the `status` filter of fetch (1 = UP, 2 = WAITING).
    pub const fn bit(self) -> u32 {
        match self {
            Status::Up => 1,
            Status::Waiting => 2,
        }
    }
}

impl From<Status> for u32 {
    fn from(status: Status) -> u32 {
        status.bit()
    }
}

impl TryFrom<u32> for Status {
    type Error = String;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(Status::Up),
            2 => Ok(Status::Waiting),
            other => Err(format!("status must be 1 (up) or 2 (waiting), got {other}")),
        }
    }
}

/// One registered instance of a service, exactly as bilibili/discovery serializes it.
///
/// Identity is `(env, appid, zone, hostname)`. All timestamps are Unix nanoseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Region the instance runs in.
    #[serde(default)]
    pub region: SmolStr,
    /// Zone (availability zone / data centre) of the instance.
    pub zone: SmolStr,
    /// Environment, e.g. `prod` or `dev`.
    pub env: SmolStr,
    /// Application id, e.g. `main.arch.test`.
    pub appid: SmolStr,
    /// Host name, unique within `(env, appid, zone)`.
    pub hostname: SmolStr,
    /// Addresses the instance serves on, e.g. `grpc://10.0.0.1:9000`. Shared: every copy of
    /// the instance (replies, long-poll answers, syncs) points at one list.
    #[serde(default)]
    pub addrs: Arc<[SmolStr]>,
    /// Free-form version string.
    #[serde(default)]
    pub version: SmolStr,
    /// Free-form string metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// UP or WAITING.
    pub status: Status,
    /// When the instance registered (wall clock of the node that stamped it).
    pub reg_timestamp: i64,
    /// When the status last became UP.
    pub up_timestamp: i64,
    /// When the lease was last renewed, on the node that answers.
    pub renew_timestamp: i64,
    /// The content version: last writer wins, ties go to the incoming copy.
    pub dirty_timestamp: i64,
    /// When this instance last changed.
    pub latest_timestamp: i64,
}

impl Instance {
    /// This copy, sent by a peer at `sent_at` on the peer's wall clock, with its
    /// `renew_timestamp` moved onto a clock that reads `wall` now: the copy keeps the age the
    /// sender measured (`sent_at - renew_timestamp`, both on the sender's clock), plus nothing
    /// for the trip. Two nodes' clocks may be minutes apart (up to `max_timestamp_ahead`); read
    /// against the receiver's clock, a copy just renewed on a slower node would look minutes
    /// old, expire at once and be evicted at the next round, over and over.
    pub fn rebased(&self, sent_at: i64, wall: i64) -> Instance {
        let age = sent_at.saturating_sub(self.renew_timestamp).max(0);
        Instance {
            renew_timestamp: wall.saturating_sub(age),
            ..self.clone()
        }
    }
}

/// The instances of one app as fetch and poll return them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// Instances keyed by zone.
    pub instances: BTreeMap<SmolStr, Vec<Instance>>,
    /// The app's change cursor on the answering node; pass it back to poll.
    pub latest_timestamp: i64,
}

/// The state of a registry node as `nodes` reports it (bilibili: 0 = up, 1 = lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum NodeStatus {
    /// The node answers.
    Up,
    /// The node has stopped answering.
    Lost,
}

impl From<NodeStatus> for u8 {
    fn from(status: NodeStatus) -> u8 {
        match status {
            NodeStatus::Up => 0,
            NodeStatus::Lost => 1,
        }
    }
}

impl TryFrom<u8> for NodeStatus {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(NodeStatus::Up),
            1 => Ok(NodeStatus::Lost),
            other => Err(format!(
                "node status must be 0 (up) or 1 (lost), got {other}"
            )),
        }
    }
}

/// One registry node as `nodes` lists it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeInfo {
    /// `host:port` the node serves HTTP on.
    pub addr: SmolStr,
    /// Up or lost.
    pub status: NodeStatus,
    /// The node's zone.
    pub zone: SmolStr,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Instance {
        Instance {
            region: "sh".into(),
            zone: "sh001".into(),
            env: "prod".into(),
            appid: "main.arch.test".into(),
            hostname: "host-1".into(),
            addrs: vec!["grpc://10.0.0.1:9000".into()].into(),
            version: "v1".into(),
            metadata: [("weight", "10")].into(),
            status: Status::Up,
            reg_timestamp: 1,
            up_timestamp: 2,
            renew_timestamp: 3,
            dirty_timestamp: 4,
            latest_timestamp: 5,
        }
    }

    #[test]
    fn instance_uses_bilibili_field_names() {
        let json = serde_json::to_value(sample()).expect("serializes");
        for field in [
            "region",
            "zone",
            "env",
            "appid",
            "hostname",
            "addrs",
            "version",
            "metadata",
            "status",
            "reg_timestamp",
            "up_timestamp",
            "renew_timestamp",
            "dirty_timestamp",
            "latest_timestamp",
        ] {
            assert!(json.get(field).is_some(), "missing field {field}");
        }
        assert_eq!(json["status"], 1);
    }

    #[test]
    fn instance_round_trips() {
        let text = serde_json::to_string(&sample()).expect("serializes");
        let back: Instance = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, sample());
    }

    #[test]
    fn out_of_range_status_is_rejected_when_decoding() {
        let mut json = serde_json::to_value(sample()).expect("serializes");
        json["status"] = 3.into();
        assert!(serde_json::from_value::<Instance>(json).is_err());
    }

    #[test]
    fn node_info_round_trips_with_numeric_status() {
        let node = NodeInfo {
            addr: "127.0.0.1:7171".into(),
            status: NodeStatus::Lost,
            zone: "z1".into(),
        };
        let text = serde_json::to_string(&node).expect("serializes");
        assert_eq!(text, r#"{"addr":"127.0.0.1:7171","status":1,"zone":"z1"}"#);
        assert_eq!(
            serde_json::from_str::<NodeInfo>(&text).expect("parses"),
            node
        );
        assert!(serde_json::from_str::<NodeInfo>(r#"{"addr":"a","status":2,"zone":"z"}"#).is_err());
    }
}
