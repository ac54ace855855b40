//! The workload's planned actions: status and metadata changes, instance ends, mass deaths.
//!
//! Times are drawn up front from the options; whom an action hits is chosen when it happens.

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::scenario::WorkloadOptions;
use crate::time::SimTime;

/// Something the workload does at a planned moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// One instance flips its status through `set`.
    SetStatus,
    /// One instance changes its metadata through `set`.
    SetMetadata,
    /// One instance ends (cancels, or crashes silently) and a fresh one replaces it.
    End,
    /// A fraction of the instances crash silently at once.
    MassDeath,
}

/// The actions of a safety phase of length `safety`, in time order.
pub(crate) fn plan(
    options: &WorkloadOptions,
    safety: Duration,
    rng: &mut ChaCha8Rng,
) -> Vec<(SimTime, Action)> {
    let hours = safety.as_secs_f64() / 3600.0;
    let mut out = Vec::new();
    let rates = [
        (options.status_sets_per_hour, Action::SetStatus),
        (options.metadata_sets_per_hour, Action::SetMetadata),
        (options.instance_ends_per_hour, Action::End),
        (options.mass_deaths_per_hour, Action::MassDeath),
    ];
    for (per_hour, action) in rates {
        let expected = per_hour as f64 * hours;
        let count = expected.floor() as usize
            + usize::from(rng.gen_bool((expected - expected.floor()).clamp(0.0, 1.0)));
        for _ in 0..count {
            // Nothing in the first half minute: let the instances register first.
            let start = Duration::from_secs(30).min(safety);
            let span = safety.saturating_sub(start).as_nanos().max(1) as u64;
            out.push((
                SimTime::ZERO + start + Duration::from_nanos(rng.gen_range(0..span)),
                action,
            ));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}
