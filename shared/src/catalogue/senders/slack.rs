//! Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{raw body}")>` with the
//! timestamp in `X-Slack-Request-Timestamp`. Events API JSON (with the `url_verification`
//! handshake), and the form bodies of slash commands and interactivity (`payload=`), which the
//! code below turns into JSON: what kind of form it is cannot be said as data.

use std::time::SystemTime;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::core::normalize::{
    body_digest_id, body_kind, event_type, form_to_json, parse_json, BodyKind, Disposition, Draft,
    Envelope, KeyBasis, NormalizeError, Payload, JSON,
};
use crate::core::scheme::*;
use crate::core::verify::Verified;

pub const SCHEME: Scheme = Scheme {
    name: "slack",
    title: "Slack",
    signature: Signature {
        at: &[Loc::Header("x-slack-signature")],
        format: Format::Prefix("v0="),
        all: false,
    },
    signed: &[
        Part::Lit("v0:"),
        Part::Timestamp,
        Part::Lit(":"),
        Part::Body,
    ],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-slack-request-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("event_id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("type")),
        TypePart::Optional(Loc::Json("event.type")),
    ],
    subject: &[
        Loc::Json("event.channel"),
        Loc::Json("event.channel.id"),
        Loc::Json("event.item.channel"),
    ],
    time: &[TimeLoc::At(Loc::Json("event_time"), Unit::Seconds)],
    body: Body::JSON_OR_FORM,
    handshakes: &[Handshake::SlackUrlVerification, Handshake::SlackSslCheck],
    custom: Some(&Forms),
    evidence: Evidence::Sdk("slack-sdk 3.47.0 (PyPI)"),
    note: "slash commands and interactivity forms become JSON",
    ..Scheme::BASE
};

/// Slash commands (`command=…`) and interactivity (`payload=<json>`) forms.
#[derive(Debug)]
struct Forms;

impl Custom for Forms {
    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        (body_kind(v.headers()) == BodyKind::Form).then(|| form(source, v, received))
    }
}

fn field(obj: &Map<String, Value>, k: &str) -> Option<String> {
    obj.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn form<'b>(
    source: &str,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    let mut form = form_to_json(v.body())?;
    let draft = if let Some(payload) = form.remove("payload") {
        // Interactivity: the JSON payload is the event.
        let text = payload.as_str().ok_or(NormalizeError::InvalidForm(
            "`payload` appears more than once",
        ))?;
        let (_, value): (&RawValue, Value) = parse_json(text.as_bytes())?;
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
            event: None,
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
            event: None,
        }
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    #[test]
    fn published_vector_from_slack_sdk() {
        vector(
            &SCHEME,
            SECRET,
            BODY,
            &[
                ("X-Slack-Signature", SIG),
                ("X-Slack-Request-Timestamp", "1531420618"),
            ],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
    }

    #[test]
    fn url_verification_is_answered_only_when_signed() {
        let body = br#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let source = crate::catalogue::sources::Source::new("slack", &SCHEME);
        let sig = crate::core::verify::engine::sign(
            &SCHEME,
            SECRET,
            &crate::core::verify::engine::Signing::post(body, 1_700_000_000, "", None),
        )
        .expect("signs");
        let pairs: Vec<(&str, &str)> = sig.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let secret = std::str::from_utf8(SECRET).expect("text");
        let ok = deliver(
            source.clone(),
            secret,
            Request::post(&pairs, body, 1_700_000_000),
        );
        assert_eq!(ok.reply.status, 200);
        assert_eq!(
            ok.text(),
            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        );
        assert!(ok.envelopes.is_empty());
        let forged = deliver(
            source,
            "another-secret",
            Request::post(&pairs, body, 1_700_000_000),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }

    #[test]
    fn rejections() {
        let header = "x-slack-signature";
        let th = "x-slack-request-timestamp";
        let now = 1_531_420_618;
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(th, "1531420618")],
                VerifyError::MissingSignature { header },
            ),
            (&[(header, SIG)], VerifyError::MissingHeader { header: th }),
            (
                &[(header, SIG), (th, "soon")],
                VerifyError::InvalidTimestamp { header: th },
            ),
            (
                &[(header, SIG), (th, "1531420618"), (th, "1531420618")],
                VerifyError::DuplicateHeader { header: th },
            ),
            (
                &[(header, &SIG[3..]), (th, "1531420618")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (th, "1531420619")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET], BODY, now, cases);
    }
}
