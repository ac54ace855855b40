//! Time, as the node sees it: read only through [`Clock`], never from the operating system.

use std::ops::Add;
use std::time::Duration;

/// A point on a monotonic clock, in nanoseconds since an arbitrary origin.
///
/// Leases, ticks and timers use it; it never jumps. Wire timestamps use [`Clock::wall`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mono(u64);

impl Mono {
    /// The origin.
    pub const ZERO: Mono = Mono(0);

    /// The earlier of two deadlines, `None` meaning none. (`[a, b].into_iter().flatten().min()`
    /// says the same, but every node step asks, and that chain compiles to several times
    /// the instructions.)
    pub(crate) fn earliest(a: Option<Mono>, b: Option<Mono>) -> Option<Mono> {
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    /// The point `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Mono {
        Mono(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The point `by` before this one, or the origin if that is earlier.
    pub fn saturating_sub(self, by: Duration) -> Mono {
        Mono(
            self.0
                .saturating_sub(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// How long after `earlier` this point is; zero if it is not after it.
    pub fn saturating_since(self, earlier: Mono) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Mono {
    type Output = Mono;

    /// Saturates instead of overflowing: a deadline past the end of time never fires.
    fn add(self, rhs: Duration) -> Mono {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Mono(self.0.saturating_add(nanos))
    }
}

/// The node's only source of time.
///
/// The production runtime reads the system clocks; the simulator returns virtual time, possibly
/// skewed, drifting or jumping on the wall side.
pub trait Clock {
    /// Unix time in nanoseconds. May be skewed against other nodes and may jump.
    fn wall(&self) -> i64;
    /// Monotonic time: never goes backwards.
    fn mono(&self) -> Mono;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn wall(&self) -> i64 {
        (**self).wall()
    }

    fn mono(&self) -> Mono {
        (**self).mono()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates_at_the_end_of_time() {
        assert_eq!(
            Mono::from_nanos(u64::MAX - 1) + Duration::from_secs(1),
            Mono::from_nanos(u64::MAX)
        );
        assert_eq!(Mono::ZERO + Duration::from_nanos(5), Mono::from_nanos(5));
    }

    #[test]
    fn a_point_is_its_nanoseconds_since_the_origin() {
        assert_eq!(Mono::from_nanos(7).as_nanos(), 7);
        assert_eq!(
            (Mono::ZERO + Duration::from_secs(2)).as_nanos(),
            2_000_000_000
        );
        assert_eq!(Mono::ZERO.as_nanos(), 0);
    }

    /// What a node reads from the clock it was given (`Node<&C, _>` borrows one).
    fn read<C: Clock>(clock: C) -> (i64, Mono) {
        (clock.wall(), clock.mono())
    }

    #[test]
    fn a_borrowed_clock_reads_the_clock_it_borrows() {
        let clock = super::super::ManualClock::new(1_700_000_000_000_000_000);
        clock.advance(Duration::from_secs(3));
        assert_eq!(
            read(&clock),
            (1_700_000_003_000_000_000, Mono::from_nanos(3_000_000_000))
        );
    }

    #[test]
    fn since_never_goes_negative() {
        let early = Mono::from_nanos(10);
        let late = Mono::from_nanos(25);
        assert_eq!(late.saturating_since(early), Duration::from_nanos(15));
        assert_eq!(early.saturating_since(late), Duration::ZERO);
    }
}
