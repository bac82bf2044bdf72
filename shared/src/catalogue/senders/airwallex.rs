//! Airwallex: `x-signature: <hex HMAC-SHA256(secret, x-timestamp + raw body)>`, the webhook's
//! secret used as its UTF-8 bytes, the timestamp (unix milliseconds) in `x-timestamp` and
//! prepended to the body with no separator. Sources: Airwallex's "Listen for webhook events"
//! (https://www.airwallex.com/docs/developer-tools/webhooks/listen-for-webhook-events and its
//! Java code example, `valueToDigest.append(timestamp); valueToDigest.append(payload);`
//! `HmacUtils(HMAC_SHA_256, secret).hmacHex(...)`) and "Webhooks overview"
//! (https://www.airwallex.com/docs/developer-tools/webhooks/webhooks-overview: every event has
//! a stable `id` "so you can safely handle retries", retried with back-off for about three
//! days). Milliseconds: hookdeck/webhook-skills' airwallex-webhooks (the docs' sample only
//! concatenates the header as sent, which is all the signature needs). Airwallex's docs state
//! no replay window: 300 s here is Inlet's choice (inferred, configurable). The body is one
//! event: `id` (signed, stable across retries) is the envelope id, `name`
//! (`payment_intent.succeeded`) the type, `data.object.id` the subject, `created_at` the time
//! (Airwallex's examples write it with a `+0000` offset, which is not RFC 3339: the signed
//! `x-timestamp` is then the time). No handshake, no batches.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "airwallex",
    title: "Airwallex",
    signature: Signature {
        at: &[Loc::Header("x-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-timestamp")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("name"))],
    subject: &[Loc::Json("data.object.id")],
    time: &[
        TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Docs("Airwallex's Java verification example (docs); hookdeck/webhook-skills airwallex-webhooks"),
    note: "x-timestamp (ms) + body, hex HMAC-SHA256; the window (300 s) is Inlet's, Airwallex states none",
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

    const SECRET: &str = "whsec_airwallex-test";
    /// Shaped as the `payment_intent.succeeded` example of Airwallex's docs, shortened.
    const BODY: &[u8] = br#"{"id":"evt_hkdmr5qrvgb4mds4vq6","name":"payment_intent.succeeded","account_id":"acct_aK3qMeYlM8y1wdP2CDjIJQ","data":{"object":{"id":"int_hkdmr5qrvgb4mds4vq5","amount":100,"currency":"USD","status":"SUCCEEDED"}},"created_at":"2024-03-01T08:27:01+0000","version":"2024-06-14"}"#;
    const TS: &str = "1709281621000";
    /// Derived, not published: hex HMAC-SHA256 of `TS + BODY`, computed with Python's hmac.
    const SIG: &str = "6fc7fde042a5d44315a3f74455b3beb76c15aa5e0f94b71488e5a2e9e507aacf";
    const NOW: u64 = 1_709_281_621;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-signature", SIG), ("x-timestamp", TS)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_headers_are_refused() {
        let header = "x-signature";
        assert_header_refusals(
            &SCHEME,
            SECRET,
            BODY,
            NOW,
            &[(header, SIG), ("x-timestamp", TS)],
        );
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, SIG)],
                VerifyError::MissingHeader {
                    header: "x-timestamp",
                },
            ),
            // The same instant in seconds is other signed content.
            (
                &[(header, SIG), ("x-timestamp", "1709281621")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "zz"), ("x-timestamp", TS)],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("airwallex", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-signature", SIG),
                    ("x-timestamp", TS),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("evt_hkdmr5qrvgb4mds4vq6"),
                ty: "airwallex.payment_intent.succeeded",
                subject: Some("int_hkdmr5qrvgb4mds4vq5"),
                time: "2024-03-01T08:27:01.000Z",
            },
        );
    }
}
