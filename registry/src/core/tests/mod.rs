//! Node-level tests: every operation and error path, leases, eviction and protection mode.

mod anti_entropy;
mod durability;
mod evicted;
mod eviction;
mod harness;
mod peer_answers;
mod peer_back;
mod polls;
mod protection;
mod reads;
mod replicate_at_once;
mod reports;
mod stall;
mod trust;
mod writes;
mod zones;
