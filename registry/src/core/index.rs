//! The table's index: where each instance is stored, found in one hash probe.
//!
//! The core's one hash map. It answers lookups only: [`KeyIndex`] has no way to iterate, so
//! its order can never reach an output (its hasher, Fx, is unseeded anyway). Everything the
//! node walks is a `BTreeMap`.

use rustc_hash::FxHashMap;

use crate::api::InstanceKey;

/// Instance key to the place of its entry in the table.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyIndex(FxHashMap<InstanceKey, usize>);

impl KeyIndex {
    pub(crate) fn get(&self, key: &InstanceKey) -> Option<usize> {
        self.0.get(key).copied()
    }

    pub(crate) fn insert(&mut self, key: InstanceKey, place: usize) {
        self.0.insert(key, place);
    }

    pub(crate) fn remove(&mut self, key: &InstanceKey) {
        self.0.remove(key);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}
