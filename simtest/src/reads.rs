//! What clients and checks read from one node.

use std::collections::BTreeMap;

use registry::api::{Instance, InstanceKey, Metadata, RegisterArgs, Status};
use registry::client::{Client, ClientError};

use crate::cluster::{ENV, ZONE};

/// The instance `hostname` of `appid` as a client registers it.
pub fn instance(appid: &str, hostname: &str) -> RegisterArgs {
    RegisterArgs {
        key: InstanceKey {
            env: ENV.into(),
            appid: appid.into(),
            zone: ZONE.into(),
            hostname: hostname.into(),
        },
        region: "r1".into(),
        status: Status::Up,
        addrs: vec![format!("http://{hostname}:8000").into()],
        version: "v1".into(),
        metadata: Metadata::new(),
        replication: false,
        latest_timestamp: 0,
        dirty_timestamp: 0,
    }
}

/// What one node answers for an app.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// The instances by host name.
    Instances(BTreeMap<String, Instance>),
    /// The node is not ready (-503: it has not synced).
    NotReady,
    /// The app has no instance (-404).
    Nothing,
    /// No answer (down, clogged, timed out) or another refusal.
    Failed(String),
}

/// Fetches `appid` (every status) from the node at `addr` only.
pub async fn read(addr: &str, appid: &str) -> Read {
    match Client::new(vec![addr.to_string()]).fetch(ENV, appid).await {
        Ok(info) => Read::Instances(
            info.instances
                .into_values()
                .flatten()
                .map(|i| (i.hostname.to_string(), i))
                .collect(),
        ),
        Err(ClientError::Refused { code: -503, .. }) => Read::NotReady,
        Err(ClientError::Refused { code: -404, .. }) => Read::Nothing,
        Err(error) => Read::Failed(error.to_string()),
    }
}

/// The host names of `appid` on the node at `addr`, if it answered (none for -404).
pub async fn hostnames(addr: &str, appid: &str) -> Option<Vec<String>> {
    match read(addr, appid).await {
        Read::Instances(found) => Some(found.into_keys().collect()),
        Read::Nothing => Some(Vec::new()),
        Read::NotReady | Read::Failed(_) => None,
    }
}
