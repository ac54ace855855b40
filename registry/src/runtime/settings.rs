//! What a runtime node starts with: the core [`Config`], the HTTP limits, where to listen and
//! how to log, merged from defaults, an optional TOML file and command-line flags (flags win).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::access::ApiAuth;
use super::limits::HttpLimits;
use super::peer_auth::PeerAuth;
use super::settings_file::FileConfig;
use super::tls::Tls;
use crate::core::{Config, ConfigError, Fnv1a, ProtectionOverride};

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Everything a runtime node needs to start.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address to bind the HTTP server to (also the node's `identity.addr`).
    pub(crate) listen: String,
    /// The node's configuration.
    pub config: Config,
    /// HTTP limits.
    pub(crate) http_limits: HttpLimits,
    /// Log format.
    pub log_format: LogFormat,
    /// Longest wait on shutdown for peers to acknowledge the node's own cancel (default 2 s).
    pub(crate) shutdown_drain: Duration,
    /// How peer messages are signed and verified (off without a cluster secret).
    pub peer_auth: PeerAuth,
    /// The client API's write and operator tokens (both off by default).
    pub(crate) api_auth: ApiAuth,
    /// TLS for clients and peers (off by default).
    pub(crate) tls: Tls,
    /// The protection override the node starts with (default `auto`).
    pub(crate) protection: ProtectionOverride,
}

impl Settings {
    /// Whether the node serves TLS (and reaches its peers over TLS).
    pub fn tls_on(&self) -> bool {
        self.tls.is_on()
    }

    /// Whether client writes need the write token.
    pub fn write_token_on(&self) -> bool {
        self.api_auth.write.is_some()
    }

    /// Whether the operator endpoints are enabled (an operator token is configured).
    pub fn admin_token_on(&self) -> bool {
        self.api_auth.admin.is_some()
    }
}

/// Values given on the command line; each one present wins over the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--zone`.
    pub zone: Option<String>,
    /// `--env`.
    pub env: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--peers` (seed peers of this zone).
    pub peers: Option<Vec<String>>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--log-format`.
    pub log_format: Option<LogFormat>,
    /// `--dev`: a single node on 127.0.0.1:7171 unless told otherwise.
    pub dev: bool,
    /// The cluster secret, from `REGISTRY_CLUSTER_SECRET` (never a flag: flags show in `ps`).
    pub secret: Option<String>,
    /// The previous cluster secret, from `REGISTRY_CLUSTER_SECRET_PREVIOUS`.
    pub previous_secret: Option<String>,
    /// The write token, from `REGISTRY_WRITE_TOKEN` (never a flag).
    pub write_token: Option<String>,
    /// The operator token, from `REGISTRY_ADMIN_TOKEN` (never a flag).
    pub admin_token: Option<String>,
    /// `--tls-cert`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-ca`.
    pub tls_ca: Option<PathBuf>,
    /// `--protection-override`.
    pub protection: Option<ProtectionOverride>,
}

/// Why settings could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML or has an unknown or mistyped key.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, which names the key and line.
        message: String,
    },
    /// No listen address was given.
    #[error(
        "no listen address: pass --listen ADDR (or --dev), or set `listen` in the config file"
    )]
    NoListen,
    /// The cluster secrets or the replay window are unusable.
    #[error("peer authentication: {0}")]
    PeerAuth(String),
    /// A client API token is unusable.
    #[error("client authentication: {0}")]
    Auth(String),
    /// The TLS files are missing, unreadable or do not match.
    #[error("{0}")]
    Tls(String),
    /// An HTTP limit is out of range, or another value is not understood.
    #[error("{0}")]
    Value(String),
    /// The merged configuration is unusable.
    #[error("{origin}: {source}")]
    Invalid {
        /// The file, or "flags" when no file was given.
        origin: String,
        /// The offending key and problem.
        source: ConfigError,
    },
}

/// The address `--dev` listens on.
pub(crate) const DEV_LISTEN: &str = "127.0.0.1:7171";

