//! register, renew, cancel and set: the writes a client (or a bilibili-style peer) sends.

use std::time::Duration;

use crate::api::{
    BadRequest, CancelArgs, Code, Data, Instance, RegisterArgs, RenewArgs, ReplicatedOp, Reply,
    SetArgs, Status,
};

use super::clock::Clock;
use super::network::Network;
use super::node::Node;
use super::table::{Applied, Newer, Version};
use super::validate;
use crate::api::InstanceKey;

impl<C: Clock, N: Network> Node<C, N> {
    pub(super) fn register(&mut self, args: RegisterArgs) -> Reply {
        if let Err(bad) = self.check_given_stamp("dirty_timestamp", args.dirty_timestamp) {
            return bad.into();
        }
        let wall = self.clock.wall();
        let dirty = self.version_for(args.dirty_timestamp, wall);
        let key = InstanceKey {
            env: args.env.clone(),
            appid: args.appid.clone(),
            zone: args.zone.clone(),
            hostname: args.hostname.clone(),
        };
        // A re-register keeps the moment the instance last became UP.
        let up_timestamp = self
            .table
            .instance(&key)
            .map_or(wall, |old| old.up_timestamp);
        let replication = args.replication;
        let instance = Instance {
            region: args.region,
            zone: args.zone,
            env: args.env,
            appid: args.appid,
            hostname: args.hostname,
            addrs: args.addrs.into(),
            version: args.version,
            metadata: args.metadata,
            status: args.status,
            reg_timestamp: wall,
            up_timestamp,
            renew_timestamp: wall,
            dirty_timestamp: dirty,
            latest_timestamp: dirty,
        };
        match self.apply(Version::Put(instance)) {
            Applied::Inserted | Applied::Replaced => {
                // Registering is a sign of life: it starts (or restarts) the local lease.
                let stored = self.table.renew(&key, self.clock.mono(), wall).cloned();
                if let (false, Some(instance)) = (replication, stored) {
                    self.replicate(ReplicatedOp::Put {
                        instance: Box::new(instance),
                    });
                }
                Reply::ok(Data::None)
            }
            Applied::Stale(newer) => conflict(newer),
            Applied::Removed | Applied::Buried => {
                Reply::error(Code::ServerError, "register removed an instance")
            }
        }
    }

    pub(super) fn renew(&mut self, args: RenewArgs) -> Reply {
        if args.replication {
            if let Err(bad) = self.check_given_stamp("dirty_timestamp", args.dirty_timestamp) {
                return bad.into();
            }
        }
        let key = InstanceKey {
            env: args.env,
            appid: args.appid,
            zone: args.zone,
            hostname: args.hostname,
        };
        let sender = args.replication.then_some(args.dirty_timestamp);
        match self.renew_version(&key, sender) {
            RenewOutcome::Missing => Reply::error(
                Code::NothingFound,
                format!("{} is not registered", describe(&key)),
            ),
            // The sender compares versions: -404 asks it for the full instance, -409 hands it ours.
            RenewOutcome::SenderNewer => {
                Reply::error(Code::NothingFound, "the receiver holds an older version")
            }
            RenewOutcome::ReceiverNewer(instance) => Reply {
                code: Code::Conflict,
                message: "the receiver holds a newer version".into(),
                data: Data::Instance(Box::new(instance.clone())),
            },
            RenewOutcome::Renewed(instance) => {
                let dirty_timestamp = instance.dirty_timestamp;
                let data = Data::Instance(Box::new(instance.clone()));
                if !args.replication {
                    self.replicate(ReplicatedOp::Renew {
                        key,
                        dirty_timestamp,
                    });
                }
                Reply::ok(data)
            }
        }
    }

