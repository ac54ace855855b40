//! The knobs of a scenario, one list per section. A single macro turns each list into the
//! file's raw shape, the checked ranges and the drawn options, so the four (parse, check, draw,
//! print) cannot drift apart.

use std::fmt;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::range::{KnobValue, Range};

/// Defines one section: `$Raw` (as written, every key optional), `$Ranges` (checked, defaults
/// filled in) and `$Options` (one run's values). A default of `None` makes the key required.
macro_rules! section {
    (
        $(#[doc = $doc:literal])*
        $name:literal: $Raw:ident => $Ranges:ident => $Options:ident {
            $(
                $(#[doc = $field_doc:literal])*
                $field:ident: $ty:ty = $default:expr,
            )*
        }
    ) => {
        /// The section as written: every key optional, unknown keys refused.
        #[derive(Clone, Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $Raw {
            $( $field: Option<Range<$ty>>, )*
        }

        impl $Raw {
            /// Fills in defaults and checks each range; names `file` and the key on failure.
            pub(crate) fn resolve(self, file: &str) -> Result<$Ranges, ScenarioError> {
                Ok($Ranges {
                    $( $field: resolve_knob(
                        file,
                        concat!($name, ".", stringify!($field)),
                        self.$field,
                        $default,
                    )?, )*
                })
            }
        }

        $(#[doc = $doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $Ranges {
            $( $(#[doc = $field_doc])* pub $field: Range<$ty>, )*
        }

        impl $Ranges {
            /// Draws one run's values, in declaration order.
            pub fn draw(&self, rng: &mut ChaCha8Rng) -> $Options {
                $Options { $( $field: self.$field.draw(rng), )* }
            }
        }

        $(#[doc = $doc])*
        ///
        /// One run's values, drawn from the scenario's ranges.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $Options {
            $( $(#[doc = $field_doc])* pub $field: $ty, )*
        }

        /// `[section]` then `key = value` lines, as in a scenario file.
        impl fmt::Display for $Options {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                writeln!(f, "[{}]", $name)?;
                $( writeln!(f, "{} = {}", stringify!($field), self.$field)?; )*
                Ok(())
            }
        }
    };
}

/// The range for one key: as written or the default, then checked.
fn resolve_knob<T: KnobValue>(
    file: &str,
    key: &str,
    written: Option<Range<T>>,
    default: Option<[T; 2]>,
) -> Result<Range<T>, ScenarioError> {
    let range = written
        .or(default.map(|[min, max]| Range::new(min, max)))
        .ok_or_else(|| ScenarioError::MissingKey {
            file: file.to_string(),
            key: key.to_string(),
        })?;
    range.check().map_err(|problem| {
        ScenarioError::from_range(file, key.to_string(), range.to_string(), problem)
    })?;
    Ok(range)
}

section! {
    /// The cluster's shape.
    "cluster": ClusterRaw => ClusterRanges => ClusterOptions {
        /// Registry nodes (at least 1). Required.
        nodes: u64 = None,
        /// Zones the nodes are spread over, round-robin (at least 1, at most `nodes`).
        zones: u64 = Some([1, 1]),
    }
}

section! {
    /// How long each phase runs.
    "phases": PhasesRaw => PhasesRanges => PhasesOptions {
        /// Minutes of the safety phase: faults on, invariants checked continuously. Required.
        safety_minutes: u64 = None,
        /// Minutes the core has to converge once faults are healed (at least 1). Required.
        liveness_minutes: u64 = None,
    }
}

section! {
    /// The network: delays, loss, duplication and partitions. Reordering comes from delays.
    "network": NetworkRaw => NetworkRanges => NetworkOptions {
        /// Least time a message takes, in ms.
        delay_ms_min: u64 = Some([1, 1]),
        /// Mean time a message takes, in ms; draws below `delay_ms_min` are raised to it.
        delay_ms_mean: u64 = Some([2, 2]),
        /// Probability that a message suffers a tail spike.
        tail_probability: f64 = Some([0.0, 0.0]),
        /// Largest tail spike, in ms (uniform in `[0, tail_ms_max]`).
        tail_ms_max: u64 = Some([0, 0]),
        /// Probability that a message is lost.
        loss: f64 = Some([0.0, 0.0]),
        /// Probability that a message arrives twice.
        duplicate: f64 = Some([0.0, 0.0]),
        /// Partitions started per hour of the safety phase; each picks its kind by the weights
        /// below (all weights zero: no partitions).
        partitions_per_hour: u64 = Some([0, 0]),
        /// How long a partition lasts before it heals, in seconds.
        partition_seconds: u64 = Some([10, 60]),
        /// Relative weight of symmetric splits of the nodes into two sides.
        split_weight: u64 = Some([1, 1]),
        /// Relative weight of one-way partitions (a can't reach b, b reaches a).
        one_way_weight: u64 = Some([1, 1]),
        /// Relative weight of cutting one node off from its peers (clients still reach it).
        isolate_peers_weight: u64 = Some([1, 1]),
        /// Relative weight of cutting one node off from clients (peers still reach it).
        isolate_clients_weight: u64 = Some([1, 1]),
    }
}

section! {
    /// Node faults: crashes and restarts, pauses, clocks.
    "faults": FaultsRaw => FaultsRanges => FaultsOptions {
        /// Crashes of a random node (state lost) per hour of the safety phase.
        crashes_per_hour: u64 = Some([0, 0]),
        /// Rolling restarts (every node in turn, one down at a time) per hour.
        rolling_restarts_per_hour: u64 = Some([0, 0]),
        /// Total restarts (every node down at once, then all back) per hour.
        total_restarts_per_hour: u64 = Some([0, 0]),
        /// How long a crashed node stays down before it restarts, in seconds.
        down_seconds: u64 = Some([5, 60]),
        /// Pauses (a node stops processing, state kept, e.g. a GC stall) per hour.
        pauses_per_hour: u64 = Some([0, 0]),
        /// How long a pause lasts, in seconds.
        pause_seconds: u64 = Some([1, 30]),
        /// Largest initial wall-clock offset of a node, in ms; each node draws its own, either
        /// sign.
        clock_skew_ms: u64 = Some([0, 0]),
        /// Largest wall-clock drift of a node, in parts per million, either sign.
        clock_drift_ppm: u64 = Some([0, 0]),
        /// Wall-clock jumps (forward or backward) per hour.
        clock_jumps_per_hour: u64 = Some([0, 0]),
        /// Largest wall-clock jump, in ms.
        clock_jump_ms: u64 = Some([0, 0]),
    }
}

section! {
    /// The clients: service instances and pollers.
    "workload": WorkloadRaw => WorkloadRanges => WorkloadOptions {
        /// Applications the instances belong to (at least 1).
        apps: u64 = Some([1, 5]),
        /// Service instances alive at any time. Required.
        instances: u64 = None,
        /// Long-poll subscribers.
        pollers: u64 = Some([0, 0]),
        /// Seconds between an instance's renews.
        renew_seconds: u64 = Some([30, 30]),
        /// Instances that end (and are replaced by a fresh one) per hour: churn.
        instance_ends_per_hour: u64 = Some([0, 0]),
        /// Probability that an ending instance cancels; otherwise it crashes silently.
        cancel_probability: f64 = Some([1.0, 1.0]),
        /// Mass client deaths (a fraction of instances crash silently at once) per hour.
        mass_deaths_per_hour: u64 = Some([0, 0]),
        /// Fraction of instances a mass death kills.
        mass_death_fraction: f64 = Some([0.5, 0.5]),
        /// Status changes (UP/WAITING through `set`) per hour, over all instances.
        status_sets_per_hour: u64 = Some([0, 0]),
        /// Metadata changes (through `set`) per hour, over all instances.
        metadata_sets_per_hour: u64 = Some([0, 0]),
        /// Relative weight of instances that check what they wrote: when a renew answer shows
        /// other content than their last write, they register again (the careful client).
        /// Each instance picks its model by these weights; all zero means careful.
        careful_weight: u64 = Some([1, 1]),
        /// Relative weight of instances that behave like bilibili's Go SDK: they never read
        /// back what they wrote and register again only when a renew is answered -404, so a
        /// write the registry lost after acknowledging it stays lost.
        go_sdk_weight: u64 = Some([0, 0]),
    }
}

section! {
    /// The nodes' own settings (drawn after every other section, so that adding one changes
    /// no other draw).
    "node": NodeRaw => NodeRanges => NodeOptions {
        /// 1: nodes answer a client write once a peer acknowledged it (`durability = "peer"`);
        /// 0: once applied locally (the default).
        peer_durability: u64 = Some([0, 0]),
    }
}

section! {
    /// Client models added after the two of `[workload]` (drawn last, so that adding them
    /// changed no earlier draw of any seed).
    "clients": ClientsRaw => ClientsRanges => ClientsOptions {
        /// Relative weight, beside `careful_weight` and `go_sdk_weight`, of instances that behave
        /// like python-discovery-client 0.5: they talk to one node only (the configured domain)
        /// and never fail over, renew every `renew_seconds` on a ticker that starts right
        /// after the register and skips a failed tick, register again on -404, and neither set
        /// nor cancel (they end by dying).
        python_weight: u64 = Some([0, 0]),
        /// Relative weight of instances that behave like Eureka clients: every register
        /// carries the client's own stamp (`dirty_timestamp`, Eureka's `lastDirtyTimestamp`)
        /// from its own clock, taken when its status or metadata last changed; a change is a
        /// register; -404 makes it register again with a fresh stamp; a register refused as
        /// older (-409) is given up and heartbeats go on, as Java's `InstanceInfoReplicator`
        /// does.
        eureka_weight: u64 = Some([0, 0]),
        /// Largest offset of a stamping client's clock from true time, in ms, either sign
        /// (keep it inside the nodes' `max_timestamp_ahead`, or every register is refused).
        client_clock_skew_ms: u64 = Some([0, 0]),
        /// Resolution of a stamping client's clock in ms (at least 1; Eureka's is 1). A coarse
        /// one gives two writes of one instance in the same tick the same stamp.
        client_stamp_ms: u64 = Some([1, 1]),
        /// Probability that a new instance or poller is an edge client: its registration sits
        /// exactly at one of the nodes' validation limits (field length, addresses, address
        /// length, metadata entries or bytes; a poller's app list), and its operator now and
        /// then tries a change one past it (`sim-harness/src/workload/edge.rs`).
        edge_probability: f64 = Some([0.0, 0.0]),
    }
}

impl Default for ClientsOptions {
    /// No client of these models: what every run drew before the section existed.
    fn default() -> ClientsOptions {
        ClientsOptions {
            python_weight: 0,
            eureka_weight: 0,
            client_clock_skew_ms: 0,
            client_stamp_ms: 1,
            edge_probability: 0.0,
        }
    }
}