impl Settings {
    /// Reads `file` (if any), applies `flags` over it and checks the result.
    pub fn load(file: Option<&Path>, flags: Overrides) -> Result<Settings, SettingsError> {
        let parsed = match file {
            Some(path) => read(path)?,
            None => FileConfig::default(),
        };
        let origin = file.map_or("flags".to_string(), |p| {
            format!("config file {}", p.display())
        });
        let mut settings = parsed.into_settings(flags)?;
        settings.config.identity.addr = settings.listen.as_str().into();
        settings.config.identity.serves_tls = settings.tls.is_on();
        settings
            .config
            .validate()
            .map_err(|source| SettingsError::Invalid { origin, source })?;
        Ok(settings)
    }
}

fn read(path: &Path) -> Result<FileConfig, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| SettingsError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The protection override named `text`: `auto`, `on` (`force_on`) or `off` (`force_off`).
pub fn parse_protection_override(text: &str) -> Result<ProtectionOverride, String> {
    match text {
        "auto" => Ok(ProtectionOverride::Auto),
        "on" | "force_on" => Ok(ProtectionOverride::ForceOn),
        "off" | "force_off" => Ok(ProtectionOverride::ForceOff),
        other => Err(format!(
            "must be auto, on or off (force_on, force_off), got {other:?}"
        )),
    }
}

