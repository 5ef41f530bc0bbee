//! Typed settings: a TOML file, then environment overrides.
//!
//! Every setting has a default (see [`SETTINGS`], which `--help` and `server/README.md`
//! print), may be set in the file under its section, and may be overridden by the
//! environment variable `PASSWORD_MGMT__<SECTION>__<KEY>` (upper case, double
//! underscores), e.g. `PASSWORD_MGMT__DATABASE__URL=postgres://...`. List values take TOML
//! syntax in the environment (`PASSWORD_MGMT__KEYS__PASSWORD_PREVIOUS='["a.pem", "b.pem"]'`).
//! OAuth clients are set in the file only.
//!
//! Errors name the setting (and the variable or file it came from), never a secret value.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use password_mgmt::zeroize::Zeroizing;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The prefix of environment overrides.
pub const ENV_PREFIX: &str = "PASSWORD_MGMT__";

/// A secret string (a database URL may carry a password): `Debug` and `Display` are
/// redacted, the memory is wiped on drop, and [`expose`](Self::expose) is the only way in.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `value`.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The secret, at the point of use.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// Serializes as a placeholder, never as the secret: the serialized defaults only serve to
/// learn each setting's type.
impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

/// All settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `[server]`: the HTTP listener and request limits.
    pub server: ServerSettings,
    /// `[database]`.
    pub database: DatabaseSettings,
    /// `[directory]`.
    pub directory: DirectorySettings,
    /// `[keys]`: password encryption and token MAC keys.
    pub keys: KeySettings,
    /// `[jwt]`: bearer tokens.
    pub jwt: JwtSettings,
    /// `[oauth]`: clients of `POST /oauth/token`.
    pub oauth: OAuthSettings,
    /// `[argon2]`: the cost of stored password and client-secret hashes.
    pub argon2: Argon2Settings,
    /// `[limits]`: request limits (the crate's `RateLimit` text form).
    pub limits: LimitSettings,
    /// `[worker]`: the background applier of password changes.
    pub worker: WorkerSettings,
    /// `[log]`.
    pub log: LogSettings,
}

/// `[server]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: String,
    /// Time for a whole request, body and handler, in seconds.
    pub request_timeout_seconds: u64,
    /// Time for the client to send the request head (then the connection is closed), and
    /// then the body (then 408), in seconds.
    pub request_body_timeout_seconds: u64,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            request_timeout_seconds: 30,
            request_body_timeout_seconds: 10,
            body_limit_bytes: 16 * 1024,
        }
    }
}

/// `[database]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path`, `sqlite::memory:` or `postgres://user@host/db`.
    pub url: SecretString,
    /// Most connections in the pool (an in-memory SQLite database always uses one).
    pub max_connections: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub acquire_timeout_seconds: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: SecretString::new("sqlite://password-mgmt.db".into()),
            max_connections: 10,
            acquire_timeout_seconds: 5,
        }
    }
}

/// `[directory]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorySettings {
    /// A directory file (TOML) imported into the database at start; without it, the
    /// directory last imported (`import`) is served.
    pub file: Option<PathBuf>,
}

/// The RSA scheme passwords are encrypted with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemeSetting {
    /// RSAES-PKCS1-v1_5, the API's recipe (`RSA/ECB/PKCS1Padding`).
    #[default]
    Pkcs1v15,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, empty label.
    OaepSha256,
    /// RSAES-OAEP-SHA-256 with a label binding the identity and the key.
    OaepSha256Bound,
}

impl From<SchemeSetting> for password_mgmt::Scheme {
    fn from(s: SchemeSetting) -> Self {
        match s {
            SchemeSetting::Pkcs1v15 => Self::Pkcs1v15,
            SchemeSetting::OaepSha256 => Self::OaepSha256,
            SchemeSetting::OaepSha256Bound => Self::OaepSha256Bound,
        }
    }
}

