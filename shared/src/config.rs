//! Configuration from the environment, read once at start-up. Anything missing or invalid is an
//! error naming the variable and what it should hold: a function never serves requests it
//! cannot verify.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub const QUEUE_URL: &str = "QUEUE_URL";
pub const WEBHOOK_SECRET: &str = "WEBHOOK_SECRET";
pub const WEBHOOK_SECRET_ARN: &str = "WEBHOOK_SECRET_ARN";
pub const SECRET_REFRESH: &str = "SECRET_REFRESH_SECONDS";
pub const TOLERANCE: &str = "WEBHOOK_TOLERANCE_SECONDS";
pub const MAX_BODY: &str = "MAX_BODY_BYTES";
pub const IDEMPOTENCY_TABLE: &str = "IDEMPOTENCY_TABLE";
pub const IDEMPOTENCY_TTL: &str = "IDEMPOTENCY_TTL_SECONDS";
pub const PAYLOAD_BUCKET: &str = "PAYLOAD_BUCKET";
/// Per-source settings of a deployment, one JSON object shared by all its functions:
/// `{"<source>": {"<VARIABLE>": "<value>", …}, …}` (see [`Env::with_source_settings`]).
pub const SOURCE_SETTINGS: &str = "INLET_SOURCE_SETTINGS";
/// The CloudWatch namespace of a function's metrics (see `lambda`).
pub const METRICS_NAMESPACE: &str = "INLET_METRICS_NAMESPACE";
/// `system` makes the functions trust the system's bundle instead of the Amazon roots (see `aws`).
pub const INLET_TLS_ROOTS: &str = "INLET_TLS_ROOTS";

/// Which received events also go to the outbound subscriptions: envelope types as endpoint
/// filters write them (`stripe.invoice.*,github.push`, `*`); deployment-wide or in a source's
/// entry (see `outbound::relay`).
pub const RELAY: &str = "INLET_RELAY";
/// The relay queue: where receivers put the events they relay, for fan-out. Not the outbox that
/// publishers use: fan-out trusts what arrives on it (see `outbound::relay`).
pub const RELAY_QUEUE_URL: &str = "RELAY_QUEUE_URL";

/// The source's name (a catalogue sender's name, or any name for an instance of one).
pub const INLET_SOURCE: &str = "INLET_SOURCE";
/// The catalogue sender an instance uses, or `custom`; defaults to the source's name.
pub const INLET_SCHEME: &str = "INLET_SCHEME";
/// The URL the sender posts to, exactly as registered with it (schemes that sign the URL).
pub const PUBLIC_URL: &str = "PUBLIC_URL";
/// Meta's `hub.verify_token`.
pub const VERIFY_TOKEN: &str = "VERIFY_TOKEN";

/// `<ip:port>,<path of a PEM CA>`: tests only. Every key fetch and visit connects to that
/// loopback address (whatever host the checked URL names, which TLS still checks against the
/// server's certificate), trusting the CA besides Mozilla's roots.
pub const TEST_ONLY_KEY_SERVER: &str = "INLET_TEST_ONLY_KEY_SERVER";
/// Default idempotency window: a day covers every provider's retry schedule for the first hours,
/// and GitHub's manual redeliveries on the same day.
pub const DEFAULT_WINDOW_SECONDS: u64 = 86_400;

/// The custom scheme's settings, `INLET_CUSTOM_*` (what each means: the custom scheme's module).
pub mod custom {
    pub const SIGNATURE: &str = "INLET_CUSTOM_SIGNATURE";
    pub const FORMAT: &str = "INLET_CUSTOM_SIGNATURE_FORMAT";
    pub const SIGNED: &str = "INLET_CUSTOM_SIGNED";
    pub const ALGORITHM: &str = "INLET_CUSTOM_ALGORITHM";
    pub const ENCODING: &str = "INLET_CUSTOM_ENCODING";
    pub const KEY: &str = "INLET_CUSTOM_KEY";
    pub const TIMESTAMP: &str = "INLET_CUSTOM_TIMESTAMP";
    pub const TIMESTAMP_UNIT: &str = "INLET_CUSTOM_TIMESTAMP_UNIT";
    pub const TOLERANCE: &str = "INLET_CUSTOM_TOLERANCE";
    pub const ID: &str = "INLET_CUSTOM_ID";
    pub const TYPE: &str = "INLET_CUSTOM_TYPE";
    pub const SUBJECT: &str = "INLET_CUSTOM_SUBJECT";
    pub const TIME: &str = "INLET_CUSTOM_TIME";
    pub const BODY: &str = "INLET_CUSTOM_BODY";
    pub const UNSIGNED: &str = "INLET_CUSTOM_UNSIGNED";

