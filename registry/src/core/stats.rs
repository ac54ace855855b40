//! Counters of what the node did, for metrics, reports and coverage.

/// Monotonic counters since the node started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Ops queued for peers.
    pub replication_enqueued: u64,
    /// Batches sent to peers.
    pub replication_batches: u64,
    /// Ops sent again after a batch went unanswered.
    pub replication_retried: u64,
    /// Ops dropped because a peer's queue overflowed.
    pub replication_dropped_overflow: u64,
    /// Ops dropped because they outlived the retry horizon.
    pub replication_dropped_expired: u64,
    /// Replicated renews answered -404, answered in turn with the full instance.
    pub renew_not_found_resent: u64,
    /// Newer copies adopted from a peer's -409.
    pub conflicts_adopted: u64,
    /// Writes absorbed because a newer tombstone was kept.
    pub absorbed_by_tombstone: u64,
    /// Anti-entropy exchanges started.
    pub anti_entropy_rounds: u64,
    /// Versions changed by merging a peer's state (anti-entropy repairs and startup sync).
    pub anti_entropy_repairs: u64,
    /// Copies from peers not inserted because their lease had already expired.
    pub repairs_skipped_expired: u64,
    /// Expired copies dropped by anti-entropy because the peer held none.
    pub dead_copies_dropped: u64,
    /// Reads answered -503 before the node synced.
    pub reads_refused_not_ready: u64,
    /// Eviction rounds that found more expired instances than the cap allowed.
    pub eviction_rounds_capped: u64,
    /// Client writes answered -503 right after a stall (see `StallConfig`).
    pub writes_refused_after_stall: u64,
    /// Versions from peers not applied because their stamp was further ahead of this node's
    /// clock than `Limits::max_timestamp_ahead`.
    pub future_versions_refused: u64,
    /// Versions from peers not applied because they break the limits a client's write is held
    /// to (`Limits`: field sizes, counts, empty names, control characters).
    pub peer_versions_refused: u64,
    /// Messages not sent because their destination is not a peer: an answer to a message whose
    /// sender this node has not admitted.
    pub messages_to_strangers_dropped: u64,
    /// Client registers of new instances answered -509: beyond `max_instances`,
    /// `max_instances_per_app` or `max_apps`.
    pub writes_refused_over_limits: u64,
    /// Renews (from clients or peers) of instances this node does not hold: answered -404 and
    /// not counted towards protection mode.
    pub unheld_renews: u64,
    /// Client writes answered when `peer_ack_wait` ran out with no peer's acknowledgement
    /// (`durability = "peer"` only): durable on this node alone.
    pub writes_answered_unacknowledged: u64,
}
