//! Protection mode (self-preservation): stop expiring leases when renewals collapse.
//!
//! A node expects `renews_per_instance` renews per window for each instance it holds (+ on each
//! new registration, - on each cancel and eviction, reset periodically to `renews_per_instance`
//! times the instances a renew has reached since they were stored). At the end of every window
//! it compares the renews it counted (from clients and peers, of instances it holds) with
//! `floor(expected * threshold_percent / 100)`: fewer means the node, not the instances, is
//! probably cut off, and it stops evicting anything younger than the ceiling.
//!
//! Outsiders cannot steer it for long: renews of names the node does not hold do not count, and
//! registrations that never renew leave the expectation at the next reset.

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

/// Protection mode state of one node. The expectation is not kept here: the table knows which
/// instances are expected to renew (`Table::expected_count`), and every decision is taken
/// from that count, so the two cannot drift apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Guard {
    renews_per_instance: u64,
    threshold_percent: u64,
    renews_this_window: u64,
    renews_last_window: u64,
    /// Renews of instances the node does not hold, this window and the last closed one: not
    /// counted (see `on_unheld_renew`), only reported.
    unheld_this_window: u64,
    unheld_last_window: u64,
    /// The automatic decision at the last window close; `None` before the first.
    decided: Option<bool>,
    override_mode: ProtectionOverride,
}

impl Guard {
    pub(crate) fn new(config: &ProtectionConfig) -> Guard {
        Guard {
            renews_per_instance: config.renews_per_instance,
            threshold_percent: config.threshold_percent,
            renews_this_window: 0,
            renews_last_window: 0,
            unheld_this_window: 0,
            unheld_last_window: 0,
            decided: None,
            override_mode: ProtectionOverride::Auto,
        }
    }

    /// A renew (from a client or a peer) of an instance the node holds.
    pub(crate) fn on_renew(&mut self) {
        self.renews_this_window = self.renews_this_window.saturating_add(1);
    }

    /// A renew of an instance the node does not hold. It does not count: it says nothing about
    /// whether this node's clients reach it, and counting it would let anyone keep a cut-off
    /// node evicting by renewing names it never had.
    pub(crate) fn on_unheld_renew(&mut self) {
        self.unheld_this_window = self.unheld_this_window.saturating_add(1);
    }

    /// Unheld renews of the last closed window.
    pub(crate) fn unheld_last_window(&self) -> u64 {
        self.unheld_last_window
    }

    /// Renews expected per window from `instances` expected to renew.
    fn expected(&self, instances: usize) -> u64 {
        let count = u64::try_from(instances).unwrap_or(u64::MAX);
        count.saturating_mul(self.renews_per_instance)
    }

    fn threshold(&self, expected: u64) -> u64 {
        // u128 keeps `expected * percent` exact for any u64 expectation.
        let threshold = u128::from(expected) * u128::from(self.threshold_percent) / 100;
        u64::try_from(threshold).unwrap_or(u64::MAX)
    }

