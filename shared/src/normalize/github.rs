//! GitHub: id from `X-GitHub-Delivery`, type from `X-GitHub-Event` and the body's `action`,
//! subject the repository (or organization). JSON and form (`payload=`) deliveries are both accepted.
//!
//! GitHub signs neither the delivery id nor a time, so duplicates are recognised by the digest
//! of the signed body (a redelivery sends the same bytes), not by the unsigned id.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    body_kind, event_type, form_to_json, parse_json, required_header, BodyKind, Disposition, Draft,
    Envelope, KeyBasis, Lenient, NormalizeError, Payload, JSON,
};
use crate::verify::Verified;

pub const EVENT_HEADER: &str = "x-github-event";
pub const DELIVERY_HEADER: &str = "x-github-delivery";

#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    action: Lenient<String>,
    #[serde(default)]
    repository: Lenient<Named>,
    #[serde(default)]
    organization: Lenient<Login>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    full_name: Lenient<String>,
}

#[derive(Deserialize)]
struct Login {
    #[serde(default)]
    login: Lenient<String>,
}

pub fn normalize(
    source: &str,
    v: &Verified<'_>,
    received: SystemTime,
) -> Result<Disposition, NormalizeError> {
    let event = required_header(v.headers(), EVENT_HEADER)?;
    let delivery = required_header(v.headers(), DELIVERY_HEADER)?;
    let (raw, fields): (Box<RawValue>, Fields) = match body_kind(v.headers()) {
        BodyKind::Json => parse_json(v.body())?,
        // GitHub's "application/x-www-form-urlencoded" setting sends the JSON in a `payload` field.
        BodyKind::Form => {
            let form = form_to_json(v.body())?;
            let payload = form
                .get("payload")
                .and_then(|p| p.as_str())
                .ok_or(NormalizeError::MissingField("payload"))?;
            parse_json(payload.as_bytes())?
        }
        BodyKind::Other(_) => {
            return Err(NormalizeError::UnsupportedMediaType(
                "application/json or application/x-www-form-urlencoded",
            ))
        }
    };
    let subject = fields
        .repository
        .into_inner()
        .and_then(|r| r.full_name.into_inner())
        .or_else(|| {
            fields
                .organization
                .into_inner()
                .and_then(|o| o.login.into_inner())
        });
    let action = fields.action.into_inner();
    let draft = Draft {
        id: delivery.to_owned(),
        ty: event_type(source, &[Some(event), action.as_deref()]),
        time: None,
        subject,
        content_type: JSON.into(),
        payload: Payload::Json(raw),
        key: KeyBasis::BodyDigest,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}
