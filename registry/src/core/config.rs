//! Node configuration: identity, intervals, thresholds and input limits, with the defaults of
//! bilibili/discovery and Eureka.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::SmolStr;

/// Who this node is: it registers itself under this identity and answers `nodes` with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Host name of the node.
    pub hostname: SmolStr,
    /// `host:port` the node serves HTTP on.
    pub addr: SmolStr,
    /// The node's zone.
    pub zone: SmolStr,
    /// The node's environment.
    pub env: SmolStr,
    /// The node's region.
    pub region: SmolStr,
    /// Whether the node serves TLS: its own registration then gives its address as
    /// `https://host:port` (clients read it from `infra.discovery`).
    pub serves_tls: bool,
}

impl Default for Identity {
    fn default() -> Identity {
        Identity {
            hostname: "localhost".into(),
            addr: "127.0.0.1:7171".into(),
            zone: "local".into(),
            env: "dev".into(),
            region: "local".into(),
            serves_tls: false,
        }
    }
}

/// Leases and eviction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    /// An instance silent for longer than this is expired (default 90 s).
    pub evict_after: Duration,
    /// While protected, only instances silent for longer than this are evicted (default 1 h).
    pub protected_evict_after: Duration,
    /// How often the eviction round runs (default 60 s).
    pub eviction_interval: Duration,
    /// A round keeps at least this percentage of the registry: it evicts at most
    /// `size - floor(size * keep / 100)` instances (default 85).
    pub eviction_keep_percent: u64,
}

impl Default for LeaseConfig {
    fn default() -> LeaseConfig {
        LeaseConfig {
            evict_after: Duration::from_secs(90),
            protected_evict_after: Duration::from_secs(3600),
            eviction_interval: Duration::from_secs(60),
            eviction_keep_percent: 85,
        }
    }
}

/// Protection mode (self-preservation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtectionConfig {
    /// The window over which renews are counted and the mode decided (default 60 s).
    pub renew_window: Duration,
    /// Expected renews per instance per window (default 2: one renew every 30 s).
    pub renews_per_instance: u64,
    /// Protected when renews in the last window < `floor(expected * percent / 100)` (default 85).
    pub threshold_percent: u64,
    /// How often the expectation is reset to `renews_per_instance` times the instances a renew
    /// has reached since they were stored (default 15 min): registrations that never renew
    /// stop counting then.
    pub expected_reset_interval: Duration,
}

impl Default for ProtectionConfig {
    fn default() -> ProtectionConfig {
        ProtectionConfig {
            renew_window: Duration::from_secs(60),
            renews_per_instance: 2,
            threshold_percent: 85,
            expected_reset_interval: Duration::from_secs(15 * 60),
        }
    }
}

/// Limits on client input; anything over them is answered -400 and changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest zone, env, appid, hostname, region or version, in bytes (default 128).
    pub max_field_len: usize,
    /// Most addresses per instance (default 16).
    pub max_addrs: usize,
    /// Longest address, in bytes (default 256).
    pub max_addr_len: usize,
    /// Most metadata entries per instance (default 32).
    pub max_metadata_entries: usize,
    /// Most metadata bytes (keys plus values) per instance (default 4096).
    pub max_metadata_bytes: usize,
    /// Most app ids in one fetchs or polls, and most host names in one set (default 256).
    pub max_list_len: usize,
    /// How far ahead of this node's wall clock a version timestamp given by a client
    /// (`dirty_timestamp`, `latest_timestamp`, `set_timestamp`) or a peer may be (default
    /// 5 min). Versions are compared by these stamps and every node's hybrid clock moves past
    /// the highest it sees, so one stamp far in the future would order every later write
    /// behind it, on every node, for good.
    pub max_timestamp_ahead: Duration,
    /// Most instances held (default 500,000): a register of a new one beyond it is answered
    /// -509 and a peer's copy of a new one refused. A registry node's own registration is
    /// exempt.
    pub max_instances: usize,
    /// Most instances of one app (default 100,000).
    pub max_instances_per_app: usize,
    /// Most apps held, counting those kept only for their tombstones (default 100,000).
    pub max_apps: usize,
    /// Most ops in one replication batch a peer sends (default 1,000, ten times the default
    /// `cluster.replication.max_batch`); a larger batch is refused whole.
    pub max_peer_batch: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_field_len: 128,
            max_addrs: 16,
            max_addr_len: 256,
            max_metadata_entries: 32,
            max_metadata_bytes: 4096,
            max_list_len: 256,
            max_timestamp_ahead: Duration::from_secs(300),
            max_instances: 500_000,
            max_instances_per_app: 100_000,
            max_apps: 100_000,
            max_peer_batch: 1_000,
        }
    }
}

