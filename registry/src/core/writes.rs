//! register, renew, cancel and set: the writes a client (or a bilibili-style peer) sends.

use std::time::Duration;

use crate::api::{
    BadRequest, CancelArgs, Code, Data, Instance, InstanceKey, RegisterArgs, RenewArgs,
    ReplicatedOp, Reply, SetArgs, Status, Tombstone, Version,
};

use super::clock::Clock;
use super::membership::DISCOVERY_APPID;
use super::network::Network;
use super::node::{LeaseRenewed, Node};
use super::table::Applied;
use super::validate;

impl<C: Clock, N: Network> Node<C, N> {
    pub(super) fn register(&mut self, args: RegisterArgs) -> Reply {
        if let Err(bad) = self.check_given_stamp("dirty_timestamp", args.dirty_timestamp) {
            return bad.into();
        }
        let key = args.key;
        if let Some(limit) = self.capacity_exceeded(&key) {
            self.stats.writes_refused_over_limits += 1;
            return Reply::error(Code::LimitExceeded, limit);
        }
        let wall = self.clock.wall();
        let answers_404 = !args.replication && self.told_missing.take(&key, self.clock.mono());
        let mut given = args.dirty_timestamp;
        if answers_404 && given > 0 {
            // The owner answers this node's 404 with the stamp it had: its register beats
            // whatever removed the instance, by the least step, so that the client's own later
            // stamps still order after it (see `told_missing`).
            if let Some(held) = self.table.latest_stamp(&key) {
                given = given.max(held.saturating_add(1));
            }
        }
        let dirty = self.version_for(given, wall);
        let held = self.table.instance(&key);
        // A re-register keeps the moment the instance last became UP; one of the version held
        // (a client sending its own stamp again, as Eureka clients do) keeps its registration
        // time too, so that with the same content it is that same version.
        let up_timestamp = held.map_or(wall, |old| old.up_timestamp);
        let reg_timestamp = held
            .filter(|old| old.dirty_timestamp == dirty)
            .map_or(wall, |old| old.reg_timestamp);
        let replication = args.replication;
        let instance = Instance {
            region: args.region,
            zone: key.zone.clone(),
            env: key.env.clone(),
            appid: key.appid.clone(),
            hostname: key.hostname.clone(),
            addrs: args.addrs.into(),
            version: args.version,
            metadata: args.metadata,
            status: args.status,
            reg_timestamp,
            up_timestamp,
            renew_timestamp: wall,
            dirty_timestamp: dirty,
            latest_timestamp: dirty,
        };
        if self.table.holds(&instance) {
            // Nothing new to store or tell the peers; registering is still a sign of life.
            self.table.start_lease(&key, self.clock.mono(), wall);
            return Reply::ok(Data::None);
        }
        match self.apply(Version::Put(Box::new(instance))) {
            Applied::Inserted | Applied::Replaced => {
                // Registering is a sign of life: it starts (or restarts) the local lease.
                let stored = self
                    .table
                    .start_lease(&key, self.clock.mono(), wall)
                    .cloned();
                if let (false, Some(instance)) = (replication, stored) {
                    self.replicate(ReplicatedOp::Write(Version::Put(Box::new(instance))));
                }
                Reply::ok(Data::None)
            }
            // Only a register stamped by its sender can be older than a version evicted here:
            // the instance is back with that newer version, which the sender is handed.
            Applied::Revived(newer) => {
                self.table.start_lease(&key, self.clock.mono(), wall);
                if !replication {
                    self.replicate(ReplicatedOp::Write(Version::Put(newer.clone())));
                }
                conflict(Version::Put(newer))
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
        let key = args.key;
        let sender = args.replication.then_some(args.dirty_timestamp);
        match self.renew_lease(&key, sender) {
            LeaseRenewed::Missing => {
                let message = format!("{} is not registered", describe(&key));
                if !args.replication {
                    let cap = self.config.limits.max_instances;
                    self.told_missing.note(key, self.clock.mono(), cap);
                }
                Reply::error(Code::NothingFound, message)
            }
            // The sender compares versions: -404 asks it for the full instance, -409 hands it ours.
            LeaseRenewed::SenderNewer => {
                Reply::error(Code::NothingFound, "the receiver holds an older version")
            }
            LeaseRenewed::ReceiverNewer(instance) => Reply {
                code: Code::Conflict,
                message: "the receiver holds a newer version".into(),
                data: Data::Instance(Box::new(instance.clone())),
            },
            LeaseRenewed::Renewed(instance) => {
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

    pub(super) fn cancel(&mut self, args: CancelArgs) -> Reply {
        if let Err(bad) = self.check_given_stamp("latest_timestamp", args.latest_timestamp) {
            return bad.into();
        }
        let wall = self.clock.wall();
        let dirty_timestamp = self.version_for(args.latest_timestamp, wall);
        let described = describe(&args.key);
        let tombstone = Version::Tombstone(Tombstone {
            key: args.key,
            dirty_timestamp,
        });
        let applied = self.apply(tombstone.clone());
        if matches!(applied, Applied::Removed | Applied::Buried) && !args.replication {
            // Replicated even when this node had not heard of the instance: peers may have.
            self.replicate(ReplicatedOp::Write(tombstone));
        }
        match applied {
            Applied::Removed => Reply::ok(Data::None),
            // The tombstone stays: a register of an older version arriving later is absorbed.
            Applied::Buried => {
                Reply::error(Code::NothingFound, format!("{described} is not registered"))
            }
            Applied::Stale(newer) => conflict(newer),
            Applied::Inserted | Applied::Revived(_) | Applied::Replaced => {
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
        // Whether the set changed any instance: one that did is answered 0 even if another
        // holds a newer version.
        let mut changed_any = false;
        let mut newer = None;
        for mut instance in changed {
            if instance.status == Status::Up && args.statuses.contains(&Status::Up) {
                instance.up_timestamp = stamp;
            }
            instance.dirty_timestamp = stamp;
            instance.latest_timestamp = stamp;
            let version = Version::Put(Box::new(instance));
            match self.apply(version.clone()) {
                Applied::Replaced | Applied::Inserted => {
                    changed_any = true;
                    if !args.replication {
                        self.replicate(ReplicatedOp::Write(version));
                    }
                }
                Applied::Stale(n) => newer = Some(n),
                // A set changes held instances only (`changed_instances`): nothing to revive.
                Applied::Revived(n) => newer = Some(Version::Put(n)),
                Applied::Removed | Applied::Buried => {}
            }
        }
        match newer {
            Some(newer) if !changed_any => conflict(newer),
            _ => Reply::ok(Data::None),
        }
    }

    /// The instances as `args` would leave them, or the reply refusing the whole set: every
    /// host name must exist and the result must stay within limits, or nothing changes.
    fn changed_instances(&self, args: &SetArgs) -> Result<Vec<Instance>, Reply> {
        let mut changed = Vec::with_capacity(args.hostnames.len());
        for (i, key) in args.keys().enumerate() {
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

    /// The capacity a new instance `key` would exceed, in words; `None` when it fits or is
    /// held already. A registry node's own registration is exempt: only nodes can write one.
    pub(super) fn capacity_exceeded(&self, key: &InstanceKey) -> Option<String> {
        if key.appid == DISCOVERY_APPID || self.table.instance(key).is_some() {
            return None;
        }
        let limits = &self.config.limits;
        let app_size = self.table.app_size(&key.app());
        if app_size.is_none() && self.table.apps_held() >= limits.max_apps {
            return Some(format!(
                "this node holds the most apps it is configured for (max_apps = {})",
                limits.max_apps
            ));
        }
        if app_size.unwrap_or(0) >= limits.max_instances_per_app {
            return Some(format!(
                "{}/{} has the most instances an app may have (max_instances_per_app = {})",
                key.env, key.appid, limits.max_instances_per_app
            ));
        }
        if self.table.len() >= limits.max_instances {
            return Some(format!(
                "this node holds the most instances it is configured for (max_instances = {})",
                limits.max_instances
            ));
        }
        None
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

fn conflict(newer: Version) -> Reply {
    match newer {
        Version::Put(instance) => Reply {
            code: Code::Conflict,
            message: "a newer version of this instance is registered".into(),
            data: Data::Instance(instance),
        },
        Version::Tombstone(Tombstone {
            dirty_timestamp, ..
        }) => Reply::error(
            Code::Conflict,
            format!("the instance was cancelled at version {dirty_timestamp}, after this write"),
        ),
    }
}

fn describe(key: &InstanceKey) -> String {
    format!(
        "{}/{} in zone {} env {}",
        key.appid, key.hostname, key.zone, key.env
    )
}