/// `[keys]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeySettings {
    /// The current password-encryption key: an RSA PKCS#8 PEM file (published).
    pub password_key: Option<PathBuf>,
    /// Previous password-encryption keys, still accepted (PKCS#8 PEM files).
    pub password_previous: Vec<PathBuf>,
    /// The scheme every listed password key serves: `pkcs1v15` (the API's),
    /// `oaep-sha256` or `oaep-sha256-bound`.
    pub password_scheme: SchemeSetting,
    /// The current token MAC key: a file holding 32 random bytes in base64.
    pub token_mac_key: Option<PathBuf>,
    /// Previous token MAC keys, still accepted.
    pub token_mac_previous: Vec<PathBuf>,
}

/// `[jwt]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtSettings {
    /// The `iss` every accepted token carries, and that issued tokens carry.
    pub issuer: String,
    /// The `aud` every accepted token carries, and that issued tokens carry.
    pub audience: String,
    /// A JWKS file of an external issuer's public keys (RS256, EdDSA).
    pub jwks_file: Option<PathBuf>,
    /// The server's own signing key (Ed25519 PKCS#8 PEM), for `POST /oauth/token`; its
    /// public half is published at `/.well-known/jwks.json` and accepted.
    pub signing_key: Option<PathBuf>,
    /// Lifetime of tokens the server issues, in seconds (`expires_in`).
    pub token_lifetime_seconds: u64,
    /// Leeway for `exp` and `nbf`, in seconds.
    pub clock_skew_seconds: u64,
}

impl Default for JwtSettings {
    fn default() -> Self {
        Self {
            issuer: "password-mgmt".into(),
            audience: "password-mgmt".into(),
            jwks_file: None,
            signing_key: None,
            token_lifetime_seconds: 3600,
            clock_skew_seconds: 30,
        }
    }
}

/// `[oauth]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSettings {
    /// `[[oauth.clients]]`: the clients of the client-credentials grant.
    pub clients: Vec<OAuthClient>,
}

/// One OAuth client (`[[oauth.clients]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    /// `client_id`.
    pub client_id: String,
    /// The Argon2id PHC string of the client secret (`password-mgmt-server hash-secret`
    /// prints one); never the secret itself.
    pub secret_hash: String,
    /// The scopes the client may be granted (`sp:scopes:all` for every scope).
    pub scopes: Vec<String>,
    /// The tenant (org) the client's tokens are for.
    pub tenant: String,
}

/// `[argon2]`: Argon2id costs, OWASP's recommendation by default (19 MiB, 2 passes, 1 lane).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

/// `[limits]`, in the crate's configuration forms: `user` as
/// [`UserLimits`](password_mgmt::UserLimits) (`requests N/W, failures N/W N/W,
/// consecutive N, clock tolerance D`), the others as [`RateLimit`](password_mgmt::RateLimit)
/// (`N/W`). Checked when the settings load ([`LimitSettings::parse`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Per user: digit tokens requested, failed codes per hour and per day, failed codes
    /// in a row, and how far apart the nodes' clocks may be.
    pub user: String,
    /// Digit tokens requested per OAuth client.
    pub digit_token_per_client: String,
    /// Redemption requests per client address.
    pub redeem_per_address: String,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            user: password_mgmt::UserLimits::DEFAULT.to_string(),
            digit_token_per_client: "600/1h".into(),
            redeem_per_address: "30/10m".into(),
        }
    }
}

/// The limits, parsed: what the routes use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Per user (inside the user's state).
    pub user: password_mgmt::UserLimits,
    /// Digit tokens per OAuth client.
    pub per_client: password_mgmt::RateLimit,
    /// Redemptions per client address.
    pub per_address: password_mgmt::RateLimit,
}

