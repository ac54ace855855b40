//! Why a shard folder could not be written, or shard folders could not be merged. Each names
//! the folder or file and, for folders that do not belong together, what differs.

use std::path::PathBuf;

/// A sweep error.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder without `shard.json`.
    #[error(
        "{dir} is not a finished shard: it has no shard.json (`sim run --shard K/N` writes it \
         last, so the run may have been interrupted, or the folder is an unsharded report)"
    )]
    NotAShard {
        /// The folder.
        dir: PathBuf,
    },
    /// A file that does not parse.
    #[error("malformed {path}: {detail}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Two folders that are not shards of one sweep.
    #[error(
        "{a} and {b} are not shards of one sweep: they differ in {what} ({a_value} vs {b_value})"
    )]
    Mismatch {
        /// What differs.
        what: &'static str,
        /// One folder.
        a: PathBuf,
        /// Its value.
        a_value: String,
        /// The other folder.
        b: PathBuf,
        /// Its value.
        b_value: String,
    },
    /// Two folders that are the same shard.
    #[error("{a} and {b} are both shard {shard}")]
    Duplicate {
        /// The shard, `K/N`.
        shard: String,
        /// One folder.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// Shards not given.
    #[error("shard(s) {missing} missing: a merge needs all {count} shards of the sweep")]
    Missing {
        /// The missing shards, `K/N, ...`.
        missing: String,
        /// How many shards the sweep has.
        count: u64,
    },
    /// The scenario files at hand are not those the shards ran.
    #[error(
        "the scenarios in {dir} are not the ones the shards ran ({detail}); merge with \
         `--scenarios DIR` naming the scenario files the shards ran"
    )]
    Scenarios {
        /// The scenario folder.
        dir: PathBuf,
        /// What differs.
        detail: String,
    },
    /// A line of `runs.jsonl` that is not the run expected there.
    #[error("{path} line {line}: {detail}")]
    Runs {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// Two shards with a capsule of the same name.
    #[error("{a} and {b} are capsules of the same run")]
    CapsuleClash {
        /// One capsule.
        a: PathBuf,
        /// The other.
        b: PathBuf,
    },
    /// A capsule that could not be read or written.
    #[error(transparent)]
    Capsule(#[from] crate::capsule::CapsuleError),
    /// An output folder a merge will not write into.
    #[error("will not write the merged report to {dir}: {reason}")]
    Output {
        /// The folder.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
}
