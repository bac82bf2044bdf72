//! The one normalizer: a verified request becomes an envelope (or a handshake reply) as its
//! [`Scheme`] says: which bodies it accepts, where the id, type, subject and time are.
//!
//! Values the signature covers are used as sent. Values from headers it does not cover (GitHub's
//! `X-GitHub-Event` and `X-GitHub-Delivery`, Shopify's topic, …) are held to a strict character
//! set and length, and such an id is not trusted for de-duplication: the body digest is.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{
    body_digest_id, body_kind, event_type, form_to_json, from_unix, invalid_json,
    nested_deeper_than, required_header, BodyKind, Disposition, Draft, Envelope, KeyBasis,
    NormalizeError, Payload, JSON, MAX_JSON_DEPTH,
};
use crate::json::Doc;
use crate::scheme::{Form, Loc, Part, Scheme, TimeLoc, TypePart, Unit};
use crate::verify::engine::{parse_time, query_param};

/// The instant a time value in `unit` names, keeping the milliseconds a sender gives (the
/// envelope writes milliseconds); `None` when it cannot be read or written.
fn instant(raw: &str, unit: Unit) -> Option<SystemTime> {
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
use crate::verify::Verified;

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

/// The envelope for a verified request of `scheme`, sent to the source named `source`.
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
    if let Some(reply) = crate::handshake::after_verification(scheme, v, &doc) {
        return Ok(Disposition::Reply(reply));
    }
    let read = |loc: &Loc| value(scheme, v, &doc, loc);

    let ty = if let Parsed::Other(_) = parsed {
        event_type(source, &[Some("raw")])
    } else {
        let mut parts: Vec<Cow<'_, str>> = Vec::with_capacity(scheme.ty.len());
        for part in scheme.ty {
            match part {
                TypePart::Lit(word) => parts.push(Cow::Borrowed(word)),
                TypePart::KeyOf(keys) => {
                    parts.extend(keys.iter().find(|k| doc.has(k)).map(|k| Cow::Borrowed(*k)))
                }
                TypePart::Optional(loc) => parts.extend(read(loc)?),
                TypePart::Required(loc) => parts.push(read(loc)?.ok_or_else(|| missing(loc))?),
            }
        }
        let parts: Vec<Option<&str>> = parts.iter().map(|p| Some(p.as_ref())).collect();
        event_type(source, &parts)
    };

    let (id, key) = match v.signed_id() {
        // The id the signature covered (Standard Webhooks, Twitch): nothing else may replace it.
        Some(signed) => (signed.to_owned(), KeyBasis::Id),
        None => {
            let mut found = None;
            for loc in scheme.id {
                if let Some(id) = read(loc)? {
                    let basis = if scheme.signs(loc) {
                        KeyBasis::Id
                    } else {
                        KeyBasis::BodyDigest
                    };
                    found = Some((id.into_owned(), basis));
                    break;
                }
            }
            match (found, scheme.id.first()) {
                (Some(found), _) => found,
                (None, Some(first)) => return Err(missing(first)),
                (None, None) => (body_digest_id(v.body()), KeyBasis::Id),
            }
        }
    };

    let mut subject = None;
    for loc in scheme.subject {
        // A subject is optional: one that cannot be used is left out rather than refused.
        if let Ok(Some(s)) = read(loc) {
            subject = Some(s.into_owned());
            break;
        }
    }

    let mut time = None;
    for at in scheme.time {
        time = match at {
            TimeLoc::Signed => v.timestamp().and_then(from_unix),
            TimeLoc::At(loc, unit) => read(loc).ok().flatten().and_then(|t| instant(&t, *unit)),
        };
        if time.is_some() {
            break;
        }
    }

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
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
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

/// The value at `loc`; `Ok(None)` when absent. A header the signature does not cover must be
/// short and plain, or the request is refused (it would become an id or type).
fn value<'d>(
    scheme: &Scheme,
    v: &Verified<'_>,
    doc: &Doc<'d>,
    loc: &Loc,
) -> Result<Option<Cow<'d, str>>, NormalizeError> {
    Ok(match loc {
        Loc::Header(h) => {
            if v.headers().get(*h).is_none() {
                return Ok(None);
            }
            let value = required_header(v.headers(), h)?;
            if !scheme.signs(loc) && !plain(value) {
                return Err(NormalizeError::InvalidField {
                    field: h,
                    reason: "an unsigned header used as an id or type must be 1 to 200 letters, digits or `-_.:/@+=`",
                });
            }
            Some(Cow::Owned(value.to_owned()))
        }
        Loc::Json(path) => doc.text(path),
        Loc::Query(q) => query_param(v.request().query, q).map(Cow::Owned),
        Loc::Digest => Some(Cow::Owned(body_digest_id(v.body()))),
        Loc::Kv(_) => None,
    })
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
        Loc::Digest => NormalizeError::MissingField("body"),
    }
}

/// Whether `scheme` signs an id part (so the verifier records it).
pub fn signs_id(scheme: &Scheme) -> bool {
    scheme.signed.contains(&Part::Id)
}
