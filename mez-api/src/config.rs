// SPDX-License-Identifier: BUSL-1.1
//! The zone's configuration, read once at start-up from the environment.
//!
//! | Variable             | Meaning                                  | Default                       |
//! |----------------------|------------------------------------------|-------------------------------|
//! | `MEZ_BIND`           | address and port to listen on            | `127.0.0.1:8080`              |
//! | `MEZ_DATA_DIR`       | directory for the zone's own files       | `./data`                      |
//! | `DATABASE_URL`       | `sqlite://PATH` or `postgres://...`      | `sqlite://<data dir>/mez.db`  |
//! | `AUTH_TOKEN`         | bearer token every client must present   | a fresh random token per run  |
//! | `SOVEREIGN_MASS`     | `true`/`1` to hold the data and serve the Mass surface, `false`/`0` to proxy | `false` |
//! | `MEZ_MAX_BODY_BYTES` | largest accepted request body, in bytes  | 2 MiB                         |
//! | `MEZ_PUBLIC_URL`     | the zone's public base URL (status list URLs in credentials) | `http://<MEZ_BIND>` |
//! | `MEZ_SANCTIONS_FILE` | comma-separated sanctions list files     | the built-in sample           |
//! | `MEZ_SANCTIONS_THRESHOLD` | score a screened name needs to hit (0, 1] | 0.88              |
//! | `MEZ_JWT_JWKS_FILE`  | JWKS file of the identity provider whose JWTs are accepted (with the next two) | JWTs refused |
//! | `MEZ_JWT_ISSUER`     | the `iss` those JWTs must carry          | (required with the file)      |
//! | `MEZ_JWT_AUDIENCE`   | the `aud` those JWTs must carry          | (required with the file)      |
//! | `MEZ_RATE_LIMIT`     | requests per second per principal: `N`, `N/s`, `N/s,burst=B` (burst defaults to N) | no limit |
//!
//! An empty value counts as unset for every variable, because compose files and shells often
//! export an optional variable with nothing in it. A value that is set but cannot be read is
//! an error rather than a silent fallback: a typo must not start a zone in the wrong mode.
//! The parsing takes a lookup function, so it is tested with plain maps and never touches
//! the process environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default listen address: loopback only, so a zone is not exposed until asked to be.
const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "./data";
const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Everything the zone needs to know to start.
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database_url: String,
    /// `None` means no token was configured; start-up then generates one for the run.
    pub auth_token: Option<String>,
    /// Sovereign mode holds the data locally and serves the Mass surface; otherwise the zone
    /// proxies to an upstream Mass.
    pub sovereign: bool,
    pub data_dir: PathBuf,
    pub max_body_bytes: usize,
    /// The base URL relying parties reach the zone at (`https://zone.example`), without a
    /// trailing slash; `None`: `http://<bind address>`. See [`Config::public_url`].
    pub public_url: Option<String>,
    /// `ZONE_SIGNING_KEY_HEX`: the zone's Ed25519 secret key as 64 hex characters. When unset,
    /// the key is kept in `<data_dir>/zone.key` (created on first start).
    pub signing_key_hex: Option<String>,
    /// `MEZ_SANCTIONS_FILE`: comma-separated sanctions list files (the zone's YAML, OFAC
    /// `sdn.csv`, OpenSanctions `targets.simple.csv`) replacing the sample in spec/data/.
    /// Empty: the sample.
    pub sanctions_files: Vec<PathBuf>,
    /// `MEZ_SANCTIONS_THRESHOLD`: the score (0 to 1) a screened name needs to hit.
    pub sanctions_threshold: f64,
    /// The upstream Mass API of a proxy zone.
    pub upstream: UpstreamConfig,
    /// `MEZ_JWT_JWKS_FILE`, `MEZ_JWT_ISSUER`, `MEZ_JWT_AUDIENCE`: the identity provider whose
    /// JWTs the zone accepts; `None` (all three unset): JWTs are refused.
    pub jwt: Option<crate::auth::jwt::JwtConfig>,
    /// `MEZ_RATE_LIMIT`: the per-principal request rate; `None`: no limit.
    pub rate_limit: Option<crate::auth::rate_limit::RateLimit>,
}

