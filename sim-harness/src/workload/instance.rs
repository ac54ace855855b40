//! A simulated service instance: registers, renews, fails over, sets, cancels or dies.

use registry::api::{
    CancelArgs, InstanceKey, Metadata, RegisterArgs, RenewArgs, Request, SetArgs, SmolStr, Status,
};
use registry::core::{Limits, RequestId};

use super::edge::{self, Limit};
use crate::id::NodeId;
use crate::world::ENV;

/// What an instance is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Life {
    /// Working: registering, renewing, setting.
    Alive,
    /// Cancelling; done once the cancel is answered.
    Leaving,
    /// Cancelled (acknowledged) or crashed: no more requests.
    Gone,
}

/// How an instance treats what the registry tells it (scenario weights pick one per instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Model {
    /// Re-registers when a renew answer shows other content than it last wrote.
    Careful,
    /// Like bilibili's Go SDK: never reads back its own writes; re-registers only on -404.
    GoSdk,
    /// Like python-discovery-client 0.5: talks to one node only (its configured domain) and
    /// never fails over; renews on a ticker that starts right after its register and skips a
    /// failed tick; re-registers only on -404; never sets or cancels (it ends by dying).
    Python,
    /// Like a Eureka client (through the node's Eureka API, `runtime/eureka`, which passes its
    /// requests on as they are): every register carries the client's own `lastDirtyTimestamp`,
    /// read off its own (skewed, coarse) clock when its status or metadata last changed; a
    /// change is a register, not a `set`; a heartbeat carries no version; -404 makes it
    /// register again with a fresh stamp (Eureka's `setIsDirtyWithTime`); a register refused
    /// as older (-409) is given up and heartbeats go on; fails over; never reads back.
    Eureka,
}

impl Model {
    /// Whether a request that timed out or failed goes to another node.
    pub(crate) fn fails_over(self) -> bool {
        self != Model::Python
    }

    /// Whether the client changes its status or metadata and cancels when it ends.
    pub(crate) fn writes_after_register(self) -> bool {
        self != Model::Python
    }

    /// Whether the client stamps its own writes (`dirty_timestamp` on a register).
    pub(crate) fn stamps_writes(self) -> bool {
        self == Model::Eureka
    }
}

/// A client's own wall clock, for the stamps it puts on its writes: the true time plus a
/// fixed offset, truncated to the client's resolution (Eureka's is a millisecond; a coarser one
/// gives two quick writes of one instance the same stamp).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientClock {
    pub(crate) offset_ns: i64,
    pub(crate) resolution_ns: i64,
}

impl ClientClock {
    /// The client's reading at true wall time `true_wall_ns`; never below 1 (0 means "no
    /// stamp" on the wire).
    pub(crate) fn stamp(self, true_wall_ns: i64) -> i64 {
        let local = true_wall_ns.saturating_add(self.offset_ns);
        (local - local.rem_euclid(self.resolution_ns.max(1))).max(1)
    }
}

/// The one write or renew an instance has in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub(crate) id: RequestId,
    pub(crate) node: NodeId,
    pub(crate) request: Request,
    /// Whether it is a change one past the instance's limit (given up after one answer).
    pub(crate) past_limit: bool,
}

/// One simulated service instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct InstanceClient {
    pub(crate) key: InstanceKey,
    pub(crate) model: Model,
    pub(crate) status: Status,
    pub(crate) metadata: Metadata,
    pub(crate) addrs: Vec<SmolStr>,
    pub(crate) version: SmolStr,
    /// The validation limit its registration sits at, if it is an edge instance
    /// ([`edge`]).
    pub(crate) edge: Option<Limit>,
    /// Its host name were it not at [`Limit::Hostname`].
    base_hostname: SmolStr,
    /// The node it talks to.
    pub(crate) node: NodeId,
    pub(crate) life: Life,
    /// Whether a register has been acknowledged (since the last -404).
    pub(crate) registered: bool,
    pub(crate) pending: Option<Pending>,
    /// Bumped whenever a renew is (re)scheduled; older renew wake-ups are stale.
    pub(crate) renew_generation: u64,
    /// A renew came due while another request was outstanding: it goes out when that one is
    /// answered. (Real SDKs renew on their own ticker, whatever else the instance writes; a
    /// `set` is not a renew.)
    pub(crate) renew_owed: bool,
    /// The clock a client that stamps its writes reads its stamps off.
    pub(crate) clock: Option<ClientClock>,
    /// The stamp its registers carry (0 when it does not stamp): its clock's reading when its
    /// content last changed.
    pub(crate) dirty_timestamp: i64,
}

