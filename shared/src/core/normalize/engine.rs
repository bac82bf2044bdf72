//! The one normalizer: a verified request becomes an envelope (or a handshake reply) as its
//! [`Scheme`] says: which bodies it accepts, where the id, type, subject and time are.
//!
//! Values the signature covers are used as sent. Values from headers it does not cover (GitHub's
//! `X-GitHub-Event` and `X-GitHub-Delivery`, Shopify's topic, …), and for the custom scheme ids
//! and types from a body it does not cover, are held to a strict character set and length, and
//! such an id is not trusted for de-duplication: the body digest is.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use sha2::{Digest, Sha256};

use super::{
    body_digest_id, body_kind, event_type, form_to_json, from_unix, invalid_json,
    nested_deeper_than, required_header, BodyKind, Disposition, Draft, Envelope, InBatch, KeyBasis,
    NormalizeError, Payload, JSON, MAX_JSON_DEPTH,
};
use crate::core::json::Doc;
use crate::core::scheme::{Batch, Form, Loc, Part, Retries, Scheme, TimeLoc, TypePart, Unit};
use crate::core::verify::engine::{parse_time, query_param};

/// The instant a time value in `unit` names, keeping the milliseconds a sender gives (the
/// envelope writes milliseconds); `None` when it cannot be read or written.
pub(crate) fn instant(raw: &str, unit: Unit) -> Option<SystemTime> {
    let whole = from_unix(parse_time(raw, unit)?)?;
    let millis = match unit {
        Unit::Seconds => 0,
        Unit::Millis => raw.parse::<i64>().ok()?.rem_euclid(1000) as u64,
        Unit::Rfc3339 => {
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .ok()?
                .millisecond()
                .into()
        }
    };
    whole.checked_add(Duration::from_millis(millis))
}
use crate::core::verify::Verified;

/// Longest value taken from a header the signature does not cover.
pub const MAX_UNSIGNED_CHARS: usize = 200;

/// The body as the scheme reads it.
enum Parsed<'b> {
    Json(&'b RawValue),
    /// JSON carried inside a form field (GitHub's `payload=`).
    Inner(Box<RawValue>),
    Fields(Map<String, Value>),
    /// Kept as `data_base64`, with the content type as sent.
    Other(String),
}

impl Parsed<'_> {
    fn doc(&self) -> Doc<'_> {
        match self {
            Self::Json(raw) => Doc::Json(raw),
            Self::Inner(raw) => Doc::Json(raw),
            Self::Fields(map) => Doc::Fields(map),
            Self::Other(_) => Doc::Empty,
        }
    }
}

/// The envelope for a verified request of `scheme`, sent to the source named `source` (for a
/// batch sender, one envelope per event).
pub fn normalize<'b>(
    source: &str,
    scheme: &Scheme,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    if let Some(done) = scheme.custom.and_then(|c| c.normalize(source, v, received)) {
        return done;
    }
    let parsed = parse(scheme, v)?;
    let doc = parsed.doc();
    if let Some(reply) = crate::core::handshake::after_verification(scheme, v, &doc) {
        return Ok(Disposition::Reply(reply));
    }
    if let (Some(batch), Parsed::Json(raw)) = (scheme.batch, &parsed) {
        return events(source, scheme, v, raw, batch, received);
    }
    let ty = if let Parsed::Other(_) = parsed {
        event_type(source, &[Some("raw")])
    } else {
        type_of(source, scheme, v, &doc, v.body())?
    };
    let (id, key) = id_of(scheme, v, &doc, v.body(), v.signed_id())?;
    let subject = subject_of(scheme, v, &doc, v.body());
    let time = time_of(scheme, v, &doc, v.body());
    let (content_type, payload) = match parsed {
        Parsed::Json(raw) => (JSON.to_owned(), Payload::Json(Cow::Borrowed(raw))),
        Parsed::Inner(raw) => (JSON.to_owned(), Payload::Json(Cow::Owned(raw))),
        Parsed::Fields(map) => (JSON.to_owned(), Payload::Built(Value::Object(map))),
        Parsed::Other(ct) => (ct, Payload::base64(v.body())),
    };
    let draft = Draft {
        id,
        ty,
        time,
        subject,
        content_type,
        payload,
        key,
        event: None,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}

/// Most events one delivery may hold: more than any sender batches (SendGrid's 768 KB batches
/// hold about 3,000), few enough to be queued within a deadline.
pub const MAX_BATCH_EVENTS: usize = 10_000;

