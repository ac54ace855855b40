//! Eviction: rounds that remove expired instances, and which ones a round removes.
//!
//! A round removes at most `size - floor(size * keep_percent / 100)` instances, picked at random
//! from the expired ones, so a node that lost contact with many clients at once does not wipe
//! whole apps before protection mode engages, and the loss spreads evenly across apps.

use std::time::Duration;

use rand::Rng;

use crate::api::InstanceKey;

use super::clock::{Clock, Mono};
use super::network::Network;
use super::node::{Node, NodeEvent};

impl<C: Clock, N: Network> Node<C, N> {
    /// An eviction round: removes (some of) the instances whose lease expired.
    pub(super) fn evict(&mut self, now: Mono) {
        let protected = self.guard.is_protected();
        let lease = &self.config.lease;
        let limit = if protected {
            lease.protected_evict_after
        } else {
            lease.evict_after
        };
        let expired: Vec<(InstanceKey, Duration)> = self
            .table
            .entries()
            .map(|e| (e, now.saturating_since(e.renewed_at)))
            .filter(|(_, silent)| *silent > limit)
            .map(|(e, silent)| (InstanceKey::of(&e.instance), silent))
            .collect();
        let registry_size = self.table.len();
        let cap = round_cap(registry_size, lease.eviction_keep_percent);
        let expired_count = expired.len();
        if expired_count > cap {
            self.stats.eviction_rounds_capped += 1;
        }
        let victims = pick(expired, cap, &mut self.rng);
        let evicted = victims.len();
        for (key, silent_for) in victims {
            if self.table.evict(&key, self.clock.wall()) {
                self.wake(&key.app());
                self.on_app_changed(&key.app());
                self.events
                    .push_back(NodeEvent::Evicted { key, silent_for });
            }
        }
        self.events.push_back(NodeEvent::EvictionRound {
            registry_size,
            expired: expired_count,
            cap,
            evicted,
            protected,
        });
    }

    /// Removes a dead copy found by anti-entropy (see `repair_from`): like an eviction, local
    /// and without a tombstone.
    pub(super) fn drop_dead(&mut self, key: InstanceKey, silent_for: Duration) {
        if self.table.evict(&key, self.clock.wall()) {
            self.stats.dead_copies_dropped += 1;
            self.wake(&key.app());
            self.on_app_changed(&key.app());
            self.events
                .push_back(NodeEvent::DroppedDead { key, silent_for });
        }
    }
}

/// The most instances one round may evict from a registry of `size`.
pub(crate) fn round_cap(size: usize, keep_percent: u64) -> usize {
    let size_u = size as u128;
    let kept = size_u * u128::from(keep_percent.min(100)) / 100;
    // kept <= size, so the difference fits back into usize.
    usize::try_from(size_u - kept).unwrap_or(size)
}

/// Picks at most `cap` of `candidates` uniformly at random (partial Fisher-Yates), in the order
/// drawn. `candidates` must arrive in a deterministic order for the pick to be reproducible.
pub(crate) fn pick<T>(mut candidates: Vec<T>, cap: usize, rng: &mut impl Rng) -> Vec<T> {
    let take = cap.min(candidates.len());
    for i in 0..take {
        let j = rng.gen_range(i..candidates.len());
        candidates.swap(i, j);
    }
    candidates.truncate(take);
    candidates
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    #[test]
    fn cap_is_size_minus_the_floor_of_85_percent() {
        assert_eq!(round_cap(0, 85), 0);
        assert_eq!(round_cap(1, 85), 1); // floor(0.85) = 0
        assert_eq!(round_cap(10, 85), 2); // 10 - 8
        assert_eq!(round_cap(100, 85), 15);
        assert_eq!(round_cap(7, 85), 2); // 7 - floor(5.95)
        assert_eq!(round_cap(10, 100), 0);
    }

    #[test]
    fn the_same_seed_picks_the_same_victims() {
        let pick_with = |seed| {
            pick(
                (0..50).collect::<Vec<_>>(),
                7,
                &mut ChaCha8Rng::seed_from_u64(seed),
            )
        };
        assert_eq!(pick_with(1), pick_with(1));
        assert_ne!(pick_with(1), pick_with(2));
    }

    proptest! {
        #[test]
        fn a_round_never_exceeds_the_cap(size in 0usize..500, expired in 0usize..500, seed: u64) {
            let expired = expired.min(size);
            let cap = round_cap(size, 85);
            let victims = pick((0..expired).collect::<Vec<_>>(), cap, &mut ChaCha8Rng::seed_from_u64(seed));
            prop_assert!(victims.len() <= cap);
            prop_assert_eq!(victims.len(), expired.min(cap));
            let mut unique = victims.clone();
            unique.sort_unstable();
            unique.dedup();
            prop_assert_eq!(unique.len(), victims.len(), "no instance picked twice");
            prop_assert!(victims.iter().all(|v| *v < expired));
        }
    }
}
