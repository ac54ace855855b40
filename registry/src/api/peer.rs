//! Messages between registry nodes: batched replication, anti-entropy and startup sync.
//!
//! These go beyond bilibili/discovery's wire (which replicates one HTTP call per write with no
//! retry); they travel as JSON bodies on the peer endpoints.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AppKey, Instance, InstanceKey, Tombstone, Version};

/// One replicated op: a write, or a lease renewal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicatedOp {
    /// A register, set or cancel: the version it made.
    Write(Version),
    /// A lease renewal of the sender's version `dirty_timestamp`.
    Renew {
        /// Which instance.
        key: InstanceKey,
        /// The sender's content version, compared by the receiver.
        dirty_timestamp: i64,
    },
}

impl ReplicatedOp {
    /// The instance this op is about.
    pub fn key(&self) -> InstanceKey {
        match self {
            ReplicatedOp::Write(version) => version.key(),
            ReplicatedOp::Renew { key, .. } => key.clone(),
        }
    }

    /// The version stamp the op carries: the write's, or the renewed version's.
    pub fn dirty_timestamp(&self) -> i64 {
        match self {
            ReplicatedOp::Write(version) => version.dirty_timestamp(),
            ReplicatedOp::Renew {
                dirty_timestamp, ..
            } => *dirty_timestamp,
        }
    }
}

/// The receiver's verdict on one replicated op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum OpResult {
    /// Applied, or already known.
    Ok,
    /// A renew for a version the receiver lacks: send it the full instance.
    NotFound,
    /// The receiver holds a newer version: here it is, adopt it.
    Conflict {
        /// The receiver's newer copy.
        instance: Box<Instance>,
    },
}

/// Everything a node holds for one app: its instances and its tombstones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppState {
    /// Which app.
    pub app: AppKey,
    /// Live instances.
    pub instances: Vec<Instance>,
    /// Tombstones still within retention.
    pub tombstones: Vec<Tombstone>,
}

/// The default of [`PeerMessage::SyncRequest`]'s `full`.
fn wanted() -> bool {
    true
}

