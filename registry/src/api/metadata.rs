//! An instance's metadata: string pairs in key order, shared by every copy of the instance.
//!
//! It used to be a `BTreeMap<String, String>`: a B-tree leaf (about 540 bytes) plus two
//! allocations per entry, for the usual two or three entries, and a clone (every reply, every
//! peer queue) allocated all of it again. Metadata is written whole (a register, or a set
//! that merges into it) and then only read, so a sorted slice behind one `Arc` holds it in one
//! allocation (none when empty), short keys and values inline, and a clone copies a pointer.
//! It keeps the map's meaning (one value per key, in key order) and its JSON (an object).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SmolStr;

/// Free-form string metadata of an instance, in key order (every encoding is deterministic).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Metadata {
    /// Sorted by key, keys unique; `None` when empty, so an instance without metadata
    /// allocates nothing for it.
    pairs: Option<Arc<[(SmolStr, SmolStr)]>>,
}

/// The pairs of a [`Metadata`], in key order.
pub(crate) type Iter<'a> = std::iter::Map<
    std::slice::Iter<'a, (SmolStr, SmolStr)>,
    fn(&'a (SmolStr, SmolStr)) -> (&'a SmolStr, &'a SmolStr),
>;

impl Metadata {
    /// No metadata.
    pub const fn new() -> Metadata {
        Metadata { pairs: None }
    }

    fn pairs(&self) -> &[(SmolStr, SmolStr)] {
        self.pairs.as_deref().unwrap_or(&[])
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_none()
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        self.pairs().iter().map(|(key, value)| (key, value))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &SmolStr> + '_ {
        self.pairs().iter().map(|(key, _)| key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&SmolStr> {
        let pairs = self.pairs();
        let found = pairs.binary_search_by(|(held, _)| held.as_str().cmp(key));
        found.ok().map(|at| &pairs[at].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`, returning the value it replaced. Copies the entries: metadata
    /// is built once per write, and read far more often.
    pub fn insert(
        &mut self,
        key: impl Into<SmolStr>,
        value: impl Into<SmolStr>,
    ) -> Option<SmolStr> {
        let mut map = self.to_map();
        let old = map.insert(key.into(), value.into());
        *self = Metadata::from_sorted(map);
        old
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<SmolStr> {
        let mut map = self.to_map();
        let old = map.remove(key);
        *self = Metadata::from_sorted(map);
        old
    }

    fn to_map(&self) -> BTreeMap<SmolStr, SmolStr> {
        self.pairs().iter().cloned().collect()
    }

    fn from_sorted(map: BTreeMap<SmolStr, SmolStr>) -> Metadata {
        if map.is_empty() {
            return Metadata::new();
        }
        Metadata {
            pairs: Some(map.into_iter().collect()),
        }
    }
}

impl<K: Into<SmolStr>, V: Into<SmolStr>> FromIterator<(K, V)> for Metadata {
    /// Like a map's: a later value of a key replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Metadata {
        let map = pairs
            .into_iter()
            .map(|(key, value)| (key.into(), value.into()))
            .collect();
        Metadata::from_sorted(map)
    }
}

impl<K: Into<SmolStr>, V: Into<SmolStr>, const N: usize> From<[(K, V); N]> for Metadata {
    fn from(pairs: [(K, V); N]) -> Metadata {
        pairs.into_iter().collect()
    }
}

impl<K: Into<SmolStr>, V: Into<SmolStr>> Extend<(K, V)> for Metadata {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        let mut map = self.to_map();
        map.extend(
            pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into())),
        );
        *self = Metadata::from_sorted(map);
    }
}

impl<'a> IntoIterator for &'a Metadata {
    type Item = (&'a SmolStr, &'a SmolStr);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for Metadata {
    type Item = (SmolStr, SmolStr);
    type IntoIter = std::vec::IntoIter<(SmolStr, SmolStr)>;

    /// The entries in key order (copies: the entries may be shared).
    fn into_iter(self) -> Self::IntoIter {
        self.pairs().to_vec().into_iter()
    }
}

impl std::ops::Index<&str> for Metadata {
    type Output = SmolStr;

    /// The value of `key`; panics when there is none, as a map's index does.
    fn index(&self, key: &str) -> &SmolStr {
        self.get(key)
            .unwrap_or_else(|| panic!("no metadata key {key:?}"))
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Metadata, D::Error> {
        BTreeMap::<SmolStr, SmolStr>::deserialize(deserializer).map(Metadata::from_sorted)
    }
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
