//! Pure normalization: a `Verified` request becomes a CloudEvents 1.0 envelope (or a handshake reply).
//!
//! One file per source decides the id, type, time and subject; this module owns the envelope
//! shape and the body decoding they share.

pub mod github;
pub mod slack;
pub mod standard;
pub mod stripe;

use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::response::Reply;
use crate::verify::Verified;

/// What to do with a verified request.
#[derive(Debug)]
pub enum Disposition {
    /// Put this envelope on the queue, then answer 202.
    Enqueue(Box<Envelope>),
    /// Answer the sender directly and enqueue nothing (URL-verification handshakes).
    Reply(Reply),
}

/// Why a verified request cannot be turned into an envelope (all are the sender's fault: 4xx).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("content type `{0}` is not accepted here; send {1}")]
    UnsupportedMediaType(String, &'static str),
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body is not a valid form: {0}")]
    InvalidForm(String),
    #[error("the payload has no `{0}`, which this source always sends")]
    MissingField(&'static str),
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
}

/// A CloudEvents 1.0 envelope in structured JSON mode, with Inlet's extension attributes.
#[derive(Debug, Serialize)]
pub struct Envelope {
    specversion: &'static str,
    id: String,
    source: String,
    #[serde(rename = "type")]
    ty: String,
    time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    datacontenttype: String,
    #[serde(flatten)]
    payload: Payload,
    /// When Inlet received the request (RFC 3339).
    inletreceivedat: String,
    /// Hex SHA-256 of the raw body as received.
    inletbodysha256: String,
    /// Which verification scheme passed.
    inletverification: String,
    /// Which active secret matched (its label, never its value): tells when an old secret is unused.
    inletsecret: String,
}

impl Envelope {
    /// Builds the envelope for a verified request; the only way to get one.
    pub(crate) fn new(
        source: &str,
        verified: &Verified<'_>,
        received: SystemTime,
        draft: Draft,
    ) -> Self {
        Self {
            specversion: "1.0",
            id: draft.id,
            source: source.to_owned(),
            ty: draft.ty,
            time: rfc3339(draft.time.unwrap_or(received)),
            subject: draft.subject,
            datacontenttype: draft.content_type,
            payload: draft.payload,
            inletreceivedat: rfc3339(received),
            inletbodysha256: hex::encode(Sha256::digest(verified.body())),
            inletverification: verified.scheme().to_owned(),
            inletsecret: verified.secret_label().to_owned(),
        }
    }

    /// The provider's delivery id: stable across the provider's retries.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Lower-case dotted event type, e.g. `github.pull_request.opened`.
    pub fn event_type(&self) -> &str {
        &self.ty
    }

    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The envelope as JSON, the message body on the queue.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }
}

/// What a source decides; the envelope adds the rest.
#[derive(Debug)]
pub(crate) struct Draft {
    pub id: String,
    pub ty: String,
    pub time: Option<SystemTime>,
    pub subject: Option<String>,
    pub content_type: String,
    pub payload: Payload,
}

/// `data` (JSON kept as sent, or built from a form) or `data_base64` (anything else).
#[derive(Debug, Serialize)]
pub(crate) enum Payload {
    #[serde(rename = "data")]
    Json(Box<RawValue>),
    #[serde(rename = "data")]
    Built(Value),
    #[serde(rename = "data_base64")]
    Base64(String),
}

impl Payload {
    pub fn base64(body: &[u8]) -> Self {
        Self::Base64(B64.encode(body))
    }
}

/// `application/json` as a `datacontenttype`.
pub(crate) const JSON: &str = "application/json";

/// How a body is encoded, from its `Content-Type` (parameters and case ignored).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/json`, `application/*+json`, or no content type at all.
    Json,
    Form,
    Other(String),
}

