//! The TOML config file: every key optional, unknown keys refused, durations in milliseconds
//! (the unit is in the key name).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use std::path::PathBuf;

use super::access::{ApiAuth, Token};
use super::limits::{HttpLimits, MAX_HEADER_BYTES_RANGE};
use super::peer_auth::{PeerAuth, Secret, DEFAULT_WINDOW};
use super::settings::{
    parse_protection_override, seed_from_hostname, LogFormat, Overrides, Settings, SettingsError,
    DEV_LISTEN,
};
use super::tls::TlsFiles;
use crate::core::{Config, Durability, ProtectionOverride};

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    listen: Option<String>,
    hostname: Option<String>,
    zone: Option<String>,
    env: Option<String>,
    region: Option<String>,
    peers: Option<Vec<String>>,
    seed: Option<u64>,
    log_format: Option<LogFormat>,
    poll_hold_ms: Option<u64>,
    tombstone_retention_ms: Option<u64>,
    max_timestamp_ahead_ms: Option<u64>,
    max_instances: Option<usize>,
    max_instances_per_app: Option<usize>,
    max_apps: Option<usize>,
    max_peer_batch: Option<usize>,
    shutdown_drain_ms: Option<u64>,
    #[serde(default)]
    lease: LeaseFile,
    #[serde(default)]
    protection: ProtectionFile,
    #[serde(default)]
    cluster: ClusterFile,
    #[serde(default)]
    stall: StallFile,
    #[serde(default)]
    http: HttpFile,
    #[serde(default)]
    peer_auth: PeerAuthFile,
    #[serde(default)]
    auth: AuthFile,
    #[serde(default)]
    tls: TlsFile,
}

/// Client API tokens; the environment (`REGISTRY_WRITE_TOKEN`, `REGISTRY_ADMIN_TOKEN`) wins.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    write_token: Option<String>,
    admin_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
}