impl LimitSettings {
    /// The limits, parsed with the crate's `FromStr` forms; the per-client and per-address
    /// limits take the user limits' clock tolerance.
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting and quoting the crate's reason.
    pub fn parse(&self) -> Result<Limits, ConfigError> {
        let named = |key: &str, e: password_mgmt::Error| {
            ConfigError::new(format!("{key} ({}): {e}", env_name(key)))
        };
        let user: password_mgmt::UserLimits =
            self.user.parse().map_err(|e| named("limits.user", e))?;
        let rate = |key: &str, text: &str| {
            text.parse::<password_mgmt::RateLimit>()
                .and_then(|l| l.with_clock_tolerance(user.clock_tolerance()))
                .map_err(|e| named(key, e))
        };
        Ok(Limits {
            user,
            per_client: rate(
                "limits.digit_token_per_client",
                &self.digit_token_per_client,
            )?,
            per_address: rate("limits.redeem_per_address", &self.redeem_per_address)?,
        })
    }
}

/// `[worker]`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// How long a node holds a password change it is applying before another node may take
    /// it over, in seconds.
    pub lease_seconds: u64,
    /// How often each node looks for changes left behind, in seconds.
    pub poll_interval_seconds: u64,
    /// Attempts before a change is marked `FAILED`.
    pub max_attempts: u32,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            poll_interval_seconds: 5,
            max_attempts: 5,
        }
    }
}

/// `[log]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `password_mgmt_server=debug,info`.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            filter: "info".into(),
        }
    }
}

