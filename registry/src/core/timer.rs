//! The node's timers: one small table, so the driver only needs the earliest deadline.

use super::clock::Mono;

/// Everything the node does on its own schedule. Timers due at the same instant fire in this
/// order: the renew window closes (deciding protection) before an eviction round reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// Close the renew window and decide protection mode.
    RenewWindow,
    /// Run an eviction round.
    Eviction,
    /// Expect renews only of the instances that have renewed (see `Table::reset_expectation`).
    ExpectedReset,
    /// Drop tombstones past retention.
    TombstoneGc,
    /// Renew the node's own `infra.discovery` registration.
    SelfRenew,
    /// Start an anti-entropy exchange with one peer.
    AntiEntropy,
    /// Send due replication batches and retry unanswered ones (armed while queues need it).
    Replication,
    /// Ask peers again for startup sync, or give up waiting (armed until synced).
    Sync,
}

impl Timer {
    /// Every timer, in firing order.
    pub(crate) const ALL: [Timer; 8] = [
        Timer::RenewWindow,
        Timer::Eviction,
        Timer::ExpectedReset,
        Timer::TombstoneGc,
        Timer::SelfRenew,
        Timer::AntiEntropy,
        Timer::Replication,
        Timer::Sync,
    ];

    /// Whether the timer re-arms itself forever (as opposed to being armed on demand).
    pub(crate) const fn is_periodic(self) -> bool {
        !matches!(self, Timer::Replication | Timer::Sync)
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// Deadlines of every [`Timer`]; `None` when disarmed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Timers {
    deadlines: [Option<Mono>; Timer::ALL.len()],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Mono) {
        self.deadlines[timer.index()] = Some(at);
    }

    /// Arms the timer at `at`, or disarms it with `None`.
    pub(crate) fn set_or_clear(&mut self, timer: Timer, at: Option<Mono>) {
        self.deadlines[timer.index()] = at;
    }

    pub(crate) fn deadline(&self, timer: Timer) -> Option<Mono> {
        self.deadlines[timer.index()]
    }

    /// The earliest armed deadline.
    pub(crate) fn next(&self) -> Option<Mono> {
        self.deadlines.iter().copied().fold(None, Mono::earliest)
    }

    /// Disarms and returns the timers due at `now`, in firing order.
    pub(crate) fn take_due(&mut self, now: Mono) -> impl Iterator<Item = Timer> {
        let mut due = [false; Timer::ALL.len()];
        for (deadline, due) in self.deadlines.iter_mut().zip(&mut due) {
            *due = deadline.take_if(|d| *d <= now).is_some();
        }
        Timer::ALL.into_iter().filter(move |t| due[t.index()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_fire_in_declared_order_and_are_disarmed() {
        let mut timers = Timers::default();
        timers.set(Timer::Eviction, Mono::from_nanos(5));
        timers.set(Timer::RenewWindow, Mono::from_nanos(5));
        timers.set(Timer::TombstoneGc, Mono::from_nanos(9));
        assert_eq!(timers.next(), Some(Mono::from_nanos(5)));
        assert_eq!(
            timers.take_due(Mono::from_nanos(6)).collect::<Vec<_>>(),
            [Timer::RenewWindow, Timer::Eviction]
        );
        assert_eq!(timers.deadline(Timer::Eviction), None);
        assert_eq!(timers.next(), Some(Mono::from_nanos(9)));
        timers.set_or_clear(Timer::TombstoneGc, None);
        assert_eq!(timers.next(), None);
    }

    /// The node's debug check holds every periodic timer armed after each step: the six
    /// schedules are periodic; replication and startup sync are armed on demand.
    #[test]
    fn the_schedules_are_periodic_and_replication_and_sync_are_not() {
        let periodic: Vec<Timer> = Timer::ALL.into_iter().filter(|t| t.is_periodic()).collect();
        assert_eq!(
            periodic,
            [
                Timer::RenewWindow,
                Timer::Eviction,
                Timer::ExpectedReset,
                Timer::TombstoneGc,
                Timer::SelfRenew,
                Timer::AntiEntropy,
            ]
        );
    }
}
