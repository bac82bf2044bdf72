//! Development defaults: a well-known secret per source, and a body generated from its scheme for
//! events it has no sample of (infra/samples/, [`crate::samples`]), so the local server and the
//! CLI work with no setup. Never use these secrets for a deployed receiver.
//!
//! The first four senders keep their hand-written secrets; every other sender gets a secret
//! derived from its name (decoded the way its scheme decodes secrets; for public-key schemes a
//! key pair whose private half the CLI signs with) and a sample generated from its scheme, with
//! a value at every place the scheme reads an id, type, subject, time or timestamp from (for
//! senders that post batches, in the batch's one event).

use base64::Engine;
use inlet::core::scheme::{Algorithm, Batch, KeyDecoding, Loc, Scheme, TimeLoc, TypePart, Unit};
use inlet::Source;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Hand-written defaults for one source.
#[derive(Debug)]
struct Written {
    source: &'static str,
    secret: &'static str,
    event: &'static str,
}

const WRITTEN: [Written; 4] = [
    Written {
        source: "github",
        secret: "inlet-dev-github-secret",
        event: "pull_request",
    },
    Written {
        source: "stripe",
        secret: "whsec_inlet_dev_stripe_secret",
        event: "",
    },
    Written {
        source: "slack",
        secret: "inlet-dev-slack-signing-secret",
        event: "",
    },
    Written {
        source: "standard",
        secret: "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
        event: "",
    },
];

/// The development RSA key pair of the RSA senders (Fireblocks, Wise, Wix's RS256 token) and of
/// RSA custom schemes: the one `inlet` signs SNS and PayPal deliveries with
/// ([`crate::devkeys::RSA_KEY`] and its certificate), as SubjectPublicKeyInfo and PKCS#8 DER,
/// base64, so it fits an environment variable. RSA keys are too slow to derive from a name as the
/// others are.
fn dev_rsa_pair() -> (String, String) {
    let public = inlet::core::verify::keys::PublicKey::from_pem(crate::devkeys::RSA_CERT)
        .expect("the development certificate holds an RSA key");
    let private: String = crate::devkeys::RSA_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    (
        base64::engine::general_purpose::STANDARD.encode(public.to_spki_der()),
        private,
    )
}

