//! FNV-1a, a 64-bit hash that is the same on every run and every machine and is specified
//! byte for byte: app digests (compared between nodes) here, trace fingerprints and seed
//! derivation in the simulator.
//!
//! std's `RandomState` is seeded per process, so nothing that reaches an output may use it.
//! Lookups that only need speed (the table's index, replication-queue searches) use
//! `rustc_hash`'s Fx, also unseeded.

use std::fmt;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An FNV-1a hasher; feed it bytes (or `write!` text into it) and read [`Fnv1a::finish`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(OFFSET_BASIS)
    }
}

impl Fnv1a {
    /// A hasher in its initial state.
    pub fn new() -> Fnv1a {
        Fnv1a::default()
    }

    /// Mixes `bytes` in.
    pub fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }

    /// Mixes a `u64` in, little-endian.
    pub fn write_u64(&mut self, value: u64) {
        self.write(&value.to_le_bytes());
    }

    /// The hash of everything written so far.
    pub fn finish(self) -> u64 {
        self.0
    }

    /// The hash of `bytes` alone.
    pub fn hash(bytes: &[u8]) -> u64 {
        let mut hasher = Fnv1a::new();
        hasher.write(bytes);
        hasher.finish()
    }
}

/// Lets `write!(hasher, "{value:?}")` hash a rendering without building a `String`.
impl fmt::Write for Fnv1a {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn matches_the_published_test_vectors() {
        assert_eq!(Fnv1a::hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv1a::hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv1a::hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn formatting_into_it_hashes_the_text() {
        let mut hasher = Fnv1a::new();
        let (a, b) = ("foo", 7);
        write!(hasher, "{a}{b}").expect("hashing never fails");
        assert_eq!(hasher.finish(), Fnv1a::hash(b"foo7"));
    }
}
