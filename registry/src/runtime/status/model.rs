//! The status page's view model: one node's state as plain values, read by the driver at one
//! instant. It is `/status.json` as is, what a node fetches from its peers, and what the HTML
//! is rendered from, so the page and its JSON twin cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::history::History;
use crate::api::{AppKey, Instance, NodeStatus, SmolStr, Status};
use crate::core::{Clock, Fnv1a, Network, Node, ProtectionStatus};
use crate::runtime::metrics::override_label;

/// Instances listed per app; the counts cover all of them. A page with tens of thousands of
/// rows helps nobody and costs the driver time.
pub(crate) const INSTANCES_LISTED_PER_APP: usize = 100;

/// One node's state (`/status.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatusDoc {
    pub(crate) node: SelfView,
    pub(crate) protection: ProtectionView,
    /// This node's view of its peers.
    pub(crate) peers: Vec<PeerView>,
    pub(crate) replication: ReplicationView,
    pub(crate) eviction: EvictionView,
    pub(crate) anti_entropy: AntiEntropyView,
    /// Apps by appid; empty when asked for with `apps=false` (what peers ask each other).
    pub(crate) apps: Vec<AppView>,
}

/// Who the node is and what it holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct SelfView {
    pub(crate) addr: SmolStr,
    pub(crate) hostname: SmolStr,
    pub(crate) zone: SmolStr,
    pub(crate) env: SmolStr,
    pub(crate) region: SmolStr,
    /// The registry's version (the crate's).
    pub(crate) version: SmolStr,
    /// Startup sync finished and the node is not stopping: it serves reads.
    pub(crate) ready: bool,
    /// The node's wall clock when it answered, Unix milliseconds.
    pub(crate) now_unix_ms: i64,
    pub(crate) instances: usize,
    pub(crate) apps: usize,
    /// FNV-1a over every app's anti-entropy digest: nodes holding the same registry show
    /// the same value (renews do not change it; registers, status changes and cancels do).
    pub(crate) registry_digest: SmolStr,
}

/// Protection mode and the numbers behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProtectionView {
    pub(crate) protected: bool,
    /// `auto`, `force_on` or `force_off`.
    pub(crate) override_mode: SmolStr,
    pub(crate) expected_renews: u64,
    pub(crate) threshold: u64,
    pub(crate) renews_last_window: u64,
    pub(crate) renews_this_window: u64,
    pub(crate) window_secs: u64,
    /// The core's reason, in words.
    pub(crate) reason: String,
    /// The numbers in one sentence: "renews 410 of 850 expected in the last window (60 s);
    /// protected below 722".
    pub(crate) summary: String,
    /// The windows closed in the last hour, oldest first.
    pub(crate) timeline: Vec<WindowView>,
}

/// One closed renew window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WindowView {
    pub(crate) closed_unix_ms: i64,
    pub(crate) renews: u64,
    pub(crate) expected: u64,
    pub(crate) threshold: u64,
    pub(crate) protected: bool,
}

/// One peer as this node sees it through replication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PeerView {
    pub(crate) addr: SmolStr,
    pub(crate) zone: SmolStr,
    /// `up` or `lost` (no batch acknowledged for `peer_lost_after`).
    pub(crate) status: SmolStr,
    pub(crate) queue_depth: usize,
    pub(crate) retried: u64,
    pub(crate) unanswered_batches: u32,
}

/// Replication over all peers, since the node started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReplicationView {
    pub(crate) queue_depth: usize,
    pub(crate) enqueued: u64,
    pub(crate) batches: u64,
    pub(crate) retried: u64,
    pub(crate) dropped_overflow: u64,
    pub(crate) dropped_expired: u64,
}

/// Eviction: the last rounds and totals since the node started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EvictionView {
    pub(crate) rounds_total: u64,
    pub(crate) evicted_total: u64,
    /// Rounds that found more expired instances than they were allowed to evict.
    pub(crate) rounds_capped: u64,
    /// Newest first.
    pub(crate) last_rounds: Vec<EvictionRoundView>,
}