/// A message from one registry node to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PeerMessage {
    /// A batch of writes. With `forward`, the receiver (in another zone) re-replicates them to
    /// the peers of its own zone; without, it only applies them.
    Replicate {
        /// Identifies the batch in the acknowledgement.
        batch: u64,
        /// Cross-zone hop: re-replicate inside the receiver's zone.
        forward: bool,
        /// The writes, at most one per instance. Shared with the sender's queue until the
        /// batch is acknowledged (JSON sees each op itself).
        ops: Vec<Arc<ReplicatedOp>>,
        /// The sender's wall clock when it sent this (nanoseconds, as `renew_timestamp`). A
        /// copy's age is `sent_at - renew_timestamp`, both read on the sender's clock; the
        /// receiver keeps that age rather than the sender's timestamp, because the two clocks
        /// may be minutes apart (see [`Instance::rebased`]). Every message that carries copies
        /// has it.
        sent_at: i64,
    },
    /// The answer to a `Replicate`: one result per op, in order.
    ReplicateAck {
        /// The batch answered.
        batch: u64,
        /// Per-op verdicts.
        results: Vec<OpResult>,
        /// See `Replicate::sent_at` (a `Conflict` carries a copy).
        sent_at: i64,
    },
    /// Anti-entropy, step 1: the sender's digest of every app it knows.
    Digests {
        /// `(app, digest)` pairs, sorted by app.
        digests: Vec<(AppKey, u64)>,
    },
    /// Anti-entropy, step 2: the receiver's state of every app whose digest differed; the
    /// initiator merges it and answers with `RepairBack`.
    Repair {
        /// The receiver's state of the differing apps.
        apps: Vec<AppState>,
        /// See `Replicate::sent_at`.
        sent_at: i64,
    },
    /// Anti-entropy, step 3: the initiator's (merged) state of the same apps.
    RepairBack {
        /// The initiator's state of those apps.
        apps: Vec<AppState>,
        /// See `Replicate::sent_at`.
        sent_at: i64,
    },
    /// Startup sync: send me everything you hold, and say whether you have synced.
    SyncRequest {
        /// Whether the asker wants the state: false when it already merged this peer's state
        /// while that peer had not synced (it asks again only to learn whether the peer has
        /// synced since; what the peer learns meanwhile reaches the asker by replication). A
        /// synced peer sends its state either way. Absent means true, as older nodes ask.
        #[serde(default = "wanted")]
        full: bool,
    },
    /// Startup sync: everything the sender holds, and whether it was itself synced.
    SyncResponse {
        /// Whether the sender had synced (a restarting sender's state may be partial).
        ready: bool,
        /// Every app the sender holds.
        apps: Vec<AppState>,
        /// See `Replicate::sent_at`.
        sent_at: i64,
    },
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::Status;

    fn instance() -> Instance {
        Instance {
            region: Default::default(),
            zone: "z".into(),
            env: "e".into(),
            appid: "a".into(),
            hostname: "h".into(),
            addrs: vec![].into(),
            version: Default::default(),
            metadata: Default::default(),
            status: Status::Up,
            reg_timestamp: 1,
            up_timestamp: 1,
            renew_timestamp: 1,
            dirty_timestamp: 1,
            latest_timestamp: 1,
        }
    }

    #[test]
    fn every_op_names_its_instance_and_stamp() {
        let key = InstanceKey::of(&instance());
        let ops = [
            ReplicatedOp::Write(Version::Put(Box::new(instance()))),
            ReplicatedOp::Renew {
                key: key.clone(),
                dirty_timestamp: 1,
            },
            ReplicatedOp::Write(Version::Tombstone(Tombstone {
                key: key.clone(),
                dirty_timestamp: 1,
            })),
        ];
        for op in ops {
            assert_eq!(op.key(), key);
            assert_eq!(op.dirty_timestamp(), 1);
        }
    }

    /// One message of every kind, every op and every verdict (also the fuzz tests' seeds).
    pub(crate) fn samples() -> Vec<PeerMessage> {
        let key = InstanceKey::of(&instance());
        let app = key.app();
        vec![
            PeerMessage::Replicate {
                batch: 7,
                forward: true,
                ops: vec![
                    ReplicatedOp::Write(Version::Put(Box::new(instance()))).into(),
                    ReplicatedOp::Renew {
                        key: key.clone(),
                        dirty_timestamp: 3,
                    }
                    .into(),
                    ReplicatedOp::Write(Version::Tombstone(Tombstone {
                        key: key.clone(),
                        dirty_timestamp: 4,
                    }))
                    .into(),
                ],
                sent_at: 0,
            },
            PeerMessage::ReplicateAck {
                batch: 7,
                results: vec![
                    OpResult::Ok,
                    OpResult::NotFound,
                    OpResult::Conflict {
                        instance: Box::new(instance()),
                    },
                ],
                sent_at: 0,
            },
            PeerMessage::Digests {
                digests: vec![(app.clone(), 42)],
            },
            PeerMessage::Repair {
                apps: vec![AppState {
                    app: app.clone(),
                    instances: vec![instance()],
                    tombstones: vec![Tombstone {
                        key,
                        dirty_timestamp: 9,
                    }],
                }],
                sent_at: 0,
            },
            PeerMessage::RepairBack {
                apps: vec![],
                sent_at: 0,
            },
            PeerMessage::SyncRequest { full: true },
            PeerMessage::SyncRequest { full: false },
            PeerMessage::SyncResponse {
                ready: true,
                apps: vec![],
                sent_at: 0,
            },
        ]
    }

    #[test]
    fn every_peer_message_round_trips_through_json() {
        for message in samples() {
            let json = serde_json::to_string(&message).expect("serializes");
            let back: PeerMessage = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, message);
        }
    }

    #[test]
    fn a_write_travels_as_its_version_and_a_renew_as_key_and_stamp() {
        let key = InstanceKey::of(&instance());
        let cancel = ReplicatedOp::Write(Version::Tombstone(Tombstone {
            key: key.clone(),
            dirty_timestamp: 4,
        }));
        let renew = ReplicatedOp::Renew {
            key,
            dirty_timestamp: 3,
        };
        let put = ReplicatedOp::Write(Version::Put(Box::new(instance())));
        let key_json = r#"{"env":"e","appid":"a","zone":"z","hostname":"h"}"#;
        assert_eq!(
            serde_json::to_string(&cancel).expect("json"),
            format!(r#"{{"write":{{"tombstone":{{"key":{key_json},"dirty_timestamp":4}}}}}}"#)
        );
        assert_eq!(
            serde_json::to_string(&renew).expect("json"),
            format!(r#"{{"renew":{{"key":{key_json},"dirty_timestamp":3}}}}"#)
        );
        let put_json = serde_json::to_string(&put).expect("json");
        assert!(put_json.starts_with(r#"{"write":{"put":{"#), "{put_json}");
    }

    #[test]
    fn malformed_peer_messages_are_rejected_not_panicked_on() {
        for bad in [
            "{}",
            r#"{"type":"nope"}"#,
            r#"{"type":"replicate","batch":-1}"#,
            r#"{"type":"sync_request","full":"yes"}"#,
            "[",
            "",
        ] {
            assert!(serde_json::from_str::<PeerMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sync_request_without_the_flag_wants_the_state_as_older_nodes_meant() {
        let old: PeerMessage = serde_json::from_str(r#"{"type":"sync_request"}"#).expect("parses");
        assert_eq!(old, PeerMessage::SyncRequest { full: true });
        let json = serde_json::to_string(&PeerMessage::SyncRequest { full: false }).expect("json");
        assert_eq!(json, r#"{"type":"sync_request","full":false}"#);
    }
}