/// One documented setting.
#[derive(Clone, Copy, Debug)]
pub struct SettingDoc {
    /// `section.key`.
    pub key: &'static str,
    /// The default, as TOML (or `none`).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// Every setting, for `--help` and the README.
pub const SETTINGS: &[SettingDoc] = &[
    SettingDoc {
        key: "server.listen",
        default: "\"127.0.0.1:8080\"",
        doc: "address to listen on (port 0: any free port)",
    },
    SettingDoc {
        key: "server.request_timeout_seconds",
        default: "30",
        doc: "time for a whole request; then 503",
    },
    SettingDoc {
        key: "server.request_body_timeout_seconds",
        default: "10",
        doc: "time for the client to send the request head (then the connection is closed) and then the body (then 408)",
    },
    SettingDoc {
        key: "server.body_limit_bytes",
        default: "16384",
        doc: "largest request body; larger is 413",
    },
    SettingDoc {
        key: "database.url",
        default: "\"sqlite://password-mgmt.db\"",
        doc: "sqlite://PATH, sqlite::memory: or postgres://USER@HOST:PORT/DB (a secret: never printed)",
    },
    SettingDoc {
        key: "database.max_connections",
        default: "10",
        doc: "pool size (in-memory SQLite: always 1)",
    },
    SettingDoc {
        key: "database.acquire_timeout_seconds",
        default: "5",
        doc: "wait for a connection before answering 503",
    },
    SettingDoc {
        key: "directory.file",
        default: "none",
        doc: "directory file (TOML) imported at start; without it the last `import`ed directory is served",
    },
    SettingDoc {
        key: "keys.password_key",
        default: "none (required)",
        doc: "current RSA key for passwords in transit (PKCS#8 PEM); published by query-password-info",
    },
    SettingDoc {
        key: "keys.password_previous",
        default: "[]",
        doc: "previous RSA keys (PKCS#8 PEM), still accepted by set-password",
    },
    SettingDoc {
        key: "keys.password_scheme",
        default: "\"pkcs1v15\"",
        doc: "the scheme of every listed password key: pkcs1v15 (the API's recipe), oaep-sha256, or oaep-sha256-bound (binds identity and key)",
    },
    SettingDoc {
        key: "keys.token_mac_key",
        default: "none (required)",
        doc: "current digit-token MAC key: a file with 32 random bytes in base64",
    },
    SettingDoc {
        key: "keys.token_mac_previous",
        default: "[]",
        doc: "previous token MAC key files, still accepted",
    },
    SettingDoc {
        key: "jwt.issuer",
        default: "\"password-mgmt\"",
        doc: "required `iss` of bearer tokens; `iss` of issued tokens",
    },
    SettingDoc {
        key: "jwt.audience",
        default: "\"password-mgmt\"",
        doc: "required `aud` of bearer tokens; `aud` of issued tokens",
    },
    SettingDoc {
        key: "jwt.jwks_file",
        default: "none",
        doc: "JWKS file of an external issuer (RS256, EdDSA keys)",
    },
    SettingDoc {
        key: "jwt.signing_key",
        default: "none",
        doc: "the server's own Ed25519 signing key (PKCS#8 PEM) for POST /oauth/token",
    },
    SettingDoc {
        key: "jwt.token_lifetime_seconds",
        default: "3600",
        doc: "lifetime of issued tokens (expires_in)",
    },
    SettingDoc {
        key: "jwt.clock_skew_seconds",
        default: "30",
        doc: "leeway on exp and nbf",
    },
    SettingDoc {
        key: "oauth.clients",
        default: "[]",
        doc: "[[oauth.clients]] client_id, secret_hash (Argon2id PHC), scopes, tenant; file only",
    },
    SettingDoc {
        key: "argon2.m_cost_kib",
        default: "19456",
        doc: "Argon2id memory (KiB)",
    },
    SettingDoc {
        key: "argon2.t_cost",
        default: "2",
        doc: "Argon2id passes",
    },
    SettingDoc {
        key: "argon2.p_cost",
        default: "1",
        doc: "Argon2id lanes",
    },
    SettingDoc {
        key: "limits.user",
        default: "\"requests 5/1h, failures 10/1h 100/1d, consecutive 100, clock tolerance 5s\"",
        doc: "per user: digit tokens requested, failed codes per hour and day, failed codes in a row (at most 100), clock tolerance",
    },
    SettingDoc {
        key: "limits.digit_token_per_client",
        default: "\"600/1h\"",
        doc: "digit tokens per OAuth client (N/W: N per window of s, m, h or d)",
    },
    SettingDoc {
        key: "limits.redeem_per_address",
        default: "\"30/10m\"",
        doc: "redemption requests per client address",
    },
    SettingDoc {
        key: "worker.lease_seconds",
        default: "30",
        doc: "how long a node holds a password change before another may take it over",
    },
    SettingDoc {
        key: "worker.poll_interval_seconds",
        default: "5",
        doc: "how often each node looks for changes left behind",
    },
    SettingDoc {
        key: "worker.max_attempts",
        default: "5",
        doc: "attempts before a change is FAILED",
    },
    SettingDoc {
        key: "log.filter",
        default: "\"info\"",
        doc: "tracing filter, e.g. info or password_mgmt_server=debug,info",
    },
];

/// The environment variable that overrides `section.key`.
#[must_use]
pub fn env_name(key: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        key.replace('.', "__").to_ascii_uppercase()
    )
}

/// The settings table for `--help`.
#[must_use]
pub fn settings_help() -> String {
    let mut out = String::from(
        "SETTINGS (TOML file sections, each overridable by its environment variable):\n",
    );
    for s in SETTINGS {
        out.push_str(&format!(
            "  {:<38} {}\n  {:<38} default {}; {}\n",
            s.key,
            env_name(s.key),
            "",
            s.default,
            s.doc
        ));
    }
    out
}

