//! The requests nodes hold, by id.
//!
//! The world hands out request ids in increasing order and most requests are answered within
//! milliseconds (long-polls within a minute), so the ids held at any moment form a short
//! window. A deque indexed from the oldest id still held finds one without a search and,
//! unlike an ordered map, allocates nothing as requests come and go.

use std::collections::VecDeque;

use registry::core::RequestId;

use crate::id::ClientId;

/// Who asked for each held request and which node holds it.
#[derive(Clone, Debug, Default)]
pub(crate) struct InFlight {
    /// The id `slots[0]` stands for.
    first: u64,
    /// `(client, node)` per id from `first` on; `None` for ids not held. Never starts with
    /// `None` (it may end with some: ids just answered, likely to be followed by new ones).
    slots: VecDeque<Option<(ClientId, usize)>>,
}

impl InFlight {
    /// `node` now holds request `id` from `client`.
    pub(crate) fn insert(&mut self, id: RequestId, client: ClientId, node: usize) {
        let id = id.0;
        if self.slots.is_empty() {
            self.first = id;
        }
        while id < self.first {
            self.slots.push_front(None);
            self.first -= 1;
        }
        let index = usize::try_from(id - self.first).unwrap_or(usize::MAX);
        while self.slots.len() <= index {
            self.slots.push_back(None);
        }
        self.slots[index] = Some((client, node));
    }

    /// Forgets request `id`; returns who asked and which node held it, if it was held.
    pub(crate) fn remove(&mut self, id: RequestId) -> Option<(ClientId, usize)> {
        let index = usize::try_from(id.0.checked_sub(self.first)?).ok()?;
        let held = self.slots.get_mut(index)?.take();
        self.trim();
        held
    }

    /// Forgets every request `node` holds (it crashed).
    pub(crate) fn forget_node(&mut self, node: usize) {
        for slot in &mut self.slots {
            if slot.is_some_and(|(_, held_by)| held_by == node) {
                *slot = None;
            }
        }
        self.trim();
    }

    fn trim(&mut self) {
        while self.slots.front().is_some_and(Option::is_none) {
            self.slots.pop_front();
            self.first += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn holds_requests_arriving_out_of_order_and_forgets_a_crashed_node() {
        let mut held = InFlight::default();
        held.insert(RequestId(7), ClientId::Instance(1), 0);
        held.insert(RequestId(5), ClientId::Poller(2), 1);
        held.insert(RequestId(9), ClientId::Instance(3), 0);
        assert_eq!(held.remove(RequestId(6)), None);
        assert_eq!(held.remove(RequestId(5)), Some((ClientId::Poller(2), 1)));
        assert_eq!(held.remove(RequestId(5)), None, "answered once");
        held.forget_node(0);
        assert_eq!(held.remove(RequestId(7)), None);
        assert_eq!(held.remove(RequestId(9)), None);
        assert!(held.slots.is_empty());
        assert_eq!(held.remove(RequestId(u64::MAX)), None);
    }

    proptest! {
        /// Any sequence of inserts, removes and crashes agrees with an ordered map.
        #[test]
        fn behaves_as_a_map(ops in proptest::collection::vec((0u8..3, 0u64..40, 0usize..3), 0..200)) {
            let mut held = InFlight::default();
            let mut model: BTreeMap<u64, (ClientId, usize)> = BTreeMap::new();
            for (op, id, who) in ops {
                match op {
                    0 => {
                        held.insert(RequestId(id), ClientId::Instance(who + 10), who);
                        model.insert(id, (ClientId::Instance(who + 10), who));
                    }
                    1 => prop_assert_eq!(held.remove(RequestId(id)), model.remove(&id)),
                    _ => {
                        held.forget_node(who);
                        model.retain(|_, (_, node)| *node != who);
                    }
                }
                prop_assert!(held.slots.front().is_none_or(Option::is_some));
            }
            for id in 0..40 {
                prop_assert_eq!(held.remove(RequestId(id)), model.remove(&id));
            }
        }
    }
}