    /// Every setting of the custom scheme (with [`super::INLET_VARIABLES`], every `INLET_*`
    /// variable a function reads).
    pub const SETTINGS: &[&str] = &[
        SIGNATURE,
        FORMAT,
        SIGNED,
        ALGORITHM,
        ENCODING,
        KEY,
        TIMESTAMP,
        TIMESTAMP_UNIT,
        TOLERANCE,
        ID,
        TYPE,
        SUBJECT,
        TIME,
        BODY,
        UNSIGNED,
    ];
}

/// The names of the outbound side's settings (read by `outbound::settings`).
pub mod outbound {
    /// The retry schedule: comma-separated durations (`5s,1m,5m,30m,2h,5h,10h,12h`).
    pub const SCHEDULE: &str = "INLET_OUTBOUND_SCHEDULE";
    /// Seconds an attempt may take in all (default 15, at most 60).
    pub const TIMEOUT: &str = "INLET_OUTBOUND_TIMEOUT_SECONDS";
    /// `true` lets endpoints use http:// (default `false`).
    pub const ALLOW_HTTP: &str = "INLET_OUTBOUND_ALLOW_HTTP";
    /// Comma-separated CIDR ranges endpoints may resolve to although they are not globally routable
    /// (`10.1.0.0/16,127.0.0.1/32`); none by default.
    pub const ALLOW_NETWORKS: &str = "INLET_OUTBOUND_ALLOW_NETWORKS";
    /// How long an endpoint may fail without a success before it is disabled (default `5d`).
    pub const DISABLE_AFTER: &str = "INLET_OUTBOUND_DISABLE_AFTER";
    /// How long the attempt log keeps an attempt (default `30d`).
    pub const ATTEMPTS_KEPT: &str = "INLET_OUTBOUND_ATTEMPTS_KEPT";
    /// Failures in a row that open an endpoint's circuit (default 5).
    pub const CIRCUIT_THRESHOLD: &str = "INLET_OUTBOUND_CIRCUIT_THRESHOLD";

    /// Every outbound setting, for the unknown-setting check.
    pub const SETTINGS: &[&str] = &[
        SCHEDULE,
        TIMEOUT,
        ALLOW_HTTP,
        ALLOW_NETWORKS,
        DISABLE_AFTER,
        ATTEMPTS_KEPT,
        CIRCUIT_THRESHOLD,
    ];
}

/// Every `INLET_*` variable a function reads, besides the custom scheme's
/// ([`custom::SETTINGS`]): any other name that starts with `INLET_` stops it at start-up
/// ([`unknown_variables`]), so that a misspelt setting is never silently left out. The outbound
/// side's are [`outbound::SETTINGS`].
pub const INLET_VARIABLES: &[&str] = &[
    INLET_SOURCE,
    INLET_SCHEME,
    SOURCE_SETTINGS,
    METRICS_NAMESPACE,
    INLET_TLS_ROOTS,
    RELAY,
    TEST_ONLY_KEY_SERVER,
];

/// What a source's entry in `INLET_SOURCE_SETTINGS` may set, besides `INLET_CUSTOM_*`.
pub const ENTRY_VARIABLES: &[&str] = &[INLET_SCHEME, PUBLIC_URL, VERIFY_TOKEN, TOLERANCE, RELAY];

