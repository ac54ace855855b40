//! `GET /metrics`: the node's state in Prometheus text format (version 0.0.4).
//!
//! The driver takes a [`Snapshot`] between two inputs (so the figures agree with each other)
//! and renders it; the HTTP handler only forwards the text. [`render`] writes the families
//! in a fixed order, one function per group of related families.

use std::fmt::Write;

use super::access::{AuthRefusals, Guarded};
use super::driver::RuntimeNode;
use super::peer_auth::{PeerRefusal, PeerRefusals};
use super::peer_sender::{PeerPostCounters, PeerPosts};
use super::per_client::{Capped, PerClient};
use crate::api::NodeStatus;
use crate::core::{NodeStats, ProtectionOverride, ProtectionStatus};

/// The figures `/metrics` reports, read at one instant.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    instances: usize,
    apps: usize,
    protection: ProtectionStatus,
    stats: NodeStats,
    queue_depth: usize,
    poll_waiters: usize,
    ready: bool,
    peers_up: usize,
    peers_lost: usize,
    posts: PeerPosts,
    refusals: [(PeerRefusal, u64); 3],
    unauthorized: [(Guarded, u64); 2],
    over_client_caps: [(Capped, u64); 2],
}

impl Snapshot {
    pub(crate) fn of(
        node: &RuntimeNode,
        posts: &PeerPostCounters,
        refusals: &PeerRefusals,
        unauthorized: &AuthRefusals,
        per_client: &PerClient,
    ) -> Snapshot {
        let peers = node.peers();
        let up = peers.iter().filter(|p| p.status == NodeStatus::Up).count();
        Snapshot {
            instances: node.instance_count(),
            apps: node.app_count(),
            protection: node.protection(),
            stats: node.stats(),
            queue_depth: node.replication_queue_depth(),
            poll_waiters: node.waiting_polls(),
            ready: node.is_ready(),
            peers_up: up,
            peers_lost: peers.len() - up,
            posts: posts.read(),
            refusals: refusals.counts(),
            unauthorized: unauthorized.counts(),
            over_client_caps: per_client.refused(),
        }
    }
}

/// The exposition text.
pub(crate) fn render(s: &Snapshot) -> String {
    let mut out = Exposition::default();
    table(&mut out, s);
    protection(&mut out, &s.protection);
    replication(&mut out, s.queue_depth, &s.stats);
    anti_entropy(&mut out, &s.stats);
    versions(&mut out, &s.stats);
    turned_away(&mut out, &s.stats);
    polls_and_readiness(&mut out, s);
    peers(&mut out, s);
    out.text
}

/// What the table holds.
fn table(out: &mut Exposition, s: &Snapshot) {
    out.gauge("registry_instances", "Instances held.", s.instances as u64);
    out.gauge(
        "registry_apps",
        "Apps with at least one instance.",
        s.apps as u64,
    );
}

/// Renew accounting and protection mode.
fn protection(out: &mut Exposition, p: &ProtectionStatus) {
    out.gauge(
        "registry_renews_last_window",
        "Renews of instances held (client and replicated) counted in the last closed renew window.",
        p.renews_last_window,
    );
    out.gauge(
        "registry_renews_this_window",
        "Renews counted so far in the current window.",
        p.renews_this_window,
    );
    out.gauge(
        "registry_expected_renews",
        "Renews expected per window (2 per instance by default).",
        p.expected_renews,
    );
    out.gauge(
        "registry_renew_threshold",
        "Protected when the last window's renews fall below this.",
        p.threshold,
    );
    out.gauge(
        "registry_protection_mode",
        "1 while protection mode (self-preservation) limits eviction.",
        u64::from(p.protected),
    );
    out.family(
        "registry_protection_override",
        Kind::Gauge,
        "The operator override in force (1 on the active mode).",
        [
            ProtectionOverride::Auto,
            ProtectionOverride::ForceOn,
            ProtectionOverride::ForceOff,
        ]
        .map(|mode| {
            (
                format!("{{mode=\"{}\"}}", override_label(mode)),
                u64::from(p.override_mode == mode),
            )
        }),
    );
}

/// An override's name: its label in `/metrics` and what the operator endpoint answers.
pub(crate) fn override_label(mode: ProtectionOverride) -> &'static str {
    match mode {
        ProtectionOverride::Auto => "auto",
        ProtectionOverride::ForceOn => "force_on",
        ProtectionOverride::ForceOff => "force_off",
    }
}