/// Development defaults for one source.
#[derive(Debug, Clone)]
pub struct Defaults {
    /// The secret as the function is configured with it (for public-key schemes, the public key).
    pub secret: String,
    /// What the CLI signs with: the secret, or for public-key schemes the private key (hex).
    pub signing_secret: String,
    /// The event the sample is: the words of its type after `<source>.`, which go in the
    /// sender's event header (GitHub's `X-GitHub-Event`) or the generated body (see [`type_values`]).
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
            event: w.event.into(),
        };
    }
    // Senders whose keys are fetched (SNS, PayPal, Plaid): the secret is what their code reads
    // (a topic ARN, a webhook id, API credentials); `inlet` signs their deliveries with the
    // development key pairs (devkeys.rs), whatever their algorithm.
    if let Some(s) = scheme
        .custom
        .filter(|c| c.fetches_keys())
        .and_then(|c| c.dev_secret(&format!("inlet-dev-{}-secret", scheme.name)))
    {
        return Defaults {
            secret: s.clone(),
            signing_secret: s,
            event: default_event(scheme).into(),
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
        Algorithm::Rsa(..) => dev_rsa_pair(),
        // JWTs signed with an RSA key (Wix's token body): the same pair.
        Algorithm::Jwt(rules)
            if scheme.algorithm.public_key()
                && rules.algorithms.iter().all(|a| {
                    matches!(
                        a.asym(),
                        Some(inlet::core::verify::keys::Asym::RsaPkcs1v15(_))
                            | Some(inlet::core::verify::keys::Asym::RsaPss(_))
                    )
                }) =>
        {
            dev_rsa_pair()
        }
        Algorithm::Ecdsa(curve, _) => {
            // The scalar in hex (48 bytes for P-384: the seed's hash, then its first 16 bytes);
            // the public key as SubjectPublicKeyInfo DER, base64.
            let scalar: Vec<u8> = match curve {
                inlet::core::scheme::Curve::P256 => seed.to_vec(),
                inlet::core::scheme::Curve::P384 => Sha256::digest(seed)
                    .iter()
                    .chain(&seed[..16])
                    .copied()
                    .collect(),
            };
            let public = inlet::core::verify::keys::PublicKey::from_private(&scalar)
                .expect("a valid EC scalar");
            (
                base64::engine::general_purpose::STANDARD.encode(public.to_spki_der()),
                hex::encode(scalar),
            )
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
        event: default_event(scheme).into(),
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

/// The event each generated sample is, for senders whose bodies or headers would refuse the
/// generic `test.event` (a header's own alphabet, a batch's item shape) or need one of the
/// sender's real names to be read: the words of the type after `<source>.`.
const EVENTS: &[(&str, &str)] = &[
    ("gitea", "push"),
    ("forgejo", "push"),
    ("bitbucket", "repo:push"),
    ("shopify", "orders/create"),
    ("woocommerce", "order.created"),
    ("gocardless", "payments.confirmed"),
    ("sentry", "issue.created"),
    ("xero", "INVOICE.UPDATE"),
    ("okta", "user.session.start"),
    ("graph", "created"),
    ("sanity", "post.create"),
    ("twitch", "notification.channel.follow"),
    ("hubspot", "contact.creation"),
    ("twilio", "com.twilio.messaging.message.delivered"),
    ("sendgrid", "delivered"),
    ("mailgun", "delivered"),
    ("braintree", "subscription_charged_successfully"),
];

/// The event a generated sample of `scheme` is, unless `--event` names another.
fn default_event(scheme: &Scheme) -> &'static str {
    EVENTS
        .iter()
        .find(|(name, _)| *name == scheme.name)
        .map_or("test.event", |(_, event)| event)
}

/// The value `event` gives each part of `scheme`'s type read from a header or the body, in
/// order: one word (split at `.`) each, the last part the rest. A header part without a word is
/// left out (it is the caller's to send); a required body part gets `test`.
pub fn type_values(scheme: &Scheme, event: &str) -> Vec<(Loc, String)> {
    let parts: Vec<(Loc, bool)> = scheme
        .ty
        .iter()
        .filter_map(|part| match part {
            TypePart::Required(loc @ (Loc::Header(_) | Loc::Json(_))) => Some((*loc, true)),
            TypePart::Optional(loc @ (Loc::Header(_) | Loc::Json(_))) => Some((*loc, false)),
            _ => None,
        })
        .collect();
    let mut words = event.split('.').filter(|w| !w.is_empty());
    let mut values = Vec::with_capacity(parts.len());
    for (i, (loc, required)) in parts.iter().enumerate() {
        let word = if i + 1 == parts.len() {
            let rest: Vec<&str> = words.by_ref().collect();
            (!rest.is_empty()).then(|| rest.join("."))
        } else {
            words.next().map(str::to_owned)
        };
        match (word, loc) {
            (Some(word), _) => values.push((*loc, word)),
            (None, Loc::Json(_)) if *required => values.push((*loc, "test".to_owned())),
            (None, _) => {}
        }
    }
    values
}

/// A body with a value at every place `source`'s scheme reads one from: `id` at the id path,
/// `event`'s words at the type paths (see [`type_values`]), a subject, and times (unix `at`) in
/// the scheme's units. For senders that post batches, those values are in the one event of the
/// batch, where the sender puts its events. JSON, except for senders whose bodies the scheme's
/// data cannot describe (Braintree's form around base64 XML).
pub fn sample(source: &Source, id: &str, event: &str, at: i64) -> String {
    let scheme = source.scheme();
    if scheme.name == "braintree" {
        return braintree(id, event, at);
    }
    // The event's own values; for a batch, the one event of the delivery `doc`.
    let mut item = Value::Object(Map::new());
    if let Some(Loc::Json(p)) = scheme.id.iter().find(|l| matches!(l, Loc::Json(_))) {
        put(&mut item, p, Value::String(id.into()));
    }
    for part in scheme.ty {
        if let TypePart::KeyOf(keys) = part {
            if let Some(key) = keys.first() {
                put(&mut item, key, Value::Object(Map::new()));
            }
        }
    }
    for (loc, word) in type_values(scheme, event) {
        if let Loc::Json(p) = loc {
            put(&mut item, p, Value::String(word));
        }
    }
    if let Some(Loc::Json(p)) = scheme.subject.first() {
        put(&mut item, p, Value::String("subject-1".into()));
    }
    for t in scheme.time {
        if let TimeLoc::At(Loc::Json(p), unit) = t {
            put(&mut item, p, time_value(at, *unit));
        }
    }
    put(&mut item, "inlet_sample", Value::Bool(true));
    let mut doc = match scheme.batch {
        Some(Batch { items: "" }) => Value::Array(vec![item]),
        Some(Batch { items }) => {
            let mut doc = Value::Object(Map::new());
            put(&mut doc, items, Value::Array(vec![item]));
            doc
        }
        None => item,
    };
    if let Some(ts) = scheme.timestamp {
        for loc in ts.at {
            if let Loc::Json(p) = loc {
                put(&mut doc, p, time_value(at, ts.unit));
            }
        }
    }
    // A sender that posts only a form with the JSON in one field (Mandrill's `mandrill_events`).
    if let (false, inlet::core::scheme::Form::JsonIn(field)) = (scheme.body.json, scheme.body.form)
    {
        return form_urlencoded::Serializer::new(String::new())
            .append_pair(field, &doc.to_string())
            .finish();
    }
    // A sender that posts only form fields (Chargify's `id`, `event`, `payload[subscription][id]`):
    // the event's members as fields, text as it is and anything else as JSON.
    if let (false, inlet::core::scheme::Form::Fields, Value::Object(fields)) =
        (scheme.body.json, scheme.body.form, &doc)
    {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            match value {
                Value::String(text) => form.append_pair(name, text),
                other => form.append_pair(name, &other.to_string()),
            };
        }
        return form.finish();
    }
    doc.to_string()
}

/// Braintree's form: `bt_payload`, the base64 of a notification's XML in lines of 76 as its
/// SDK's `sample_notification` writes them, a subscription's notification of `kind` (`event`)
/// whose subject's id is `id`. `inlet sign` writes `bt_signature` in.
fn braintree(id: &str, kind: &str, at: i64) -> String {
    let timestamp = inlet::core::verify::engine::format_time(at, Unit::Rfc3339);
    let xml = format!(
        r#"<notification>
  <timestamp type="datetime">{timestamp}</timestamp>
  <kind>{kind}</kind>
  <subject>
    <subscription>
      <id>{id}</id>
      <transactions type="array">
        <transaction>
          <id>{id}-1</id>
          <status>submitted_for_settlement</status>
          <amount>49.99</amount>
        </transaction>
      </transactions>
      <add_ons type="array"></add_ons>
      <discounts type="array"></discounts>
    </subscription>
  </subject>
</notification>
"#
    );
    let mut payload = String::new();
    for (i, c) in base64::engine::general_purpose::STANDARD
        .encode(xml)
        .chars()
        .enumerate()
    {
        if i > 0 && i % 76 == 0 {
            payload.push('\n');
        }
        payload.push(c);
    }
    payload.push('\n');
    form_urlencoded::Serializer::new(String::new())
        .append_pair("bt_payload", &payload)
        .finish()
}

/// A sample's body with the signed timestamp the sender writes in the body (where the scheme has
/// one) set to `at`, so a replay window accepts it; any other body as it is.
pub fn fresh_timestamp(source: &Source, body: &str, at: i64) -> String {
    let Some(ts) = source.scheme().timestamp else {
        return body.to_owned();
    };
    let paths: Vec<&str> = ts
        .at
        .iter()
        .filter_map(|l| match l {
            Loc::Json(p) => Some(*p),
            _ => None,
        })
        .collect();
    match serde_json::from_str::<Value>(body) {
        Ok(mut doc) if !paths.is_empty() => {
            for p in paths {
                put(&mut doc, p, time_value(at, ts.unit));
            }
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| body.to_owned())
        }
        _ => body.to_owned(),
    }
}