/// Where a proxy zone sends its Mass operations.
#[derive(Clone, Debug, Default)]
pub struct UpstreamConfig {
    /// Base URL per service variable (`MASS_ORG_INFO_URL` -> `http://zone-b:8080`): every
    /// `MASS_*_URL` variable that is set. The spec names which variable serves which service.
    pub urls: std::collections::BTreeMap<String, String>,
    /// `MASS_API_TOKEN`: the bearer token sent upstream.
    pub token: Option<String>,
    /// `MASS_TIMEOUT_SECS` (default 30): the whole-request timeout.
    pub timeout: std::time::Duration,
    /// `MASS_CONNECT_TIMEOUT_SECS` (default 5).
    pub connect_timeout: std::time::Duration,
}

impl UpstreamConfig {
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
    pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
}

/// A configuration variable that is set to something unusable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value:?} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub problem: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which returns a variable's value if set.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());

        let bind = parse_bind(get("MEZ_BIND").as_deref().unwrap_or(DEFAULT_BIND))?;
        let data_dir =
            PathBuf::from(get("MEZ_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into()));
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("mez.db").display()));
        let sovereign = match get("SOVEREIGN_MASS") {
            Some(value) => parse_bool("SOVEREIGN_MASS", &value)?,
            None => false,
        };
        let max_body_bytes = match get("MEZ_MAX_BODY_BYTES") {
            Some(value) => parse_body_limit(&value)?,
            None => DEFAULT_MAX_BODY_BYTES,
        };
        let signing_key_hex = get("ZONE_SIGNING_KEY_HEX");
        let upstream = UpstreamConfig {
            urls: upstream_urls(&lookup),
            token: get("MASS_API_TOKEN"),
            timeout: match get("MASS_TIMEOUT_SECS") {
                Some(v) => parse_secs("MASS_TIMEOUT_SECS", &v)?,
                None => UpstreamConfig::DEFAULT_TIMEOUT,
            },
            connect_timeout: match get("MASS_CONNECT_TIMEOUT_SECS") {
                Some(v) => parse_secs("MASS_CONNECT_TIMEOUT_SECS", &v)?,
                None => UpstreamConfig::DEFAULT_CONNECT_TIMEOUT,
            },
        };
        let sanctions_files = get("MEZ_SANCTIONS_FILE")
            .map(|value| parse_file_list(&value))
            .transpose()?
            .unwrap_or_default();
        let sanctions_threshold = match get("MEZ_SANCTIONS_THRESHOLD") {
            Some(value) => parse_threshold(&value)?,
            None => crate::compliance::sanctions::DEFAULT_THRESHOLD,
        };
        let public_url = get("MEZ_PUBLIC_URL")
            .map(|value| parse_public_url(&value))
            .transpose()?;
        let jwt = parse_jwt(
            get("MEZ_JWT_JWKS_FILE"),
            get("MEZ_JWT_ISSUER"),
            get("MEZ_JWT_AUDIENCE"),
        )?;
        let rate_limit = get("MEZ_RATE_LIMIT")
            .map(|value| {
                crate::auth::rate_limit::RateLimit::parse(&value).map_err(|problem| ConfigError {
                    variable: "MEZ_RATE_LIMIT",
                    value: value.clone(),
                    problem,
                })
            })
            .transpose()?;
        Ok(Config {
            jwt,
            rate_limit,
            public_url,
            upstream,
            signing_key_hex,
            sanctions_files,
            sanctions_threshold,
            bind,
            database_url,
            auth_token: get("AUTH_TOKEN"),
            sovereign,
            data_dir,
            max_body_bytes,
        })
    }

    /// A configuration for tests, built from its arguments alone.
    ///
    /// It listens on an ephemeral port and keeps its files in a directory of its own (not
    /// created until something writes there), so tests running in parallel do not collide.
    /// An empty `auth_token` counts as unset, as in the environment.
    pub fn for_tests(database_url: &str, sovereign: bool, auth_token: &str) -> Config {
        let data_dir =
            std::env::temp_dir().join(format!("mez-test-{}", uuid::Uuid::new_v4().simple()));
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.to_owned(),
            auth_token: Some(auth_token.to_owned()).filter(|token| !token.is_empty()),
            sovereign,
            data_dir,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            public_url: None,
            signing_key_hex: None,
            sanctions_files: Vec::new(),
            sanctions_threshold: crate::compliance::sanctions::DEFAULT_THRESHOLD,
            jwt: None,
            rate_limit: None,
            upstream: UpstreamConfig {
                timeout: UpstreamConfig::DEFAULT_TIMEOUT,
                connect_timeout: UpstreamConfig::DEFAULT_CONNECT_TIMEOUT,
                ..UpstreamConfig::default()
            },
        }
    }

    /// The zone's public base URL, without a trailing slash: `MEZ_PUBLIC_URL`, or
    /// `http://<bind address>` when unset. Credentials name their status lists under it
    /// (`<public url>/v1/credentials/status/<list>`), so relying parties must reach it.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", self.bind),
        }
    }

    /// The mode's name, as logged at start-up.
    pub fn mode(&self) -> &'static str {
        if self.sovereign { "sovereign" } else { "proxy" }
    }
}

