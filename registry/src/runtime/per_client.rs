//! Caps per client address: open connections and long-polls in progress. One address cannot
//! take every file descriptor or every parked-poll slot of a node; past a cap its new
//! connection is answered HTTP 429 and closed, its new poll -509, and both are counted.
//!
//! The address is the TCP peer's IP: clients behind one NAT or proxy share it, which is why the
//! defaults are generous and both caps are settings.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The address a request came from, put in its extensions by the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

/// What a cap limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Capped {
    /// Open connections.
    Connections,
    /// Long-polls in progress (`poll` and `polls`).
    Polls,
}

impl Capped {
    /// Its label in `/metrics`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Capped::Connections => "connections",
            Capped::Polls => "polls",
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Held {
    connections: usize,
    polls: usize,
}

impl Held {
    fn of(&mut self, what: Capped) -> &mut usize {
        match what {
            Capped::Connections => &mut self.connections,
            Capped::Polls => &mut self.polls,
        }
    }
}

/// Every client address's open connections and polls, and the refusals.
#[derive(Debug)]
pub(crate) struct PerClient {
    max_connections: usize,
    max_polls: usize,
    /// Only addresses holding something: an entry goes when its counts reach zero, so the map
    /// is as large as the set of clients connected now.
    held: Mutex<BTreeMap<IpAddr, Held>>,
    refused_connections: AtomicU64,
    refused_polls: AtomicU64,
}

/// One connection or poll held by a client; released when dropped (also when the client goes
/// away and its handler is cancelled).
#[derive(Debug)]
pub(crate) struct Slot {
    table: Arc<PerClient>,
    ip: IpAddr,
    what: Capped,
}

impl PerClient {
    pub(crate) fn new(max_connections: usize, max_polls: usize) -> Arc<PerClient> {
        Arc::new(PerClient {
            max_connections,
            max_polls,
            held: Mutex::new(BTreeMap::new()),
            refused_connections: AtomicU64::new(0),
            refused_polls: AtomicU64::new(0),
        })
    }

    /// Takes a slot of `what` for `ip`; when the address holds its cap already, counts a
    /// refusal and returns the cap.
    pub(crate) fn take(self: &Arc<Self>, ip: IpAddr, what: Capped) -> Result<Slot, usize> {
        let cap = self.cap(what);
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        let count = held.entry(ip).or_default().of(what);
        if *count >= cap {
            if *count == 0 {
                held.remove(&ip); // a cap of zero: the entry was made only to look
            }
            self.refusals(what).fetch_add(1, Ordering::Relaxed);
            return Err(cap);
        }
        *count += 1;
        Ok(Slot {
            table: self.clone(),
            ip,
            what,
        })
    }

    /// The cap on `what` per address.
    pub(crate) fn cap(&self, what: Capped) -> usize {
        match what {
            Capped::Connections => self.max_connections,
            Capped::Polls => self.max_polls,
        }
    }

    fn refusals(&self, what: Capped) -> &AtomicU64 {
        match what {
            Capped::Connections => &self.refused_connections,
            Capped::Polls => &self.refused_polls,
        }
    }

    /// Refusals so far, by cap.
    pub(crate) fn refused(&self) -> [(Capped, u64); 2] {
        [Capped::Connections, Capped::Polls]
            .map(|what| (what, self.refusals(what).load(Ordering::Relaxed)))
    }

    /// How many addresses hold anything now.
    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn release(&self, ip: IpAddr, what: Capped) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = held.get_mut(&ip) {
            let count = entry.of(what);
            *count = count.saturating_sub(1);
            if entry.connections == 0 && entry.polls == 0 {
                held.remove(&ip);
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.release(self.ip, self.what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn each_address_holds_at_most_its_cap_and_gets_it_back_on_release() {
        let table = PerClient::new(2, 1);
        let a = table.take(ip(1), Capped::Connections).expect("first");
        let _b = table.take(ip(1), Capped::Connections).expect("second");
        assert_eq!(table.take(ip(1), Capped::Connections).err(), Some(2));
        let _other = table
            .take(ip(2), Capped::Connections)
            .expect("another address has its own");
        let _poll = table.take(ip(1), Capped::Polls).expect("polls count apart");
        assert_eq!(table.take(ip(1), Capped::Polls).err(), Some(1));
        drop(a);
        let _c = table
            .take(ip(1), Capped::Connections)
            .expect("a released slot is free again");
        assert_eq!(
            table.refused(),
            [(Capped::Connections, 1), (Capped::Polls, 1)]
        );
    }

    #[test]
    fn an_address_holding_nothing_leaves_no_entry() {
        let table = PerClient::new(4, 0);
        let slots: Vec<Slot> = (0..4)
            .map(|i| table.take(ip(i), Capped::Connections).expect("free"))
            .collect();
        assert_eq!(table.addresses(), 4);
        assert!(table.take(ip(9), Capped::Polls).is_err(), "cap zero");
        assert_eq!(table.addresses(), 4, "a refusal leaves nothing behind");
        drop(slots);
        assert_eq!(table.addresses(), 0);
    }
}