fn time_value(at: i64, unit: Unit) -> Value {
    match unit {
        Unit::Seconds => Value::from(at),
        Unit::Millis => Value::from(at * 1000),
        Unit::Rfc3339 => Value::String(inlet::core::verify::engine::format_time(at, unit)),
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
    let mut names: Vec<String> = inlet::catalogue::sources::all()
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
            (inlet::catalogue::sources::INLET_SOURCE, name),
            (inlet::config::SOURCE_SETTINGS, text.as_str()),
        ])
        .with_source_settings(name)?;
        Source::from_env(&env, None)
    };
    match build(settings) {
        Err(inlet::config::ConfigError::Missing { var, .. })
            if var == inlet::catalogue::sources::VERIFY_TOKEN =>
        {
            settings[name][inlet::catalogue::sources::VERIFY_TOKEN] = DEV_VERIFY_TOKEN.into();
            build(settings)
        }
        built => built,
    }
    .map_err(|e| format!("{name}: {e}"))
}

/// The `VERIFY_TOKEN` source `name` is configured with (Meta's), as `inlet serve` configures it:
/// its entry in `INLET_SOURCE_SETTINGS`, else the development token.
pub fn verify_token(name: &str) -> Result<Option<String>, String> {
    let mut settings = settings()?;
    configured(name, &mut settings)?;
    Ok(settings[name][inlet::config::VERIFY_TOKEN]
        .as_str()
        .map(str::to_owned))
}

