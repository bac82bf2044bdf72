//! Slack: Events API JSON (`event_callback`, answered `url_verification` handshakes) and the
//! form-encoded bodies of slash commands and interactivity (`payload=`), which become JSON.

use std::time::SystemTime;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{
    body_digest_id, body_kind, event_type, form_to_json, from_unix, parse_json, BodyKind,
    Disposition, Draft, Envelope, KeyBasis, Lenient, NormalizeError, Payload, JSON,
};
use crate::response::Reply;
use crate::verify::Verified;

#[derive(Deserialize)]
struct EventsApi {
    #[serde(rename = "type", default)]
    ty: Lenient<String>,
    #[serde(default)]
    challenge: Lenient<String>,
    #[serde(default)]
    event_id: Lenient<String>,
    #[serde(default)]
    event_time: Lenient<i64>,
    #[serde(default)]
    event: Lenient<Inner>,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(rename = "type", default)]
    ty: Lenient<String>,
    #[serde(default)]
    channel: Lenient<Value>,
    #[serde(default)]
    item: Lenient<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    channel: Lenient<String>,
}

pub fn normalize(
    source: &str,
    v: &Verified<'_>,
    received: SystemTime,
) -> Result<Disposition, NormalizeError> {
    let draft = match body_kind(v.headers()) {
        BodyKind::Json => {
            let (raw, f): (Box<RawValue>, EventsApi) = parse_json(v.body())?;
            let ty =
                f.ty.into_inner()
                    .filter(|t| !t.is_empty())
                    .ok_or(NormalizeError::MissingField("type"))?;
            if ty == "url_verification" {
                let challenge = f
                    .challenge
                    .into_inner()
                    .ok_or(NormalizeError::MissingField("challenge"))?;
                return Ok(Disposition::Reply(Reply::text(200, challenge)));
            }
            let inner = f.event.into_inner();
            let inner_type = inner.as_ref().and_then(|e| e.ty.0.clone());
            let subject = inner.and_then(|e| match e.channel.into_inner() {
                Some(Value::String(c)) => Some(c),
                Some(Value::Object(c)) => c.get("id").and_then(Value::as_str).map(str::to_owned),
                _ => e.item.into_inner().and_then(|i| i.channel.into_inner()),
            });
            Draft {
                id: f
                    .event_id
                    .into_inner()
                    .filter(|i| !i.is_empty())
                    .unwrap_or_else(|| body_digest_id(v.body())),
                ty: event_type(source, &[Some(&ty), inner_type.as_deref()]),
                time: f.event_time.into_inner().and_then(from_unix),
                subject,
                content_type: JSON.into(),
                payload: Payload::Json(raw),
                key: KeyBasis::Id,
            }
        }
        BodyKind::Form => {
            let mut form = form_to_json(v.body())?;
            if form.get("ssl_check").and_then(Value::as_str) == Some("1") {
                return Ok(Disposition::Reply(Reply::text(200, String::new())));
            }
            let field = |obj: &serde_json::Map<String, Value>, k: &str| {
                obj.get(k)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            if let Some(payload) = form.remove("payload") {
                // Interactivity: the JSON payload is the event.
                let text = payload.as_str().ok_or(NormalizeError::InvalidForm(
                    "`payload` appears more than once",
                ))?;
                let (_, value): (Box<RawValue>, Value) = parse_json(text.as_bytes())?;
                let obj = value.as_object().ok_or(NormalizeError::InvalidField {
                    field: "payload",
                    reason: "it is not a JSON object",
                })?;
                let subject = obj
                    .get("channel")
                    .and_then(|c| c.get("id"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                Draft {
                    id: field(obj, "trigger_id").unwrap_or_else(|| body_digest_id(v.body())),
                    ty: event_type(
                        source,
                        &[Some("interactivity"), field(obj, "type").as_deref()],
                    ),
                    time: None,
                    subject,
                    content_type: JSON.into(),
                    payload: Payload::Built(value),
                    key: KeyBasis::Id,
                }
            } else {
                let is_command = form.contains_key("command");
                Draft {
                    id: field(&form, "trigger_id").unwrap_or_else(|| body_digest_id(v.body())),
                    ty: event_type(
                        source,
                        &[Some(if is_command { "slash_command" } else { "form" })],
                    ),
                    time: None,
                    subject: field(&form, "channel_id"),
                    content_type: JSON.into(),
                    payload: Payload::Built(Value::Object(form)),
                    key: KeyBasis::Id,
                }
            }
        }
        BodyKind::Other(_) => {
            return Err(NormalizeError::UnsupportedMediaType(
                "application/json or application/x-www-form-urlencoded",
            ))
        }
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}
