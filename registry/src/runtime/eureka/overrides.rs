//! Status overrides and metadata updates as the node's `set` (its one write path for changing
//! an instance in place): what each Eureka request changes, computed from the instance the
//! node holds. Errors are short reasons for a 400. The rules are in `status.rs`.

use super::mapping::RESERVED;
use super::status::{EurekaStatus, OVERRIDE_KEY, STATUS_KEY};
use crate::api::{Instance, Metadata, RegisterArgs, SetArgs, Status};

/// A set of `stored`, in its own zone (a discovery-registered instance may be overridden too),
/// with a new status when `status` is given and `metadata` merged into its own.
fn set_of(stored: &Instance, status: Option<Status>, metadata: Metadata) -> SetArgs {
    SetArgs {
        zone: stored.zone.clone(),
        env: stored.env.clone(),
        appid: stored.appid.clone(),
        hostnames: vec![stored.hostname.clone()],
        statuses: status.into_iter().collect(),
        metadata: vec![metadata],
        replication: false,
        set_timestamp: 0,
    }
}

/// `PUT .../status?value=S`: S wins over the client's own status until deleted.
pub(super) fn put_override(stored: &Instance, value: Option<&str>) -> Result<SetArgs, String> {
    let value = value.ok_or("the query parameter value (the status) is required")?;
    let status = EurekaStatus::parse_given("value", value)?;
    if status == EurekaStatus::Unknown {
        // Eureka spells "no override" UNKNOWN; setting it would look like one and be none.
        return Err("value UNKNOWN is not an override: DELETE the override instead".into());
    }
    let metadata = Metadata::from([(OVERRIDE_KEY.to_string(), status.name().to_string())]);
    Ok(set_of(stored, Some(status.node_status()), metadata))
}

/// `DELETE .../status[?value=S]`: the override goes; the instance takes S when given (and
/// keeps it as its own, as Eureka does until the client registers again), else the status
/// its client registered. Eureka's server sets UNKNOWN there and makes the next heartbeat 404
/// so that the client registers again; the client's own status is already here, so the
/// instance returns to it at once instead.
pub(super) fn delete_override(stored: &Instance, value: Option<&str>) -> Result<SetArgs, String> {
    let mut metadata = Metadata::from([(
        OVERRIDE_KEY.to_string(),
        EurekaStatus::Unknown.name().to_string(),
    )]);
    let status = match value {
        None => EurekaStatus::own(stored),
        Some(value) => {
            let status = EurekaStatus::parse_given("value", value)?;
            metadata.insert(STATUS_KEY.to_string(), status.name().to_string());
            status
        }
    };
    Ok(set_of(stored, Some(status.node_status()), metadata))
}

/// `PUT .../metadata?k=v&...`: the keys merged into the instance's metadata.
pub(super) fn put_metadata(
    stored: &Instance,
    pairs: &[(String, String)],
) -> Result<SetArgs, String> {
    if pairs.is_empty() {
        return Err("give the metadata to merge as query parameters: ?key=value".into());
    }
    let mut metadata = Metadata::new();
    for (key, value) in pairs {
        if key.is_empty() || key.starts_with(RESERVED) {
            return Err(format!(
                "metadata key {key:?}: keys must be non-empty and not start with {RESERVED:?}"
            ));
        }
        metadata.insert(key.clone(), value.clone());
    }
    Ok(set_of(stored, None, metadata))
}

/// A register keeps the override of the instance it replaces: as on Eureka, the override wins
/// over the status a client registers (a client registers again whenever its own status
/// changes) until it is deleted. A cancel or an eviction ends it with the instance.
pub(super) fn keep_override(args: &mut RegisterArgs, stored: Option<&Instance>) {
    let Some(status) = stored.and_then(EurekaStatus::overridden) else {
        return;
    };
    args.metadata
        .insert(OVERRIDE_KEY.to_string(), status.name().to_string());
    args.status = status.node_status();
}