/// `INLET_<SOURCE>_SECRET`, the variable that overrides a source's development secret.
pub fn secret_var(source: &Source) -> String {
    secret_var_of(source.name())
}

fn secret_var_of(name: &str) -> String {
    format!(
        "INLET_{}_SECRET",
        name.to_ascii_uppercase().replace('-', "_")
    )
}

/// A warning for each `INLET_*` variable of `vars` (this process's environment) that the CLI
/// does not read: it reads `INLET_SOURCE_SETTINGS` and each source's `INLET_<SOURCE>_SECRET`,
/// and takes every other setting of a source from its entry in the settings. Warnings, not
/// errors: a developer's shell holds variables for other tools (the test scripts'
/// `INLET_BIN_DIR`, …), but a misspelt secret variable would otherwise leave the development
/// secret in place without a word.
pub fn unread_variables<'v>(
    vars: impl IntoIterator<Item = &'v str>,
    settings: &Value,
) -> Vec<String> {
    let mut known: Vec<String> = configured_names(settings)
        .iter()
        .map(|n| secret_var_of(n))
        .collect();
    known.push(inlet::config::SOURCE_SETTINGS.to_owned());
    known.push(inlet::config::RELAY.to_owned());
    // The outbound side's settings: `inlet serve` and the outbound commands read them as the
    // functions do.
    known.extend(
        inlet::outbound::settings::SETTINGS
            .iter()
            .map(|s| (*s).to_owned()),
    );
    vars.into_iter()
        .filter(|var| var.starts_with("INLET_") && !known.iter().any(|k| k == var))
        .map(|var| {
            let function_reads = inlet::config::INLET_VARIABLES.contains(&var)
                || inlet::catalogue::custom::SETTINGS.contains(&var);
            let hint = match inlet::config::closest(var, known.iter().map(String::as_str)) {
                Some(k) => format!("; did you mean {k}?"),
                None if function_reads => format!(
                    "; it is a function's setting: give a source's in its entry of {}",
                    inlet::config::SOURCE_SETTINGS
                ),
                None => String::new(),
            };
            format!("warning: {var} is not read by inlet{hint}")
        })
        .collect()
}

