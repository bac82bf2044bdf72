//! The CloudEvents 1.0 envelope Inlet enqueues, and how it is written so that any JSON value
//! survives SQS unchanged.
//!
//! An envelope can only be built from a [`Verified`] request. Its JSON is escaped into SQS's
//! allowed character set (`#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF`):
//! in JSON text such characters can only stand inside strings, where `\uXXXX` is the same value.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::request::Verified;

/// Deepest JSON nesting accepted. The envelope adds one level, which keeps every message within
/// serde_json's default limit of 128 levels, the tightest of the common JSON parsers consumers use.
pub const MAX_JSON_DEPTH: usize = 100;

/// Why a verified request cannot be turned into an envelope (all are the sender's fault: 4xx).
/// No message quotes the body.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    #[error("this content type is not accepted here; send {0}")]
    UnsupportedMediaType(&'static str),
    #[error("the body is not valid JSON (line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error("the JSON is nested more than {MAX_JSON_DEPTH} levels deep")]
    JsonTooDeep,
    /// A number, string, boolean or null: no sender's event is one, and an X CRC answer is the
    /// signature of such a body (see `senders::x`).
    #[error("the body is JSON but not an object or an array, as every webhook event is")]
    NotAnEvent,
    #[error("the body is not a valid form: {0}")]
    InvalidForm(&'static str),
    #[error("the payload has no `{0}`, which this source always sends")]
    MissingField(&'static str),
    #[error("the payload's `{field}` cannot be used: {reason}")]
    InvalidField {
        field: &'static str,
        reason: &'static str,
    },
    #[error("the {0} header is required")]
    MissingHeader(&'static str),
    #[error("the {0} header must appear exactly once")]
    DuplicateHeader(&'static str),
    #[error("the delivery holds {events} events; at most {limit} are taken in one")]
    TooManyEvents { events: usize, limit: usize },
}

/// Longest envelope `id` accepted, in bytes: ids are keys (idempotency, FIFO, S3), not payloads.
pub const MAX_ID_BYTES: usize = 1024;
/// Longest envelope `type`, in characters.
pub const MAX_TYPE_CHARS: usize = 256;
/// Longest `subject` kept, in bytes; a longer one is left out (it is optional).
pub const MAX_SUBJECT_BYTES: usize = 1024;

/// A CloudEvents 1.0 envelope in structured JSON mode, with Inlet's extension attributes.
#[derive(Debug, Serialize)]
pub struct Envelope<'b> {
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
    payload: Payload<'b>,
    /// When Inlet received the request (RFC 3339).
    inletreceivedat: String,
    /// Hex SHA-256 of the raw bytes `data` holds: the body as received, or for one event of a
    /// batch, that event's bytes as they stand in the body.
    inletbodysha256: String,
    /// Which verification scheme passed.
    inletverification: String,
    /// Which active secret matched (its label, never its value): tells when an old secret is unused.
    inletsecret: String,
    /// For one event of a batch: hex SHA-256 of the whole delivery, shared by its events.
    #[serde(skip_serializing_if = "Option::is_none")]
    inletbatchsha256: Option<String>,
    /// For one event of a batch: its position in the delivery, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    inletbatchindex: Option<usize>,
    /// For one event of a batch: how many events the delivery held.
    #[serde(skip_serializing_if = "Option::is_none")]
    inletbatchsize: Option<usize>,
    /// The idempotency key (see [`Envelope::key`]); `None` for a sender whose identical bytes can
    /// be distinct events and that sends no delivery id: nothing is suppressed.
    #[serde(skip)]
    key: Option<String>,
    /// The content type of the raw body, which a claim-checked payload keeps.
    #[serde(skip)]
    body_content_type: String,
    /// For one event of a batch, its bytes in the body.
    #[serde(skip)]
    event_bytes: Option<&'b [u8]>,
}

/// What a source decides; the envelope adds the rest.
#[derive(Debug)]
pub(crate) struct Draft<'b> {
    pub id: String,
    pub ty: String,
    pub time: Option<SystemTime>,
    pub subject: Option<String>,
    pub content_type: String,
    pub payload: Payload<'b>,
    /// What duplicates are recognised by (see [`Envelope::key`]).
    pub key: KeyBasis,
    /// For one event of a batch: its bytes in the body, and where it stands in the delivery.
    pub event: Option<InBatch<'b>>,
}

/// One event of a batch: the bytes `data` holds, its position, how many there are, and the hex
/// SHA-256 of the whole delivery (computed once for all its events).
#[derive(Debug, Clone)]
pub(crate) struct InBatch<'b> {
    pub bytes: &'b [u8],
    pub index: usize,
    pub size: usize,
    pub delivery_sha256: String,
}

/// What a delivery's idempotency key is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyBasis {
    /// The envelope id: the signature covers it, and the sender never reuses it.
    Id,
    /// `sha256:<hex digest of the signed bytes>` (the digest the envelope carries anyway), for
    /// senders whose id is not signed or not unique and whose identical bytes are always a retry.
    BodyDigest,
    /// The digest and the (unsigned) id together, `sha256:<hex>/<id>`: for senders whose
    /// identical bytes can be distinct events told apart by a delivery id (GitHub's
    /// `X-GitHub-Delivery`), which a retry repeats.
    DigestAndId,
    /// Nothing: identical bytes can be distinct events and nothing tells a retry apart, so every
    /// delivery is queued (the envelope id is made unique for it).
    None,
}

