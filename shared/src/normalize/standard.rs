//! Standard Webhooks: id the `webhook-id` (or `svix-id`) the signature covered, type from the
//! body's `type`, time the signed timestamp. A JSON payload must carry `type`, as the spec
//! requires; a body in another content type is kept as `data_base64` with the type `<source>.raw`.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    body_kind, event_type, from_unix, parse_json, BodyKind, Disposition, Draft, Envelope, KeyBasis,
    Lenient, NormalizeError, Payload, JSON,
};
use crate::verify::standard::ID_HEADERS;
use crate::verify::Verified;

#[derive(Deserialize)]
struct Fields {
    #[serde(rename = "type", default)]
    ty: Lenient<String>,
}

pub fn normalize(
    source: &str,
    v: &Verified<'_>,
    received: SystemTime,
) -> Result<Disposition, NormalizeError> {
    // Only the id the signature covered: an unsigned `webhook-id` beside signed `svix-*`
    // headers must not choose the envelope id.
    let id = v
        .signed_id()
        .ok_or(NormalizeError::MissingHeader(ID_HEADERS[0]))?
        .to_owned();
    let time = v.timestamp().and_then(from_unix);
    let (ty, content_type, payload) = match body_kind(v.headers()) {
        BodyKind::Json => {
            let (raw, fields): (Box<RawValue>, Fields) = parse_json(v.body())?;
            let ty = fields
                .ty
                .into_inner()
                .filter(|t| !t.is_empty())
                .ok_or(NormalizeError::MissingField("type"))?;
            (
                event_type(source, &[Some(&ty)]),
                JSON.to_owned(),
                Payload::Json(raw),
            )
        }
        BodyKind::Form => (
            event_type(source, &[Some("raw")]),
            "application/x-www-form-urlencoded".to_owned(),
            Payload::base64(v.body()),
        ),
        BodyKind::Other(ct) => (
            event_type(source, &[Some("raw")]),
            ct,
            Payload::base64(v.body()),
        ),
    };
    let draft = Draft {
        id,
        ty,
        time,
        subject: None,
        content_type,
        payload,
        key: KeyBasis::Id,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}
