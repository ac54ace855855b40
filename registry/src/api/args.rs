//! Typed requests: what a client or peer asks of a node, after decoding and before limits.

use super::{InstanceKey, Metadata, SmolStr, Status};

/// Which statuses a fetch returns: a bitmask of [`Status::bit`] (1 = UP, 2 = WAITING, 3 = both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusFilter(u32);

impl StatusFilter {
    /// UP instances only; what long-polls return.
    pub const UP: StatusFilter = StatusFilter(1);
    /// Every status.
    pub const ALL: StatusFilter = StatusFilter(3);

    /// A filter from its wire bitmask; `None` unless it is 1, 2 or 3.
    pub const fn from_bits(bits: u32) -> Option<StatusFilter> {
        match bits {
            1..=3 => Some(StatusFilter(bits)),
            _ => None,
        }
    }

    /// The wire bitmask.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether an instance with `status` passes.
    pub const fn accepts(self, status: Status) -> bool {
        self.0 & status.bit() != 0
    }
}

/// `POST /discovery/register`: insert or replace an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisterArgs {
    /// Which instance.
    pub key: InstanceKey,
    /// Region of the instance (optional on the wire).
    pub region: SmolStr,
    /// UP or WAITING.
    pub status: Status,
    /// Serving addresses.
    pub addrs: Vec<SmolStr>,
    /// Free-form version.
    pub version: SmolStr,
    /// String metadata.
    pub metadata: Metadata,
    /// Sent by a peer: apply, never re-replicate.
    pub replication: bool,
    /// The sender's app cursor (informational; each node keeps its own cursor).
    pub latest_timestamp: i64,
    /// The content version chosen by the first node; 0 when a client registers.
    pub dirty_timestamp: i64,
}

/// `POST /discovery/renew`: refresh an instance's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewArgs {
    /// Which instance.
    pub key: InstanceKey,
    /// Sent by a peer: compare versions, never re-replicate.
    pub replication: bool,
    /// The sender's content version (replicated renews only).
    pub dirty_timestamp: i64,
}

/// `POST /discovery/cancel`: remove an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelArgs {
    /// Which instance.
    pub key: InstanceKey,
    /// Sent by a peer: apply, never re-replicate.
    pub replication: bool,
    /// The version of the cancel chosen by the first node (bilibili sends it as
    /// `latest_timestamp`); 0 when a client cancels.
    pub latest_timestamp: i64,
}

/// `POST /discovery/set`: change status and/or metadata of some instances of one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetArgs {
    /// Zone of the instances.
    pub zone: SmolStr,
    /// Environment.
    pub env: SmolStr,
    /// Application id.
    pub appid: SmolStr,
    /// Host names to change (at least one).
    pub hostnames: Vec<SmolStr>,
    /// New status per host name, or empty to leave statuses alone.
    pub statuses: Vec<Status>,
    /// New metadata per host name, or empty to leave metadata alone.
    pub metadata: Vec<Metadata>,
    /// Sent by a peer: apply, never re-replicate.
    pub replication: bool,
    /// The version of the change, stamped once by the first node; 0 when a client sets.
    pub set_timestamp: i64,
}

/// `GET /discovery/fetch`: the instances of one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchArgs {
    /// Only this zone, or every zone when empty.
    pub zone: SmolStr,
    /// Environment.
    pub env: SmolStr,
    /// Application id.
    pub appid: SmolStr,
    /// Which statuses to return.
    pub status: StatusFilter,
}

/// `GET /discovery/fetchs`: the instances of several apps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchsArgs {
    /// Only this zone, or every zone when empty.
    pub zone: SmolStr,
    /// Environment.
    pub env: SmolStr,
    /// Application ids (at least one).
    pub appids: Vec<SmolStr>,
    /// Which statuses to return.
    pub status: StatusFilter,
}

/// `GET /discovery/poll`: long-poll one app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollArgs {
    /// Only this zone, or every zone when empty.
    pub zone: SmolStr,
    /// Environment.
    pub env: SmolStr,
    /// Application id.
    pub appid: SmolStr,
    /// The poller's host name.
    pub hostname: SmolStr,
    /// The cursor the poller last saw (0 = never).
    pub latest_timestamp: i64,
}

/// `GET /discovery/polls`: long-poll several apps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollsArgs {
    /// Only this zone, or every zone when empty.
    pub zone: SmolStr,
    /// Environment.
    pub env: SmolStr,
    /// Application ids (at least one).
    pub appids: Vec<SmolStr>,
    /// The poller's host name.
    pub hostname: SmolStr,
    /// One cursor per app id, in the same order.
    pub latest_timestamps: Vec<i64>,
}

/// Everything a client can ask of a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Insert or replace an instance.
    Register(RegisterArgs),
    /// Refresh a lease.
    Renew(RenewArgs),
    /// Remove an instance.
    Cancel(CancelArgs),
    /// Change status and/or metadata.
    Set(SetArgs),
    /// Instances of one app.
    Fetch(FetchArgs),
    /// Instances of several apps.
    Fetchs(FetchsArgs),
    /// Long-poll one app.
    Poll(PollArgs),
    /// Long-poll several apps.
    Polls(PollsArgs),
    /// The registry nodes of the cluster.
    Nodes,
    /// Every instance of every app.
    FetchAll,
}

impl Request {
    /// Whether this request changes the registry (as opposed to reading it).
    pub const fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Register(_) | Request::Renew(_) | Request::Cancel(_) | Request::Set(_)
        )
    }

    /// The instances a write names (a set may name several); none for a read.
    pub fn instance_keys(&self) -> Vec<InstanceKey> {
        match self {
            Request::Register(RegisterArgs { key, .. })
            | Request::Renew(RenewArgs { key, .. })
            | Request::Cancel(CancelArgs { key, .. }) => vec![key.clone()],
            Request::Set(a) => a.keys().collect(),
            _ => Vec::new(),
        }
    }
}

impl SetArgs {
    /// The instances the set names, in order.
    pub fn keys(&self) -> impl Iterator<Item = InstanceKey> + '_ {
        self.hostnames.iter().map(|hostname| InstanceKey {
            env: self.env.clone(),
            appid: self.appid.clone(),
            zone: self.zone.clone(),
            hostname: hostname.clone(),
        })
    }
}
