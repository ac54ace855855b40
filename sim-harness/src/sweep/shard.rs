//! `--shard K/N`: the K-th of N disjoint slices of a (scenario, seed) space.
//!
//! A shard holds one contiguous block of the seed range, the same block for every scenario:
//! seeds `A + ⌊K·n/N⌋ .. A + ⌊(K+1)·n/N⌋` of `A..A+n`. So every shard runs 1/N of every
//! scenario (scenarios differ in cost; seeds of one scenario cost about the same), a shard is
//! exactly `sim run --seeds` of its block (its report lists its seeds as one range), and the N
//! blocks, in order, are the whole range.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The `index`-th (from 0) of `count` shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Which shard, `0..count` (0-based, as Kubernetes' `JOB_COMPLETION_INDEX`).
    pub index: u64,
    /// How many shards the space is cut into.
    pub count: u64,
}

impl Shard {
    /// The whole space as one shard.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// This shard's block of `seeds`; an error when there are fewer seeds than shards (some
    /// shard would run nothing, which is almost certainly a mistake in the job's setup).
    pub fn seeds(&self, seeds: &Range<u64>) -> Result<Range<u64>, String> {
        let n = seeds.end.saturating_sub(seeds.start);
        if n < self.count {
            return Err(format!(
                "seeds {}..{} are {n} seed(s), fewer than {} shards: every shard needs a seed",
                seeds.start, seeds.end, self.count
            ));
        }
        // u128: `n * index` overflows u64 for ranges near 2^64.
        let at =
            |k: u64| seeds.start + (u128::from(n) * u128::from(k) / u128::from(self.count)) as u64;
        Ok(at(self.index)..at(self.index + 1))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `K/N` with `0 <= K < N`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = "write K/N, shard K of N counted from 0 (0/4, 1/4, 2/4, 3/4)";
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a shard: {usage}"))?;
        let number = |s: &str| {
            s.trim().parse::<u64>().map_err(|_| {
                format!("`{text}` is not a shard: `{s}` is not a whole number; {usage}")
            })
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 {
            return Err(format!(
                "`{text}` is not a shard: N must be at least 1; {usage}"
            ));
        }
        if index >= count {
            return Err(format!(
                "`{text}` is not a shard: K must be below N (the {count} shard(s) are 0..{})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(text: &str) -> Shard {
        text.parse().expect("a valid shard")
    }

    #[test]
    fn the_blocks_of_all_shards_are_the_whole_range_in_order() {
        for (range, count) in [
            (0..100, 2),
            (0..100, 3),
            (7..20, 13),
            (5..6, 1),
            (0..1000, 7),
        ] {
            let mut next = range.start;
            for index in 0..count {
                let block = Shard { index, count }.seeds(&range).expect("enough seeds");
                assert_eq!(block.start, next, "{range:?} {index}/{count}");
                assert!(!block.is_empty(), "{range:?} {index}/{count}");
                next = block.end;
            }
            assert_eq!(next, range.end, "{range:?} /{count}");
        }
        assert_eq!(shard("1/2").seeds(&(0..100)), Ok(50..100));
    }

    #[test]
    fn huge_ranges_do_not_overflow() {
        let range = 0..u64::MAX;
        let block = shard("2/3").seeds(&range).expect("enough seeds");
        assert_eq!(block.end, u64::MAX);
        assert!(block.start > u64::MAX / 2);
    }

    #[test]
    fn fewer_seeds_than_shards_is_an_error() {
        let err = shard("0/5").seeds(&(0..3)).expect_err("3 seeds, 5 shards");
        assert!(err.contains("fewer than 5 shards"), "{err}");
    }

    #[test]
    fn bad_shards_say_what_is_wrong() {
        for (text, expected) in [
            ("3/2", "K must be below N"),
            ("2/2", "K must be below N"),
            ("0/0", "N must be at least 1"),
            ("1", "is not a shard"),
            ("a/2", "`a` is not a whole number"),
            ("-1/2", "`-1` is not a whole number"),
        ] {
            let err = text.parse::<Shard>().expect_err(text);
            assert!(err.contains(expected), "{text}: {err}");
        }
        assert_eq!(shard(" 1 / 4 "), Shard { index: 1, count: 4 });
        assert_eq!(shard("0/1"), Shard::WHOLE);
    }
}
