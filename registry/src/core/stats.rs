//! Counters of what the node did, for metrics, reports and coverage.
//!
//! The counters are listed once, in `node_stats!`: the struct, its field names and the sum over
//! incarnations all come from that list, so a counter added there reaches every report.

/// Declares `NodeStats` from one list of counters, with its field names in order.
macro_rules! node_stats {
    ($($(#[doc = $doc:expr])* $field:ident,)*) => {
        /// Monotonic counters since the node started.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct NodeStats {
            $($(#[doc = $doc])* pub $field: u64,)*
        }

        impl NodeStats {
            /// Every counter's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Every counter with its name, in declaration order.
            pub fn counters(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($field), self.$field)),*]
            }

            /// The counter named `name`, to set it; `None` for a name that is not a counter.
            pub fn counter_mut(&mut self, name: &str) -> Option<&mut u64> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// Adds every counter of `more` (a run's incarnations, a sweep's runs).
            pub fn add(&mut self, more: &NodeStats) {
                $(self.$field += more.$field;)*
            }
        }
    };
}

node_stats! {
    /// Ops queued for peers.
    replication_enqueued,
    /// Batches sent to peers.
    replication_batches,
    /// Ops sent again after a batch went unanswered.
    replication_retried,
    /// Ops dropped because a peer's queue overflowed.
    replication_dropped_overflow,
    /// Ops dropped because they outlived the retry horizon.
    replication_dropped_expired,
    /// Replicated renews answered -404, answered in turn with the full instance.
    renew_not_found_resent,
    /// Newer copies adopted from a peer's -409.
    conflicts_adopted,
    /// Writes absorbed because a newer tombstone was kept.
    absorbed_by_tombstone,
    /// Anti-entropy exchanges started.
    anti_entropy_rounds,
    /// Versions changed by merging a peer's state (anti-entropy repairs and startup sync).
    anti_entropy_repairs,
    /// Copies from peers not inserted because their lease had already expired.
    repairs_skipped_expired,
    /// Expired copies dropped by anti-entropy because the peer held none.
    dead_copies_dropped,
    /// Reads answered -503 before the node synced.
    reads_refused_not_ready,
    /// Eviction rounds that found more expired instances than the cap allowed.
    eviction_rounds_capped,
    /// Client writes answered -503 right after a stall (see `StallConfig`).
    writes_refused_after_stall,
    /// Versions from peers not applied because their stamp was further ahead of this node's
    /// clock than `Limits::max_timestamp_ahead`.
    future_versions_refused,
    /// Versions from peers not applied because they break the limits a client's write is held
    /// to (`Limits`: field sizes, counts, empty names, control characters).
    peer_versions_refused,
    /// Messages not sent because their destination is not a peer: an answer to a message whose
    /// sender this node has not admitted.
    messages_to_strangers_dropped,
    /// Client registers of new instances answered -509: beyond `max_instances`,
    /// `max_instances_per_app` or `max_apps`.
    writes_refused_over_limits,
    /// Renews (from clients or peers) of instances this node does not hold: answered -404 and
    /// not counted towards protection mode.
    unheld_renews,
    /// Client writes answered when `peer_ack_wait` ran out with no peer's acknowledgement
    /// (`durability = "peer"` only): durable on this node alone.
    writes_answered_unacknowledged,
}

#[cfg(test)]
mod tests {
    use super::NodeStats;

    #[test]
    fn every_counter_is_named_settable_and_summed() {
        let mut one = NodeStats::default();
        for (i, name) in NodeStats::NAMES.iter().enumerate() {
            *one.counter_mut(name).expect("a counter") = i as u64 + 1;
        }
        assert_eq!(one.counter_mut("no_such_counter"), None);
        let mut total = one;
        total.add(&one);
        let counters = total.counters();
        assert_eq!(counters.len(), NodeStats::NAMES.len());
        for (i, (name, value)) in counters.into_iter().enumerate() {
            assert_eq!((name, value), (NodeStats::NAMES[i], 2 * (i as u64 + 1)));
        }
    }
}