    /// Closes the renew window and decides the mode from it, `instances` being expected to
    /// renew.
    pub(crate) fn close_window(&mut self, instances: usize) {
        self.renews_last_window = std::mem::take(&mut self.renews_this_window);
        self.unheld_last_window = std::mem::take(&mut self.unheld_this_window);
        let threshold = self.threshold(self.expected(instances));
        self.decided = Some(self.renews_last_window < threshold);
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

    /// The mode and its numbers, `instances` being expected to renew.
    pub(crate) fn status(&self, instances: usize) -> ProtectionStatus {
        let reason = match (self.override_mode, self.decided) {
            (ProtectionOverride::ForceOn, _) => ProtectionReason::ForcedOn,
            (ProtectionOverride::ForceOff, _) => ProtectionReason::ForcedOff,
            (ProtectionOverride::Auto, None) => ProtectionReason::NoWindowYet,
            (ProtectionOverride::Auto, Some(true)) => ProtectionReason::RenewsBelowThreshold,
            (ProtectionOverride::Auto, Some(false)) => ProtectionReason::RenewsMeetThreshold,
        };
        let expected = self.expected(instances);
        ProtectionStatus {
            protected: self.is_protected(),
            override_mode: self.override_mode,
            expected_renews: expected,
            threshold: self.threshold(expected),
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
    fn each_reason_reads_as_the_status_page_shows_it() {
        // The status page and its JSON print these words; an empty or swapped one would leave
        // an operator without the why.
        let words = [
            (
                ProtectionReason::NoWindowYet,
                "no renew window has closed yet",
            ),
            (
                ProtectionReason::RenewsBelowThreshold,
                "renews in the last window fell below the threshold",
            ),
            (
                ProtectionReason::RenewsMeetThreshold,
                "renews in the last window met the threshold",
            ),
            (ProtectionReason::ForcedOn, "forced on by the operator"),
            (ProtectionReason::ForcedOff, "forced off by the operator"),
        ];
        for (reason, text) in words {
            assert_eq!(reason.to_string(), text);
        }
    }

    #[test]
    fn expectation_is_two_renews_per_expected_instance() {
        let g = guard();
        assert_eq!(g.status(10).expected_renews, 20);
        assert_eq!(g.status(0).expected_renews, 0);
        assert_eq!(g.status(usize::MAX).expected_renews, u64::MAX, "saturates");
    }

    #[test]
    fn threshold_is_the_floor_of_85_percent() {
        let g = guard();
        assert_eq!(g.status(10).threshold, 17); // 20 -> 17
        assert_eq!(g.status(11).threshold, 18); // 22 -> 18.7 -> 18
    }

    #[test]
    fn not_protected_before_the_first_window() {
        let g = guard();
        assert!(!g.is_protected());
        assert_eq!(g.status(10).reason, ProtectionReason::NoWindowYet);
    }

    #[test]
    fn protected_exactly_when_renews_fall_below_the_threshold() {
        let mut g = guard();
        (0..16).for_each(|_| g.on_renew());
        g.close_window(10); // threshold 17
        assert!(g.is_protected());
        assert_eq!(g.status(10).reason, ProtectionReason::RenewsBelowThreshold);
        (0..17).for_each(|_| g.on_renew());
        g.close_window(10);
        assert!(!g.is_protected());
        assert_eq!(g.status(10).renews_last_window, 17);
    }

    #[test]
    fn unheld_renews_are_reported_and_never_counted() {
        let mut g = guard();
        (0..100).for_each(|_| g.on_unheld_renew());
        (0..3).for_each(|_| g.on_renew());
        g.close_window(10);
        assert!(g.is_protected(), "3 renews < 17");
        assert_eq!(g.unheld_last_window(), 100);
        assert_eq!(g.status(10).renews_last_window, 3);
        g.close_window(10);
        assert_eq!(g.unheld_last_window(), 0, "per window");
    }

    #[test]
    fn the_operator_override_wins() {
        let mut g = guard();
        g.close_window(10); // zero renews: automatic decision is protected
        g.set_override(ProtectionOverride::ForceOff);
        assert!(!g.is_protected());
        assert_eq!(g.status(10).reason, ProtectionReason::ForcedOff);
        g.set_override(ProtectionOverride::ForceOn);
        g.close_window(0);
        assert!(g.is_protected());
        g.set_override(ProtectionOverride::Auto);
        assert!(
            !g.is_protected(),
            "empty registry: threshold 0, nothing to protect"
        );
    }

    proptest! {
        /// Random windows of expected instances and renews: after every window the decision
        /// equals the formula computed independently here.
        #[test]
        fn decision_matches_the_formula(
            windows in prop::collection::vec((0usize..60, 0u64..150, 0u64..50), 1..20)
        ) {
            let mut g = guard();
            for (instances, renews, unheld) in windows {
                (0..renews).for_each(|_| g.on_renew());
                (0..unheld).for_each(|_| g.on_unheld_renew());
                g.close_window(instances);
                let threshold = (instances as f64 * 2.0 * 0.85).floor() as u64;
                let status = g.status(instances);
                prop_assert_eq!(status.expected_renews, 2 * instances as u64);
                prop_assert_eq!(status.threshold, threshold);
                prop_assert_eq!(g.is_protected(), renews < threshold);
            }
        }
    }
}
