//! Each node's clock: monotonic time is the world's virtual time; wall time is skewed.

use std::cell::Cell;
use std::rc::Rc;

use registry::core::{Clock, Mono};

use crate::time::SimTime;

/// Unix time (ns) at the start of every run: 2023-11-14T22:13:20Z. Fixed, so runs replay.
pub(crate) const EPOCH_NS: i64 = 1_700_000_000_000_000_000;

/// The world's current virtual time, shared by the world (which moves it) and every clock.
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedTime(Rc<Cell<SimTime>>);

impl SharedTime {
    /// A shared time at the start of the run.
    pub(crate) fn new() -> SharedTime {
        SharedTime::default()
    }

    /// The current virtual time.
    pub(crate) fn now(&self) -> SimTime {
        self.0.get()
    }

    /// Moves time forward to `to`.
    ///
    /// # Panics
    ///
    /// If `to` is before now: virtual time never goes backwards.
    pub(crate) fn advance_to(&self, to: SimTime) {
        assert!(
            to >= self.now(),
            "virtual time going backwards: {to} < {}",
            self.now()
        );
        self.0.set(to);
    }
}

/// A node's clock: `mono()` is virtual time; `wall()` is
/// `EPOCH_NS + virtual time + offset + drift + jumps`.
///
/// Drift is in parts per million of elapsed virtual time, accumulated piecewise so changing the
/// rate does not rewrite the past. All arithmetic is integer, so it is exact and replayable.
#[derive(Debug)]
pub(crate) struct SimClock {
    time: SharedTime,
    offset_ns: Cell<i64>,
    drift_ppm: Cell<i64>,
    /// Drift accumulated before `drift_since`, in ns.
    drift_before_ns: Cell<i64>,
    drift_since: Cell<SimTime>,
    jumps_ns: Cell<i64>,
}

impl SimClock {
    /// An accurate clock reading the world's `time`.
    pub(crate) fn new(time: SharedTime) -> SimClock {
        SimClock {
            time,
            offset_ns: Cell::new(0),
            drift_ppm: Cell::new(0),
            drift_before_ns: Cell::new(0),
            drift_since: Cell::new(SimTime::ZERO),
            jumps_ns: Cell::new(0),
        }
    }

    /// Sets the constant skew of the wall clock, in ns (positive: ahead of true time).
    pub(crate) fn set_offset_ns(&self, offset_ns: i64) {
        self.offset_ns.set(offset_ns);
    }

    /// The constant skew, in ns.
    #[cfg(test)]
    pub(crate) fn offset_ns(&self) -> i64 {
        self.offset_ns.get()
    }

    /// Sets the drift rate from now on, in parts per million (positive: runs fast).
    pub(crate) fn set_drift_ppm(&self, drift_ppm: i64) {
        let now = self.time.now();
        self.drift_before_ns.set(self.drift_ns(now));
        self.drift_since.set(now);
        self.drift_ppm.set(drift_ppm);
    }

    /// The current drift rate, in parts per million.
    #[cfg(test)]
    pub(crate) fn drift_ppm(&self) -> i64 {
        self.drift_ppm.get()
    }

    /// Steps the wall clock by `by_ns` (negative: backwards), as NTP or an operator might.
    pub(crate) fn jump_ns(&self, by_ns: i64) {
        self.jumps_ns.set(self.jumps_ns.get().saturating_add(by_ns));
    }

    /// The sum of all jumps so far, in ns.
    #[cfg(test)]
    pub(crate) fn jumps_ns(&self) -> i64 {
        self.jumps_ns.get()
    }

    /// How far `wall()` is from true time right now, in ns.
    pub(crate) fn error_ns(&self) -> i64 {
        self.offset_ns
            .get()
            .saturating_add(self.drift_ns(self.time.now()))
            .saturating_add(self.jumps_ns.get())
    }