/// A configuration problem, naming the setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// An error with this message.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Settings {
    /// Reads `file` (if any), then applies the `PASSWORD_MGMT__...` variables of `env`.
    ///
    /// # Errors
    /// [`ConfigError`] for an unreadable file, invalid TOML, an unknown setting or
    /// variable, or a value of the wrong type, naming the setting.
    pub fn load<I>(file: Option<&Path>, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new(format!("cannot read config file {}: {e}", path.display()))
                })?;
                text.parse::<toml::Table>().map_err(|e| {
                    ConfigError::new(format!(
                        "config file {} is not valid TOML: {e}",
                        path.display()
                    ))
                })?
            }
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Self::default())
            .map_err(|e| ConfigError::new(format!("internal: defaults do not serialize: {e}")))?;
        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        overrides.sort();
        for (name, value) in overrides {
            apply_override(&mut table, &defaults, &name, &value)?;
        }
        let settings: Self =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| {
                    ConfigError::new(format!("invalid setting: {}", e.message()))
                })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad setting.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let positive = [
            (
                "server.request_timeout_seconds",
                self.server.request_timeout_seconds,
            ),
            (
                "server.request_body_timeout_seconds",
                self.server.request_body_timeout_seconds,
            ),
            (
                "database.acquire_timeout_seconds",
                self.database.acquire_timeout_seconds,
            ),
            (
                "jwt.token_lifetime_seconds",
                self.jwt.token_lifetime_seconds,
            ),
            ("worker.lease_seconds", self.worker.lease_seconds),
            (
                "worker.poll_interval_seconds",
                self.worker.poll_interval_seconds,
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(format!(
                    "{key} ({}) must be at least 1",
                    env_name(key)
                )));
            }
        }
        if self.server.body_limit_bytes < 256 {
            return Err(ConfigError::new(
                "server.body_limit_bytes must be at least 256",
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::new(
                "database.max_connections must be at least 1",
            ));
        }
        if self.worker.max_attempts == 0 {
            return Err(ConfigError::new("worker.max_attempts must be at least 1"));
        }
        self.limits.parse()?;
        argon2::Params::new(
            self.argon2.m_cost_kib,
            self.argon2.t_cost,
            self.argon2.p_cost,
            None,
        )
        .map_err(|e| ConfigError::new(format!("argon2 settings are out of range: {e}")))?;
        for (i, client) in self.oauth.clients.iter().enumerate() {
            if client.client_id.is_empty() || client.tenant.is_empty() {
                return Err(ConfigError::new(format!(
                    "oauth.clients[{i}]: client_id and tenant must not be empty"
                )));
            }
            argon2::PasswordHash::new(&client.secret_hash).map_err(|_| {
                ConfigError::new(format!(
                    "oauth.clients[{i}] ({}): secret_hash is not a PHC string",
                    client.client_id
                ))
            })?;
        }
        Ok(())
    }

    /// `server.listen` parsed.
    ///
    /// # Errors
    /// [`ConfigError`] when it is not `IP:PORT`.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            ConfigError::new(format!(
                "server.listen ({}) must be IP:PORT, e.g. 127.0.0.1:8080",
                env_name("server.listen")
            ))
        })
    }
}