/// Default replay window.
/// Largest body a function can receive: Lambda's 6 MB synchronous payload. The default limit
/// with a payload bucket; without one, the default is the queue's maximum message size.
pub const MAX_BODY_CEILING: usize = 6 * 1024 * 1024;
/// Default least interval between Secrets Manager re-fetches triggered by signature mismatches.
pub const DEFAULT_SECRET_REFRESH_SECONDS: u64 = 60;
/// Largest replay window: ten years, so committed sample events keep working with `sam local
/// invoke`. Anything near it turns replay protection off in practice; keep deployments at minutes.
const MAX_TOLERANCE_SECONDS: u64 = 315_360_000;
/// Bounds of the idempotency window.
const IDEMPOTENCY_TTL_RANGE: (u64, u64) = (60, 2_592_000);

/// A snapshot of the environment, so parsing is deterministic and testable.
#[derive(Debug, Default, Clone)]
pub struct Env {
    vars: BTreeMap<String, String>,
    /// The variables the source's entry in `INLET_SOURCE_SETTINGS` set (see
    /// [`Env::with_source_settings`]): a deployment-wide value may go unused by some source, a
    /// value given for one source may not.
    entry: BTreeSet<String>,
}

impl Env {
    /// The process environment (variables that are not UTF-8 are left out).
    pub fn from_process() -> Self {
        Self::from_pairs(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            entry: BTreeSet::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The variable's value unless it is unset or blank.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// Whether the source's own entry in `INLET_SOURCE_SETTINGS` gave `name` a value.
    pub fn from_entry(&self, name: &str) -> bool {
        self.entry.contains(name) && self.given(name).is_some()
    }

    /// Every variable, by name.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// This environment with the settings `INLET_SOURCE_SETTINGS` holds for `source` laid over
    /// it. One deployment passes the same object to every function (a template can't give each
    /// function of a loop its own variables), and each takes its own entry: `INLET_SCHEME`, the
    /// custom scheme's `INLET_CUSTOM_*`, `PUBLIC_URL`, `VERIFY_TOKEN`,
    /// `WEBHOOK_TOLERANCE_SECONDS` and `INLET_RELAY`. A source
    /// without an entry keeps the environment as it is; anything else in the entry is an error
    /// naming the variable (and the closest one it may set). Whether the source uses what its
    /// entry sets is checked once its scheme is known (the source's `from_env`).
    pub fn with_source_settings(mut self, source: &str) -> Result<Self, ConfigError> {
        let Some(raw) = self.get(SOURCE_SETTINGS).filter(|s| !s.trim().is_empty()) else {
            return Ok(self);
        };
        let bad = |expected: String| ConfigError::Invalid {
            var: SOURCE_SETTINGS.into(),
            expected,
        };
        let all: BTreeMap<String, BTreeMap<String, String>> = serde_json::from_str(raw)
            .map_err(|_| {
                bad(r#"a JSON object of objects of strings, {"<source>": {"PUBLIC_URL": "https://…"}}"#.into())
            })?;
        for (name, vars) in all.into_iter().filter(|(name, _)| name == source) {
            for (var, value) in vars {
                let allowed =
                    var.starts_with("INLET_CUSTOM_") || ENTRY_VARIABLES.contains(&var.as_str());
                if !allowed {
                    let known = ENTRY_VARIABLES.iter().chain(custom::SETTINGS).copied();
                    let hint = closest(&var, known)
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default();
                    return Err(bad(format!(
                        "`{name}` sets {var}{hint}; a source's entry may set INLET_SCHEME, INLET_CUSTOM_*, PUBLIC_URL, VERIFY_TOKEN, WEBHOOK_TOLERANCE_SECONDS and INLET_RELAY"
                    )));
                }
                self.entry.insert(var.clone());
                self.vars.insert(var, value);
            }
        }
        Ok(self)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{var} is not set: {expected}")]
    Missing { var: String, expected: String },
    #[error("{var} is invalid: {expected}")]
    Invalid { var: String, expected: String },
    /// A variable named like Inlet's that Inlet does not read (a typo, usually).
    #[error("{var} is not a setting Inlet reads: {hint}")]
    Unknown { var: String, hint: String },
    /// A setting this source does not use, which would otherwise be silently ignored.
    #[error("{var} is set but not used: {reason}")]
    Unused { var: String, reason: String },
}

impl ConfigError {
    /// The variable the error names.
    pub fn var(&self) -> &str {
        match self {
            Self::Missing { var, .. }
            | Self::Invalid { var, .. }
            | Self::Unknown { var, .. }
            | Self::Unused { var, .. } => var,
        }
    }
}

/// Every `INLET_*` variable in `env` that Inlet does not read ([`INLET_VARIABLES`], the custom
/// scheme's [`custom::SETTINGS`]) is an error naming it and the closest known name.
pub fn unknown_variables(env: &Env) -> Result<(), ConfigError> {
    let known = || {
        INLET_VARIABLES
            .iter()
            .chain(custom::SETTINGS)
            .chain(outbound::SETTINGS)
            .copied()
    };
    match env
        .vars()
        .map(|(var, _)| var)
        .find(|var| var.starts_with("INLET_") && !known().any(|k| k == *var))
    {
        None => Ok(()),
        Some(var) => {
            let place = if env.entry.contains(var) {
                format!(" from this source's entry in {SOURCE_SETTINGS}")
            } else {
                String::new()
            };
            Err(ConfigError::Unknown {
                var: var.into(),
                hint: match closest(var, known()) {
                    Some(k) => format!("did you mean {k}? (remove it{place} otherwise)"),
                    None => format!("remove it{place} (docs/src/configuration.md lists them)"),
                },
            })
        }
    }
}

/// The name among `known` nearest to `name`, if it is near enough to be a typo of it (at most
/// a quarter of its letters inserted, removed, changed or swapped).
pub fn closest<'k>(name: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let most = (name.len() / 4).max(1);
    known
        .into_iter()
        .map(|k| (edits(name, k), k))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The optimal string alignment distance between `a` and `b`, letter case aside: insertions,
/// deletions, substitutions and swaps of neighbours.
fn edits(a: &str, b: &str) -> usize {
    strsim::osa_distance(&a.to_ascii_uppercase(), &b.to_ascii_uppercase())
}

/// Limits every request is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How far a signed timestamp may be from now, either way; `None` takes the window the
    /// sender's own SDK enforces.
    pub tolerance: Option<Duration>,
    /// Largest body accepted; larger ones get 413 before anything else is done.
    pub max_body_bytes: usize,
    /// Least time between Secrets Manager re-fetches after a signature mismatch.
    pub secret_refresh: Duration,
    /// How long a queued delivery is remembered for de-duplication.
    pub idempotency_window: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tolerance: None,
            max_body_bytes: MAX_BODY_CEILING,
            secret_refresh: Duration::from_secs(DEFAULT_SECRET_REFRESH_SECONDS),
            idempotency_window: Duration::from_secs(DEFAULT_WINDOW_SECONDS),
        }
    }
}

fn number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    env: &Env,
    var: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = env.get(var) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(ConfigError::Invalid {
            var: var.into(),
            expected: format!("expected a whole number from {min} to {max}, got {raw:?}"),
        }),
    }
}

