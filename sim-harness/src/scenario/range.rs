//! `[min, max]` ranges of scenario knobs, their checks and their draws.

use std::fmt;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

/// A range of values a knob may take, written `[min, max]` in a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(
    try_from = "Vec<T>",
    bound(deserialize = "T: Copy + fmt::Display + Deserialize<'de>")
)]
pub struct Range<T> {
    /// The smallest value a run may draw.
    pub min: T,
    /// The largest value a run may draw.
    pub max: T,
}

impl<T: Copy> Range<T> {
    /// The range `[min, max]`.
    pub const fn new(min: T, max: T) -> Range<T> {
        Range { min, max }
    }
}

impl<T: Copy + fmt::Display> TryFrom<Vec<T>> for Range<T> {
    type Error = String;

    /// Takes exactly two values; anything else is a mistake worth naming.
    fn try_from(values: Vec<T>) -> Result<Range<T>, String> {
        match values[..] {
            [min, max] => Ok(Range { min, max }),
            _ => Err(format!(
                "expected a range [min, max], got {} value(s)",
                values.len()
            )),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Range<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

/// What a range's values must satisfy beyond `min <= max`.
#[derive(Clone, Debug, PartialEq)]
pub enum RangeProblem {
    /// `min > max`.
    MinAboveMax,
    /// A fractional knob outside `[0, 1]` (every fractional knob is a probability).
    NotAProbability(f64),
}

/// A value type a knob can have: whole counts (`u64`) or probabilities (`f64`).
pub trait KnobValue: Copy + PartialOrd + fmt::Display + fmt::Debug {
    /// Checks one value on its own.
    fn check(self) -> Result<(), RangeProblem>;
    /// Whether this is the knob's "off" value.
    fn is_zero(self) -> bool;
    /// Zero of this type.
    fn zero() -> Self;
    /// A value drawn uniformly from `[min, max]`.
    fn uniform(range: Range<Self>, rng: &mut ChaCha8Rng) -> Self;
}

impl KnobValue for u64 {
    fn check(self) -> Result<(), RangeProblem> {
        Ok(())
    }

    fn is_zero(self) -> bool {
        self == 0
    }

    fn zero() -> u64 {
        0
    }

    fn uniform(range: Range<u64>, rng: &mut ChaCha8Rng) -> u64 {
        rng.gen_range(range.min..=range.max)
    }
}

impl KnobValue for f64 {
    fn check(self) -> Result<(), RangeProblem> {
        if (0.0..=1.0).contains(&self) {
            Ok(())
        } else {
            Err(RangeProblem::NotAProbability(self))
        }
    }

    fn is_zero(self) -> bool {
        self == 0.0
    }

    fn zero() -> f64 {
        0.0
    }

    fn uniform(range: Range<f64>, rng: &mut ChaCha8Rng) -> f64 {
        if range.min == range.max {
            range.min
        } else {
            rng.gen_range(range.min..=range.max)
        }
    }
}

impl<T: KnobValue> Range<T> {
    /// Checks both ends, then their order.
    pub fn check(&self) -> Result<(), RangeProblem> {
        self.min.check()?;
        self.max.check()?;
        if self.min > self.max {
            return Err(RangeProblem::MinAboveMax);
        }
        Ok(())
    }

    /// Draws one value for a run (swarm testing).
    ///
    /// A range that starts at zero and reaches above it draws exactly zero one time in four:
    /// that feature is switched off for the run, so a suite also covers runs without it. The
    /// coin is always tossed for such ranges, so the number of draws depends only on the
    /// scenario, not on earlier outcomes.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> T {
        let can_be_off = self.min.is_zero() && !self.max.is_zero();
        let off = can_be_off && rng.gen_ratio(1, 4);
        let value = T::uniform(*self, rng);
        if off {
            T::zero()
        } else {
            value
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn checks_order_and_probabilities() {
        assert_eq!(Range::new(1u64, 2).check(), Ok(()));
        assert_eq!(Range::new(3u64, 2).check(), Err(RangeProblem::MinAboveMax));
        assert_eq!(
            Range::new(-0.1, 0.5).check(),
            Err(RangeProblem::NotAProbability(-0.1))
        );
        assert_eq!(
            Range::new(0.0, 1.5).check(),
            Err(RangeProblem::NotAProbability(1.5))
        );
        assert_eq!(Range::new(0.5, 0.5).check(), Ok(()));
    }

    #[test]
    fn draws_stay_inside_and_sometimes_switch_off() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let range = Range::new(0u64, 100);
        let draws: Vec<u64> = (0..1000).map(|_| range.draw(&mut rng)).collect();
        assert!(draws.iter().all(|v| *v <= 100));
        let zeros = draws.iter().filter(|v| **v == 0).count();
        assert!((180..=320).contains(&zeros), "{zeros} zeros");
        let fixed = Range::new(0.25, 0.25);
        assert_eq!(fixed.draw(&mut rng), 0.25);
        let positive = Range::new(5u64, 6);
        assert!((0..100).all(|_| (5..=6).contains(&positive.draw(&mut rng))));
    }

    #[test]
    fn needs_exactly_two_values() {
        assert_eq!(Range::try_from(vec![1u64, 2]), Ok(Range::new(1, 2)));
        assert!(Range::<u64>::try_from(vec![1, 2, 3]).is_err());
        assert!(Range::<u64>::try_from(vec![]).is_err());
    }
}
