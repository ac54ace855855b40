//! Identities of apps and instances.

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

use super::Instance;

/// Identifies an app: `(env, appid)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppKey {
    /// Environment.
    pub env: SmolStr,
    /// Application id.
    pub appid: SmolStr,
}

/// Identifies an instance: `(env, appid, zone, hostname)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InstanceKey {
    /// Environment.
    pub env: SmolStr,
    /// Application id.
    pub appid: SmolStr,
    /// Zone.
    pub zone: SmolStr,
    /// Host name.
    pub hostname: SmolStr,
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