/// The replication queues and their traffic.
fn replication(out: &mut Exposition, queue_depth: usize, st: &NodeStats) {
    out.gauge(
        "registry_replication_queue_depth",
        "Ops waiting for a peer's acknowledgement, over all peers.",
        queue_depth as u64,
    );
    out.counter(
        "registry_replication_enqueued_total",
        "Ops queued for peers.",
        st.replication_enqueued,
    );
    out.counter(
        "registry_replication_batches_total",
        "Batches sent to peers.",
        st.replication_batches,
    );
    out.counter(
        "registry_replication_retried_total",
        "Ops sent again after an unacknowledged batch.",
        st.replication_retried,
    );
    out.family(
        "registry_replication_dropped_total",
        Kind::Counter,
        "Ops given up (anti-entropy repairs them).",
        [
            ("{reason=\"overflow\"}", st.replication_dropped_overflow),
            ("{reason=\"expired\"}", st.replication_dropped_expired),
        ],
    );
}

fn anti_entropy(out: &mut Exposition, st: &NodeStats) {
    out.counter(
        "registry_anti_entropy_rounds_total",
        "Anti-entropy exchanges started.",
        st.anti_entropy_rounds,
    );
    out.counter(
        "registry_anti_entropy_repairs_total",
        "Versions changed by merging a peer's state.",
        st.anti_entropy_repairs,
    );
}

/// How versions from peers met this node's: resent, adopted, absorbed, skipped or dropped,
/// and eviction rounds that could not keep up.
fn versions(out: &mut Exposition, st: &NodeStats) {
    out.counter(
        "registry_renew_not_found_resent_total",
        "Replicated renews a peer answered -404, answered in turn with the full instance.",
        st.renew_not_found_resent,
    );
    out.counter(
        "registry_conflicts_adopted_total",
        "Newer copies adopted from a peer's -409.",
        st.conflicts_adopted,
    );
    out.counter(
        "registry_absorbed_by_tombstone_total",
        "Writes absorbed because a newer tombstone was kept.",
        st.absorbed_by_tombstone,
    );
    out.counter(
        "registry_repairs_skipped_expired_total",
        "Copies from peers not inserted because their lease had already expired.",
        st.repairs_skipped_expired,
    );
    out.counter(
        "registry_dead_copies_dropped_total",
        "Expired copies dropped by anti-entropy because the peer held none.",
        st.dead_copies_dropped,
    );
    out.counter(
        "registry_eviction_rounds_capped_total",
        "Eviction rounds that found more expired instances than the per-round cap allowed.",
        st.eviction_rounds_capped,
    );
}

/// Reads, writes and peer versions the node turned away (not ready, just resumed from a
/// stall, stamped too far ahead).
fn turned_away(out: &mut Exposition, st: &NodeStats) {
    out.counter(
        "registry_reads_refused_not_ready_total",
        "Reads answered -503 before startup sync finished.",
        st.reads_refused_not_ready,
    );
    out.counter(
        "registry_writes_refused_after_stall_total",
        "Client writes answered -503 right after the node resumed from a stall.",
        st.writes_refused_after_stall,
    );
    out.counter(
        "registry_future_versions_refused_total",
        "Versions from peers not applied: stamped further ahead of this node's clock than max_timestamp_ahead.",
        st.future_versions_refused,
    );
    out.counter(
        "registry_peer_versions_refused_total",
        "Versions from peers not applied: beyond the limits a client's write is held to.",
        st.peer_versions_refused,
    );
    out.counter(
        "registry_messages_to_strangers_dropped_total",
        "Answers not sent because their destination is not a peer of this node.",
        st.messages_to_strangers_dropped,
    );
    out.counter(
        "registry_writes_refused_over_limits_total",
        "Registers of new instances answered -509: beyond max_instances, max_instances_per_app or max_apps.",
        st.writes_refused_over_limits,
    );
    out.counter(
        "registry_unheld_renews_total",
        "Renews of instances this node does not hold: answered -404, not counted towards protection mode.",
        st.unheld_renews,
    );
    out.counter(
        "registry_writes_answered_unacknowledged_total",
        "Client writes answered when peer_ack_wait ran out before a peer acknowledged them (durability = \"peer\").",
        st.writes_answered_unacknowledged,
    );
}

fn polls_and_readiness(out: &mut Exposition, s: &Snapshot) {
    out.gauge(
        "registry_poll_waiters",
        "Long-polls parked on this node.",
        s.poll_waiters as u64,
    );
    out.gauge(
        "registry_ready",
        "1 while reads are served: startup sync finished and the node is not stopping.",
        u64::from(s.ready),
    );
}

