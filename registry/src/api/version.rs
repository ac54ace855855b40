//! Versions: what a write leaves behind, as last-writer-wins and the peer wire see it.

use serde::{Deserialize, Serialize};

use super::{Instance, InstanceKey};

/// A cancel: `key` was removed at version `dirty_timestamp`. Kept for the tombstone retention
/// so that an older write of the same instance arriving later is absorbed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// Which instance.
    pub key: InstanceKey,
    /// The cancel's version.
    pub dirty_timestamp: i64,
}

/// What a register, set or cancel made: the whole instance at its `dirty_timestamp`, or a
/// tombstone. Every write, local or from a peer, reaches the table as one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Version {
    /// The whole instance after a register or set.
    Put(Box<Instance>),
    /// The instance was cancelled.
    Tombstone(Tombstone),
}

impl Version {
    /// The instance this version is of.
    pub fn key(&self) -> InstanceKey {
        match self {
            Version::Put(instance) => InstanceKey::of(instance),
            Version::Tombstone(tombstone) => tombstone.key.clone(),
        }
    }

    /// The version's stamp, which last-writer-wins compares first.
    pub fn dirty_timestamp(&self) -> i64 {
        match self {
            Version::Put(instance) => instance.dirty_timestamp,
            Version::Tombstone(tombstone) => tombstone.dirty_timestamp,
        }
    }
}