/// Prints [`unread_variables`] of this process's environment to stderr.
pub fn warn_unread(settings: &Value) {
    let vars: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for warning in unread_variables(vars.iter().map(String::as_str), settings) {
        eprintln!("{warning}");
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn source(name: &str) -> &'static Source {
        inlet::catalogue::sources::by_name(name).expect("a sender")
    }

    fn values(name: &str, event: &str) -> Vec<(String, String)> {
        type_values(source(name).scheme(), event)
            .into_iter()
            .map(|(loc, word)| (loc.to_string(), word))
            .collect()
    }

    fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
        want.iter()
            .map(|(l, w)| ((*l).to_owned(), (*w).to_owned()))
            .collect()
    }

    #[test]
    fn an_events_words_go_to_the_type_parts_in_order_the_last_taking_the_rest() {
        assert_eq!(
            values("github", "pull_request.opened"),
            pairs(&[
                ("header:x-github-event", "pull_request"),
                ("json:action", "opened")
            ])
        );
        // A header part alone takes the whole event, dots and all.
        assert_eq!(
            values("woocommerce", "order.created"),
            pairs(&[("header:x-wc-webhook-topic", "order.created")])
        );
        assert_eq!(
            values("sanity", "post.create"),
            pairs(&[
                ("json:_type", "post"),
                ("header:sanity-operation", "create")
            ])
        );
        assert_eq!(
            values("twitch", "notification.channel.follow"),
            pairs(&[
                ("header:twitch-eventsub-message-type", "notification"),
                ("json:subscription.type", "channel.follow")
            ])
        );
        // A header without a word is the caller's to send; a required body part gets one.
        assert_eq!(values("github", ""), pairs(&[]));
        assert_eq!(values("stripe", ""), pairs(&[("json:type", "test")]));
    }

    #[test]
    fn every_default_event_fits_its_sender() {
        for src in inlet::catalogue::sources::all() {
            let scheme = src.scheme();
            for (loc, word) in type_values(scheme, &defaults(src).event) {
                if let Loc::Header(_) = loc {
                    assert!(
                        !word.contains('.') || scheme.type_chars.contains('.'),
                        "{}: {word}",
                        scheme.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_batch_senders_sample_is_one_event_where_it_puts_its_events() {
        let at = 1_700_000_000;
        let doc = |name: &str| -> Value {
            serde_json::from_str(&sample(
                source(name),
                "ev-1",
                &defaults(source(name)).event,
                at,
            ))
            .expect("JSON")
        };
        let gocardless = doc("gocardless");
        assert_eq!(gocardless["events"][0]["id"], "ev-1");
        assert_eq!(gocardless["events"][0]["resource_type"], "payments");
        assert_eq!(gocardless["events"][0]["action"], "confirmed");
        assert_eq!(doc("okta")["data"]["events"][0]["uuid"], "ev-1");
        assert_eq!(doc("graph")["value"][0]["changeType"], "created");
        assert_eq!(doc("sendgrid")[0]["sg_event_id"], "ev-1");
        assert_eq!(doc("hubspot")[0]["occurredAt"], json!(at * 1000));
        assert_eq!(
            doc("twilio")[0]["type"],
            "com.twilio.messaging.message.delivered"
        );
        // Not a batch: the values are the body's own.
        assert_eq!(doc("square")["event_id"], "ev-1");
        // The delivery's signed timestamp stays outside the event.
        assert_eq!(doc("mailgun")["signature"]["timestamp"], json!(at));
    }

    #[test]
    fn braintrees_sample_is_its_form_around_base64_xml() {
        let body = sample(
            source("braintree"),
            "sub-1",
            "subscription_charged_successfully",
            1_700_000_000,
        );
        let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let [(name, payload)] = &fields[..] else {
            panic!("one field: {fields:?}")
        };
        assert_eq!(name, "bt_payload");
        assert!(payload.lines().all(|l| l.len() <= 76), "lines of 76");
        let xml = base64::engine::general_purpose::STANDARD
            .decode(payload.replace('\n', ""))
            .expect("base64");
        let xml = String::from_utf8(xml).expect("UTF-8");
        assert!(xml.contains("<kind>subscription_charged_successfully</kind>"));
        assert!(xml.contains("<timestamp type=\"datetime\">2023-11-14T22:13:20Z</timestamp>"));
        assert!(xml.contains("<subscription>\n      <id>sub-1</id>"));
    }

    #[test]
    fn variables_the_cli_does_not_read_are_warned_of() {
        let settings: Value = serde_json::json!({"billing": {"INLET_SCHEME": "standard"}});
        let vars = [
            "INLET_GITHUB_SECRET",
            "INLET_BILLING_SECRET",
            "INLET_SOURCE_SETTINGS",
            "PATH",
            "INLET_GITHUB_SECERT",
            "INLET_CUSTOM_SIGNATURE",
            "INLET_BIN_DIR",
            "INLET_OUTBOUND_TIMEOUT_SECONDS",
        ];
        let warnings = unread_variables(vars, &settings);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("INLET_GITHUB_SECERT")
                && warnings[0].contains("did you mean INLET_GITHUB_SECRET?"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].contains("INLET_CUSTOM_SIGNATURE")
                && warnings[1].contains("INLET_SOURCE_SETTINGS"),
            "{warnings:?}"
        );
        assert!(
            warnings[2].ends_with("INLET_BIN_DIR is not read by inlet"),
            "{warnings:?}"
        );
    }
}