/// One envelope per event of a batch delivery, each with its own id, type, subject and time read
/// from the event, and the event's bytes as its `data`.
fn events<'b>(
    source: &str,
    scheme: &Scheme,
    v: &Verified<'b>,
    raw: &'b RawValue,
    batch: Batch,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    let not_events = NormalizeError::InvalidField {
        field: if batch.items.is_empty() {
            "body"
        } else {
            batch.items
        },
        reason: "it must be an array of events",
    };
    let list: &'b RawValue = if batch.items.is_empty() {
        raw
    } else {
        crate::core::json::lookup(raw, batch.items)
            .ok_or(NormalizeError::MissingField(batch.items))?
    };
    let items: Vec<&'b RawValue> = match list.get().as_bytes().first() {
        Some(b'[') => serde_json::from_str(list.get()).map_err(|_| not_events.clone())?,
        // A body that is one event, for senders that post either (Twilio's).
        Some(b'{') if batch.items.is_empty() => vec![list],
        _ => return Err(not_events),
    };
    if items.len() > MAX_BATCH_EVENTS {
        return Err(NormalizeError::TooManyEvents {
            events: items.len(),
            limit: MAX_BATCH_EVENTS,
        });
    }
    let delivery_sha256 = hex::encode(Sha256::digest(v.body()));
    let size = items.len();
    let mut envelopes = Vec::with_capacity(size);
    for (index, item) in items.into_iter().enumerate() {
        if item.get().as_bytes().first() != Some(&b'{') {
            return Err(NormalizeError::InvalidField {
                field: "event",
                reason: "each event of a batch must be a JSON object",
            });
        }
        let bytes = item.get().as_bytes();
        let doc = Doc::Json(item);
        let (id, key) = id_of(scheme, v, &doc, bytes, None)?;
        let draft = Draft {
            id,
            ty: type_of(source, scheme, v, &doc, bytes)?,
            time: time_of(scheme, v, &doc, bytes),
            subject: subject_of(scheme, v, &doc, bytes),
            content_type: JSON.to_owned(),
            payload: Payload::Json(Cow::Borrowed(item)),
            key,
            event: Some(InBatch {
                bytes,
                index,
                size,
                delivery_sha256: delivery_sha256.clone(),
            }),
        };
        envelopes.push(Envelope::new(source, v, received, draft)?);
    }
    Ok(Disposition::Batch(envelopes))
}

/// The type: `<source>.` and each part present. A part read from a header or query parameter
/// the signature does not cover (for the custom scheme, from an unsigned body too) must be one
/// word of the sender's alphabet (no `.`, unless the sender's own names have one), so it cannot
/// pass for another event's type.
fn type_of(
    source: &str,
    scheme: &Scheme,
    v: &Verified<'_>,
    doc: &Doc<'_>,
    bytes: &[u8],
) -> Result<String, NormalizeError> {
    let mut parts: Vec<Cow<'_, str>> = Vec::with_capacity(scheme.ty.len());
    for part in scheme.ty {
        let (loc, required) = match part {
            TypePart::Lit(word) => {
                parts.push(Cow::Borrowed(word));
                continue;
            }
            TypePart::KeyOf(keys) => {
                parts.extend(keys.iter().find(|k| doc.has(k)).map(|k| Cow::Borrowed(*k)));
                continue;
            }
            TypePart::Optional(loc) => (loc, false),
            TypePart::Required(loc) => (loc, true),
        };
        let found = value(scheme, v, doc, bytes, loc)?;
        if let Some(word) = &found {
            if unsigned_value(scheme, loc) && !type_word(word, scheme.type_chars) {
                return Err(NormalizeError::InvalidField {
                    field: label(loc),
                    reason: "an unsigned value used as a type must be 1 to 64 letters, digits or the sender's own separators (never a `.` it does not use)",
                });
            }
        }
        match (found, required) {
            (Some(word), _) => parts.push(word),
            (None, true) => return Err(missing(loc)),
            (None, false) => {}
        }
    }
    let parts: Vec<Option<&str>> = parts.iter().map(|p| Some(p.as_ref())).collect();
    Ok(event_type(source, &parts))
}

/// Whether `loc` is a part of the request a replay could change without breaking the signature:
/// a header or query parameter the signature does not cover.
fn unsigned_request_part(scheme: &Scheme, loc: &Loc) -> bool {
    matches!(loc, Loc::Header(_) | Loc::Query(_)) && !scheme.signs(loc)
}