/// A stable seed from the host name (FNV-1a), so that each node of a cluster draws its own
/// random choices without configuration, and a restarted node draws the same ones.
pub(crate) fn seed_from_hostname(hostname: &str) -> u64 {
    Fnv1a::hash(hostname.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Durability;

    /// `text` in a settings file that is removed when the returned handle drops.
    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new()
            .suffix(".toml")
            .tempfile()
            .expect("a temp file");
        std::io::Write::write_all(&mut file, text.as_bytes()).expect("write");
        file
    }

    /// A node's seed must not change across versions: a restarted node draws the same choices.
    #[test]
    fn the_seed_of_a_hostname_is_pinned() {
        assert_eq!(seed_from_hostname(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(seed_from_hostname("n1"), 0x08b3_7b07_b558_d4c0);
        assert_eq!(
            seed_from_hostname("registry-0.prod.example"),
            0x6cf7_799e_e517_7886
        );
    }

    #[test]
    fn flags_win_over_the_file_and_the_seed_follows_the_hostname() {
        let file = write("listen = \"127.0.0.1:1\"\nzone = \"zf\"\nhostname = \"h\"\n[cluster]\nsync_timeout_ms = 500\n");
        let flags = Overrides {
            zone: Some("z1".into()),
            peers: Some(vec!["127.0.0.1:2".into()]),
            ..Overrides::default()
        };
        let s = Settings::load(Some(file.path()), flags).expect("loads");
        assert_eq!(s.listen, "127.0.0.1:1");
        assert_eq!(s.config.identity.addr, "127.0.0.1:1");
        assert_eq!(s.config.identity.zone, "z1");
        assert_eq!(s.config.cluster.seeds, ["127.0.0.1:2"]);
        assert_eq!(s.config.cluster.sync_timeout, Duration::from_millis(500));
        assert_eq!(s.config.seed, seed_from_hostname("h"));
    }

    #[test]
    fn unknown_and_mistyped_keys_name_the_file_and_the_key() {
        let file = write("listen = \"127.0.0.1:1\"\n[cluster]\nsync_timeout_ms = \"soon\"\n");
        let err = Settings::load(Some(file.path()), Overrides::default()).expect_err("mistyped");
        let text = err.to_string();
        assert!(text.contains(&file.path().display().to_string()), "{text}");
        assert!(text.contains("sync_timeout_ms"), "{text}");

        let file = write("listen = \"127.0.0.1:1\"\nbogus = 1\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("unknown")
            .to_string();
        assert!(text.contains("bogus"), "{text}");
    }

    #[test]
    fn invalid_values_name_the_key_and_a_missing_file_names_the_file() {
        let file = write("listen = \"127.0.0.1:1\"\n[lease]\neviction_interval_ms = 0\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("zero")
            .to_string();
        assert!(text.contains("lease.eviction_interval"), "{text}");
        let missing = Path::new("/nonexistent/registry.toml");
        let text = Settings::load(Some(missing), Overrides::default())
            .expect_err("missing")
            .to_string();
        assert!(text.contains("/nonexistent/registry.toml"), "{text}");
    }

    #[test]
    fn durability_is_local_unless_the_file_says_peer() {
        let file = write("listen = \"127.0.0.1:1\"\n");
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        assert_eq!(s.config.cluster.replication.durability, Durability::Local);
        let file = write(
            "listen = \"127.0.0.1:1\"\n[cluster.replication]\ndurability = \"peer\"\npeer_ack_wait_ms = 250\n",
        );
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        let replication = &s.config.cluster.replication;
        assert_eq!(replication.durability, Durability::Peer);
        assert_eq!(replication.peer_ack_wait, Duration::from_millis(250));
        let file =
            write("listen = \"127.0.0.1:1\"\n[cluster.replication]\ndurability = \"strong\"\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("no such mode")
            .to_string();
        assert!(text.contains("durability"), "{text}");
    }

    #[test]
    fn the_stall_guard_is_read_in_milliseconds_and_a_zero_threshold_is_refused() {
        let file = write(
            "listen = \"127.0.0.1:1\"\n[stall]\nthreshold_ms = 2500\nrefuse_writes_for_ms = 400\n",
        );
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        assert_eq!(s.config.stall.threshold, Duration::from_millis(2500));
        assert_eq!(s.config.stall.refuse_writes_for, Duration::from_millis(400));

        let file = write("listen = \"127.0.0.1:1\"\n[stall]\nthreshold_ms = 0\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("every pause would refuse writes")
            .to_string();
        assert!(text.contains("stall.threshold"), "{text}");
        let file = write("listen = \"127.0.0.1:1\"\n[stall]\nthreshold = 5\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("unknown key")
            .to_string();
        assert!(text.contains("threshold"), "{text}");
    }

    #[test]
    fn the_renew_delay_is_read_in_milliseconds_and_bounded_by_the_lease() {
        let file = write("listen = \"127.0.0.1:1\"\n[cluster.replication]\nrenew_delay_ms = 250\n");
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        let delay = s.config.cluster.replication.renew_delay;
        assert_eq!(delay, Duration::from_millis(250));

        let file =
            write("listen = \"127.0.0.1:1\"\n[cluster.replication]\nrenew_delay_ms = 60000\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("longer than a tenth of the lease")
            .to_string();
        assert!(text.contains("cluster.replication.renew_delay"), "{text}");
    }

    #[test]
    fn the_cluster_secret_comes_from_the_environment_over_the_file_and_is_never_printed() {
        let file = write(
            "listen = \"127.0.0.1:1\"\n[peer_auth]\nsecret = \"file-secret-0123456789\"\nwindow_ms = 5000\n",
        );
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        assert!(s.peer_auth.is_on());
        let signed_by_file = s.peer_auth.sign("n1", "1", b"body");
        let env = Overrides {
            secret: Some("env-secret-0123456789".into()),
            ..Overrides::default()
        };
        let s = Settings::load(Some(file.path()), env).expect("loads");
        assert_ne!(s.peer_auth.sign("n1", "1", b"body"), signed_by_file);
        let printed = format!("{s:?}");
        assert!(!printed.contains("secret-0123456789"), "{printed}");

        let none = Settings::load(
            None,
            Overrides {
                dev: true,
                ..Overrides::default()
            },
        );
        assert!(!none.expect("dev").peer_auth.is_on());
    }

    #[test]
    fn short_secrets_a_lone_previous_secret_and_a_zero_window_are_refused() {
        let refused = |text: &str, flags: Overrides| {
            let file = write(&format!("listen = \"127.0.0.1:1\"\n[peer_auth]\n{text}"));
            Settings::load(Some(file.path()), flags)
                .expect_err("refused")
                .to_string()
        };
        let text = refused("secret = \"short\"\n", Overrides::default());
        assert!(text.contains("it needs at least 16"), "{text}");
        let text = refused(
            "previous_secret = \"old-secret-0123456789\"\n",
            Overrides::default(),
        );
        assert!(text.contains("no current one"), "{text}");
        let text = refused(
            "window_ms = 0\n",
            Overrides {
                secret: Some("env-secret-0123456789".into()),
                ..Overrides::default()
            },
        );
        assert!(text.contains("window_ms"), "{text}");
    }

    #[test]
    fn tokens_come_from_the_environment_over_the_file_are_checked_and_never_printed() {
        let file =
            write("listen = \"127.0.0.1:1\"\n[auth]\nwrite_token = \"file-token-0123456789\"\n");
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        assert!(s.write_token_on() && !s.admin_token_on());
        let env = Overrides {
            write_token: Some("env-token-0123456789".into()),
            admin_token: Some("admin-token-0123456789".into()),
            ..Overrides::default()
        };
        let s = Settings::load(Some(file.path()), env).expect("loads");
        assert!(s.write_token_on() && s.admin_token_on());
        let printed = format!("{s:?}");
        assert!(!printed.contains("token-0123456789"), "{printed}");
        let short = Overrides {
            admin_token: Some("short".into()),
            ..Overrides::default()
        };
        let text = Settings::load(Some(file.path()), short)
            .expect_err("short")
            .to_string();
        assert!(
            text.contains("operator token") && text.contains("16"),
            "{text}"
        );
        let dev = Overrides {
            dev: true,
            ..Overrides::default()
        };
        let s = Settings::load(None, dev).expect("dev");
        assert!(!s.write_token_on() && !s.admin_token_on() && !s.tls_on());
        assert_eq!(s.protection, ProtectionOverride::Auto);
    }

    #[test]
    fn the_protection_override_comes_from_the_flag_over_the_file() {
        let file = write("listen = \"127.0.0.1:1\"\n[protection]\noverride = \"off\"\n");
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        assert_eq!(s.protection, ProtectionOverride::ForceOff);
        let flag = Overrides {
            protection: Some(ProtectionOverride::ForceOn),
            ..Overrides::default()
        };
        let s = Settings::load(Some(file.path()), flag).expect("loads");
        assert_eq!(s.protection, ProtectionOverride::ForceOn);
        let file = write("listen = \"127.0.0.1:1\"\n[protection]\noverride = \"sometimes\"\n");
        let text = Settings::load(Some(file.path()), Overrides::default())
            .expect_err("unknown mode")
            .to_string();
        assert!(text.contains("protection.override"), "{text}");
        assert_eq!(
            parse_protection_override("force_on"),
            Ok(ProtectionOverride::ForceOn)
        );
        assert!(parse_protection_override("").is_err());
    }

    #[test]
    fn the_header_limit_is_read_and_bounded() {
        let file = write("listen = \"127.0.0.1:1\"\n[http]\nmax_header_bytes = 16384\n");
        let s = Settings::load(Some(file.path()), Overrides::default()).expect("loads");
        assert_eq!(s.http_limits.max_header_bytes, 16384);
        for bad in [0, 100, 65537, 1 << 20] {
            let file = write(&format!(
                "listen = \"127.0.0.1:1\"\n[http]\nmax_header_bytes = {bad}\n"
            ));
            let text = Settings::load(Some(file.path()), Overrides::default())
                .expect_err("out of range")
                .to_string();
            assert!(text.contains("http.max_header_bytes"), "{text}");
        }
    }

    #[test]
    fn dev_defaults_to_the_dev_address_and_no_listen_is_an_error() {
        let dev = Overrides {
            dev: true,
            ..Overrides::default()
        };
        assert_eq!(Settings::load(None, dev).expect("dev").listen, DEV_LISTEN);
        assert!(matches!(
            Settings::load(None, Overrides::default()),
            Err(SettingsError::NoListen)
        ));
    }
}