/// `data` (JSON kept as sent, or built from a form), `data_base64` (anything else), or a
/// `dataref` to the body stored elsewhere (the claim check). JSON sent as the whole body is
/// borrowed from it, not copied.
#[derive(Debug, Serialize)]
pub(crate) enum Payload<'b> {
    #[serde(rename = "data")]
    Json(Cow<'b, RawValue>),
    #[serde(rename = "data")]
    Built(Value),
    #[serde(rename = "data_base64")]
    Base64(String),
    #[serde(rename = "dataref")]
    Ref(String),
}

impl Payload<'_> {
    pub fn base64(body: &[u8]) -> Self {
        Self::Base64(B64.encode(body))
    }
}

impl<'b> Envelope<'b> {
    /// Builds the envelope for a verified request; the only way to get one. Fails when the id or
    /// type the sender's payload gives cannot serve as one.
    pub(crate) fn new(
        source: &str,
        verified: &Verified<'b>,
        received: SystemTime,
        draft: Draft<'b>,
    ) -> Result<Self, NormalizeError> {
        if draft.id.is_empty() || draft.id.len() > MAX_ID_BYTES {
            return Err(NormalizeError::InvalidField {
                field: "id",
                reason: "it must be 1 to 1024 bytes long",
            });
        }
        // JSON data is an object or an array: every sender's event is one, and nothing else can
        // become an envelope (an X CRC answer signs a token, which is neither).
        if let Payload::Json(raw) = &draft.payload {
            if !matches!(raw.get().as_bytes().first(), Some(b'{' | b'[')) {
                return Err(NormalizeError::NotAnEvent);
            }
        }
        if draft.ty.chars().count() > MAX_TYPE_CHARS {
            return Err(NormalizeError::InvalidField {
                field: "type",
                reason: "the event type must be at most 256 characters long",
            });
        }
        // A body sent without a content type was read as the draft says (JSON); one event of a
        // batch is JSON whatever the body's type says.
        let body_content_type = match &draft.event {
            Some(_) => draft.content_type.clone(),
            None => verified
                .headers()
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .unwrap_or(&draft.content_type)
                .to_owned(),
        };
        // The bytes `data` holds: the body, or one event of it.
        let bytes = draft.event.as_ref().map_or(verified.body(), |e| e.bytes);
        let body_sha256 = hex::encode(Sha256::digest(bytes));
        let event_bytes = draft.event.as_ref().map(|e| e.bytes);
        let (inletbatchsha256, inletbatchindex, inletbatchsize) = match draft.event {
            Some(e) => (Some(e.delivery_sha256), Some(e.index), Some(e.size)),
            None => (None, None, None),
        };
        Ok(Self {
            specversion: "1.0",
            key: match draft.key {
                KeyBasis::Id => Some(draft.id.clone()),
                KeyBasis::BodyDigest => Some(format!("sha256:{body_sha256}")),
                KeyBasis::DigestAndId => Some(format!("sha256:{body_sha256}/{}", draft.id)),
                KeyBasis::None => None,
            },
            id: draft.id,
            source: source.to_owned(),
            ty: draft.ty,
            time: rfc3339(draft.time.unwrap_or(received)),
            subject: draft.subject.filter(|s| s.len() <= MAX_SUBJECT_BYTES),
            datacontenttype: draft.content_type,
            payload: draft.payload,
            inletreceivedat: rfc3339(received),
            inletbodysha256: body_sha256,
            inletverification: verified.verification(),
            inletsecret: verified.secret_label().to_owned(),
            inletbatchsha256,
            inletbatchindex,
            inletbatchsize,
            body_content_type,
            event_bytes,
        })
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

    /// What duplicates are recognised by, together with the source: the id where the signature
    /// covers it, else a digest of the signed bytes (with the unsigned delivery id, for senders
    /// whose identical bytes can be distinct events); `None` when nothing can recognise them.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// For one event of a batch, its bytes in the body (what a claim check stores); `None` when
    /// `data` is the whole body.
    pub fn event_bytes(&self) -> Option<&'b [u8]> {
        self.event_bytes
    }

    /// Hex SHA-256 of the raw bytes `data` holds (the body, or one event of a batch).
    pub fn body_sha256(&self) -> &str {
        &self.inletbodysha256
    }

    /// The content type of the raw body (what a claim-checked payload is stored as).
    pub fn body_content_type(&self) -> &str {
        &self.body_content_type
    }