/// Batched, retried replication to each peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// Most ops per batch (default 100).
    pub max_batch: usize,
    /// How long a write waits for others to share its batch when nothing is in flight to the
    /// peer (default 0: it leaves at once). Batching needs no wait: writes made while a batch
    /// is in flight share the next one, which leaves once that one is acknowledged or, after a
    /// failure, once the back-off ends. A fixed wait made every write reach the peers about
    /// 7x later than bilibili/discovery's (#17).
    pub max_delay: Duration,
    /// How long a renew may wait for others to share its batch (default 1 s). Renews are
    /// nearly all the write traffic and only extend a lease of many seconds, so they travel
    /// in fewer, fuller batches; a register, cancel or set still leaves within `max_delay`
    /// of the peer being free and takes the waiting renews along.
    pub renew_delay: Duration,
    /// A batch not acknowledged within this is retried (default 3 s).
    pub ack_timeout: Duration,
    /// The first retry waits this long, doubling on each failure (default 500 ms).
    pub backoff_base: Duration,
    /// Retries never wait longer than this (default 30 s).
    pub backoff_max: Duration,
    /// An op not delivered within this is dropped; anti-entropy repairs it (default 2 min).
    pub retry_horizon: Duration,
    /// A renew not sent within this is dropped (default 90 s, the lease). A renew only says the
    /// instance was alive when it was taken; delivered later, it gives the receiver's copy a
    /// fresh lease, and once it is older than a lease that is a lease the instance did not
    /// earn (swarm seed 52083: a client dead for minutes kept alive, with stale content, by
    /// renews queued behind a partition). Eureka's replication likewise drops heartbeats past
    /// its task expiry.
    pub renew_horizon: Duration,
    /// Most ops waiting per peer; overflow drops the oldest (default 10,000).
    pub max_queue: usize,
    /// A peer none of whose batches was answered for this long is reported lost (default 60 s).
    pub peer_lost_after: Duration,
    /// When a client write is answered (default: once applied here).
    pub durability: Durability,
    /// With [`Durability::Peer`], how long a write's answer waits for a peer's acknowledgement
    /// before it is given anyway (default 1 s, below the clients' request timeouts): the node
    /// stays available when no peer answers.
    pub peer_ack_wait: Duration,
}

/// When a node answers a client's register, set or cancel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Once applied here; replicated after (bilibili/discovery's and Eureka's contract). A node
    /// that dies within the batch delay of answering takes the write with it.
    #[default]
    Local,
    /// Once a peer acknowledged it too (or `peer_ack_wait` passed with no peer answering; a
    /// node whose every peer is lost answers at once). A single node's death loses no answered
    /// write that a peer acknowledged.
    Peer,
}

impl Default for ReplicationConfig {
    fn default() -> ReplicationConfig {
        ReplicationConfig {
            max_batch: 100,
            max_delay: Duration::ZERO,
            renew_delay: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(3),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            retry_horizon: Duration::from_secs(120),
            renew_horizon: Duration::from_secs(90),
            max_queue: 10_000,
            peer_lost_after: Duration::from_secs(60),
            durability: Durability::Local,
            peer_ack_wait: Duration::from_secs(1),
        }
    }
}