impl Settings {
    /// `WEBHOOK_TOLERANCE_SECONDS` (default: the sender's own window), `MAX_BODY_BYTES` (default 6291456; see
    /// [`Settings::fit_body_limit`]), `SECRET_REFRESH_SECONDS` (default 60) and
    /// `IDEMPOTENCY_TTL_SECONDS` (default 86400).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let tolerance = match env.get(TOLERANCE).filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(_) => Some(number(env, TOLERANCE, 0, 1, MAX_TOLERANCE_SECONDS)?),
        };
        let refresh = number(
            env,
            SECRET_REFRESH,
            DEFAULT_SECRET_REFRESH_SECONDS,
            1,
            86_400,
        )?;
        let (ttl_min, ttl_max) = IDEMPOTENCY_TTL_RANGE;
        let window = number(
            env,
            IDEMPOTENCY_TTL,
            DEFAULT_WINDOW_SECONDS,
            ttl_min,
            ttl_max,
        )?;
        Ok(Self {
            tolerance: tolerance.map(Duration::from_secs),
            max_body_bytes: number(env, MAX_BODY, MAX_BODY_CEILING, 1, MAX_BODY_CEILING)?,
            secret_refresh: Duration::from_secs(refresh),
            idempotency_window: Duration::from_secs(window),
        })
    }

    /// Without a payload bucket, a body larger than the queue's maximum message size can never
    /// be enqueued, so unless `MAX_BODY_BYTES` says otherwise the body limit is that size: such
    /// bodies are refused with 413 before they are even verified.
    pub fn fit_body_limit(&mut self, env: &Env, has_bucket: bool, max_message_bytes: usize) {
        if env.get(MAX_BODY).is_none() && !has_bucket {
            self.max_body_bytes = self.max_body_bytes.min(max_message_bytes);
        }
    }
}