pub(crate) fn body_kind(headers: &HeaderMap) -> BodyKind {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return BodyKind::Json;
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => BodyKind::Json,
        "application/x-www-form-urlencoded" => BodyKind::Form,
        m if m.starts_with("application/") && m.ends_with("+json") => BodyKind::Json,
        _ => BodyKind::Other(raw.trim().to_owned()),
    }
}

/// The JSON as sent (kept verbatim for `data`) and the fields a source reads from it.
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
) -> Result<(Box<RawValue>, T), NormalizeError> {
    let raw: Box<RawValue> =
        serde_json::from_slice(body).map_err(|e| NormalizeError::InvalidJson(e.to_string()))?;
    let fields =
        serde_json::from_str(raw.get()).map_err(|e| NormalizeError::InvalidJson(e.to_string()))?;
    Ok((raw, fields))
}

/// A form body as a JSON object of strings; a repeated key becomes an array of its values.
pub(crate) fn form_to_json(body: &[u8]) -> Result<Map<String, Value>, NormalizeError> {
    if std::str::from_utf8(body).is_err() {
        return Err(NormalizeError::InvalidForm("the body is not UTF-8".into()));
    }
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(body) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            None => {
                map.insert(key.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Ok(map)
}

/// A required header of a verified request.
pub(crate) fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<&'h str, NormalizeError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(NormalizeError::MissingHeader(name))
}

/// `prefix.part.part`, lower-cased, empty parts dropped.
pub(crate) fn event_type(prefix: &str, parts: &[Option<&str>]) -> String {
    let mut ty = prefix.to_ascii_lowercase();
    for part in parts.iter().flatten().filter(|p| !p.is_empty()) {
        ty.push('.');
        ty.push_str(&part.to_lowercase());
    }
    ty
}

/// Seconds since the epoch as a time, for providers that send one.
pub(crate) fn from_unix(seconds: i64) -> Option<SystemTime> {
    let secs = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// A stable id for deliveries that carry none: the hex SHA-256 of the exact body, identical on retries.
pub(crate) fn body_digest_id(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let mk = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, v.parse().expect("value"));
            body_kind(&h)
        };
        assert_eq!(body_kind(&HeaderMap::new()), BodyKind::Json);
        assert_eq!(mk("Application/JSON; charset=utf-8"), BodyKind::Json);
        assert_eq!(mk("application/cloudevents+json"), BodyKind::Json);
        assert_eq!(mk("application/x-www-form-urlencoded"), BodyKind::Form);
        assert_eq!(mk("text/plain"), BodyKind::Other("text/plain".into()));
    }

    #[test]
    fn forms_become_json() {
        let map = form_to_json(b"a=1&b=x+y&a=2&c=%2Fcmd").expect("form");
        assert_eq!(
            Value::Object(map),
            serde_json::json!({"a": ["1", "2"], "b": "x y", "c": "/cmd"})
        );
        assert!(form_to_json(&[0xff, b'=', b'1']).is_err());
    }

    #[test]
    fn json_is_kept_verbatim() {
        #[derive(serde::Deserialize)]
        struct F {
            n: serde_json::Number,
        }
        let (raw, f): (Box<RawValue>, F) =
            parse_json(br#"{"n": 123456789012345678901234567890, "s":"\u00e9"}"#).expect("json");
        assert_eq!(
            raw.get(),
            r#"{"n": 123456789012345678901234567890, "s":"\u00e9"}"#
        );
        assert!(f.n.as_f64().is_some());
        assert!(matches!(
            parse_json::<F>(b"{nope"),
            Err(NormalizeError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_json::<F>(&[0xff, 0xfe]),
            Err(NormalizeError::InvalidJson(_))
        ));
    }

    #[test]
    fn types_are_lower_case_dotted() {
        assert_eq!(
            event_type("github", &[Some("Pull_Request"), None, Some("opened")]),
            "github.pull_request.opened"
        );
        assert_eq!(event_type("stripe", &[Some("")]), "stripe");
    }
}
