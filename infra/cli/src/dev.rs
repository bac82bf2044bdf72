//! Development defaults: a well-known secret and a sample payload per source, so the local server
//! and the CLI work with no setup. Never use these secrets for a deployed receiver.
//!
//! The first four senders keep their hand-written samples; every other sender gets a secret
//! derived from its name (decoded the way its scheme decodes secrets; for public-key schemes a
//! key pair whose private half the CLI signs with) and a sample generated from its scheme, with
//! a value at every place the scheme reads an id, type, subject, time or timestamp from.

use base64::Engine;
use inlet::scheme::{Algorithm, KeyDecoding, Loc, TimeLoc, TypePart, Unit};
use inlet::Source;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Hand-written defaults for one source.
#[derive(Debug)]
struct Written {
    source: &'static str,
    secret: &'static str,
    sample: &'static str,
    event: &'static str,
}

const WRITTEN: [Written; 4] = [
    Written {
        source: "github",
        secret: "inlet-dev-github-secret",
        sample: include_str!("../../samples/github.json"),
        event: "pull_request",
    },
    Written {
        source: "stripe",
        secret: "whsec_inlet_dev_stripe_secret",
        sample: include_str!("../../samples/stripe.json"),
        event: "",
    },
    Written {
        source: "slack",
        secret: "inlet-dev-slack-signing-secret",
        sample: include_str!("../../samples/slack.json"),
        event: "",
    },
    Written {
        source: "standard",
        secret: "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
        sample: include_str!("../../samples/standard.json"),
        event: "",
    },
];

/// Development defaults for one source.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The secret as the function is configured with it (for public-key schemes, the public key).
    pub secret: String,
    /// What the CLI signs with: the secret, or for public-key schemes the private key (hex).
    pub signing_secret: String,
    /// A realistic payload, for the senders that have one written (others get [`sample`]).
    pub sample: Option<&'static str>,
    /// The event name the sample is, for senders that send it in a header.
    pub event: String,
}

fn written(source: &Source) -> Option<&'static Written> {
    WRITTEN.iter().find(|d| d.source == source.scheme().name)
}

/// The development defaults for `source`.
pub fn defaults(source: &Source) -> Defaults {
    let scheme = source.scheme();
    if let Some(w) = written(source) {
        return Defaults {
            secret: w.secret.into(),
            signing_secret: w.secret.into(),
            sample: Some(w.sample),
            event: w.event.into(),
        };
    }
    let seed: [u8; 32] = Sha256::digest(format!("inlet-dev-{}", scheme.name)).into();
    let (secret, signing_secret) = match scheme.algorithm {
        Algorithm::Ed25519 => {
            let public = ed25519_dalek::SigningKey::from_bytes(&seed)
                .verifying_key()
                .to_bytes();
            (encode_key(scheme.key, &public), hex::encode(seed))
        }
        Algorithm::EcdsaP256 => {
            // The public key as a SEC1 point, which the verifier takes as well as SPKI DER.
            let key = p256::ecdsa::SigningKey::from_slice(&seed).expect("a valid P-256 scalar");
            let point = key.verifying_key().to_encoded_point(false);
            (encode_key(scheme.key, point.as_bytes()), hex::encode(seed))
        }
        Algorithm::Basic => {
            let s = format!("inlet:dev-{}-password", scheme.name);
            (s.clone(), s)
        }
        _ => {
            let text = format!("inlet-dev-{}-secret", scheme.name);
            // Secrets of a shape only the sender's code knows (Braintree's key pair).
            let s = scheme
                .custom
                .and_then(|c| c.dev_secret(&text))
                .unwrap_or_else(|| encode_key(scheme.key, text.as_bytes()));
            (s.clone(), s)
        }
    };
    Defaults {
        secret,
        signing_secret,
        sample: None,
        event: "test.event".into(),
    }
}

/// Key bytes written as the scheme's key decoding reads them.
fn encode_key(decoding: KeyDecoding, key: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    match decoding {
        KeyDecoding::Utf8 => String::from_utf8_lossy(key).into_owned(),
        KeyDecoding::Base64 => b64.encode(key),
        KeyDecoding::Hex => hex::encode(key),
        KeyDecoding::Whsec => format!("whsec_{}", b64.encode(key)),
    }
}

