//! The hybrid logical clock that stamps versions (`dirty_timestamp`, `set_timestamp`).
//!
//! A stamp is `max(wall, highest seen + 1)`: a node whose wall clock lags still orders its
//! writes after everything it has already seen, and two stamps from one node never tie.

/// Hybrid logical clock state: the highest timestamp issued or observed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Hlc {
    highest: i64,
}

impl Hlc {
    /// A fresh stamp, strictly above every stamp issued or observed so far.
    pub(crate) fn stamp(&mut self, wall: i64) -> i64 {
        self.highest = wall.max(self.highest.saturating_add(1));
        self.highest
    }

    /// Advances past a timestamp received from a client or a peer.
    pub(crate) fn observe(&mut self, timestamp: i64) {
        self.highest = self.highest.max(timestamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_follow_the_wall_clock_when_it_leads() {
        let mut hlc = Hlc::default();
        assert_eq!(hlc.stamp(100), 100);
        assert_eq!(hlc.stamp(200), 200);
    }

    #[test]
    fn a_lagging_wall_clock_still_orders_after_what_was_seen() {
        let mut hlc = Hlc::default();
        hlc.observe(1_000);
        assert_eq!(hlc.stamp(10), 1_001);
        assert_eq!(hlc.stamp(10), 1_002, "two stamps never tie");
    }

    #[test]
    fn observing_an_older_timestamp_changes_nothing() {
        let mut hlc = Hlc::default();
        hlc.stamp(500);
        hlc.observe(100);
        assert_eq!(hlc.stamp(0), 501);
    }
}
