//! What can go wrong reading or writing a capsule; every variant names the file.

/// A capsule could not be read, understood or written.
#[derive(Debug, thiserror::Error)]
pub enum CapsuleError {
    /// The file could not be read.
    #[error("cannot read capsule {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a capsule: bad JSON, or a field missing, unknown or of the wrong type.
    #[error("malformed capsule {file}: {source}")]
    Malformed {
        /// The file.
        file: String,
        /// Where and what, as the JSON reader saw it.
        source: serde_json::Error,
    },
    /// The file is well formed but describes no valid run.
    #[error("invalid capsule {file}: {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// The capsule could not be turned into JSON.
    #[error("cannot encode capsule {file}: {source}")]
    Encode {
        /// The file it was meant for.
        file: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The file could not be written.
    #[error("cannot write capsule {file}: {source}")]
    Write {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
}