/// A JSON body with a value at every place `source`'s scheme reads one from: `id` at the id
/// path, `event` at the type paths, a subject, and times (unix `at`) in the scheme's units.
pub fn sample(source: &Source, id: &str, event: &str, at: i64) -> String {
    let scheme = source.scheme();
    let mut doc = Value::Object(Map::new());
    if let Some(Loc::Json(p)) = scheme.id.iter().find(|l| matches!(l, Loc::Json(_))) {
        put(&mut doc, p, Value::String(id.into()));
    }
    let mut words = event.split('.');
    for part in scheme.ty {
        if let TypePart::KeyOf(keys) = part {
            if let Some(key) = keys.first() {
                put(&mut doc, key, Value::Object(Map::new()));
            }
        }
        if let TypePart::Required(Loc::Json(p)) | TypePart::Optional(Loc::Json(p)) = part {
            let word = words.next().unwrap_or("test");
            let rest: Vec<&str> = words.by_ref().collect();
            let value = if rest.is_empty() || scheme.ty.len() > 1 {
                word.to_owned()
            } else {
                format!("{word}.{}", rest.join("."))
            };
            put(&mut doc, p, Value::String(value));
        }
    }
    if let Some(Loc::Json(p)) = scheme.subject.first() {
        put(&mut doc, p, Value::String("subject-1".into()));
    }
    for t in scheme.time {
        if let TimeLoc::At(Loc::Json(p), unit) = t {
            put(&mut doc, p, time_value(at, *unit));
        }
    }
    if let Some(ts) = scheme.timestamp {
        for loc in ts.at {
            if let Loc::Json(p) = loc {
                put(&mut doc, p, time_value(at, ts.unit));
            }
        }
    }
    put(&mut doc, "inlet_sample", Value::Bool(true));
    doc.to_string()
}

fn time_value(at: i64, unit: Unit) -> Value {
    match unit {
        Unit::Seconds => Value::from(at),
        Unit::Millis => Value::from(at * 1000),
        Unit::Rfc3339 => Value::String(inlet::verify::engine::format_time(at, unit)),
    }
}

/// Sets `value` at a dotted path, creating objects (and one-element arrays for numeric steps).
fn put(doc: &mut Value, path: &str, value: Value) {
    let mut at = doc;
    let steps: Vec<&str> = path.split('.').collect();
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let next_is_index = steps.get(i + 1).is_some_and(|s| s.parse::<usize>().is_ok());
        let fresh = || {
            if last {
                Value::Null
            } else if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        at = match at {
            Value::Object(map) => map.entry(step.to_string()).or_insert_with(fresh),
            Value::Array(items) => {
                let index: usize = step.parse().unwrap_or(0);
                while items.len() <= index {
                    items.push(fresh());
                }
                &mut items[index]
            }
            _ => return,
        };
        if last {
            *at = value;
            return;
        }
    }
}

/// Meta's subscription token in the development settings, when the configured ones give none.
const DEV_VERIFY_TOKEN: &str = "inlet-dev-verify-token";

/// `INLET_SOURCE_SETTINGS` (a deployment's `SourceSettings`) as JSON; none is an empty object.
pub fn parse_settings(raw: Option<&str>) -> Result<Value, String> {
    match raw.filter(|s| !s.trim().is_empty()) {
        Some(s) => {
            serde_json::from_str(s).map_err(|e| format!("{}: {e}", inlet::config::SOURCE_SETTINGS))
        }
        None => Ok(Value::Object(Map::new())),
    }
}

/// The settings of this process's environment.
pub fn settings() -> Result<Value, String> {
    parse_settings(
        std::env::var(inlet::config::SOURCE_SETTINGS)
            .ok()
            .as_deref(),
    )
}

/// Every source the CLI knows: each sender under its own name, then the further names `settings`
/// configure (`{"billing": {"INLET_SCHEME": "standard"}}`).
pub fn configured_names(settings: &Value) -> Vec<String> {
    let mut names: Vec<String> = inlet::sources::all()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    if let Value::Object(entries) = settings {
        names.extend(
            entries
                .keys()
                .filter(|k| !names.contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        );
    }
    names
}

/// The source `name`, as a function would build it from `settings` (its own entry laid over
/// it): a sender, or the scheme the entry gives the name. A source that needs a verify token
/// and has none gets the development one, added to `settings`.
pub fn configured(name: &str, settings: &mut Value) -> Result<&'static Source, String> {
    let build = |settings: &Value| {
        let text = settings.to_string();
        let env = inlet::config::Env::from_pairs([
            (inlet::sources::INLET_SOURCE, name),
            (inlet::config::SOURCE_SETTINGS, text.as_str()),
        ])
        .with_source_settings(name)?;
        Source::from_env(&env, None)
    };
    match build(settings) {
        Err(inlet::config::ConfigError::Missing { var, .. })
            if var == inlet::sources::VERIFY_TOKEN =>
        {
            settings[name][inlet::sources::VERIFY_TOKEN] = DEV_VERIFY_TOKEN.into();
            build(settings)
        }
        built => built,
    }
    .map_err(|e| format!("{name}: {e}"))
}

/// `INLET_<SOURCE>_SECRET`, the variable that overrides a source's development secret.
pub fn secret_var(source: &Source) -> String {
    format!(
        "INLET_{}_SECRET",
        source.name().to_ascii_uppercase().replace('-', "_")
    )
}

/// The secret the local server configures `source` with: the override variable if set, else
/// the development default (`true`).
pub fn secret(source: &Source) -> (String, bool) {
    match std::env::var(secret_var(source)) {
        Ok(s) => (s, false),
        Err(_) => (defaults(source).secret, true),
    }
}

/// The secret the CLI signs with: the override variable if set, else the development default.
pub fn signing_secret(source: &Source) -> String {
    std::env::var(secret_var(source)).unwrap_or_else(|_| defaults(source).signing_secret)
}
