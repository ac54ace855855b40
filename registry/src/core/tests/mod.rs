//! Node-level tests: every operation and error path, leases, eviction and protection mode.

mod anti_entropy;
mod durability;
mod evicted;
mod eviction;
mod harness;
mod membership;
mod peer_answers;
mod peer_back;
mod polls;
mod protection;
mod reads;
mod replicate_at_once;
mod reports;
mod reregister;
mod stall;
mod startup_sync;
mod trust;
mod writes;
mod zones;

/// What `check` panicked with: the report of a debug check that caught a broken invariant.
/// Fails the test, naming `what`, if it did not panic.
pub(crate) fn panic_text(what: &str, check: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check))
        .expect_err(&format!("not reported: {what}"));
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
