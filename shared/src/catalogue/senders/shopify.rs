//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(app client secret, raw body)>` (Events
//! deliveries also send it as `Shopify-Hmac-Sha256`). Only the body is signed: the delivery id
//! (`X-Shopify-Webhook-Id`, the same on every retry), the topic (`X-Shopify-Topic`, e.g.
//! `orders/create`), the shop (`X-Shopify-Shop-Domain`) and the time (`X-Shopify-Triggered-At`)
//! are unsigned headers, held to a strict character set, and duplicates are recognised by the body
//! digest. No timestamp is signed. The topic's `/` becomes a dot (`shopify.orders.create`), which
//! the data cannot say, hence the code below.

use std::borrow::Cow;
use std::time::SystemTime;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::core::normalize::engine::plain;
use crate::core::normalize::{
    body_kind, event_type, from_unix, parse_json, required_header, BodyKind, Disposition, Draft,
    Envelope, NormalizeError, Payload, JSON,
};
use crate::core::scheme::*;
use crate::core::verify::engine::parse_time;
use crate::core::verify::Verified;

/// The topic: webhooks' header, then Events' (developer preview).
const TOPIC: &[&str] = &["x-shopify-topic", "shopify-topic"];
/// The delivery id, else the id shared by every delivery of one merchant action.
const ID: &[&str] = &[
    "x-shopify-webhook-id",
    "shopify-webhook-id",
    "x-shopify-event-id",
    "shopify-event-id",
];
const SHOP: &[&str] = &["x-shopify-shop-domain", "shopify-shop-domain"];
const TRIGGERED_AT: &[&str] = &["x-shopify-triggered-at", "shopify-triggered-at"];

pub const SCHEME: Scheme = Scheme {
    name: "shopify",
    title: "Shopify",
    signature: Signature {
        at: &[
            Loc::Header("x-shopify-hmac-sha256"),
            Loc::Header("shopify-hmac-sha256"),
        ],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    // What the code below reads, for `inlet sources` and the CLI.
    id: &[
        Loc::Header("x-shopify-webhook-id"),
        Loc::Header("shopify-webhook-id"),
        Loc::Header("x-shopify-event-id"),
        Loc::Header("shopify-event-id"),
        Loc::Digest,
    ],
    ty: &[TypePart::Required(Loc::Header("x-shopify-topic"))],
    subject: &[Loc::Header("x-shopify-shop-domain")],
    time: &[TimeLoc::At(
        Loc::Header("x-shopify-triggered-at"),
        Unit::Rfc3339,
    )],
    custom: Some(&Topic),
    evidence: Evidence::Sdk("@shopify/shopify-api 15.0.0 (npm)"),
    note: "id, topic and shop are unsigned headers (validated); duplicates by body digest; `orders/create` becomes shopify.orders.create",
    ..Scheme::BASE
};

/// Builds the envelope, splitting the topic on `/`.
#[derive(Debug)]
struct Topic;

impl Custom for Topic {
    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        Some(envelope(source, v, received))
    }
}

/// The first of `names` present, held to the rules for unsigned headers; `Ok(None)` when absent.
fn header(v: &Verified<'_>, names: &[&'static str]) -> Result<Option<String>, NormalizeError> {
    for name in names {
        if v.headers().get(*name).is_some() {
            let value = required_header(v.headers(), name)?;
            if !plain(value) {
                return Err(NormalizeError::InvalidField {
                    field: name,
                    reason: "an unsigned header used as an id or type must be 1 to 200 letters, digits or `-_.:/@+=`",
                });
            }
            return Ok(Some(value.to_owned()));
        }
    }
    Ok(None)
}

