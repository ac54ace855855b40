//! The table's index: where each instance is stored, found by a search over integers.
//!
//! An ordered map from a hash of the key to the place of its entry (with a side list for keys
//! whose hash another key already took). The hash is Fx, unseeded, so the map and its order
//! are the same on every run and machine; a lookup compares integers, then checks the stored
//! key. The table's per-app maps, keyed by names, stay the order everything is walked in.

use std::collections::btree_map;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;
use slab::Slab;

use crate::api::{Instance, InstanceKey};

use super::table::Entry;

/// Places of the table's entries, by a fixed hash of their keys.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex {
    /// The first place filed under each hash.
    first: BTreeMap<u64, usize>,
    /// Places filed under a hash that was already taken: two keys sharing a 64-bit hash, which
    /// in practice never happens.
    more: Vec<(u64, usize)>,
}

impl KeyIndex {
    /// The place of `key`'s entry among `entries`, if it is stored.
    pub(crate) fn get(&self, key: &InstanceKey, entries: &Slab<Entry>) -> Option<usize> {
        self.find(hash(key), key, entries)
    }

    /// Among the places filed under `hash`, the one holding `key`.
    fn find(&self, hash: u64, key: &InstanceKey, entries: &Slab<Entry>) -> Option<usize> {
        let first = *self.first.get(&hash)?;
        let more = self
            .more
            .iter()
            .filter(|(h, _)| *h == hash)
            .map(|(_, p)| *p);
        std::iter::once(first)
            .chain(more)
            .find(|place| is_key_of(key, &entries[*place].instance))
    }

    pub(crate) fn insert(&mut self, key: &InstanceKey, place: usize) {
        self.file(hash(key), place);
    }

    fn file(&mut self, hash: u64, place: usize) {
        match self.first.entry(hash) {
            btree_map::Entry::Vacant(vacant) => {
                vacant.insert(place);
            }
            btree_map::Entry::Occupied(_) => self.more.push((hash, place)),
        }
    }

    pub(crate) fn remove(&mut self, key: &InstanceKey, place: usize) {
        self.unfile(hash(key), place);
    }

    fn unfile(&mut self, hash: u64, place: usize) {
        if self.first.get(&hash) != Some(&place) {
            self.more.retain(|filed| *filed != (hash, place));
            return;
        }
        // The first place goes; another filed under the same hash, if any, takes its spot.
        match self.more.iter().position(|(h, _)| *h == hash) {
            Some(i) => {
                let (_, next) = self.more.swap_remove(i);
                self.first.insert(hash, next);
            }
            None => {
                self.first.remove(&hash);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.first.len() + self.more.len()
    }
}

fn hash(key: &InstanceKey) -> u64 {
    let mut hasher = FxHasher::default();
    key.hash(&mut hasher);
    hasher.finish()
}

fn is_key_of(key: &InstanceKey, instance: &Instance) -> bool {
    key.hostname == instance.hostname
        && key.appid == instance.appid
        && key.zone == instance.zone
        && key.env == instance.env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock::Mono;

    fn entry(hostname: &str) -> Entry {
        Entry {
            instance: crate::core::table::tests::instance(hostname, 1),
            renewed_at: Mono::from_nanos(0),
            renews: false,
            expected: false,
        }
    }

    #[test]
    fn keys_sharing_a_hash_are_told_apart_by_the_stored_key() {
        let mut entries = Slab::new();
        let (a, b) = (entry("a"), entry("b"));
        let (key_a, key_b) = (InstanceKey::of(&a.instance), InstanceKey::of(&b.instance));
        let (place_a, place_b) = (entries.insert(a), entries.insert(b));
        // Both filed under one hash, as a collision would file them.
        let mut index = KeyIndex::default();
        index.file(7, place_a);
        index.file(7, place_b);
        assert_eq!(index.find(7, &key_a, &entries), Some(place_a));
        assert_eq!(index.find(7, &key_b, &entries), Some(place_b));
        assert_eq!(index.find(8, &key_a, &entries), None);
        assert_eq!(index.len(), 2);
        // Removing either leaves the other findable.
        let mut first_gone = index.clone();
        first_gone.unfile(7, place_a);
        assert_eq!(first_gone.find(7, &key_a, &entries), None);
        assert_eq!(first_gone.find(7, &key_b, &entries), Some(place_b));
        index.unfile(7, place_b);
        assert_eq!(index.find(7, &key_a, &entries), Some(place_a));
        assert_eq!(index.find(7, &key_b, &entries), None);
        assert_eq!((first_gone.len(), index.len()), (1, 1));
        let mut real = KeyIndex::default();
        real.insert(&key_b, place_b);
        assert_eq!(real.get(&key_a, &entries), None);
        assert_eq!(real.get(&key_b, &entries), Some(place_b));
        real.remove(&key_b, place_b);
        assert_eq!((real.get(&key_b, &entries), real.len()), (None, 0));
    }
}