/// Peer status, peer POSTs by outcome, and peer messages refused by peer authentication.
fn peers(out: &mut Exposition, s: &Snapshot) {
    out.family(
        "registry_peers",
        Kind::Gauge,
        "Peers by status (lost: not acknowledging replication).",
        [
            ("{status=\"up\"}", s.peers_up as u64),
            ("{status=\"lost\"}", s.peers_lost as u64),
        ],
    );
    out.family(
        "registry_peer_posts_total",
        Kind::Counter,
        "Peer messages POSTed, by outcome.",
        [
            ("{result=\"delivered\"}", s.posts.delivered),
            ("{result=\"failed\"}", s.posts.failed),
            ("{result=\"dropped\"}", s.posts.dropped),
        ],
    );
    out.family(
        "registry_peer_messages_refused_total",
        Kind::Counter,
        "Peer messages answered 401 and not acted on, by reason (peer authentication).",
        s.refusals
            .iter()
            .map(|(refusal, count)| (format!("{{reason=\"{}\"}}", refusal.label()), *count)),
    );
    out.family(
        "registry_requests_refused_unauthorized_total",
        Kind::Counter,
        "Client requests refused for a missing or wrong bearer token (401) or a disabled operator endpoint (403), by endpoint.",
        s.unauthorized
            .iter()
            .map(|(guarded, count)| (format!("{{endpoint=\"{}\"}}", guarded.label()), *count)),
    );
    out.family(
        "registry_requests_refused_per_client_total",
        Kind::Counter,
        "Connections answered 429 and long-polls answered -509 because their client address held its cap (http.max_connections_per_client, http.max_polls_per_client), by cap.",
        s.over_client_caps
            .iter()
            .map(|(capped, count)| (format!("{{cap=\"{}\"}}", capped.label()), *count)),
    );
}

