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
                total.add(&node.stats());
            }
        }
        total
    }

    /// Keeps node `index`'s counters before its state is lost.
    pub(super) fn retire_stats(&mut self, index: usize) {
        if let Some(node) = self.node(index) {
            self.retired_stats.add(&node.stats());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Fault;
    use crate::world::WorldConfig;

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