/// Written by hand so that logging a configuration never prints its secrets.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_password(&self.database_url))
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("sovereign", &self.sovereign)
            .field("data_dir", &self.data_dir)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("public_url", &self.public_url)
            .field(
                "signing_key_hex",
                &self.signing_key_hex.as_ref().map(|_| "<redacted>"),
            )
            .field("sanctions_files", &self.sanctions_files)
            .field("sanctions_threshold", &self.sanctions_threshold)
            .field("jwt", &self.jwt)
            .field("rate_limit", &self.rate_limit)
            .field("upstream_urls", &self.upstream.urls)
            .field(
                "upstream_token",
                &self.upstream.token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Every set `MASS_*_URL` variable of the process (a lookup cannot enumerate, so the known
/// Mass service variables are asked for by name, plus any the environment holds).
fn upstream_urls(
    lookup: &impl Fn(&str) -> Option<String>,
) -> std::collections::BTreeMap<String, String> {
    // The spec's `url_env`s are the list: a variable no service names would serve nothing.
    crate::surface::URL_ENVS
        .iter()
        .filter_map(|name| {
            let value = lookup(name).filter(|v| !v.is_empty())?;
            Some((name.to_string(), value.trim_end_matches('/').to_string()))
        })
        .collect()
}

/// The three JWT variables: all set, or none (a partial set is a mistake, not "JWTs off").
fn parse_jwt(
    jwks_file: Option<String>,
    issuer: Option<String>,
    audience: Option<String>,
) -> Result<Option<crate::auth::jwt::JwtConfig>, ConfigError> {
    match (jwks_file, issuer, audience) {
        (None, None, None) => Ok(None),
        (Some(file), Some(issuer), Some(audience)) => Ok(Some(crate::auth::jwt::JwtConfig {
            jwks_file: PathBuf::from(file),
            issuer,
            audience,
        })),
        (file, issuer, audience) => {
            let (variable, value) = [
                ("MEZ_JWT_JWKS_FILE", &file),
                ("MEZ_JWT_ISSUER", &issuer),
                ("MEZ_JWT_AUDIENCE", &audience),
            ]
            .into_iter()
            .find_map(|(name, value)| value.as_ref().map(|v| (name, v.clone())))
            .unwrap_or(("MEZ_JWT_JWKS_FILE", String::new()));
            Err(ConfigError {
                variable,
                value,
                problem: "is set, but JWTs need all three of MEZ_JWT_JWKS_FILE, \
                          MEZ_JWT_ISSUER and MEZ_JWT_AUDIENCE"
                    .into(),
            })
        }
    }
}

/// An absolute `http://` or `https://` URL with a host, no query or fragment; the trailing
/// slash is dropped.
fn parse_public_url(value: &str) -> Result<String, ConfigError> {
    let problem = |problem: &str| ConfigError {
        variable: "MEZ_PUBLIC_URL",
        value: value.to_owned(),
        problem: problem.to_owned(),
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| problem("must start with http:// or https://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(problem("names no host"));
    }
    if value.contains(['?', '#']) || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(problem(
            "must be a base URL without query, fragment or spaces",
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn parse_secs(variable: &'static str, value: &str) -> Result<std::time::Duration, ConfigError> {
    match value.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() => Ok(std::time::Duration::from_secs_f64(secs)),
        _ => Err(ConfigError {
            variable,
            value: value.to_string(),
            problem: "must be a positive number of seconds".into(),
        }),
    }
}

/// `MEZ_SANCTIONS_FILE`: paths separated by commas, each trimmed; an empty item is a typo.
fn parse_file_list(value: &str) -> Result<Vec<PathBuf>, ConfigError> {
    value
        .split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                Err(ConfigError {
                    variable: "MEZ_SANCTIONS_FILE",
                    value: value.to_owned(),
                    problem: "has an empty item (expected paths separated by commas)".into(),
                })
            } else {
                Ok(PathBuf::from(item))
            }
        })
        .collect()
}

/// `MEZ_SANCTIONS_THRESHOLD`: a number above 0 and at most 1.
fn parse_threshold(value: &str) -> Result<f64, ConfigError> {
    match value.trim().parse::<f64>() {
        Ok(t) if t > 0.0 && t <= 1.0 => Ok(t),
        _ => Err(ConfigError {
            variable: "MEZ_SANCTIONS_THRESHOLD",
            value: value.to_owned(),
            problem: "is not a score above 0 and at most 1 (for example 0.88)".into(),
        }),
    }
}

fn parse_bind(value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| ConfigError {
        variable: "MEZ_BIND",
        value: value.to_owned(),
        problem: "is not an IP address and port (for example 127.0.0.1:8080 or [::]:8080)".into(),
    })
}

fn parse_bool(variable: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigError {
            variable,
            value: value.to_owned(),
            problem: "is not a boolean (expected true, false, 1 or 0)".into(),
        }),
    }
}