/// Whether a value read at `loc` for an id or type is held to the unsigned checks: an unsigned
/// header or query parameter, or, for the schemes that ask for it (the custom scheme), a JSON
/// value of a body the signature does not cover.
fn unsigned_value(scheme: &Scheme, loc: &Loc) -> bool {
    unsigned_request_part(scheme, loc)
        || (scheme.check_unsigned_json && matches!(loc, Loc::Json(_)) && !scheme.signs(loc))
}

/// 1 to 64 ASCII letters, digits or `extra` characters.
pub(crate) fn type_word(word: &str, extra: &str) -> bool {
    !word.is_empty()
        && word.len() <= 64
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.as_bytes().contains(&b))
}

/// The envelope id and what duplicates are recognised by (see [`Repeats`]).
fn id_of(
    scheme: &Scheme,
    v: &Verified<'_>,
    doc: &Doc<'_>,
    bytes: &[u8],
    signed_id: Option<&str>,
) -> Result<(String, KeyBasis), NormalizeError> {
    // The id the signature covered (Standard Webhooks, Twitch): nothing else may replace it.
    if let Some(signed) = signed_id {
        return Ok((signed.to_owned(), KeyBasis::Id));
    }
    for loc in scheme.id {
        if *loc == Loc::Digest {
            return Ok(digest_id(scheme, bytes));
        }
        let Some(id) = value(scheme, v, doc, bytes, loc)? else {
            continue;
        };
        if matches!(loc, Loc::Json(_)) && unsigned_value(scheme, loc) && !plain(&id) {
            return Err(NormalizeError::InvalidField {
                field: label(loc),
                reason:
                    "an unsigned value used as an id must be 1 to 200 letters, digits or `-_.:/@+=`",
            });
        }
        return Ok((id.into_owned(), scheme.retries_at(loc).into()));
    }
    match scheme.id.first() {
        Some(first) => Err(missing(first)),
        None => Ok((body_digest_id(bytes), KeyBasis::Id)),
    }
}

/// The id and key of a delivery whose id is the digest of `bytes`: the digest, or, where the same
/// bytes may be another event, an id of its own and no key.
fn digest_id(scheme: &Scheme, bytes: &[u8]) -> (String, KeyBasis) {
    match scheme.retries_at(&Loc::Digest) {
        Retries::None => (unique_id(), KeyBasis::None),
        retries => (body_digest_id(bytes), retries.into()),
    }
}

/// The id and key of a delivery whose id is the unsigned header `header` (its value, when sent)
/// or else the digest, for the custom normalizers, as [`id_of`] decides for the data's.
pub(crate) fn unsigned_id(
    scheme: &Scheme,
    header: &'static str,
    id: Option<String>,
    bytes: &[u8],
) -> (String, KeyBasis) {
    match id {
        Some(id) => (id, scheme.retries_at(&Loc::Header(header)).into()),
        None => digest_id(scheme, bytes),
    }
}

/// An id no other delivery has (a version 4 UUID), for deliveries nothing identifies.
pub fn unique_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No entropy to be had: still unique within the process and across restarts.
        static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (t ^ (u128::from(n) << 64) ^ u128::from(std::process::id())).to_be_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The first subject present; one that cannot be used is left out rather than refused.
fn subject_of(scheme: &Scheme, v: &Verified<'_>, doc: &Doc<'_>, bytes: &[u8]) -> Option<String> {
    scheme
        .subject
        .iter()
        .find_map(|loc| value(scheme, v, doc, bytes, loc).ok().flatten())
        .map(Cow::into_owned)
}

/// The first time present.
fn time_of(scheme: &Scheme, v: &Verified<'_>, doc: &Doc<'_>, bytes: &[u8]) -> Option<SystemTime> {
    scheme.time.iter().find_map(|at| match at {
        TimeLoc::Signed => v.timestamp().and_then(from_unix),
        TimeLoc::At(loc, unit) => value(scheme, v, doc, bytes, loc)
            .ok()
            .flatten()
            .and_then(|t| instant(&t, *unit)),
    })
}