/// The cluster secret may be given here, but the environment (`REGISTRY_CLUSTER_SECRET`) keeps
/// it out of files that get copied around.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeerAuthFile {
    secret: Option<String>,
    previous_secret: Option<String>,
    window_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeaseFile {
    evict_after_ms: Option<u64>,
    protected_evict_after_ms: Option<u64>,
    eviction_interval_ms: Option<u64>,
    eviction_keep_percent: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StallFile {
    threshold_ms: Option<u64>,
    refuse_writes_for_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectionFile {
    renew_window_ms: Option<u64>,
    renews_per_instance: Option<u64>,
    threshold_percent: Option<u64>,
    expected_reset_interval_ms: Option<u64>,
    /// The override the node starts with: auto, on or off.
    #[serde(rename = "override")]
    mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    zones: Option<BTreeMap<String, Vec<String>>>,
    self_renew_interval_ms: Option<u64>,
    anti_entropy_interval_ms: Option<u64>,
    anti_entropy_jitter_percent: Option<u64>,
    sync_retry_ms: Option<u64>,
    sync_timeout_ms: Option<u64>,
    #[serde(default)]
    replication: ReplicationFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplicationFile {
    max_batch: Option<usize>,
    max_delay_ms: Option<u64>,
    renew_delay_ms: Option<u64>,
    ack_timeout_ms: Option<u64>,
    backoff_base_ms: Option<u64>,
    backoff_max_ms: Option<u64>,
    retry_horizon_ms: Option<u64>,
    renew_horizon_ms: Option<u64>,
    max_queue: Option<usize>,
    durability: Option<DurabilityFile>,
    peer_ack_wait_ms: Option<u64>,
}

/// `durability = "local"` or `"peer"` (see [`Durability`]).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DurabilityFile {
    Local,
    Peer,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    max_body_bytes: Option<usize>,
    max_peer_body_bytes: Option<usize>,
    max_form_fields: Option<usize>,
    header_read_timeout_ms: Option<u64>,
    body_read_timeout_ms: Option<u64>,
    max_header_bytes: Option<usize>,
    max_connections_per_client: Option<usize>,
    max_polls_per_client: Option<usize>,
}

fn set<T>(target: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *target = value;
    }
}

fn set_ms(target: &mut Duration, value: Option<u64>) {
    set(target, value.map(Duration::from_millis));
}

impl FileConfig {
    /// Defaults, then this file, then `flags`.
    pub(crate) fn into_settings(self, flags: Overrides) -> Result<Settings, SettingsError> {
        let listen = flags
            .listen
            .or(self.listen)
            .or(flags.dev.then_some(DEV_LISTEN.to_string()))
            .ok_or(SettingsError::NoListen)?;
        let mut config = Config::default();
        let identity = &mut config.identity;
        // A node is named after its address unless told otherwise: unique within a cluster.
        identity.hostname = flags
            .hostname
            .or(self.hostname)
            .unwrap_or(listen.clone())
            .into();
        set(&mut identity.zone, flags.zone.or(self.zone).map(Into::into));
        set(&mut identity.env, flags.env.or(self.env).map(Into::into));
        set(
            &mut identity.region,
            flags.region.or(self.region).map(Into::into),
        );
        config.seed = flags
            .seed
            .or(self.seed)
            .unwrap_or_else(|| seed_from_hostname(&config.identity.hostname));
        set(&mut config.cluster.seeds, flags.peers.or(self.peers));
        set_ms(&mut config.poll_hold, self.poll_hold_ms);
        set_ms(&mut config.tombstone_retention, self.tombstone_retention_ms);
        set_ms(
            &mut config.limits.max_timestamp_ahead,
            self.max_timestamp_ahead_ms,
        );
        let limits = &mut config.limits;
        set(&mut limits.max_instances, self.max_instances);
        set(
            &mut limits.max_instances_per_app,
            self.max_instances_per_app,
        );
        set(&mut limits.max_apps, self.max_apps);
        set(&mut limits.max_peer_batch, self.max_peer_batch);
        self.lease.apply(&mut config);
        let protection = match flags.protection {
            Some(mode) => mode,
            None => match &self.protection.mode {
                Some(text) => parse_protection_override(text)
                    .map_err(|e| SettingsError::Value(format!("protection.override: {e}")))?,
                None => ProtectionOverride::Auto,
            },
        };
        self.protection.apply(&mut config);
        self.cluster.apply(&mut config);
        set_ms(&mut config.stall.threshold, self.stall.threshold_ms);
        set_ms(
            &mut config.stall.refuse_writes_for,
            self.stall.refuse_writes_for_ms,
        );
        let mut http_limits = HttpLimits::default();
        self.http.apply(&mut http_limits)?;
        let mut shutdown_drain = Duration::from_secs(2);
        set_ms(&mut shutdown_drain, self.shutdown_drain_ms);
        let peer_auth = self
            .peer_auth
            .into_auth(flags.secret, flags.previous_secret)?;
        let api_auth = self.auth.into_auth(flags.write_token, flags.admin_token)?;
        let tls = TlsFiles {
            cert_file: flags.tls_cert.or(self.tls.cert_file),
            key_file: flags.tls_key.or(self.tls.key_file),
            ca_file: flags.tls_ca.or(self.tls.ca_file),
        }
        .load()
        .map_err(SettingsError::Tls)?;
        Ok(Settings {
            listen,
            config,
            http_limits,
            log_format: flags.log_format.or(self.log_format).unwrap_or_default(),
            shutdown_drain,
            peer_auth,
            api_auth,
            tls,
            protection,
        })
    }
}

impl LeaseFile {
    fn apply(self, config: &mut Config) {
        let lease = &mut config.lease;
        set_ms(&mut lease.evict_after, self.evict_after_ms);
        set_ms(
            &mut lease.protected_evict_after,
            self.protected_evict_after_ms,
        );
        set_ms(&mut lease.eviction_interval, self.eviction_interval_ms);
        set(&mut lease.eviction_keep_percent, self.eviction_keep_percent);
    }
}

impl ProtectionFile {
    fn apply(self, config: &mut Config) {
        let p = &mut config.protection;
        set_ms(&mut p.renew_window, self.renew_window_ms);
        set(&mut p.renews_per_instance, self.renews_per_instance);
        set(&mut p.threshold_percent, self.threshold_percent);
        set_ms(
            &mut p.expected_reset_interval,
            self.expected_reset_interval_ms,
        );
    }
}

impl ClusterFile {
    fn apply(self, config: &mut Config) {
        let c = &mut config.cluster;
        set(&mut c.zones, self.zones);
        set_ms(&mut c.self_renew_interval, self.self_renew_interval_ms);
        set_ms(&mut c.anti_entropy_interval, self.anti_entropy_interval_ms);
        set(
            &mut c.anti_entropy_jitter_percent,
            self.anti_entropy_jitter_percent,
        );
        set_ms(&mut c.sync_retry, self.sync_retry_ms);
        set_ms(&mut c.sync_timeout, self.sync_timeout_ms);
        let r = &mut c.replication;
        let file = self.replication;
        set(&mut r.max_batch, file.max_batch);
        set_ms(&mut r.max_delay, file.max_delay_ms);
        set_ms(&mut r.renew_delay, file.renew_delay_ms);
        set_ms(&mut r.ack_timeout, file.ack_timeout_ms);
        set_ms(&mut r.backoff_base, file.backoff_base_ms);
        set_ms(&mut r.backoff_max, file.backoff_max_ms);
        set_ms(&mut r.retry_horizon, file.retry_horizon_ms);
        set_ms(&mut r.renew_horizon, file.renew_horizon_ms);
        set(&mut r.max_queue, file.max_queue);
        set(
            &mut r.durability,
            file.durability.map(|d| match d {
                DurabilityFile::Local => Durability::Local,
                DurabilityFile::Peer => Durability::Peer,
            }),
        );
        set_ms(&mut r.peer_ack_wait, file.peer_ack_wait_ms);
    }
}

impl PeerAuthFile {
    /// The secrets given by the environment win over the file's.
    fn into_auth(
        self,
        secret: Option<String>,
        previous: Option<String>,
    ) -> Result<PeerAuth, SettingsError> {
        let previous = previous.or(self.previous_secret);
        let Some(secret) = secret.or(self.secret) else {
            if previous.is_some() {
                return Err(SettingsError::PeerAuth(
                    "a previous cluster secret is set but no current one".to_string(),
                ));
            }
            return Ok(PeerAuth::off());
        };
        let parse = |text: String| {
            Secret::new(text.as_bytes()).map_err(|e| SettingsError::PeerAuth(e.to_string()))
        };
        let mut window = DEFAULT_WINDOW;
        set_ms(&mut window, self.window_ms);
        if window.is_zero() {
            return Err(SettingsError::PeerAuth(
                "peer_auth.window_ms must be above 0".to_string(),
            ));
        }
        Ok(PeerAuth::new(
            parse(secret)?,
            previous.map(parse).transpose()?,
            window,
        ))
    }
}

impl AuthFile {
    /// The tokens given by the environment win over the file's.
    fn into_auth(
        self,
        write: Option<String>,
        admin: Option<String>,
    ) -> Result<ApiAuth, SettingsError> {
        let token = |what: &str, text: Option<String>| {
            text.map(|text| Token::new(what, &text).map_err(SettingsError::Auth))
                .transpose()
        };
        Ok(ApiAuth {
            write: token("write token", write.or(self.write_token))?,
            admin: token("operator token", admin.or(self.admin_token))?,
        })
    }
}

impl HttpFile {
    fn apply(self, http: &mut HttpLimits) -> Result<(), SettingsError> {
        if let Some(bytes) = self.max_header_bytes {
            if !MAX_HEADER_BYTES_RANGE.contains(&bytes) {
                return Err(SettingsError::Value(format!(
                    "http.max_header_bytes must be within {}..={}, got {bytes}",
                    MAX_HEADER_BYTES_RANGE.start(),
                    MAX_HEADER_BYTES_RANGE.end()
                )));
            }
            http.max_header_bytes = bytes;
        }
        set(&mut http.max_body_bytes, self.max_body_bytes);
        set(&mut http.max_peer_body_bytes, self.max_peer_body_bytes);
        set(&mut http.max_form_fields, self.max_form_fields);
        set_ms(&mut http.header_read_timeout, self.header_read_timeout_ms);
        set_ms(&mut http.body_read_timeout, self.body_read_timeout_ms);
        set(
            &mut http.max_connections_per_client,
            self.max_connections_per_client,
        );
        set(&mut http.max_polls_per_client, self.max_polls_per_client);
        Ok(())
    }
}
