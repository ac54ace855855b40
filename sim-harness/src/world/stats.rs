//! Node counters over a whole run: a node's `NodeStats` start from zero at every restart, so
//! the world keeps the sum of the incarnations that crashed.

use registry::core::NodeStats;

use super::World;

impl World {
    /// Every node's counters summed over the run: the running (or paused) incarnations plus
    /// every incarnation that crashed.
    pub(crate) fn total_stats(&self) -> NodeStats {
        let mut total = self.retired_stats;
        for index in 0..self.len() {
            if let Some(node) = self.node(index) {
                add_stats(&mut total, &node.stats());
            }
        }
        total
    }

    /// Keeps node `index`'s counters before its state is lost.
    pub(super) fn retire_stats(&mut self, index: usize) {
        if let Some(node) = self.node(index) {
            let stats = node.stats();
            add_stats(&mut self.retired_stats, &stats);
        }
    }
}

/// Adds `more` to `total`, counter by counter.
///
/// Destructures `more` completely so that a counter added to `NodeStats` fails to compile here
/// instead of being silently left out of reports.
pub(crate) fn add_stats(total: &mut NodeStats, more: &NodeStats) {
    let NodeStats {
        replication_enqueued,
        replication_batches,
        replication_retried,
        replication_dropped_overflow,
        replication_dropped_expired,
        renew_not_found_resent,
        conflicts_adopted,
        absorbed_by_tombstone,
        anti_entropy_rounds,
        anti_entropy_repairs,
        repairs_skipped_expired,
        dead_copies_dropped,
        reads_refused_not_ready,
        eviction_rounds_capped,
        writes_refused_after_stall,
        future_versions_refused,
        peer_versions_refused,
        messages_to_strangers_dropped,
        writes_refused_over_limits,
        unheld_renews,
        writes_answered_unacknowledged,
    } = *more;
    total.replication_enqueued += replication_enqueued;
    total.replication_batches += replication_batches;
    total.replication_retried += replication_retried;
    total.replication_dropped_overflow += replication_dropped_overflow;
    total.replication_dropped_expired += replication_dropped_expired;
    total.renew_not_found_resent += renew_not_found_resent;
    total.conflicts_adopted += conflicts_adopted;
    total.absorbed_by_tombstone += absorbed_by_tombstone;
    total.anti_entropy_rounds += anti_entropy_rounds;
    total.anti_entropy_repairs += anti_entropy_repairs;
    total.repairs_skipped_expired += repairs_skipped_expired;
    total.dead_copies_dropped += dead_copies_dropped;
    total.reads_refused_not_ready += reads_refused_not_ready;
    total.eviction_rounds_capped += eviction_rounds_capped;
    total.writes_refused_after_stall += writes_refused_after_stall;
    total.future_versions_refused += future_versions_refused;
    total.peer_versions_refused += peer_versions_refused;
    total.messages_to_strangers_dropped += messages_to_strangers_dropped;
    total.writes_refused_over_limits += writes_refused_over_limits;
    total.unheld_renews += unheld_renews;
    total.writes_answered_unacknowledged += writes_answered_unacknowledged;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;
    use crate::world::WorldConfig;

    #[test]
    fn add_stats_sums_every_counter() {
        let one = NodeStats {
            replication_enqueued: 1,
            eviction_rounds_capped: 2,
            ..NodeStats::default()
        };
        let mut total = one;
        add_stats(&mut total, &one);
        assert_eq!(total.replication_enqueued, 2);
        assert_eq!(total.eviction_rounds_capped, 4);
    }

    #[test]
    fn a_crash_keeps_the_lost_incarnation_counters() {
        let mut world = World::new(1, &WorldConfig::default()).expect("valid config");
        while world.now() < crate::time::SimTime::from_secs(120) {
            if world.step().is_none() {
                break;
            }
        }
        let before = world.total_stats();
        assert!(before.anti_entropy_rounds > 0, "{before:?}");
        world.apply(&Fault::Crash { node: 0 });
        let after = world.total_stats();
        assert_eq!(after, before, "crashing loses no counts");
        world.apply(&Fault::Restart { node: 0 });
        let restarted = world.total_stats();
        // The fresh incarnation starts from zero and adds its own (it registers itself).
        assert_eq!(restarted.anti_entropy_rounds, before.anti_entropy_rounds);
        assert!(restarted.replication_enqueued >= before.replication_enqueued);
    }
}
