//! Identities of apps and instances.

use serde::{Deserialize, Serialize};

use super::Instance;

/// Identifies an app: `(env, appid)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppKey {
    /// Environment.
    pub env: String,
    /// Application id.
    pub appid: String,
}

/// Identifies an instance: `(env, appid, zone, hostname)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceKey {
    /// Environment.
    pub env: String,
    /// Application id.
    pub appid: String,
    /// Zone.
    pub zone: String,
    /// Host name.
    pub hostname: String,
}

impl InstanceKey {
    /// The key of `instance`.
    pub fn of(instance: &Instance) -> InstanceKey {
        InstanceKey {
            env: instance.env.clone(),
            appid: instance.appid.clone(),
            zone: instance.zone.clone(),
            hostname: instance.hostname.clone(),
        }
    }

    /// The app this instance belongs to.
    pub fn app(&self) -> AppKey {
        AppKey {
            env: self.env.clone(),
            appid: self.appid.clone(),
        }
    }
}
