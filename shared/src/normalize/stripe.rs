//! Stripe: id and type from the event body (`evt_...`, `payment_intent.succeeded`), time from
//! `created`, subject the customer (or the object) the event is about.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    body_kind, event_type, from_unix, parse_json, BodyKind, Disposition, Draft, Envelope,
    NormalizeError, Payload, JSON,
};
use crate::verify::Verified;

#[derive(Deserialize)]
struct Fields {
    id: Option<String>,
    #[serde(rename = "type")]
    ty: Option<String>,
    created: Option<i64>,
    data: Option<Data>,
    related_object: Option<Object>,
}

#[derive(Deserialize)]
struct Data {
    object: Option<Object>,
}

#[derive(Deserialize)]
struct Object {
    id: Option<String>,
    customer: Option<serde_json::Value>,
}

pub fn normalize(
    source: &str,
    v: &Verified<'_>,
    received: SystemTime,
) -> Result<Disposition, NormalizeError> {
    if let BodyKind::Form | BodyKind::Other(_) = body_kind(v.headers()) {
        let ct = v
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|c| String::from_utf8_lossy(c.as_bytes()).into_owned());
        return Err(NormalizeError::UnsupportedMediaType(
            ct.unwrap_or_default(),
            "application/json",
        ));
    }
    let (raw, fields): (Box<RawValue>, Fields) = parse_json(v.body())?;
    let id = fields
        .id
        .filter(|i| !i.is_empty())
        .ok_or(NormalizeError::MissingField("id"))?;
    let ty = fields
        .ty
        .filter(|t| !t.is_empty())
        .ok_or(NormalizeError::MissingField("type"))?;
    // Snapshot events carry data.object; thin (v2) events carry related_object.
    let object = fields.data.and_then(|d| d.object).or(fields.related_object);
    let subject = object.and_then(|o| match o.customer {
        Some(serde_json::Value::String(customer)) => Some(customer),
        Some(serde_json::Value::Object(c)) => {
            c.get("id").and_then(|i| i.as_str()).map(str::to_owned)
        }
        _ => o.id,
    });
    let draft = Draft {
        id,
        ty: event_type(source, &[Some(&ty)]),
        time: fields.created.and_then(from_unix),
        subject,
        content_type: JSON.into(),
        payload: Payload::Json(raw),
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    ))))
}
