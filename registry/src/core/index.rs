//! The table's index: where each instance is stored, found through a hash of its key.
//!
//! A hash table of `(hash, place)` pairs: the hash is Fx, unseeded, so the table is the same
//! on every run and machine, and it is never iterated (only looked up), so its order reaches
//! nothing. A lookup probes by the hash, then checks the key stored at the place; two keys
//! sharing a hash are both kept and told apart that way. The table's per-app maps, keyed by
//! names, stay the order everything is walked in. (An ordered map from hash to place cost a
//! search of about a dozen comparisons per lookup, and a peer's renew looks up once per op.)

use std::hash::{Hash, Hasher};

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use slab::Slab;

use crate::api::{Instance, InstanceKey};

use super::table::Entry;

/// Places of the table's entries, by a fixed hash of their keys.
#[derive(Clone, Default)]
pub(crate) struct KeyIndex {
    /// `(hash of the key, place of its entry)`, one per stored instance.
    places: HashTable<(u64, usize)>,
}

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The table's own order is not part of the node's state; its size is.
        f.debug_struct("KeyIndex")
            .field("len", &self.places.len())
            .finish()
    }
}

impl KeyIndex {
    /// The place of `key`'s entry among `entries`, if it is stored.
    pub(crate) fn get(&self, key: &InstanceKey, entries: &Slab<Entry>) -> Option<usize> {
        self.find(hash(key), key, entries)
    }

    /// Among the places filed under `hash`, the one holding `key`.
    fn find(&self, hash: u64, key: &InstanceKey, entries: &Slab<Entry>) -> Option<usize> {
        self.places
            .find(hash, |&(h, place)| {
                h == hash && is_key_of(key, &entries[place].instance)
            })
            .map(|&(_, place)| place)
    }

    pub(crate) fn insert(&mut self, key: &InstanceKey, place: usize) {
        self.file(hash(key), place);
    }

    fn file(&mut self, hash: u64, place: usize) {
        self.places.insert_unique(hash, (hash, place), |&(h, _)| h);
    }

    pub(crate) fn remove(&mut self, key: &InstanceKey, place: usize) {
        self.unfile(hash(key), place);
    }

    fn unfile(&mut self, hash: u64, place: usize) {
        if let Ok(filed) = self
            .places
            .find_entry(hash, |&filed| filed == (hash, place))
        {
            filed.remove();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.places.len()
    }
}

/// Hashes the host name and the app id only: they tell nearly every pair of keys apart, and
/// the rare keys that differ only in zone or env share a hash and are told apart by the stored
/// key, as any collision is. (All four strings cost a lookup twice the hashing.)
fn hash(key: &InstanceKey) -> u64 {
    let mut hasher = FxHasher::default();
    key.hostname.hash(&mut hasher);
    key.appid.hash(&mut hasher);
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

    /// Keys that differ only in zone or env share a hash (only host name and app id are
    /// hashed): each is still found, and removing one leaves the others.
    #[test]
    fn keys_differing_only_in_zone_or_env_are_told_apart() {
        let mut entries = Slab::new();
        let mut index = KeyIndex::default();
        let mut keys = Vec::new();
        for (zone, env) in [("z1", "prod"), ("z2", "prod"), ("z1", "test")] {
            let mut e = entry("host");
            e.instance.zone = zone.into();
            e.instance.env = env.into();
            let key = InstanceKey::of(&e.instance);
            let place = entries.insert(e);
            index.insert(&key, place);
            keys.push((key, place));
        }
        assert_eq!(hash(&keys[0].0), hash(&keys[1].0));
        for (key, place) in &keys {
            assert_eq!(index.get(key, &entries), Some(*place), "{key:?}");
        }
        index.remove(&keys[1].0, keys[1].1);
        assert_eq!(index.get(&keys[1].0, &entries), None);
        assert_eq!(index.get(&keys[0].0, &entries), Some(keys[0].1));
        assert_eq!(index.get(&keys[2].0, &entries), Some(keys[2].1));
    }

    /// The index prints its size, never its entries: their order is the hash table's.
    #[test]
    fn the_index_prints_its_size_only() {
        let mut index = KeyIndex::default();
        index.file(7, 0);
        index.file(9, 1);
        assert_eq!(format!("{index:?}"), "KeyIndex { len: 2 }");
    }
}