/// The cluster: peers, membership, anti-entropy and startup sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterConfig {
    /// `host:port` of the nodes of this zone to start from (may include this node).
    pub seeds: Vec<String>,
    /// `host:port` of known nodes of other zones, by zone.
    pub zones: BTreeMap<String, Vec<String>>,
    /// How often the node renews its own `infra.discovery` registration (default 30 s).
    pub self_renew_interval: Duration,
    /// How often the node starts an anti-entropy exchange with one peer (default 30 s).
    pub anti_entropy_interval: Duration,
    /// Each anti-entropy interval is stretched or shrunk by up to this percentage (default 20).
    pub anti_entropy_jitter_percent: u64,
    /// How often startup sync asks peers again while no peer has answered (default 2 s).
    pub sync_retry: Duration,
    /// Serve reads anyway when no synced peer answered within this (default 15 s).
    pub sync_timeout: Duration,
    /// Replication queues.
    pub replication: ReplicationConfig,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            seeds: Vec::new(),
            zones: BTreeMap::new(),
            self_renew_interval: Duration::from_secs(30),
            anti_entropy_interval: Duration::from_secs(30),
            anti_entropy_jitter_percent: 20,
            sync_retry: Duration::from_secs(2),
            sync_timeout: Duration::from_secs(15),
            replication: ReplicationConfig::default(),
        }
    }
}

/// What a node does after it was not running for a while (its process paused or starved).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StallConfig {
    /// A stall at least this long is acted on (default 1 s, below the request timeouts of
    /// the clients in use: a client that gave up on a request has moved on).
    pub threshold: Duration,
    /// For this long after such a stall, client writes are answered -503 (default 1 s). They
    /// may have been read from the socket after sitting there through the stall, sent by
    /// clients that gave up on them and have since written elsewhere; applied now, with a
    /// fresh stamp, they would undo those later writes. The clients that still wait retry on
    /// another node.
    pub refuse_writes_for: Duration,
}

impl Default for StallConfig {
    fn default() -> StallConfig {
        StallConfig {
            threshold: Duration::from_secs(1),
            refuse_writes_for: Duration::from_secs(1),
        }
    }
}

/// Everything a node needs to start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Seeds every random choice the node makes (eviction order, jitter).
    pub seed: u64,
    /// The node's own identity.
    pub identity: Identity,
    /// Leases and eviction.
    pub lease: LeaseConfig,
    /// Protection mode.
    pub protection: ProtectionConfig,
    /// How long a long-poll is held before it is answered -304 (default 30 s).
    pub poll_hold: Duration,
    /// How long a cancel's tombstone is kept (default 10 min).
    pub tombstone_retention: Duration,
    /// Input limits.
    pub limits: Limits,
    /// Peers and the cluster protocol.
    pub cluster: ClusterConfig,
    /// After a stall.
    pub stall: StallConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 0,
            identity: Identity::default(),
            lease: LeaseConfig::default(),
            protection: ProtectionConfig::default(),
            poll_hold: Duration::from_secs(30),
            tombstone_retention: Duration::from_secs(600),
            limits: Limits::default(),
            cluster: ClusterConfig::default(),
            stall: StallConfig::default(),
        }
    }
}