/// An optional name: unset or empty is `None`; otherwise it must look like what it names.
fn optional_name(
    env: &Env,
    var: &str,
    valid: impl Fn(&str) -> bool,
    expected: &str,
) -> Result<Option<String>, ConfigError> {
    match env.get(var).map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if valid(v) => Ok(Some(v.to_owned())),
        Some(v) => Err(ConfigError::Invalid {
            var: var.into(),
            expected: format!("{expected}, got {v:?}"),
        }),
    }
}

/// `IDEMPOTENCY_TABLE`: a DynamoDB table name, or unset for no idempotency.
pub fn idempotency_table(env: &Env) -> Result<Option<String>, ConfigError> {
    optional_name(
        env,
        IDEMPOTENCY_TABLE,
        |v| {
            (3..=255).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        },
        "expected a DynamoDB table name (3-255 letters, digits, _ - .)",
    )
}

/// `PAYLOAD_BUCKET`: an S3 bucket name, or unset for no claim check.
pub fn payload_bucket(env: &Env) -> Result<Option<String>, ConfigError> {
    optional_name(
        env,
        PAYLOAD_BUCKET,
        |v| {
            (3..=63).contains(&v.len())
                && v.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.')
                })
        },
        "expected an S3 bucket name (3-63 lower-case letters, digits, - .)",
    )
}

/// `QUEUE_URL`: required, and shaped like an SQS queue URL (`https://host/account/name`).
pub fn queue_url(env: &Env) -> Result<String, ConfigError> {
    let expected = "expected an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/inlet-events";
    let url = env
        .get(QUEUE_URL)
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ConfigError::Missing {
            var: QUEUE_URL.into(),
            expected: expected.into(),
        })?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let segments = rest
        .map(|r| r.split('/').filter(|s| !s.is_empty()).count())
        .unwrap_or(0);
    if segments < 3 || url.chars().any(char::is_whitespace) {
        return Err(ConfigError::Invalid {
            var: QUEUE_URL.into(),
            expected: format!("{expected}, got {url:?}"),
        });
    }
    Ok(url.to_owned())
}

