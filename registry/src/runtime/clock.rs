//! The system clocks behind [`Clock`]: the only place the production node gets time from.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::core::{Clock, Mono};

/// Wall time from `SystemTime`, monotonic time as the `Instant` elapsed since the clock was
/// made. tokio's `Instant` (not std's) so that madsim can substitute virtual time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub(crate) fn new() -> SystemClock {
        SystemClock {
            start: Instant::now(),
        }
    }

    /// The `Instant` at which the monotonic clock reads `mono` (for sleeping until a deadline).
    pub(crate) fn instant_at(&self, mono: Mono) -> Instant {
        self.start + Duration::from_nanos(mono.as_nanos())
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn wall(&self) -> i64 {
        // Before 1970 or after 2262 the clock is broken; 0 / i64::MAX keep the node running.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }

    fn mono(&self) -> Mono {
        Mono::from_nanos(u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_is_unix_nanoseconds_and_mono_maps_back_to_instants() {
        let clock = SystemClock::new();
        // 2020-01-01 in ns: any sane system clock is past it.
        assert!(clock.wall() > 1_577_836_800_000_000_000);
        let mono = clock.mono();
        assert!(clock.instant_at(mono) <= Instant::now());
        assert!(clock.mono() >= mono);
    }
}