/// A configuration the node refuses to start with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration `{key}`: {problem}")]
pub struct ConfigError {
    /// The offending setting, as a dotted path.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Config {
    /// Checks that the configuration is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("lease.evict_after", self.lease.evict_after),
            (
                "lease.protected_evict_after",
                self.lease.protected_evict_after,
            ),
            ("lease.eviction_interval", self.lease.eviction_interval),
            ("protection.renew_window", self.protection.renew_window),
            (
                "protection.expected_reset_interval",
                self.protection.expected_reset_interval,
            ),
            ("poll_hold", self.poll_hold),
            ("stall.threshold", self.stall.threshold),
            ("tombstone_retention", self.tombstone_retention),
            (
                "cluster.self_renew_interval",
                self.cluster.self_renew_interval,
            ),
            (
                "cluster.anti_entropy_interval",
                self.cluster.anti_entropy_interval,
            ),
            ("cluster.sync_retry", self.cluster.sync_retry),
            (
                "cluster.replication.ack_timeout",
                self.cluster.replication.ack_timeout,
            ),
            (
                "cluster.replication.backoff_base",
                self.cluster.replication.backoff_base,
            ),
        ];
        for (key, value) in positive {
            if value.is_zero() {
                return Err(ConfigError {
                    key,
                    problem: "must be greater than zero".into(),
                });
            }
        }
        let percents = [
            (
                "lease.eviction_keep_percent",
                self.lease.eviction_keep_percent,
            ),
            (
                "protection.threshold_percent",
                self.protection.threshold_percent,
            ),
        ];
        for (key, value) in percents {
            if value > 100 {
                return Err(ConfigError {
                    key,
                    problem: format!("must be at most 100, got {value}"),
                });
            }
        }
        if self.lease.protected_evict_after < self.lease.evict_after {
            return Err(ConfigError {
                key: "lease.protected_evict_after",
                problem: "must not be shorter than lease.evict_after".into(),
            });
        }
        let replication = &self.cluster.replication;
        if replication.max_batch == 0 || replication.max_queue == 0 {
            return Err(ConfigError {
                key: "cluster.replication",
                problem: "max_batch and max_queue must be at least 1".into(),
            });
        }
        // A peer extends its copy's lease when the renew arrives: a renew that waits a large
        // part of the lease would leave the copy close to eviction.
        let longest = self.lease.evict_after / 10;
        if replication.renew_delay > longest {
            return Err(ConfigError {
                key: "cluster.replication.renew_delay",
                problem: format!(
                    "must be at most a tenth of lease.evict_after ({longest:?}), got {:?}",
                    replication.renew_delay
                ),
            });
        }
        // Peers' clocks differ by some seconds even under NTP; a bound that small would refuse
        // their writes.
        if self.limits.max_timestamp_ahead < Duration::from_secs(1) {
            return Err(ConfigError {
                key: "max_timestamp_ahead",
                problem: format!(
                    "must be at least 1 s, got {:?}",
                    self.limits.max_timestamp_ahead
                ),
            });
        }
        // A batch this node sends must fit what its peers (configured alike) accept.
        if self.limits.max_peer_batch < replication.max_batch {
            return Err(ConfigError {
                key: "max_peer_batch",
                problem: format!(
                    "must be at least cluster.replication.max_batch ({}), got {}",
                    replication.max_batch, self.limits.max_peer_batch
                ),
            });
        }
        // Renews wait up to `renew_delay` for their batch: a horizon within it drops them all.
        if replication.renew_horizon <= replication.renew_delay {
            return Err(ConfigError {
                key: "cluster.replication.renew_horizon",
                problem: format!(
                    "must exceed cluster.replication.renew_delay ({:?}), got {:?}",
                    replication.renew_delay, replication.renew_horizon
                ),
            });
        }
        // A stale register may arrive up to one retry horizon late, and a missed cancel is
        // repaired within an anti-entropy interval: the tombstone must outlive both.
        let needed = self.cluster.anti_entropy_interval + replication.retry_horizon;
        if self.tombstone_retention <= needed {
            return Err(ConfigError {
                key: "tombstone_retention",
                problem: format!(
                    "must exceed cluster.anti_entropy_interval + cluster.replication.retry_horizon ({needed:?})"
                ),
            });
        }
        if self.identity.hostname.is_empty() || self.identity.addr.is_empty() {
            return Err(ConfigError {
                key: "identity",
                problem: "hostname and addr are required".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_reference() {
        let config = Config::default();
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.lease.evict_after, Duration::from_secs(90));
        assert_eq!(config.lease.eviction_interval, Duration::from_secs(60));
        assert_eq!(
            config.lease.protected_evict_after,
            Duration::from_secs(3600)
        );
        assert_eq!(config.protection.threshold_percent, 85);
        assert_eq!(config.poll_hold, Duration::from_secs(30));
    }

    #[test]
    fn zero_intervals_and_large_percentages_are_rejected() {
        let mut config = Config::default();
        config.lease.eviction_interval = Duration::ZERO;
        assert_eq!(
            config.validate().expect_err("zero").key,
            "lease.eviction_interval"
        );

        let mut config = Config::default();
        config.protection.threshold_percent = 101;
        assert_eq!(
            config.validate().expect_err("percent").key,
            "protection.threshold_percent"
        );

        let mut config = Config::default();
        config.cluster.replication.renew_delay = Duration::from_secs(10);
        let error = config.validate().expect_err("renew delay");
        assert_eq!(error.key, "cluster.replication.renew_delay");
        assert!(error
            .problem
            .contains("at most a tenth of lease.evict_after (9s)"));

        let mut config = Config::default();
        config.cluster.replication.renew_horizon = config.cluster.replication.renew_delay;
        let error = config.validate().expect_err("renew horizon");
        assert_eq!(error.key, "cluster.replication.renew_horizon");

        let mut config = Config::default();
        config.lease.protected_evict_after = Duration::from_secs(1);
        assert_eq!(
            config.validate().expect_err("ceiling").key,
            "lease.protected_evict_after"
        );
    }

    /// The key `validate` refuses the default configuration changed by `change` with, or
    /// `None` when it accepts it.
    fn refused(change: impl FnOnce(&mut Config)) -> Option<&'static str> {
        let mut config = Config::default();
        change(&mut config);
        config.validate().err().map(|error| error.key)
    }

    #[test]
    fn every_bound_is_accepted_at_its_limit_and_refused_past_it() {
        const NANO: Duration = Duration::from_nanos(1);
        // At most 100 %.
        assert_eq!(refused(|c| c.lease.eviction_keep_percent = 100), None);
        assert_eq!(
            refused(|c| c.lease.eviction_keep_percent = 101),
            Some("lease.eviction_keep_percent")
        );
        assert_eq!(refused(|c| c.protection.threshold_percent = 100), None);
        // The protected ceiling may equal the lease, not be shorter.
        assert_eq!(
            refused(|c| c.lease.protected_evict_after = c.lease.evict_after),
            None
        );
        assert_eq!(
            refused(|c| c.lease.protected_evict_after = c.lease.evict_after - NANO),
            Some("lease.protected_evict_after")
        );
        // A renew waits at most a tenth of the lease (9 s of the default 90 s).
        assert_eq!(
            refused(|c| c.cluster.replication.renew_delay = Duration::from_secs(9)),
            None
        );
        assert_eq!(
            refused(|c| c.cluster.replication.renew_delay = Duration::from_secs(9) + NANO),
            Some("cluster.replication.renew_delay")
        );
        // Peers' stamps may be at least 1 s ahead.
        assert_eq!(
            refused(|c| c.limits.max_timestamp_ahead = Duration::from_secs(1)),
            None
        );
        assert_eq!(
            refused(|c| c.limits.max_timestamp_ahead = Duration::from_secs(1) - NANO),
            Some("max_timestamp_ahead")
        );
        assert_eq!(
            refused(|c| c.limits.max_timestamp_ahead = Duration::ZERO),
            Some("max_timestamp_ahead")
        );
        // A peer accepts a batch as large as the ones it sends.
        assert_eq!(
            refused(|c| c.limits.max_peer_batch = c.cluster.replication.max_batch),
            None
        );
        assert_eq!(
            refused(|c| c.limits.max_peer_batch = c.cluster.replication.max_batch - 1),
            Some("max_peer_batch")
        );
        // The renew horizon must exceed the renew delay.
        assert_eq!(
            refused(|c| {
                c.cluster.replication.renew_horizon = c.cluster.replication.renew_delay + NANO;
            }),
            None
        );
        // The tombstone must outlive an anti-entropy interval plus the retry horizon.
        let needed =
            |c: &Config| c.cluster.anti_entropy_interval + c.cluster.replication.retry_horizon;
        assert_eq!(refused(|c| c.tombstone_retention = needed(c) + NANO), None);
        assert_eq!(
            refused(|c| c.tombstone_retention = needed(c)),
            Some("tombstone_retention")
        );
    }

    #[test]
    fn each_required_setting_is_refused_missing_on_its_own() {
        assert_eq!(
            refused(|c| c.cluster.replication.max_batch = 0),
            Some("cluster.replication")
        );
        assert_eq!(
            refused(|c| c.cluster.replication.max_queue = 0),
            Some("cluster.replication")
        );
        assert_eq!(
            refused(|c| c.identity.hostname = "".into()),
            Some("identity")
        );
        assert_eq!(refused(|c| c.identity.addr = "".into()), Some("identity"));
    }
}
