//! Eureka's instance statuses, and the status override an operator (or a client's
//! `status_update`) puts on an instance with `PUT apps/{APP}/{ID}/status`.
//!
//! The node has two statuses (UP, WAITING); Eureka has five plus an override that wins over
//! what the client reports until it is deleted. Both live in reserved metadata, so they are
//! versioned, replicated and repaired with the instance like every other field:
//! [`STATUS_KEY`] holds the status the client registered (absent: UP), [`OVERRIDE_KEY`] the
//! override (absent or UNKNOWN: none, as Eureka spells "no override"). The node's own status
//! is UP exactly when the status in force (the override, else the client's) is UP.

use crate::api::{Instance, Status};

/// The status the client registered, when not UP.
pub(super) const STATUS_KEY: &str = "eureka.status";
/// The status override, or UNKNOWN once deleted (a set merges metadata and cannot remove a
/// key, and UNKNOWN is how Eureka itself writes "no override").
pub(super) const OVERRIDE_KEY: &str = "eureka.overriddenstatus";

/// Eureka's instance statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum EurekaStatus {
    Up,
    Down,
    Starting,
    OutOfService,
    Unknown,
}

impl EurekaStatus {
    pub(super) fn parse(text: &str) -> Option<EurekaStatus> {
        Some(match text {
            "UP" => EurekaStatus::Up,
            "DOWN" => EurekaStatus::Down,
            "STARTING" => EurekaStatus::Starting,
            "OUT_OF_SERVICE" => EurekaStatus::OutOfService,
            "UNKNOWN" => EurekaStatus::Unknown,
            _ => return None,
        })
    }

    /// Parses a status a client sent, or says what is accepted (for a 400).
    pub(super) fn parse_given(field: &str, text: &str) -> Result<EurekaStatus, String> {
        EurekaStatus::parse(text).ok_or_else(|| {
            format!("{field} {text:?} is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN")
        })
    }

    pub(super) const fn name(self) -> &'static str {
        match self {
            EurekaStatus::Up => "UP",
            EurekaStatus::Down => "DOWN",
            EurekaStatus::Starting => "STARTING",
            EurekaStatus::OutOfService => "OUT_OF_SERVICE",
            EurekaStatus::Unknown => "UNKNOWN",
        }
    }

    /// The node's status for this Eureka status: only UP is in rotation for discovery clients.
    pub(super) fn node_status(self) -> Status {
        if self == EurekaStatus::Up {
            Status::Up
        } else {
            Status::Waiting
        }
    }

    /// The status the instance's client registered (UP when it said nothing else).
    pub(super) fn own(instance: &Instance) -> EurekaStatus {
        instance
            .metadata
            .get(STATUS_KEY)
            .and_then(|s| EurekaStatus::parse(s))
            .unwrap_or(EurekaStatus::Up)
    }

    /// The override in force, if any.
    pub(super) fn overridden(instance: &Instance) -> Option<EurekaStatus> {
        instance
            .metadata
            .get(OVERRIDE_KEY)
            .and_then(|s| EurekaStatus::parse(s))
            .filter(|s| *s != EurekaStatus::Unknown)
    }

    /// The Eureka status of a stored instance. The node's status decides UP or not (a
    /// discovery client may have set it since); out of rotation, the override names the
    /// reason, else the client's own status, else (WAITING set through the discovery API)
    /// OUT_OF_SERVICE.
    pub(super) fn of(instance: &Instance) -> EurekaStatus {
        match instance.status {
            Status::Up => EurekaStatus::Up,
            Status::Waiting => [
                EurekaStatus::overridden(instance),
                Some(EurekaStatus::own(instance)),
            ]
            .into_iter()
            .flatten()
            .find(|s| *s != EurekaStatus::Up)
            .unwrap_or(EurekaStatus::OutOfService),
        }
    }
}
