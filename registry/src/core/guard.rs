//! Protection mode (self-preservation): stop expiring leases when renewals collapse.
//!
//! A node expects `renews_per_instance` renews per window for each instance it holds (+ on each
//! new registration, - on each cancel and eviction, reset to `renews_per_instance * count`
//! periodically). At the end of every window it compares the renews it counted (from clients
//! and peers) with `floor(expected * threshold_percent / 100)`: fewer means the node, not the
//! instances, is probably cut off, and it stops evicting anything younger than the ceiling.

use std::fmt;

use super::config::ProtectionConfig;

/// The operator's override of the automatic decision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtectionOverride {
    /// Decide from the renew count (the default).
    #[default]
    Auto,
    /// Always protected.
    ForceOn,
    /// Never protected.
    ForceOff,
}

/// Why the node is (or is not) protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectionReason {
    /// No renew window has closed yet; the node is not protected.
    NoWindowYet,
    /// The last window's renews were below the threshold.
    RenewsBelowThreshold,
    /// The last window's renews reached the threshold.
    RenewsMeetThreshold,
    /// The operator forced protection on.
    ForcedOn,
    /// The operator forced protection off.
    ForcedOff,
}

impl fmt::Display for ProtectionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtectionReason::NoWindowYet => "no renew window has closed yet",
            ProtectionReason::RenewsBelowThreshold => {
                "renews in the last window fell below the threshold"
            }
            ProtectionReason::RenewsMeetThreshold => "renews in the last window met the threshold",
            ProtectionReason::ForcedOn => "forced on by the operator",
            ProtectionReason::ForcedOff => "forced off by the operator",
        })
    }
}

/// The protection mode and the numbers behind it, as metrics and the status page show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtectionStatus {
    /// Whether eviction is limited to instances silent past the ceiling.
    pub protected: bool,
    /// The operator's override.
    pub override_mode: ProtectionOverride,
    /// Expected renews per window.
    pub expected_renews: u64,
    /// `floor(expected * threshold_percent / 100)`.
    pub threshold: u64,
    /// Renews counted in the last closed window.
    pub renews_last_window: u64,
    /// Renews counted so far in the current window.
    pub renews_this_window: u64,
    /// Why.
    pub reason: ProtectionReason,
}

/// Protection mode state of one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Guard {
    renews_per_instance: u64,
    threshold_percent: u64,
    expected: u64,
    renews_this_window: u64,
    renews_last_window: u64,
    /// The automatic decision at the last window close; `None` before the first.
    decided: Option<bool>,
    override_mode: ProtectionOverride,
}

impl Guard {
    pub(crate) fn new(config: &ProtectionConfig) -> Guard {
        Guard {
            renews_per_instance: config.renews_per_instance,
            threshold_percent: config.threshold_percent,
            expected: 0,
            renews_this_window: 0,
            renews_last_window: 0,
            decided: None,
            override_mode: ProtectionOverride::Auto,
        }
    }

    /// A new instance registered.
    pub(crate) fn on_inserted(&mut self) {
        self.expected = self.expected.saturating_add(self.renews_per_instance);
    }

    /// An instance was cancelled or evicted.
    pub(crate) fn on_removed(&mut self) {
        self.expected = self.expected.saturating_sub(self.renews_per_instance);
    }

    /// A renew (from a client or a peer) was accepted.
    pub(crate) fn on_renew(&mut self) {
        self.renews_this_window = self.renews_this_window.saturating_add(1);
    }

    /// The periodic reset of the expectation to the current registry size.
    pub(crate) fn reset_expected(&mut self, instances: usize) {
        let count = u64::try_from(instances).unwrap_or(u64::MAX);
        self.expected = count.saturating_mul(self.renews_per_instance);
    }

    pub(crate) fn threshold(&self) -> u64 {
        // u128 keeps `expected * percent` exact for any u64 expectation.
        let threshold = u128::from(self.expected) * u128::from(self.threshold_percent) / 100;
        u64::try_from(threshold).unwrap_or(u64::MAX)
    }

    /// Closes the renew window and decides the mode from it.
    pub(crate) fn close_window(&mut self) {
        self.renews_last_window = std::mem::take(&mut self.renews_this_window);
        self.decided = Some(self.renews_last_window < self.threshold());
    }

    pub(crate) fn set_override(&mut self, mode: ProtectionOverride) {
        self.override_mode = mode;
    }

    pub(crate) fn is_protected(&self) -> bool {
        match self.override_mode {
            ProtectionOverride::ForceOn => true,
            ProtectionOverride::ForceOff => false,
            ProtectionOverride::Auto => self.decided.unwrap_or(false),
        }
    }