/// One eviction round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EvictionRoundView {
    pub(crate) at_unix_ms: i64,
    pub(crate) registry_size: usize,
    pub(crate) expired: usize,
    pub(crate) cap: usize,
    pub(crate) evicted: usize,
    pub(crate) protected: bool,
}

/// Anti-entropy since the node started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AntiEntropyView {
    pub(crate) rounds: u64,
    pub(crate) repairs: u64,
    pub(crate) repairs_skipped_expired: u64,
    pub(crate) dead_copies_dropped: u64,
}

/// One appid: counts by zone and status, and its instances.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AppView {
    pub(crate) appid: SmolStr,
    pub(crate) up: usize,
    pub(crate) waiting: usize,
    pub(crate) zones: Vec<ZoneCount>,
    /// The first [`INSTANCES_LISTED_PER_APP`] instances in (env, zone, hostname) order.
    pub(crate) instances: Vec<InstanceView>,
}

/// Instances of an app in one zone, by status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ZoneCount {
    pub(crate) zone: SmolStr,
    pub(crate) up: usize,
    pub(crate) waiting: usize,
}

/// One instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InstanceView {
    pub(crate) env: SmolStr,
    pub(crate) zone: SmolStr,
    pub(crate) hostname: SmolStr,
    pub(crate) addrs: Vec<SmolStr>,
    /// `up` or `waiting`.
    pub(crate) status: SmolStr,
    pub(crate) version: SmolStr,
    pub(crate) metadata: BTreeMap<String, String>,
    /// Since the node last heard a renew (or the write), by its wall clock.
    pub(crate) renew_age_ms: i64,
}

impl StatusDoc {
    /// `node`'s state now, with the recent past from `history`.
    pub(crate) fn of<C: Clock, N: Network>(node: &Node<C, N>, history: &History) -> StatusDoc {
        let now_ns = node.clock().wall();
        let now_unix_ms = now_ns.div_euclid(1_000_000);
        let config = node.config();
        let identity = &config.identity;
        let stats = node.stats();
        StatusDoc {
            node: SelfView {
                addr: identity.addr.clone(),
                hostname: identity.hostname.clone(),
                zone: identity.zone.clone(),
                env: identity.env.clone(),
                region: identity.region.clone(),
                version: env!("CARGO_PKG_VERSION").into(),
                ready: node.is_ready(),
                now_unix_ms,
                instances: node.instance_count(),
                apps: node.app_count(),
                registry_digest: registry_digest(&node.digests()),
            },
            protection: protection(
                node.protection(),
                config.protection.renew_window.as_secs(),
                history.windows(now_unix_ms),
            ),
            peers: node
                .peer_replication()
                .into_iter()
                .map(|p| PeerView {
                    addr: p.addr,
                    zone: p.zone,
                    status: node_status(p.status).into(),
                    queue_depth: p.queue_depth,
                    retried: p.retried,
                    unanswered_batches: p.unanswered_batches,
                })
                .collect(),
            replication: ReplicationView {
                queue_depth: node.replication_queue_depth(),
                enqueued: stats.replication_enqueued,
                batches: stats.replication_batches,
                retried: stats.replication_retried,
                dropped_overflow: stats.replication_dropped_overflow,
                dropped_expired: stats.replication_dropped_expired,
            },
            eviction: EvictionView {
                rounds_total: history.rounds_total,
                evicted_total: history.evicted_total,
                rounds_capped: stats.eviction_rounds_capped,
                last_rounds: history.rounds(),
            },
            anti_entropy: AntiEntropyView {
                rounds: stats.anti_entropy_rounds,
                repairs: stats.anti_entropy_repairs,
                repairs_skipped_expired: stats.repairs_skipped_expired,
                dead_copies_dropped: stats.dead_copies_dropped,
            },
            apps: node
                .registry()
                .into_iter()
                .map(|(appid, instances)| app(appid, instances, now_ns))
                .collect(),
        }
    }
}

