//! Virtual time: nanoseconds since the start of the simulated run.

use std::fmt;
use std::ops::{Add, AddAssign};
use std::time::Duration;

use registry::core::Mono;
use serde::{Deserialize, Serialize};

/// A point in virtual time, in nanoseconds since the run started; serialized as that number.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);
    /// The end of time; nothing scheduled there ever happens.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// The point `nanos` nanoseconds into the run.
    pub const fn from_nanos(nanos: u64) -> SimTime {
        SimTime(nanos)
    }

    /// The point `millis` milliseconds into the run.
    pub const fn from_millis(millis: u64) -> SimTime {
        SimTime(millis.saturating_mul(1_000_000))
    }

    /// The point `secs` seconds into the run.
    pub const fn from_secs(secs: u64) -> SimTime {
        SimTime(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the run started.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub const fn saturating_since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The same point on a node's monotonic clock (simulated nodes count from the run's start).
    pub const fn to_mono(self) -> Mono {
        Mono::from_nanos(self.0)
    }

    /// The virtual time a node's monotonic deadline falls on.
    pub const fn from_mono(mono: Mono) -> SimTime {
        SimTime(mono.as_nanos())
    }
}

impl Add<Duration> for SimTime {
    type Output = SimTime;

    /// Saturates: a deadline past the end of time never fires.
    fn add(self, rhs: Duration) -> SimTime {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        SimTime(self.0.saturating_add(nanos))
    }
}

impl AddAssign<Duration> for SimTime {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

/// Seconds with nanosecond precision, e.g. `12.000345678s`, so traces line up and sort.
impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}s",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_converts() {
        assert_eq!(
            SimTime::from_secs(1) + Duration::from_millis(5),
            SimTime::from_millis(1005)
        );
        assert_eq!(SimTime::MAX + Duration::from_secs(1), SimTime::MAX);
        let mut t = SimTime::ZERO;
        t += Duration::from_nanos(7);
        assert_eq!(t.as_nanos(), 7);
        assert_eq!(
            SimTime::from_secs(2).saturating_since(SimTime::from_secs(3)),
            Duration::ZERO
        );
        assert_eq!(
            SimTime::from_secs(3).saturating_since(SimTime::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(
            SimTime::from_mono(SimTime::from_millis(9).to_mono()),
            SimTime::from_millis(9)
        );
    }

    #[test]
    fn displays_as_seconds() {
        assert_eq!(
            SimTime::from_nanos(12_000_345_678).to_string(),
            "12.000345678s"
        );
        assert_eq!(SimTime::ZERO.to_string(), "0.000000000s");
    }
}