/// Reads the body as the scheme accepts it.
fn parse<'b>(scheme: &Scheme, v: &Verified<'b>) -> Result<Parsed<'b>, NormalizeError> {
    let body = v.body();
    let accepts = scheme.body;
    let refuse = || {
        NormalizeError::UnsupportedMediaType(if accepts.form == Form::No {
            "application/json"
        } else {
            "application/json or application/x-www-form-urlencoded"
        })
    };
    match body_kind(v.headers()) {
        BodyKind::Json if accepts.json => {
            if nested_deeper_than(body, MAX_JSON_DEPTH) {
                return Err(NormalizeError::JsonTooDeep);
            }
            let raw: &RawValue = serde_json::from_slice(body).map_err(|e| invalid_json(&e))?;
            Ok(Parsed::Json(raw))
        }
        BodyKind::Form => match accepts.form {
            Form::Fields => Ok(Parsed::Fields(form_to_json(body)?)),
            Form::JsonIn(field) => {
                let form = form_to_json(body)?;
                let text = form
                    .get(field)
                    .and_then(Value::as_str)
                    .ok_or(NormalizeError::MissingField(field))?;
                if nested_deeper_than(text.as_bytes(), MAX_JSON_DEPTH) {
                    return Err(NormalizeError::JsonTooDeep);
                }
                let raw: Box<RawValue> =
                    serde_json::from_str(text).map_err(|e| invalid_json(&e))?;
                Ok(Parsed::Inner(raw))
            }
            Form::No if accepts.other => Ok(Parsed::Other(
                "application/x-www-form-urlencoded".to_owned(),
            )),
            Form::No => Err(refuse()),
        },
        BodyKind::Other(ct) if accepts.other => Ok(Parsed::Other(ct)),
        _ => Err(refuse()),
    }
}

/// The value at `loc`; `Ok(None)` when absent. `bytes` are the event's (the body, or one event of
/// a batch). A header or query parameter the signature does not cover must be short and plain,
/// or the request is refused (it would become an id or type).
fn value<'d>(
    scheme: &Scheme,
    v: &Verified<'_>,
    doc: &Doc<'d>,
    bytes: &[u8],
    loc: &Loc,
) -> Result<Option<Cow<'d, str>>, NormalizeError> {
    let plain_or_refused = |field: &'static str, value: String| {
        if unsigned_request_part(scheme, loc) && !plain(&value) {
            return Err(NormalizeError::InvalidField {
                field,
                reason: "an unsigned header or query parameter used as an id or type must be 1 to 200 letters, digits or `-_.:/@+=`",
            });
        }
        Ok(Some(Cow::Owned(value)))
    };
    match loc {
        Loc::Header(h) => {
            if v.headers().get(*h).is_none() {
                return Ok(None);
            }
            plain_or_refused(h, required_header(v.headers(), h)?.to_owned())
        }
        Loc::Json(path) => Ok(doc.text(path)),
        Loc::Query(q) => match query_param(v.request().query, q) {
            Some(value) => plain_or_refused(q, value),
            None => Ok(None),
        },
        Loc::Digest => Ok(Some(Cow::Owned(body_digest_id(bytes)))),
        Loc::DigestWithout(member) => digest_without(bytes, member).map(|d| Some(Cow::Owned(d))),
        Loc::Kv(_) | Loc::Body => Ok(None),
    }
}

/// `sha256:<hex>` of a JSON object without its top-level `member`: the other members sorted by
/// name, each value exactly as sent, written as compact JSON.
fn digest_without(bytes: &[u8], member: &str) -> Result<String, NormalizeError> {
    let mut members: std::collections::BTreeMap<Cow<'_, str>, &RawValue> =
        serde_json::from_slice(bytes).map_err(|e| invalid_json(&e))?;
    members.remove(member);
    let canonical = serde_json::to_vec(&members).map_err(|e| invalid_json(&e))?;
    Ok(body_digest_id(&canonical))
}

/// Letters, digits and `-_.:/@+=`, at most [`MAX_UNSIGNED_CHARS`].
pub(crate) fn plain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_UNSIGNED_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@+=".contains(&b))
}

/// The error for a required value that is absent.
fn missing(loc: &Loc) -> NormalizeError {
    match loc {
        Loc::Header(h) => NormalizeError::MissingHeader(h),
        Loc::Json(p) | Loc::Query(p) | Loc::Kv(p) => NormalizeError::MissingField(p),
        Loc::Digest | Loc::DigestWithout(_) | Loc::Body => NormalizeError::MissingField("body"),
    }
}

/// A location's name, for errors.
fn label(loc: &Loc) -> &'static str {
    match loc {
        Loc::Header(h) | Loc::Json(h) | Loc::Query(h) | Loc::Kv(h) => h,
        Loc::Digest | Loc::DigestWithout(_) | Loc::Body => "body",
    }
}

/// Whether `scheme` signs an id part (so the verifier records it).
pub fn signs_id(scheme: &Scheme) -> bool {
    scheme.signed.contains(&Part::Id)
}
