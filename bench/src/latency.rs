//! Latency summaries: every sample is kept and sorted (a phase has at most a few million, so
//! exact percentiles cost less than a histogram's bucketing error).

use std::time::Duration;

use serde::Serialize;

/// p50, p99 and max of a set of latencies, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub(crate) struct Summary {
    /// How many samples.
    pub(crate) count: usize,
    /// The median.
    pub(crate) p50_us: f64,
    /// The 99th percentile (nearest rank).
    pub(crate) p99_us: f64,
    /// The largest sample.
    pub(crate) max_us: f64,
}

impl Summary {
    /// Summarises `samples` (sorting them in place).
    pub(crate) fn of(samples: &mut [Duration]) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable();
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        Summary {
            count: samples.len(),
            p50_us: micros(nearest_rank(samples, 50)),
            p99_us: micros(nearest_rank(samples, 99)),
            max_us: micros(samples[samples.len() - 1]),
        }
    }
}

/// The nearest-rank percentile of sorted, non-empty `samples`.
fn nearest_rank(samples: &[Duration], percent: usize) -> Duration {
    let rank = (samples.len() * percent).div_ceil(100).max(1);
    samples[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let summary = Summary::of(&mut samples);
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_us, 50.0);
        assert_eq!(summary.p99_us, 99.0);
        assert_eq!(summary.max_us, 100.0);
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let summary = Summary::of(&mut [Duration::from_micros(7)]);
        assert_eq!(
            (summary.p50_us, summary.p99_us, summary.max_us),
            (7.0, 7.0, 7.0)
        );
    }

    #[test]
    fn no_samples_is_all_zero() {
        assert_eq!(Summary::of(&mut []), Summary::default());
    }
}