    /// Refreshes a lease and, for a renew replicated from a peer, compares the sender's
    /// version with ours.
    ///
    /// Every renew received counts towards protection mode, known instance or not: protection
    /// measures whether renewals reach this node at all, and a count of what arrived can be
    /// checked from outside without re-deriving the table.
    pub(super) fn renew_version(
        &mut self,
        key: &InstanceKey,
        sender_dirty: Option<i64>,
    ) -> RenewOutcome<'_> {
        self.guard.on_renew();
        if let Some(dirty) = sender_dirty {
            self.hlc.observe(dirty);
        }
        let (now, wall) = (self.clock.mono(), self.clock.wall());
        let Some(instance) = self.table.renew(key, now, wall) else {
            return RenewOutcome::Missing;
        };
        match sender_dirty {
            Some(dirty) if dirty > instance.dirty_timestamp => RenewOutcome::SenderNewer,
            Some(dirty) if dirty < instance.dirty_timestamp => {
                RenewOutcome::ReceiverNewer(instance)
            }
            _ => RenewOutcome::Renewed(instance),
        }
    }

    pub(super) fn cancel(&mut self, args: CancelArgs) -> Reply {
        if let Err(bad) = self.check_given_stamp("latest_timestamp", args.latest_timestamp) {
            return bad.into();
        }
        let wall = self.clock.wall();
        let dirty_timestamp = self.version_for(args.latest_timestamp, wall);
        let key = InstanceKey {
            env: args.env,
            appid: args.appid,
            zone: args.zone,
            hostname: args.hostname,
        };
        let described = describe(&key);
        let applied = self.apply(Version::Tombstone {
            key: key.clone(),
            dirty_timestamp,
        });
        if matches!(applied, Applied::Removed | Applied::Buried) && !args.replication {
            // Replicated even when this node had not heard of the instance: peers may have.
            self.replicate(ReplicatedOp::Cancel {
                key,
                dirty_timestamp,
            });
        }
        match applied {
            Applied::Removed => Reply::ok(Data::None),
            // The tombstone stays: a register of an older version arriving later is absorbed.
            Applied::Buried => {
                Reply::error(Code::NothingFound, format!("{described} is not registered"))
            }
            Applied::Stale(newer) => conflict(newer),
            Applied::Inserted | Applied::Replaced => {
                Reply::error(Code::ServerError, "cancel inserted an instance")
            }
        }
    }

    pub(super) fn set(&mut self, args: SetArgs) -> Reply {
        if let Err(bad) = self.check_given_stamp("set_timestamp", args.set_timestamp) {
            return bad.into();
        }
        let wall = self.clock.wall();
        let changed = match self.changed_instances(&args) {
            Ok(changed) => changed,
            Err(reply) => return reply,
        };
        // One stamp for the whole set, chosen once by the first node.
        let stamp = self.version_for(args.set_timestamp, wall);
        let mut applied = 0;
        let mut newer = None;
        for mut instance in changed {
            if instance.status == Status::Up && args.statuses.contains(&Status::Up) {
                instance.up_timestamp = stamp;
            }
            instance.dirty_timestamp = stamp;
            instance.latest_timestamp = stamp;
            match self.apply(Version::Put(instance.clone())) {
                Applied::Replaced | Applied::Inserted => {
                    applied += 1;
                    if !args.replication {
                        self.replicate(ReplicatedOp::Put {
                            instance: Box::new(instance),
                        });
                    }
                }
                Applied::Stale(n) => newer = Some(n),
                Applied::Removed | Applied::Buried => {}
            }
        }
        match newer {
            Some(newer) if applied == 0 => conflict(newer),
            _ => Reply::ok(Data::None),
        }
    }

    /// The instances as `args` would leave them, or the reply refusing the whole set: every
    /// host name must exist and the result must stay within limits, or nothing changes.
    fn changed_instances(&self, args: &SetArgs) -> Result<Vec<Instance>, Reply> {
        let mut changed = Vec::with_capacity(args.hostnames.len());
        for (i, hostname) in args.hostnames.iter().enumerate() {
            let key = InstanceKey {
                env: args.env.clone(),
                appid: args.appid.clone(),
                zone: args.zone.clone(),
                hostname: hostname.clone(),
            };
            let Some(stored) = self.table.instance(&key) else {
                return Err(Reply::error(
                    Code::NothingFound,
                    format!("{} is not registered", describe(&key)),
                ));
            };
            let mut instance = stored.clone();
            if let Some(status) = args.statuses.get(i) {
                instance.status = *status;
            }
            if let Some(metadata) = args.metadata.get(i) {
                // bilibili/discovery merges the given keys into the stored metadata.
                instance.metadata.extend(metadata.clone());
                validate::check_metadata(&instance.metadata, &self.config.limits).map_err(
                    |BadRequest { field, problem }| {
                        Reply::from(BadRequest::new(field, format!("after merging: {problem}")))
                    },
                )?;
            }
            changed.push(instance);
        }
        Ok(changed)
    }

    /// Refuses a version timestamp given with a request (`field`) that is further ahead of this
    /// node's clock than `limits.max_timestamp_ahead` (see there why).
    fn check_given_stamp(&self, field: &str, given: i64) -> Result<(), BadRequest> {
        if !self.beyond_clock(given) {
            return Ok(());
        }
        let ahead = Duration::from_nanos(
            u64::try_from(given.saturating_sub(self.clock.wall())).unwrap_or(u64::MAX),
        );
        Err(BadRequest::new(
            field,
            format!(
                "is {} s ahead of this node's clock; at most {} s is accepted",
                ahead.as_secs(),
                self.config.limits.max_timestamp_ahead.as_secs()
            ),
        ))
    }

    /// Whether `stamp` (a version timestamp from a client or a peer) is further ahead of this
    /// node's wall clock than `limits.max_timestamp_ahead`.
    pub(super) fn beyond_clock(&self, stamp: i64) -> bool {
        let bound =
            i64::try_from(self.config.limits.max_timestamp_ahead.as_nanos()).unwrap_or(i64::MAX);
        stamp > self.clock.wall().saturating_add(bound)
    }

    /// The version of a write: the one a peer chose, or a fresh hybrid-clock stamp.
    fn version_for(&mut self, given: i64, wall: i64) -> i64 {
        if given > 0 {
            self.hlc.observe(given);
            given
        } else {
            self.hlc.stamp(wall)
        }
    }
}

/// What a renew found. It borrows the stored instance: each caller copies only what it needs
/// (a peer's renew usually nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RenewOutcome<'a> {
    /// The instance is not here.
    Missing,
    /// Renewed; versions agree (or the renew came from a client).
    Renewed(&'a Instance),
    /// Renewed, but the peer that sent it holds a newer version.
    SenderNewer,
    /// Renewed, but this node holds a newer version than the sending peer: ours.
    ReceiverNewer(&'a Instance),
}

fn conflict(newer: Newer) -> Reply {
    match newer {
        Newer::Instance(instance) => Reply {
            code: Code::Conflict,
            message: "a newer version of this instance is registered".into(),
            data: Data::Instance(instance),
        },
        Newer::Tombstone(at) => Reply::error(
            Code::Conflict,
            format!("the instance was cancelled at version {at}, after this write"),
        ),
    }
}

fn describe(key: &InstanceKey) -> String {
    format!(
        "{}/{} in zone {} env {}",
        key.appid, key.hostname, key.zone, key.env
    )
}
