//! Percentiles of millisecond values, by the nearest-rank method (integers only, so reports
//! format them the same everywhere).

use std::time::Duration;

use serde::Serialize;

use super::episodes::millis;

/// p50, p90, p99 and max of the runs that had a value, and how many had none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Distribution {
    /// Runs with a value.
    pub measured: u64,
    /// Runs without one (e.g. never converged).
    pub missing: u64,
    /// Median, in milliseconds (`null` without values).
    pub p50_ms: Option<u64>,
    /// 90th percentile, in milliseconds.
    pub p90_ms: Option<u64>,
    /// 99th percentile, in milliseconds.
    pub p99_ms: Option<u64>,
    /// Largest value, in milliseconds.
    pub max_ms: Option<u64>,
}

impl Distribution {
    /// The distribution of `values` (`None` entries count as missing).
    pub fn of(values: impl IntoIterator<Item = Option<Duration>>) -> Distribution {
        let mut measured: Vec<u64> = Vec::new();
        let mut missing = 0;
        for value in values {
            match value {
                Some(d) => measured.push(millis(d)),
                None => missing += 1,
            }
        }
        measured.sort_unstable();
        Distribution {
            measured: measured.len() as u64,
            missing,
            p50_ms: nearest_rank(&measured, 50),
            p90_ms: nearest_rank(&measured, 90),
            p99_ms: nearest_rank(&measured, 99),
            max_ms: measured.last().copied(),
        }
    }
}

/// The smallest value with at least `percent` % of the values at or below it.
fn nearest_rank(sorted: &[u64], percent: usize) -> Option<u64> {
    let rank = (sorted.len() * percent).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values = (1..=100).map(|s| Some(Duration::from_millis(s)));
        let d = Distribution::of(values.chain([None]));
        assert_eq!(
            (d.p50_ms, d.p90_ms, d.p99_ms, d.max_ms),
            (Some(50), Some(90), Some(99), Some(100))
        );
        assert_eq!((d.measured, d.missing), (100, 1));
        let one = Distribution::of([Some(Duration::from_secs(5))]);
        assert_eq!((one.p50_ms, one.p99_ms), (Some(5000), Some(5000)));
        assert_eq!(Distribution::of([None]).p50_ms, None);
    }
}
