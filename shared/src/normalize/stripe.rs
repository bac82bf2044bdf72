//! Stripe: id and type from the event body (`evt_...`, `payment_intent.succeeded`), time from
//! `created`, subject the customer (or the object) the event is about.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{
    body_kind, event_type, from_unix, parse_json, BodyKind, Disposition, Draft, Envelope, KeyBasis,
    Lenient, NormalizeError, Payload, JSON,
};
use crate::verify::Verified;

#[derive(Deserialize)]
struct Fields {
    #[serde(default)]
    id: Lenient<String>,
    #[serde(rename = "type", default)]
    ty: Lenient<String>,
    #[serde(default)]
    created: Lenient<i64>,
    #[serde(default)]
    data: Lenient<Data>,
    #[serde(default)]
    related_object: Lenient<Object>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    object: Lenient<Object>,
}

#[derive(Deserialize)]
struct Object {
    #[serde(default)]
    id: Lenient<String>,
    #[serde(default)]
    customer: Lenient<Value>,
}

pub fn normalize(
    source: &str,
    v: &Verified<'_>,
    received: SystemTime,
) -> Result<Disposition, NormalizeError> {
    if let BodyKind::Form | BodyKind::Other(_) = body_kind(v.headers()) {
        return Err(NormalizeError::UnsupportedMediaType("application/json"));
    }
    let (raw, fields): (Box<RawValue>, Fields) = parse_json(v.body())?;
    let id = fields
        .id
        .into_inner()
        .filter(|i| !i.is_empty())
        .ok_or(NormalizeError::MissingField("id"))?;
    let ty = fields
        .ty
        .into_inner()
        .filter(|t| !t.is_empty())
        .ok_or(NormalizeError::MissingField("type"))?;
    // Snapshot events carry data.object; thin (v2) events carry related_object.
    let object = fields
        .data
        .into_inner()
        .and_then(|d| d.object.into_inner())
        .or(fields.related_object.into_inner());
    let subject = object.and_then(|o| match o.customer.into_inner() {
        Some(Value::String(customer)) => Some(customer),
        Some(Value::Object(c)) => c.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => o.id.into_inner(),
    });
    let draft = Draft {
        id,
        ty: event_type(source, &[Some(&ty)]),
        time: fields.created.into_inner().and_then(from_unix),
        subject,
        content_type: JSON.into(),
        payload: Payload::Json(raw),
        key: KeyBasis::Id,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}