/// A Prometheus metric type.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// The text being written.
#[derive(Debug, Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// One metric family: help, type and its samples (`labels`, value).
    fn family<L: AsRef<str>>(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        samples: impl IntoIterator<Item = (L, u64)>,
    ) {
        let kind = kind.as_str();
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let labels = labels.as_ref();
            let _ = writeln!(self.text, "{name}{labels} {value}");
        }
    }

    /// A family of one unlabelled gauge.
    fn gauge(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, Kind::Gauge, help, [("", value)]);
    }

    /// A family of one unlabelled counter.
    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, Kind::Counter, help, [("", value)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ProtectionReason;

    fn snapshot() -> Snapshot {
        Snapshot {
            instances: 3,
            apps: 2,
            protection: ProtectionStatus {
                protected: true,
                override_mode: ProtectionOverride::Auto,
                expected_renews: 6,
                threshold: 5,
                renews_last_window: 1,
                renews_this_window: 0,
                reason: ProtectionReason::RenewsBelowThreshold,
            },
            stats: NodeStats::default(),
            queue_depth: 7,
            poll_waiters: 4,
            ready: true,
            peers_up: 1,
            peers_lost: 1,
            posts: PeerPosts {
                delivered: 10,
                failed: 2,
                dropped: 0,
            },
            refusals: [
                (PeerRefusal::Unsigned, 3),
                (PeerRefusal::Stale, 0),
                (PeerRefusal::BadSignature, 1),
            ],
            unauthorized: [(Guarded::Write, 0), (Guarded::Admin, 2)],
            over_client_caps: [(Capped::Connections, 3), (Capped::Polls, 4)],
        }
    }

    /// Every family and sample at once, each figure distinct, so a change of order, name,
    /// help text or of the field a line reads shows here.
    #[test]
    fn the_exposition_text_is_pinned_for_a_fixed_snapshot() {
        let mut snapshot = snapshot();
        snapshot.protection.renews_this_window = 2;
        snapshot.peers_up = 8;
        snapshot.peers_lost = 9;
        snapshot.posts = PeerPosts {
            delivered: 21,
            failed: 22,
            dropped: 23,
        };
        snapshot.refusals = [
            (PeerRefusal::Unsigned, 24),
            (PeerRefusal::Stale, 25),
            (PeerRefusal::BadSignature, 26),
        ];
        snapshot.unauthorized = [(Guarded::Write, 27), (Guarded::Admin, 28)];
        snapshot.stats = NodeStats {
            replication_enqueued: 11,
            replication_batches: 12,
            replication_retried: 13,
            replication_dropped_overflow: 14,
            replication_dropped_expired: 15,
            anti_entropy_rounds: 16,
            anti_entropy_repairs: 17,
            reads_refused_not_ready: 18,
            writes_refused_after_stall: 19,
            future_versions_refused: 20,
            peer_versions_refused: 27,
            messages_to_strangers_dropped: 28,
            writes_refused_over_limits: 29,
            unheld_renews: 30,
            writes_answered_unacknowledged: 31,
            renew_not_found_resent: 32,
            conflicts_adopted: 33,
            absorbed_by_tombstone: 34,
            repairs_skipped_expired: 35,
            dead_copies_dropped: 36,
            eviction_rounds_capped: 37,
        };
        assert_eq!(render(&snapshot), PINNED);
    }

    /// A counter the node keeps but `/metrics` leaves out is invisible to operators.
    #[test]
    fn every_node_counter_reaches_the_exposition() {
        let mut snapshot = snapshot();
        for (i, name) in NodeStats::NAMES.iter().enumerate() {
            *snapshot.stats.counter_mut(name).expect("a counter") = 900_001 + i as u64;
        }
        let text = render(&snapshot);
        for (name, value) in snapshot.stats.counters() {
            assert!(
                text.contains(&format!(" {value}\n")),
                "counter {name} is not in /metrics"
            );
        }
    }

    const PINNED: &str = r#"# HELP registry_instances Instances held.
# TYPE registry_instances gauge
registry_instances 3
# HELP registry_apps Apps with at least one instance.
# TYPE registry_apps gauge
registry_apps 2
# HELP registry_renews_last_window Renews of instances held (client and replicated) counted in the last closed renew window.
# TYPE registry_renews_last_window gauge
registry_renews_last_window 1
# HELP registry_renews_this_window Renews counted so far in the current window.
# TYPE registry_renews_this_window gauge
registry_renews_this_window 2
# HELP registry_expected_renews Renews expected per window (2 per instance by default).
# TYPE registry_expected_renews gauge
registry_expected_renews 6
# HELP registry_renew_threshold Protected when the last window's renews fall below this.
# TYPE registry_renew_threshold gauge
registry_renew_threshold 5
# HELP registry_protection_mode 1 while protection mode (self-preservation) limits eviction.
# TYPE registry_protection_mode gauge
registry_protection_mode 1
# HELP registry_protection_override The operator override in force (1 on the active mode).
# TYPE registry_protection_override gauge
registry_protection_override{mode="auto"} 1
registry_protection_override{mode="force_on"} 0
registry_protection_override{mode="force_off"} 0
# HELP registry_replication_queue_depth Ops waiting for a peer's acknowledgement, over all peers.
# TYPE registry_replication_queue_depth gauge
registry_replication_queue_depth 7
# HELP registry_replication_enqueued_total Ops queued for peers.
# TYPE registry_replication_enqueued_total counter
registry_replication_enqueued_total 11
# HELP registry_replication_batches_total Batches sent to peers.
# TYPE registry_replication_batches_total counter
registry_replication_batches_total 12
# HELP registry_replication_retried_total Ops sent again after an unacknowledged batch.
# TYPE registry_replication_retried_total counter
registry_replication_retried_total 13
# HELP registry_replication_dropped_total Ops given up (anti-entropy repairs them).
# TYPE registry_replication_dropped_total counter
registry_replication_dropped_total{reason="overflow"} 14
registry_replication_dropped_total{reason="expired"} 15
# HELP registry_anti_entropy_rounds_total Anti-entropy exchanges started.
# TYPE registry_anti_entropy_rounds_total counter
registry_anti_entropy_rounds_total 16
# HELP registry_anti_entropy_repairs_total Versions changed by merging a peer's state.
# TYPE registry_anti_entropy_repairs_total counter
registry_anti_entropy_repairs_total 17
# HELP registry_renew_not_found_resent_total Replicated renews a peer answered -404, answered in turn with the full instance.
# TYPE registry_renew_not_found_resent_total counter
registry_renew_not_found_resent_total 32
# HELP registry_conflicts_adopted_total Newer copies adopted from a peer's -409.
# TYPE registry_conflicts_adopted_total counter
registry_conflicts_adopted_total 33
# HELP registry_absorbed_by_tombstone_total Writes absorbed because a newer tombstone was kept.
# TYPE registry_absorbed_by_tombstone_total counter
registry_absorbed_by_tombstone_total 34
# HELP registry_repairs_skipped_expired_total Copies from peers not inserted because their lease had already expired.
# TYPE registry_repairs_skipped_expired_total counter
registry_repairs_skipped_expired_total 35
# HELP registry_dead_copies_dropped_total Expired copies dropped by anti-entropy because the peer held none.
# TYPE registry_dead_copies_dropped_total counter
registry_dead_copies_dropped_total 36
# HELP registry_eviction_rounds_capped_total Eviction rounds that found more expired instances than the per-round cap allowed.
# TYPE registry_eviction_rounds_capped_total counter
registry_eviction_rounds_capped_total 37
# HELP registry_reads_refused_not_ready_total Reads answered -503 before startup sync finished.
# TYPE registry_reads_refused_not_ready_total counter
registry_reads_refused_not_ready_total 18
# HELP registry_writes_refused_after_stall_total Client writes answered -503 right after the node resumed from a stall.
# TYPE registry_writes_refused_after_stall_total counter
registry_writes_refused_after_stall_total 19
# HELP registry_future_versions_refused_total Versions from peers not applied: stamped further ahead of this node's clock than max_timestamp_ahead.
# TYPE registry_future_versions_refused_total counter
registry_future_versions_refused_total 20
# HELP registry_peer_versions_refused_total Versions from peers not applied: beyond the limits a client's write is held to.
# TYPE registry_peer_versions_refused_total counter
registry_peer_versions_refused_total 27
# HELP registry_messages_to_strangers_dropped_total Answers not sent because their destination is not a peer of this node.
# TYPE registry_messages_to_strangers_dropped_total counter
registry_messages_to_strangers_dropped_total 28
# HELP registry_writes_refused_over_limits_total Registers of new instances answered -509: beyond max_instances, max_instances_per_app or max_apps.
# TYPE registry_writes_refused_over_limits_total counter
registry_writes_refused_over_limits_total 29
# HELP registry_unheld_renews_total Renews of instances this node does not hold: answered -404, not counted towards protection mode.
# TYPE registry_unheld_renews_total counter
registry_unheld_renews_total 30
# HELP registry_writes_answered_unacknowledged_total Client writes answered when peer_ack_wait ran out before a peer acknowledged them (durability = "peer").
# TYPE registry_writes_answered_unacknowledged_total counter
registry_writes_answered_unacknowledged_total 31
# HELP registry_poll_waiters Long-polls parked on this node.
# TYPE registry_poll_waiters gauge
registry_poll_waiters 4
# HELP registry_ready 1 while reads are served: startup sync finished and the node is not stopping.
# TYPE registry_ready gauge
registry_ready 1
# HELP registry_peers Peers by status (lost: not acknowledging replication).
# TYPE registry_peers gauge
registry_peers{status="up"} 8
registry_peers{status="lost"} 9
# HELP registry_peer_posts_total Peer messages POSTed, by outcome.
# TYPE registry_peer_posts_total counter
registry_peer_posts_total{result="delivered"} 21
registry_peer_posts_total{result="failed"} 22
registry_peer_posts_total{result="dropped"} 23
# HELP registry_peer_messages_refused_total Peer messages answered 401 and not acted on, by reason (peer authentication).
# TYPE registry_peer_messages_refused_total counter
registry_peer_messages_refused_total{reason="unsigned"} 24
registry_peer_messages_refused_total{reason="stale"} 25
registry_peer_messages_refused_total{reason="bad_signature"} 26
# HELP registry_requests_refused_unauthorized_total Client requests refused for a missing or wrong bearer token (401) or a disabled operator endpoint (403), by endpoint.
# TYPE registry_requests_refused_unauthorized_total counter
registry_requests_refused_unauthorized_total{endpoint="write"} 27
registry_requests_refused_unauthorized_total{endpoint="admin"} 28
# HELP registry_requests_refused_per_client_total Connections answered 429 and long-polls answered -509 because their client address held its cap (http.max_connections_per_client, http.max_polls_per_client), by cap.
# TYPE registry_requests_refused_per_client_total counter
registry_requests_refused_per_client_total{cap="connections"} 3
registry_requests_refused_per_client_total{cap="polls"} 4
"#;

    #[test]
    fn every_sample_line_is_name_value_and_every_family_is_typed() {
        let text = render(&snapshot());
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').expect("name value");
            assert!(value.parse::<u64>().is_ok(), "{line}");
            let family = name.split('{').next().expect("name");
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family} untyped"
            );
        }
        assert!(text.contains("registry_protection_mode 1\n"));
        assert!(text.contains("registry_protection_override{mode=\"auto\"} 1\n"));
        assert!(text.contains("registry_replication_queue_depth 7\n"));
        assert!(text.contains("registry_peers{status=\"lost\"} 1\n"));
        assert!(text.contains("registry_poll_waiters 4\n"));
        assert!(text.contains("registry_peer_messages_refused_total{reason=\"unsigned\"} 3\n"));
        assert!(text.contains("registry_peer_messages_refused_total{reason=\"bad_signature\"} 1\n"));
    }
}