    pub(crate) fn status(&self) -> ProtectionStatus {
        let reason = match (self.override_mode, self.decided) {
            (ProtectionOverride::ForceOn, _) => ProtectionReason::ForcedOn,
            (ProtectionOverride::ForceOff, _) => ProtectionReason::ForcedOff,
            (ProtectionOverride::Auto, None) => ProtectionReason::NoWindowYet,
            (ProtectionOverride::Auto, Some(true)) => ProtectionReason::RenewsBelowThreshold,
            (ProtectionOverride::Auto, Some(false)) => ProtectionReason::RenewsMeetThreshold,
        };
        ProtectionStatus {
            protected: self.is_protected(),
            override_mode: self.override_mode,
            expected_renews: self.expected,
            threshold: self.threshold(),
            renews_last_window: self.renews_last_window,
            renews_this_window: self.renews_this_window,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn guard() -> Guard {
        Guard::new(&ProtectionConfig::default())
    }

    #[test]
    fn expectation_follows_registrations_cancels_and_resets() {
        let mut g = guard();
        (0..10).for_each(|_| g.on_inserted());
        assert_eq!(g.status().expected_renews, 20);
        g.on_removed();
        assert_eq!(g.status().expected_renews, 18);
        g.reset_expected(4);
        assert_eq!(g.status().expected_renews, 8);
        (0..10).for_each(|_| g.on_removed());
        assert_eq!(g.status().expected_renews, 0, "never below zero");
    }

    #[test]
    fn threshold_is_the_floor_of_85_percent() {
        let mut g = guard();
        (0..10).for_each(|_| g.on_inserted()); // expected 20 -> threshold 17
        assert_eq!(g.threshold(), 17);
        g.on_inserted(); // expected 22 -> 18.7 -> 18
        assert_eq!(g.threshold(), 18);
    }

    #[test]
    fn not_protected_before_the_first_window() {
        let mut g = guard();
        (0..10).for_each(|_| g.on_inserted());
        assert!(!g.is_protected());
        assert_eq!(g.status().reason, ProtectionReason::NoWindowYet);
    }

    #[test]
    fn protected_exactly_when_renews_fall_below_the_threshold() {
        let mut g = guard();
        (0..10).for_each(|_| g.on_inserted()); // threshold 17
        (0..16).for_each(|_| g.on_renew());
        g.close_window();
        assert!(g.is_protected());
        assert_eq!(g.status().reason, ProtectionReason::RenewsBelowThreshold);
        (0..17).for_each(|_| g.on_renew());
        g.close_window();
        assert!(!g.is_protected());
        assert_eq!(g.status().renews_last_window, 17);
    }

    #[test]
    fn the_operator_override_wins() {
        let mut g = guard();
        (0..10).for_each(|_| g.on_inserted());
        g.close_window(); // zero renews: automatic decision is protected
        g.set_override(ProtectionOverride::ForceOff);
        assert!(!g.is_protected());
        assert_eq!(g.status().reason, ProtectionReason::ForcedOff);
        g.set_override(ProtectionOverride::ForceOn);
        g.reset_expected(0);
        g.close_window();
        assert!(g.is_protected());
        g.set_override(ProtectionOverride::Auto);
        assert!(
            !g.is_protected(),
            "empty registry: threshold 0, nothing to protect"
        );
    }

    proptest! {
        /// Random histories of registrations, cancels, resets and renews: after every window
        /// the decision equals the formula computed independently here.
        #[test]
        fn decision_matches_the_formula(
            windows in prop::collection::vec((0u64..30, 0u64..10, 0u64..80, any::<bool>()), 1..20)
        ) {
            let mut g = guard();
            let mut model_expected: i64 = 0;
            let mut count: i64 = 0;
            for (inserted, removed, renews, reset) in windows {
                for _ in 0..inserted { g.on_inserted(); model_expected += 2; count += 1; }
                for _ in 0..removed.min(count as u64) { g.on_removed(); model_expected = (model_expected - 2).max(0); count -= 1; }
                if reset { g.reset_expected(count as usize); model_expected = 2 * count; }
                for _ in 0..renews { g.on_renew(); }
                g.close_window();
                let threshold = (model_expected as f64 * 0.85).floor() as u64;
                prop_assert_eq!(g.status().expected_renews, model_expected as u64);
                prop_assert_eq!(g.threshold(), threshold);
                prop_assert_eq!(g.is_protected(), renews < threshold);
            }
        }
    }
}