    /// Replaces the payload with a `dataref` to the raw body stored at `uri` (the claim check).
    /// `datacontenttype` becomes the raw body's, and `inletbodysha256` lets a consumer check it.
    pub fn claim_check(&mut self, uri: String) {
        self.payload = Payload::Ref(uri);
        self.datacontenttype = self.body_content_type.clone();
    }

    /// Whether the payload is stored elsewhere (`dataref`).
    pub fn is_claim_checked(&self) -> bool {
        matches!(self.payload, Payload::Ref(_))
    }

    /// The envelope as JSON in SQS's character set: the message body on the queue.
    pub fn encode(&self) -> String {
        sqs_safe(serde_json::to_string(self).unwrap_or_default())
    }
}

/// Whether SQS accepts `c` in a message body or attribute.
pub fn sqs_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether JSON text has a character SQS refuses. Valid JSON (what serde_json writes, and a body
/// it parsed) holds no raw control characters but tab, LF and CR (in strings they are escaped),
/// and surrogates cannot occur in a `str`, so the only refused characters it can hold are U+FFFE
/// and U+FFFF, `EF BF BE` and `EF BF BF` in UTF-8: one memchr scan for `EF`.
fn has_nonchar(json: &[u8]) -> bool {
    memchr::memchr_iter(0xef, json)
        .any(|i| json.get(i + 1) == Some(&0xbf) && matches!(json.get(i + 2), Some(0xbe | 0xbf)))
}

/// JSON text with every character SQS refuses written as a JSON `\uXXXX` escape. Such characters
/// can only appear inside JSON strings (outside them JSON allows only ASCII), so the value is
/// unchanged.
pub fn sqs_safe(json: String) -> String {
    if !has_nonchar(json.as_bytes()) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if sqs_allows(c) {
            out.push(c);
        } else {
            // Every refused character is in the Basic Multilingual Plane: one escape each.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        }
    }
    out
}

/// The latest time RFC 3339 (four-digit years) can write: 9999-12-31T23:59:59Z.
const MAX_RFC3339_UNIX: u64 = 253_402_300_799;

/// Seconds since the epoch as a time, for providers that send one; `None` outside what an
/// RFC 3339 timestamp can say (before 1970 or after 9999), so the received time is used instead.
pub(crate) fn from_unix(seconds: i64) -> Option<SystemTime> {
    let secs = u64::try_from(seconds)
        .ok()
        .filter(|s| *s <= MAX_RFC3339_UNIX)?;
    SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
}

/// RFC 3339 with milliseconds. Times past year 9999 (which `humantime` cannot write) are
/// written as the last representable instant rather than panicking.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    let latest = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(MAX_RFC3339_UNIX);
    humantime::format_rfc3339_millis(t.min(latest)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a string holds, serde_json's text of it made SQS-safe has only characters SQS
        /// allows and reads back as the same string; the scan finds exactly what the character
        /// check finds.
        #[test]
        fn serde_json_text_made_sqs_safe_is_allowed_and_unchanged(
            chars in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::char::any(),
                    proptest::sample::select(vec!['\u{FFFE}', '\u{FFFF}', '\u{FFFD}', '\u{EFBF}', '\u{0}', '\u{1F}', '\t']),
                ],
                0..40,
            )
        ) {
            let text: String = chars.into_iter().collect();
            let json = serde_json::to_string(&serde_json::json!({ "s": text, "k": [text.clone()] }))
                .expect("json");
            proptest::prop_assert_eq!(has_nonchar(json.as_bytes()), !json.chars().all(sqs_allows));
            let safe = sqs_safe(json.clone());
            proptest::prop_assert!(safe.chars().all(sqs_allows));
            let back: Value = serde_json::from_str(&safe).expect("still JSON");
            proptest::prop_assert_eq!(back["s"].as_str(), Some(text.as_str()));
            if !has_nonchar(json.as_bytes()) {
                proptest::prop_assert_eq!(safe, json);
            }
        }
    }

    #[test]
    fn sqs_safe_escapes_only_refused_characters() {
        let json = "{\"a\":\"x\u{FFFE}y\u{FFFF}z\",\n\t\"b\":\"\u{1F600}\"}".to_owned();
        let safe = sqs_safe(json.clone());
        assert_eq!(
            safe,
            "{\"a\":\"x\\ufffey\\uffffz\",\n\t\"b\":\"\u{1F600}\"}"
        );
        assert!(safe.chars().all(sqs_allows));
        let a: Value = serde_json::from_str(&json).expect("json");
        let b: Value = serde_json::from_str(&safe).expect("json");
        assert_eq!(a, b, "the same value");
        let plain = "{\"a\":1}".to_owned();
        assert_eq!(sqs_safe(plain.clone()), plain);
    }

    #[test]
    fn times_beyond_year_9999_do_not_panic() {
        assert!(from_unix(253_402_300_800).is_none());
        assert!(from_unix(-1).is_none());
        assert!(from_unix(253_402_300_799).is_some());
        let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(400_000_000_000);
        assert_eq!(rfc3339(far), "9999-12-31T23:59:59.000Z");
    }
}
