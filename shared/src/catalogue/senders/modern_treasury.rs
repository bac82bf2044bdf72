//! Modern Treasury: `X-Signature: <hex HMAC-SHA256(webhook key, raw body)>`, the organization's
//! webhook key used as its UTF-8 bytes. Modern Treasury's docs
//! (https://docs.moderntreasury.com/platform/docs/verifying-webhooks: "The signature is hex
//! encoded and can be replicated by applying HMAC-SHA-256 to the body of the webhook with your
//! webhook key", with `openssl dgst -sha256 -hmac` and Node/Ruby verifiers;
//! https://docs.moderntreasury.com/platform/reference/webhooks) name the header, the hash, the
//! encoding and the key. The body is `{"event": …, "data": {…the object…}}`: `data.object` +
//! `event` the type (`modern-treasury.payment_order.completed`), `data.id` the subject,
//! `data.updated_at` the time. The body has no event id; the webhook's unique id is the
//! `X-Webhook-ID` header (the docs: "Each webhook has a unique ID ... passed through as the HTTP
//! header X-Webhook-ID"), which the signature does not cover: it is the envelope id, and
//! duplicates are recognised by the body digest (each event's object differs at least in
//! `updated_at`). The `X-Topic` header repeats the object type, unsigned, and is not read. No
//! timestamp is signed, so no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "modern-treasury",
    title: "Modern Treasury",
    signature: Signature {
        at: &[Loc::Header("x-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Header("x-webhook-id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("data.object")),
        TypePart::Required(Loc::Json("event")),
    ],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("data.updated_at"), Unit::Rfc3339)],
    evidence: Evidence::Docs("Modern Treasury's own Node.js and openssl verifiers in its docs"),
    note: "the webhook id (X-Webhook-ID) is an unsigned header (validated), duplicates by body digest; no timestamp is signed, so no replay window applies",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "mt-webhook-key";
    /// A `payment_order` `completed` event in the shape of Modern Treasury's webhook reference.
    const BODY: &[u8] = br#"{"event":"completed","data":{"id":"b5f45c1d-2d3c-4e0e-9d7e-8a1f2b3c4d5e","object":"payment_order","type":"ach","amount":1000,"direction":"credit","currency":"USD","status":"completed","live_mode":false,"created_at":"2023-11-14T22:10:00Z","updated_at":"2023-11-14T22:13:20Z"}}"#;
    /// Derived from Modern Treasury's docs (hex HMAC-SHA256 of the body, computed with Python's
    /// hmac), not published.
    const SIG: &str = "340f3fd4acc140fdcf25a5815d5adb3ce7c3943b281ee0cb6b1741bc5062239b";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("x-signature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &format!("sha256={SIG}"))],
            VerifyError::MalformedSignature { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("modern-treasury", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-signature", SIG),
                    ("x-topic", "payment_order"),
                    ("x-webhook-id", "0f8e3c3a-0a7a-4f3b-9a57-2b9c1f3f0c11"),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("0f8e3c3a-0a7a-4f3b-9a57-2b9c1f3f0c11"),
                ty: "modern-treasury.payment_order.completed",
                subject: Some("b5f45c1d-2d3c-4e0e-9d7e-8a1f2b3c4d5e"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