    fn drift_ns(&self, now: SimTime) -> i64 {
        if self.drift_ppm.get() == 0 {
            // Most clocks do not drift: skip the 128-bit division every wall reading would pay.
            return self.drift_before_ns.get();
        }
        let elapsed = i128::from(
            now.as_nanos()
                .saturating_sub(self.drift_since.get().as_nanos()),
        );
        let current = elapsed * i128::from(self.drift_ppm.get()) / 1_000_000;
        let total = i128::from(self.drift_before_ns.get()) + current;
        i64::try_from(total).unwrap_or(if total < 0 { i64::MIN } else { i64::MAX })
    }
}

impl Clock for SimClock {
    fn wall(&self) -> i64 {
        let true_ns = i64::try_from(self.time.now().as_nanos()).unwrap_or(i64::MAX);
        EPOCH_NS
            .saturating_add(true_ns)
            .saturating_add(self.error_ns())
    }

    fn mono(&self) -> Mono {
        self.time.now().to_mono()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SEC: i64 = 1_000_000_000;

    fn at(time: &SharedTime, secs: u64) {
        time.advance_to(SimTime::from_secs(secs));
    }

    #[test]
    fn an_accurate_clock_reads_virtual_time() {
        let time = SharedTime::new();
        let clock = SimClock::new(time.clone());
        at(&time, 5);
        assert_eq!(clock.mono(), Mono::from_nanos(5 * SEC as u64));
        assert_eq!(clock.wall(), EPOCH_NS + 5 * SEC);
    }

    #[test]
    fn offset_shifts_wall_only() {
        let time = SharedTime::new();
        let clock = SimClock::new(time.clone());
        clock.set_offset_ns(-3 * SEC);
        at(&time, 10);
        assert_eq!(clock.wall(), EPOCH_NS + 7 * SEC);
        assert_eq!(clock.mono(), SimTime::from_secs(10).to_mono());
        assert_eq!(clock.offset_ns(), -3 * SEC);
    }

    #[test]
    fn drift_accumulates_piecewise() {
        let time = SharedTime::new();
        let clock = SimClock::new(time.clone());
        clock.set_drift_ppm(100);
        at(&time, 1000);
        // 100 ppm of 1000 s is 100 ms.
        assert_eq!(clock.error_ns(), 100_000_000);
        clock.set_drift_ppm(-50);
        assert_eq!(
            clock.error_ns(),
            100_000_000,
            "changing the rate keeps the past"
        );
        at(&time, 3000);
        // minus 50 ppm of 2000 s is minus 100 ms.
        assert_eq!(clock.error_ns(), 0);
        assert_eq!(clock.drift_ppm(), -50);
    }

    #[test]
    fn mono_never_goes_backwards_when_wall_jumps_back() {
        let time = SharedTime::new();
        let clock = SimClock::new(time.clone());
        at(&time, 60);
        let (wall_before, mono_before) = (clock.wall(), clock.mono());
        clock.jump_ns(-30 * SEC);
        assert_eq!(clock.wall(), wall_before - 30 * SEC);
        assert_eq!(clock.mono(), mono_before);
        time.advance_to(time.now() + Duration::from_secs(1));
        assert!(clock.mono() > mono_before);
        assert!(clock.wall() < wall_before, "wall is still behind after 1 s");
        clock.jump_ns(45 * SEC);
        assert_eq!(clock.jumps_ns(), 15 * SEC);
    }

    #[test]
    fn clocks_share_the_world_time() {
        let time = SharedTime::new();
        let a = SimClock::new(time.clone());
        let b = SimClock::new(time.clone());
        b.set_offset_ns(SEC);
        at(&time, 2);
        assert_eq!(a.mono(), b.mono());
        assert_eq!(b.wall() - a.wall(), SEC);
    }

    #[test]
    #[should_panic(expected = "backwards")]
    fn virtual_time_cannot_go_backwards() {
        let time = SharedTime::new();
        at(&time, 2);
        at(&time, 1);
    }
}