/// `INLET_METRICS_NAMESPACE`, checked as CloudWatch checks a namespace; `None` when empty.
pub fn metrics_namespace(env: &Env) -> Result<Option<&str>, ConfigError> {
    let ns = env.get(METRICS_NAMESPACE).unwrap_or("Inlet").trim();
    if ns.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#:".contains(c);
    if ns.len() > 255 || !ns.chars().all(allowed) || ns.starts_with("AWS/") || ns.starts_with(':') {
        return Err(ConfigError::Invalid {
            var: METRICS_NAMESPACE.into(),
            expected: "a CloudWatch namespace: 1 to 255 letters, digits and . - _ / # :, not starting with AWS/ or : (empty turns metrics off)".into(),
        });
    }
    Ok(Some(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_settings_give_each_source_its_own_entry() {
        let settings = r#"{"acme": {"INLET_CUSTOM_SIGNATURE": "header:X-Signature", "PUBLIC_URL": "https://a.example/w"},
                          "fb": {"VERIFY_TOKEN": "tok"}}"#;
        let env = Env::from_pairs([(SOURCE_SETTINGS, settings), ("PUBLIC_URL", "https://old")]);
        let acme = env
            .clone()
            .with_source_settings("acme")
            .expect("acme settings");
        assert_eq!(
            acme.get("INLET_CUSTOM_SIGNATURE"),
            Some("header:X-Signature")
        );
        assert_eq!(acme.get("PUBLIC_URL"), Some("https://a.example/w"));
        assert_eq!(acme.get("VERIFY_TOKEN"), None);
        let other = env
            .clone()
            .with_source_settings("github")
            .expect("no entry");
        assert_eq!(other.get("PUBLIC_URL"), Some("https://old"));
        assert_eq!(other.get("INLET_CUSTOM_SIGNATURE"), None);

        for (raw, names) in [
            (r#"{"acme": {"QUEUE_URL": "x"}}"#, "QUEUE_URL"),
            (r#"{"acme": {"WEBHOOK_SECRET": "x"}}"#, "WEBHOOK_SECRET"),
            (r#"{"acme": {"PUBLIC_URL": 3}}"#, "JSON object"),
            (r#"["acme"]"#, "JSON object"),
        ] {
            let err = Env::from_pairs([(SOURCE_SETTINGS, raw)])
                .with_source_settings("acme")
                .expect_err(raw);
            assert!(
                matches!(&err, ConfigError::Invalid { var, expected } if var == SOURCE_SETTINGS && expected.contains(names)),
                "{raw}: {err}"
            );
        }
    }

    #[test]
    fn an_entry_key_that_is_no_setting_names_the_closest() {
        let err = Env::from_pairs([(SOURCE_SETTINGS, r#"{"acme": {"PUBLIC_URLS": "x"}}"#)])
            .with_source_settings("acme")
            .expect_err("a typo");
        assert!(
            err.to_string().contains("did you mean PUBLIC_URL?"),
            "{err}"
        );
        let env = Env::from_pairs([
            (
                SOURCE_SETTINGS,
                r#"{"acme": {"INLET_CUSTOM_TIMESTAMPS": "header:ts"}}"#,
            ),
            ("INLET_SOURCE", "acme"),
        ])
        .with_source_settings("acme")
        .expect("laid over");
        assert!(env.from_entry("INLET_CUSTOM_TIMESTAMPS"));
        let err = unknown_variables(&env).expect_err("a typo");
        assert_eq!(err.var(), "INLET_CUSTOM_TIMESTAMPS");
        assert!(
            err.to_string()
                .contains("did you mean INLET_CUSTOM_TIMESTAMP? (remove it from this source's entry in INLET_SOURCE_SETTINGS otherwise)"),
            "{err}"
        );
    }

    #[test]
    fn every_inlet_variable_is_one_inlet_reads() {
        let known = Env::from_pairs(
            INLET_VARIABLES
                .iter()
                .chain(custom::SETTINGS)
                .map(|v| (*v, "x")),
        );
        assert_eq!(unknown_variables(&known), Ok(()));
        assert_eq!(
            unknown_variables(&Env::from_pairs([
                ("WEBHOOK_SECRETS", "x"),
                ("MY_INLET_X", "y")
            ])),
            Ok(()),
            "only INLET_* names are Inlet's"
        );
        for (typo, meant) in [
            ("INLET_SOURCES", Some("INLET_SOURCE")),
            ("INLET_METRIC_NAMESPACE", Some(METRICS_NAMESPACE)),
            ("INLET_TLS_ROOT", Some(INLET_TLS_ROOTS)),
            ("INLET_CUSTOM_TOLERANCE_SECONDS", None),
            ("INLET_CUSTOM_SINGATURE", Some("INLET_CUSTOM_SIGNATURE")),
            ("INLET_DEBUG", None),
        ] {
            let err = unknown_variables(&Env::from_pairs([(typo, "")])).expect_err(typo);
            assert_eq!(err.var(), typo);
            match meant {
                Some(m) => assert!(
                    err.to_string().contains(&format!("did you mean {m}?")),
                    "{err}"
                ),
                None => assert!(!err.to_string().contains("did you mean"), "{err}"),
            }
        }
    }

    #[test]
    fn body_limit_follows_the_queue_without_a_bucket() {
        let mut s = Settings::default();
        s.fit_body_limit(&Env::default(), false, 262_144);
        assert_eq!(s.max_body_bytes, 262_144);
        let mut s = Settings::default();
        s.fit_body_limit(&Env::default(), true, 262_144);
        assert_eq!(s.max_body_bytes, MAX_BODY_CEILING);
        let env = Env::from_pairs([(MAX_BODY, "1000000")]);
        let mut s = Settings::from_env(&env).expect("valid");
        s.fit_body_limit(&env, false, 262_144);
        assert_eq!(s.max_body_bytes, 1_000_000, "an explicit limit is kept");
    }

    #[test]
    fn table_and_bucket_names_are_checked() {
        assert_eq!(idempotency_table(&Env::default()), Ok(None));
        assert_eq!(
            idempotency_table(&Env::from_pairs([(IDEMPOTENCY_TABLE, "")])),
            Ok(None)
        );
        assert_eq!(
            idempotency_table(&Env::from_pairs([(IDEMPOTENCY_TABLE, "inlet-Idem_1.x")])),
            Ok(Some("inlet-Idem_1.x".into()))
        );
        assert!(idempotency_table(&Env::from_pairs([(IDEMPOTENCY_TABLE, "a b")])).is_err());
        assert_eq!(
            payload_bucket(&Env::from_pairs([(PAYLOAD_BUCKET, "inlet-payloads-1")])),
            Ok(Some("inlet-payloads-1".into()))
        );
        for bad in ["Upper", "s3://x", "ab"] {
            let err = payload_bucket(&Env::from_pairs([(PAYLOAD_BUCKET, bad)])).expect_err(bad);
            assert!(
                err.to_string().starts_with("PAYLOAD_BUCKET is invalid"),
                "{err}"
            );
        }
    }

    #[test]
    fn queue_url_is_checked() {
        let ok = "https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo";
        assert_eq!(
            queue_url(&Env::from_pairs([(QUEUE_URL, ok)])).as_deref(),
            Ok(ok)
        );
        assert!(queue_url(&Env::from_pairs([(
            QUEUE_URL,
            "http://127.0.0.1:5000/123456789012/q"
        )]))
        .is_ok());
        assert!(matches!(
            queue_url(&Env::default()),
            Err(ConfigError::Missing { .. })
        ));
        for bad in [
            "events",
            "https://sqs.amazonaws.com/",
            "arn:aws:sqs:us-east-1:1:q",
        ] {
            let err = queue_url(&Env::from_pairs([(QUEUE_URL, bad)])).expect_err(bad);
            assert!(err.to_string().starts_with("QUEUE_URL is invalid"), "{err}");
        }
    }

    #[test]
    fn settings_defaults_and_bounds() {
        assert_eq!(Settings::from_env(&Env::default()), Ok(Settings::default()));
        let s = Settings::from_env(&Env::from_pairs([(TOLERANCE, "60"), (MAX_BODY, "1024")]))
            .expect("valid");
        assert_eq!(
            (s.tolerance, s.max_body_bytes),
            (Some(Duration::from_secs(60)), 1024)
        );
        assert_eq!(s.secret_refresh.as_secs(), DEFAULT_SECRET_REFRESH_SECONDS);
        assert_eq!(s.idempotency_window.as_secs(), 86_400);
        for (var, bad) in [
            (TOLERANCE, "0"),
            (TOLERANCE, "five"),
            (TOLERANCE, "315360001"),
            (SECRET_REFRESH, "0"),
            (MAX_BODY, "-1"),
            (MAX_BODY, "6291457"),
            (IDEMPOTENCY_TTL, "59"),
            (IDEMPOTENCY_TTL, "2592001"),
        ] {
            let err = Settings::from_env(&Env::from_pairs([(var, bad)])).expect_err(bad);
            assert!(
                err.to_string().starts_with(&format!("{var} is invalid")),
                "{err}"
            );
        }
    }
}
