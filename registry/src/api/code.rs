//! bilibili/discovery's business codes, carried in the `code` field of every reply.

use serde::{Deserialize, Serialize};

/// A business code. Every reply is HTTP 200; the outcome is this code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum Code {
    /// Success.
    Ok,
    /// Long-poll: nothing changed before the hold expired.
    NotModified,
    /// The request is malformed or out of range; nothing was changed.
    BadRequest,
    /// The instance or app does not exist.
    NothingFound,
    /// The receiver holds a newer copy (replicated renew or stale write).
    Conflict,
    /// An internal error.
    ServerError,
    /// The node has not synced its registry yet and refuses to serve reads.
    NotReady,
    /// A configured capacity is reached (instances, instances of the app, apps); nothing was
    /// changed. bilibili's `LimitExceed`.
    LimitExceeded,
}

impl Code {
    /// The integer sent on the wire.
    pub const fn as_i32(self) -> i32 {
        match self {
            Code::Ok => 0,
            Code::NotModified => -304,
            Code::BadRequest => -400,
            Code::NothingFound => -404,
            Code::Conflict => -409,
            Code::ServerError => -500,
            Code::NotReady => -503,
            Code::LimitExceeded => -509,
        }
    }

    /// The default `message` for this code, as bilibili/discovery's clients expect it.
    pub const fn default_message(self) -> &'static str {
        match self {
            Code::Ok => "0",
            Code::NotModified => "-304",
            Code::BadRequest => "-400",
            Code::NothingFound => "-404",
            Code::Conflict => "-409",
            Code::ServerError => "-500",
            Code::NotReady => "-503",
            Code::LimitExceeded => "-509",
        }
    }
}

impl From<Code> for i32 {
    fn from(code: Code) -> i32 {
        code.as_i32()
    }
}

impl TryFrom<i32> for Code {
    type Error = String;

    fn try_from(value: i32) -> Result<Self, Self::Error> {
        [
            Code::Ok,
            Code::NotModified,
            Code::BadRequest,
            Code::NothingFound,
            Code::Conflict,
            Code::ServerError,
            Code::NotReady,
            Code::LimitExceeded,
        ]
        .into_iter()
        .find(|code| code.as_i32() == value)
        .ok_or_else(|| format!("unknown business code {value}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_integer() {
        for value in [0, -304, -400, -404, -409, -500, -503, -509] {
            let code = Code::try_from(value).expect("known code");
            assert_eq!(code.as_i32(), value);
            assert_eq!(
                serde_json::to_string(&code).expect("serializes"),
                value.to_string()
            );
        }
    }

    #[test]
    fn unknown_code_is_rejected() {
        assert!(Code::try_from(-418).is_err());
        assert!(serde_json::from_str::<Code>("7").is_err());
    }
}