impl InstanceClient {
    pub(crate) fn new(
        index: usize,
        apps: u64,
        zone: String,
        node: NodeId,
        model: Model,
        clock: Option<ClientClock>,
    ) -> InstanceClient {
        let hostname = SmolStr::from(format!("inst{index}"));
        InstanceClient {
            model,
            addrs: vec![format!("http://{hostname}:8000").into()],
            version: "v1".into(),
            edge: None,
            base_hostname: hostname.clone(),
            key: InstanceKey {
                env: ENV.into(),
                appid: format!("app{}", index as u64 % apps.max(1)).into(),
                zone: zone.into(),
                hostname,
            },
            status: Status::Up,
            metadata: Metadata::new(),
            node,
            life: Life::Alive,
            registered: false,
            pending: None,
            renew_generation: 0,
            renew_owed: false,
            clock,
            dirty_timestamp: 0,
        }
    }

    /// Makes this (not yet started) instance's registration sit exactly at `limit`.
    pub(crate) fn sit_at(&mut self, limit: Limit, limits: &Limits) {
        let (hostname, addrs, version, metadata) =
            edge::instance_content(limit, false, limits, &self.base_hostname);
        self.key.hostname = hostname;
        self.addrs = addrs;
        self.version = version;
        self.metadata = metadata;
        self.edge = Some(limit);
    }

    /// The change one past its limit an edge instance's operator tries: a `set` of metadata
    /// for a client that changes its metadata by `set`, a register otherwise (for
    /// [`Limit::Hostname`], of a new key). The client itself keeps what it had.
    pub(crate) fn past_limit(&self, limits: &Limits, true_wall_ns: i64) -> Option<Request> {
        let limit = self.edge?;
        let (hostname, addrs, version, mut metadata) =
            edge::instance_content(limit, true, limits, &self.base_hostname);
        if let Some(weight) = self.metadata.get("weight").filter(|_| limit.in_metadata()) {
            metadata.insert("weight", weight.clone());
        }
        let mut attempt = self.clone();
        attempt.key.hostname = hostname;
        attempt.addrs = addrs;
        attempt.version = version;
        attempt.metadata = metadata;
        if limit.in_metadata() && !self.model.stamps_writes() {
            return Some(attempt.set(attempt.status, &attempt.metadata));
        }
        attempt.touch(true_wall_ns);
        Some(attempt.register())
    }

    /// Marks the client's content changed at true wall time `true_wall_ns`: a client that
    /// stamps its writes takes a new stamp off its clock.
    pub(crate) fn touch(&mut self, true_wall_ns: i64) {
        if let Some(clock) = self.clock {
            self.dirty_timestamp = clock.stamp(true_wall_ns);
        }
    }

    /// A register of what the client wants now, with its own stamp if it stamps its writes.
    pub(crate) fn register(&self) -> Request {
        Request::Register(RegisterArgs {
            key: self.key.clone(),
            region: ENV.into(),
            status: self.status,
            addrs: self.addrs.clone(),
            version: self.version.clone(),
            metadata: self.metadata.clone(),
            replication: false,
            latest_timestamp: 0,
            dirty_timestamp: self.dirty_timestamp,
        })
    }

    pub(crate) fn renew(&self) -> Request {
        Request::Renew(RenewArgs {
            key: self.key.clone(),
            replication: false,
            dirty_timestamp: 0,
        })
    }

    pub(crate) fn cancel(&self) -> Request {
        Request::Cancel(CancelArgs {
            key: self.key.clone(),
            replication: false,
            latest_timestamp: 0,
        })
    }

    pub(crate) fn set(&self, status: Status, metadata: &Metadata) -> Request {
        Request::Set(SetArgs {
            zone: self.key.zone.clone(),
            env: self.key.env.clone(),
            appid: self.key.appid.clone(),
            hostnames: vec![self.key.hostname.clone()],
            statuses: vec![status],
            metadata: vec![metadata.clone()],
            replication: false,
            set_timestamp: 0,
        })
    }

    /// The instance as this client means it to be (content fields only).
    pub(crate) fn intended(&self) -> registry::api::Instance {
        registry::api::Instance {
            region: ENV.into(),
            zone: self.key.zone.clone(),
            env: self.key.env.clone(),
            appid: self.key.appid.clone(),
            hostname: self.key.hostname.clone(),
            addrs: self.addrs.clone().into(),
            version: self.version.clone(),
            metadata: self.metadata.clone(),
            status: self.status,
            reg_timestamp: 0,
            up_timestamp: 0,
            renew_timestamp: 0,
            dirty_timestamp: 0,
            latest_timestamp: 0,
        }
    }
}