fn envelope<'b>(
    source: &str,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    if body_kind(v.headers()) != BodyKind::Json {
        return Err(NormalizeError::UnsupportedMediaType("application/json"));
    }
    let (raw, _): (&RawValue, IgnoredAny) = parse_json(v.body())?;
    let topic = header(v, TOPIC)?.ok_or(NormalizeError::MissingHeader(TOPIC[0]))?;
    // Unsigned: words of Shopify's alphabet joined by `/` (`orders/create`), never a `.` that
    // could make it pass for another topic.
    if !topic
        .split('/')
        .all(|word| crate::core::normalize::engine::type_word(word, SCHEME.type_chars))
    {
        return Err(NormalizeError::InvalidField {
            field: TOPIC[0],
            reason: "an unsigned topic must be words of letters, digits and `_` joined by `/`",
        });
    }
    let parts: Vec<Option<&str>> = topic.split('/').map(Some).collect();
    // Each of the id headers is unsigned: the first stands for them all.
    let (id, key) =
        crate::core::normalize::engine::unsigned_id(&SCHEME, ID[0], header(v, ID)?, v.body());
    // Subject and time are optional: one that cannot be used is left out.
    let subject = header(v, SHOP).ok().flatten();
    let time = header(v, TRIGGERED_AT)
        .ok()
        .flatten()
        .and_then(|t| parse_time(&t, Unit::Rfc3339))
        .and_then(from_unix);
    let draft = Draft {
        id,
        ty: event_type(source, &parts),
        time,
        subject,
        content_type: JSON.into(),
        payload: Payload::Json(Cow::Borrowed(raw)),
        key,
        event: None,
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
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "shopify-client-secret";
    const BODY: &[u8] =
        br#"{"id":820982911946154508,"email":"jon@example.com","total_price":"10.00"}"#;
    /// Derived from https://shopify.dev/docs/apps/build/webhooks/delivery-structure and
    /// shopify-app-js `lib/webhooks/validate.ts` (base64 HMAC-SHA256 of the raw body, computed
    /// with Python's hmac), not published.
    const SIG: &str = "KjWQ4bJACtXgSxfVs0zBkWzyVC2qAPOp7NbR4itAV8w=";

    fn headers<'a>(sig: &'a str, topic: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("content-type", "application/json"),
            ("x-shopify-hmac-sha256", sig),
            ("x-shopify-topic", topic),
            ("x-shopify-shop-domain", "shop.myshopify.com"),
            ("x-shopify-api-version", "2025-01"),
            (
                "x-shopify-webhook-id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            ),
            ("x-shopify-event-id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
            ("x-shopify-triggered-at", "2023-11-14T22:13:20.123456789Z"),
        ]
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-shopify-hmac-sha256", SIG)],
        );
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("shopify-hmac-sha256", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-shopify-hmac-sha256";
        let hex_sig = "2a3590e1b2400ad5e04b17d5b34cc1916cf2542daa00f3a9ecd6d1e22b4057cc";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // The same MAC in hex is not Shopify's encoding.
            (
                &[(header, hex_sig)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "not base64!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn the_topic_becomes_a_dotted_type() {
        let d = deliver(
            Source::new("shopify", &SCHEME),
            SECRET,
            Request::post(&headers(SIG, "orders/create"), BODY, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
        assert_eq!(e["type"], "shopify.orders.create");
        assert_eq!(e["subject"], "shop.myshopify.com");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(e["data"]["email"], "jon@example.com");
        assert_eq!(e["inletverification"], "shopify-hmac-sha256");
    }

    #[test]
    fn unsigned_headers_are_held_to_a_strict_character_set() {
        // A `.` in the unsigned topic would let it pass for another topic's type.
        for (topic, status) in [
            ("orders/create", 202),
            ("customers/data_request", 202),
            ("orders create", 400),
            ("orders/create.x", 400),
            ("orders.create", 400),
            ("orders//create", 400),
        ] {
            let d = deliver(
                Source::new("shopify", &SCHEME),
                SECRET,
                Request::post(&headers(SIG, topic), BODY, 1_700_000_000),
            );
            assert_eq!(d.reply.status, status, "{topic}: {}", d.text());
        }
        let d = deliver(
            Source::new("shopify", &SCHEME),
            SECRET,
            Request::post(&[("x-shopify-hmac-sha256", SIG)], BODY, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 400, "no topic");
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn a_forged_delivery_is_refused() {
        let d = deliver(
            Source::new("shopify", &SCHEME),
            "another-secret",
            Request::post(&headers(SIG, "orders/create"), BODY, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }
}