fn parse_body_limit(value: &str) -> Result<usize, ConfigError> {
    match value.parse::<usize>() {
        Ok(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(ConfigError {
            variable: "MEZ_MAX_BODY_BYTES",
            value: value.to_owned(),
            problem: "is not a positive whole number of bytes".into(),
        }),
    }
}

/// Hides the password in a `scheme://user:password@host/...` URL.
fn redact_password(url: &str) -> String {
    let Some(start) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let authority_end = url[start..].find('/').map_or(url.len(), |at| start + at);
    let Some(at) = url[start..authority_end].rfind('@').map(|at| start + at) else {
        return url.to_owned();
    };
    match url[start..at].find(':').map(|colon| start + colon) {
        Some(colon) => format!("{}:<redacted>{}", &url[..colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.bind, "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.database_url, "sqlite://./data/mez.db");
        assert_eq!(c.auth_token, None);
        assert!(!c.sovereign);
        assert_eq!(c.max_body_bytes, 2 * 1024 * 1024);
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("MEZ_BIND", "0.0.0.0:9000"),
            ("MEZ_DATA_DIR", "/var/lib/mez"),
            ("DATABASE_URL", "postgres://mez@db/mez"),
            ("AUTH_TOKEN", "s3cret"),
            ("SOVEREIGN_MASS", "true"),
            ("MEZ_MAX_BODY_BYTES", "1024"),
        ])
        .expect("valid");
        assert_eq!(c.bind, "0.0.0.0:9000".parse().expect("addr"));
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/mez"));
        assert_eq!(c.database_url, "postgres://mez@db/mez");
        assert_eq!(c.auth_token.as_deref(), Some("s3cret"));
        assert!(c.sovereign);
        assert_eq!(c.max_body_bytes, 1024);
    }

    #[test]
    fn default_database_lives_in_the_data_dir() {
        let c = config(&[("MEZ_DATA_DIR", "/tmp/mezx")]).expect("valid");
        assert_eq!(c.database_url, "sqlite:///tmp/mezx/mez.db");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = config(&[
            ("AUTH_TOKEN", ""),
            ("DATABASE_URL", ""),
            ("SOVEREIGN_MASS", ""),
            ("MEZ_BIND", ""),
        ])
        .expect("valid");
        assert_eq!(c.auth_token, None);
        assert_eq!(c.database_url, "sqlite://./data/mez.db");
        assert!(!c.sovereign);
        assert_eq!(c.bind.port(), 8080);
    }

    #[test]
    fn sovereign_accepts_true_false_one_zero_in_any_case() {
        for (value, expected) in [
            ("true", true),
            ("TRUE", true),
            ("True", true),
            ("1", true),
            ("false", false),
            ("False", false),
            ("0", false),
        ] {
            let c = config(&[("SOVEREIGN_MASS", value)]).expect(value);
            assert_eq!(c.sovereign, expected, "{value}");
        }
    }

    #[test]
    fn unrecognised_sovereign_value_is_an_error() {
        for value in ["yes", "on", "2", " true"] {
            let err = config(&[("SOVEREIGN_MASS", value)]).expect_err(value);
            assert_eq!(err.variable, "SOVEREIGN_MASS");
            assert!(err.to_string().starts_with("SOVEREIGN_MASS="), "{err}");
        }
    }

    #[test]
    fn bad_bind_and_body_limit_are_errors() {
        let err = config(&[("MEZ_BIND", "localhost")]).expect_err("no port");
        assert_eq!(err.variable, "MEZ_BIND");
        for value in ["0", "-1", "2MiB", "lots"] {
            let err = config(&[("MEZ_MAX_BODY_BYTES", value)]).expect_err(value);
            assert_eq!(err.variable, "MEZ_MAX_BODY_BYTES");
        }
    }

    #[test]
    fn for_tests_uses_its_arguments_only() {
        let c = Config::for_tests("sqlite:///tmp/t.db", true, "tok");
        assert_eq!(c.bind.port(), 0);
        assert_eq!(c.database_url, "sqlite:///tmp/t.db");
        assert_eq!(c.auth_token.as_deref(), Some("tok"));
        assert!(c.sovereign);
        assert_eq!(Config::for_tests("x", false, "").auth_token, None);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = config(&[
            ("AUTH_TOKEN", "tok-123"),
            ("DATABASE_URL", "postgres://mez:pa55@db:5432/mez"),
        ])
        .expect("valid");
        let shown = format!("{c:?}");
        assert!(!shown.contains("tok-123"), "{shown}");
        assert!(!shown.contains("pa55"), "{shown}");
        assert!(
            shown.contains("postgres://mez:<redacted>@db:5432/mez"),
            "{shown}"
        );
    }

    #[test]
    fn sanctions_files_and_threshold_are_read() {
        let c = config(&[]).expect("defaults");
        assert!(c.sanctions_files.is_empty());
        assert_eq!(
            c.sanctions_threshold,
            crate::compliance::sanctions::DEFAULT_THRESHOLD
        );
        let c = config(&[
            (
                "MEZ_SANCTIONS_FILE",
                "/lists/sdn.csv, /lists/targets.simple.csv",
            ),
            ("MEZ_SANCTIONS_THRESHOLD", "0.9"),
        ])
        .expect("valid");
        assert_eq!(
            c.sanctions_files,
            [
                PathBuf::from("/lists/sdn.csv"),
                PathBuf::from("/lists/targets.simple.csv")
            ]
        );
        assert_eq!(c.sanctions_threshold, 0.9);
        for value in ["0", "1.5", "-0.2", "high", "NaN"] {
            let err = config(&[("MEZ_SANCTIONS_THRESHOLD", value)]).expect_err(value);
            assert_eq!(err.variable, "MEZ_SANCTIONS_THRESHOLD");
        }
        let err = config(&[("MEZ_SANCTIONS_FILE", "a.yaml,,b.yaml")]).expect_err("empty item");
        assert_eq!(err.variable, "MEZ_SANCTIONS_FILE");
    }

    #[test]
    fn jwt_variables_are_read_together_or_not_at_all() {
        assert_eq!(config(&[]).expect("defaults").jwt, None);
        let c = config(&[
            ("MEZ_JWT_JWKS_FILE", "/etc/mez/jwks.json"),
            ("MEZ_JWT_ISSUER", "https://idp.example"),
            ("MEZ_JWT_AUDIENCE", "mez"),
        ])
        .expect("valid");
        let jwt = c.jwt.expect("configured");
        assert_eq!(jwt.jwks_file, PathBuf::from("/etc/mez/jwks.json"));
        assert_eq!(jwt.issuer, "https://idp.example");
        assert_eq!(jwt.audience, "mez");
        let err = config(&[("MEZ_JWT_ISSUER", "https://idp.example")]).expect_err("partial");
        assert_eq!(err.variable, "MEZ_JWT_ISSUER");
        assert!(err.problem.contains("MEZ_JWT_AUDIENCE"), "{err}");
        let err = config(&[("MEZ_JWT_JWKS_FILE", "j.json"), ("MEZ_JWT_AUDIENCE", "a")])
            .expect_err("partial");
        assert_eq!(err.variable, "MEZ_JWT_JWKS_FILE");
    }

    #[test]
    fn rate_limit_is_read_and_checked() {
        assert_eq!(config(&[]).expect("defaults").rate_limit, None);
        let c = config(&[("MEZ_RATE_LIMIT", "10/s,burst=20")]).expect("valid");
        let limit = c.rate_limit.expect("configured");
        assert_eq!((limit.per_second.get(), limit.burst.get()), (10, 20));
        let c = config(&[("MEZ_RATE_LIMIT", "3")]).expect("valid");
        let limit = c.rate_limit.expect("configured");
        assert_eq!((limit.per_second.get(), limit.burst.get()), (3, 3));
        for bad in ["0", "fast", "10/h"] {
            let err = config(&[("MEZ_RATE_LIMIT", bad)]).expect_err(bad);
            assert_eq!(err.variable, "MEZ_RATE_LIMIT");
        }
    }

    #[test]
    fn redaction_leaves_urls_without_passwords_alone() {
        for url in [
            "sqlite://./data/mez.db",
            "postgres://mez@db/mez",
            "postgres://db/a@b",
        ] {
            assert_eq!(redact_password(url), url);
        }
    }

    #[test]
    fn public_url_defaults_to_the_bind_address_and_is_checked() {
        let c = config(&[("MEZ_BIND", "0.0.0.0:9000")]).expect("valid");
        assert_eq!(c.public_url(), "http://0.0.0.0:9000");
        let c = config(&[("MEZ_PUBLIC_URL", "https://zone.example/base/")]).expect("valid");
        assert_eq!(c.public_url(), "https://zone.example/base");
        for bad in [
            "zone.example",
            "ftp://zone.example",
            "https://",
            "https://a/?q=1",
            "https://a b",
        ] {
            let err = config(&[("MEZ_PUBLIC_URL", bad)]).expect_err(bad);
            assert_eq!(err.variable, "MEZ_PUBLIC_URL", "{bad}");
        }
    }
}