/// Sets the value of one `PASSWORD_MGMT__SECTION__KEY` variable in `table`, typed after
/// the default value of that setting.
fn apply_override(
    table: &mut toml::Table,
    defaults: &toml::Table,
    name: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let path = name
        .get(ENV_PREFIX.len()..)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mut parts = path.split("__");
    let (Some(section), Some(key), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ConfigError::new(format!(
            "{name}: expected {ENV_PREFIX}SECTION__KEY"
        )));
    };
    let known = SETTINGS.iter().any(|s| s.key == format!("{section}.{key}"));
    if !known || (section, key) == ("oauth", "clients") {
        return Err(ConfigError::new(format!(
            "{name}: no such setting (see --help for the list; oauth.clients is set in the file)"
        )));
    }
    let default = defaults.get(section).and_then(|s| s.get(key));
    let typed = match default {
        Some(toml::Value::Integer(_)) => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| ConfigError::new(format!("{name} must be a whole number")))?,
        Some(toml::Value::Boolean(_)) => value
            .trim()
            .parse::<bool>()
            .map(toml::Value::Boolean)
            .map_err(|_| ConfigError::new(format!("{name} must be true or false")))?,
        Some(toml::Value::Array(_)) => format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(toml::Value::is_array)
            .ok_or_else(|| {
                ConfigError::new(format!("{name} must be a TOML array, e.g. [\"a\", \"b\"]"))
            })?,
        _ => toml::Value::String(value.to_owned()),
    };
    let section_table = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match section_table {
        toml::Value::Table(t) => {
            t.insert(key.to_owned(), typed);
            Ok(())
        }
        _ => Err(ConfigError::new(format!(
            "[{section}] in the config file must be a table"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_validate() {
        Settings::load(None, env(&[])).unwrap();
    }

    #[test]
    fn env_overrides_are_typed_after_the_defaults() {
        let s = Settings::load(
            None,
            env(&[
                ("PASSWORD_MGMT__SERVER__BODY_LIMIT_BYTES", "1024"),
                (
                    "PASSWORD_MGMT__DATABASE__URL",
                    "postgres://u:pw@127.0.0.1/db",
                ),
                (
                    "PASSWORD_MGMT__KEYS__PASSWORD_PREVIOUS",
                    "[\"a.pem\", \"b.pem\"]",
                ),
                ("PASSWORD_MGMT__LIMITS__REDEEM_PER_ADDRESS", "3/1h"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.body_limit_bytes, 1024);
        assert_eq!(s.database.url.expose(), "postgres://u:pw@127.0.0.1/db");
        assert_eq!(s.keys.password_previous.len(), 2);
        assert_eq!(s.limits.redeem_per_address, "3/1h");
        assert_eq!(s.limits.parse().unwrap().per_address.to_string(), "3/1h");
        assert!(!format!("{s:?}").contains("pw@"));
    }

    #[test]
    fn errors_name_the_setting() {
        let e = Settings::load(
            None,
            env(&[("PASSWORD_MGMT__SERVER__BODY_LIMIT_BYTES", "big")]),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("PASSWORD_MGMT__SERVER__BODY_LIMIT_BYTES"),
            "{e}"
        );
        let e = Settings::load(None, env(&[("PASSWORD_MGMT__SERVER__LISTN", "x")])).unwrap_err();
        assert!(e.to_string().contains("no such setting"), "{e}");
        let e =
            Settings::load(None, env(&[("PASSWORD_MGMT__SERVER__LISTEN", "nope")])).unwrap_err();
        assert!(e.to_string().contains("server.listen"), "{e}");
        for (name, value, expected) in [
            (
                "PASSWORD_MGMT__LIMITS__USER",
                "consecutive 500",
                "consecutiveFailures",
            ),
            (
                "PASSWORD_MGMT__LIMITS__REDEEM_PER_ADDRESS",
                "30 per hour",
                "limits.redeem_per_address",
            ),
        ] {
            let e = Settings::load(None, env(&[(name, value)])).unwrap_err();
            assert!(e.to_string().contains(expected), "{e}");
        }
    }

    #[test]
    fn every_setting_is_documented_in_the_readme_and_here() {
        let readme = include_str!("../README.md");
        for s in SETTINGS {
            assert!(
                readme.contains(&format!("`{}`", s.key)),
                "README lacks {}",
                s.key
            );
            if s.key != "oauth.clients" {
                assert!(
                    readme.contains(&env_name(s.key)),
                    "README lacks {}",
                    env_name(s.key)
                );
            }
        }
        let defaults = toml::Table::try_from(Settings::default()).unwrap();
        for (section, table) in &defaults {
            for key in table.as_table().unwrap().keys() {
                let name = format!("{section}.{key}");
                assert!(
                    SETTINGS.iter().any(|s| s.key == name),
                    "{name} is not documented"
                );
            }
        }
    }

    #[test]
    fn every_documented_setting_exists() {
        let defaults = toml::Table::try_from(Settings::default()).unwrap();
        for s in SETTINGS {
            let (section, key) = s.key.split_once('.').unwrap();
            let has = defaults.get(section).and_then(|t| t.get(key)).is_some();
            let optional = s.default.starts_with("none");
            assert!(has || optional, "{} is documented but not a setting", s.key);
        }
    }
}