fn node_status(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Up => "up",
        NodeStatus::Lost => "lost",
    }
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::Up => "up",
        Status::Waiting => "waiting",
    }
}

/// One value for the whole registry: each app's key and anti-entropy digest, in key order. The
/// key is mixed in because an app's digest covers its instances (zone, host, version) but not
/// its name.
fn registry_digest(digests: &[(AppKey, u64)]) -> SmolStr {
    let mut hash = Fnv1a::new();
    for (key, digest) in digests {
        hash.write(key.env.as_bytes());
        hash.write(&[0]);
        hash.write(key.appid.as_bytes());
        hash.write(&[0]);
        hash.write_u64(*digest);
    }
    format!("{:016x}", hash.finish()).into()
}

fn protection(p: ProtectionStatus, window_secs: u64, timeline: Vec<WindowView>) -> ProtectionView {
    let mut summary = format!(
        "renews {} of {} expected in the last window ({window_secs} s); protected below {}",
        p.renews_last_window, p.expected_renews, p.threshold
    );
    if !timeline.is_empty() {
        let protected = timeline.iter().filter(|w| w.protected).count();
        let _ = write!(
            summary,
            "; {protected} of the last {} windows protected",
            timeline.len()
        );
    }
    ProtectionView {
        protected: p.protected,
        override_mode: override_label(p.override_mode).into(),
        expected_renews: p.expected_renews,
        threshold: p.threshold,
        renews_last_window: p.renews_last_window,
        renews_this_window: p.renews_this_window,
        window_secs,
        reason: p.reason.to_string(),
        summary,
        timeline,
    }
}

fn app(appid: SmolStr, mut instances: Vec<Instance>, now_ns: i64) -> AppView {
    instances.sort_by(|a, b| (&a.env, &a.zone, &a.hostname).cmp(&(&b.env, &b.zone, &b.hostname)));
    let mut zones: BTreeMap<SmolStr, ZoneCount> = BTreeMap::new();
    for instance in &instances {
        let count = zones
            .entry(instance.zone.clone())
            .or_insert_with(|| ZoneCount {
                zone: instance.zone.clone(),
                up: 0,
                waiting: 0,
            });
        match instance.status {
            Status::Up => count.up += 1,
            Status::Waiting => count.waiting += 1,
        }
    }
    let zones: Vec<ZoneCount> = zones.into_values().collect();
    AppView {
        appid,
        up: zones.iter().map(|z| z.up).sum(),
        waiting: zones.iter().map(|z| z.waiting).sum(),
        zones,
        instances: instances
            .iter()
            .take(INSTANCES_LISTED_PER_APP)
            .map(|i| InstanceView {
                env: i.env.clone(),
                zone: i.zone.clone(),
                hostname: i.hostname.clone(),
                addrs: i.addrs.to_vec(),
                status: status_label(i.status).into(),
                version: i.version.clone(),
                metadata: i
                    .metadata
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                renew_age_ms: now_ns
                    .saturating_sub(i.renew_timestamp)
                    .div_euclid(1_000_000),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(env: &str, appid: &str) -> AppKey {
        AppKey {
            env: env.into(),
            appid: appid.into(),
        }
    }

    #[test]
    fn the_registry_digest_tells_apart_what_apps_hold_and_what_they_are_called() {
        let one = [(key("prod", "a"), 1), (key("prod", "b"), 2)];
        assert_eq!(registry_digest(&one), registry_digest(&one.clone()));
        assert_eq!(registry_digest(&one).len(), 16);
        let other_content = [(key("prod", "a"), 1), (key("prod", "b"), 3)];
        let renamed = [(key("prod", "a"), 1), (key("prod", "c"), 2)];
        let other_env = [(key("prod", "a"), 1), (key("dev", "b"), 2)];
        let split = [(key("prod", "a"), 1), (key("prodb", ""), 2)];
        for different in [&other_content, &renamed, &other_env, &split] {
            assert_ne!(registry_digest(&one), registry_digest(different));
        }
        assert_ne!(registry_digest(&[]), registry_digest(&one));
    }
}
