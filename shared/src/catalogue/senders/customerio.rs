//! Customer.io (Journeys reporting webhooks): `X-CIO-Signature: <hex HMAC-SHA256(signing key,
//! "v0:{timestamp}:{raw body}")>` with `X-CIO-Timestamp` in unix seconds, the webhook's signing
//! key used as its UTF-8 bytes. Customer.io's docs (https://docs.customer.io/api/webhooks/,
//! its signed-request section: the `v0:` version, the timestamp and the raw body joined by
//! `:`, HMAC-SHA256 with the signing key shown on the Reporting Webhooks page, compared with the
//! header) describe it; dailydotdev/daily-api's `src/routes/webhooks/customerio.ts` verifies it
//! the same way (`hmac.update(`v0:${timestamp}:`)`, the raw body, hex). Customer.io states no
//! replay window: Inlet holds the timestamp to ±5 minutes (its default; configurable). The body
//! is one event: `event_id` (signed, a ULID) the envelope id, `object_type` + `metric` the type
//! (`customerio.email.sent`, `customerio.customer.subscribed`), `data.customer_id` the subject,
//! the signed timestamp the time. Customer.io retries a failed delivery for 7 days, with the
//! same event.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "customerio",
    title: "Customer.io",
    signature: Signature {
        at: &[Loc::Header("x-cio-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[
        Part::Lit("v0:"),
        Part::Timestamp,
        Part::Lit(":"),
        Part::Body,
    ],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-cio-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("event_id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("object_type")),
        TypePart::Optional(Loc::Json("metric")),
    ],
    subject: &[Loc::Json("data.customer_id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Docs("dailydotdev/daily-api's Customer.io webhook route (customerio.ts)"),
    note: "Customer.io states no replay window: ±5 minutes (configurable) is Inlet's choice",
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

    const SECRET: &str = "cio-webhook-signing-key";
    /// An `email` `sent` event in the shape of Customer.io's reporting webhook reference.
    const BODY: &[u8] = br#"{"data":{"action_id":42,"campaign_id":23,"customer_id":"user-123","delivery_id":"RAECAAFwnUSneIa0ZXkmq8EdkAM==","identifiers":{"id":"user-123"},"recipient":"test@example.com","subject":"Thanks for signing up"},"event_id":"01E2EMRMM6TZ12TF9WGZN0WJQT","metric":"sent","object_type":"email","timestamp":1700000000}"#;
    const TS: &str = "1700000000";
    /// Derived from Customer.io's docs (hex HMAC-SHA256 of `v0:{ts}:{body}`, computed with
    /// Python's hmac), not published.
    const SIG: &str = "d32094821f015cdea66b1b7134fa0c174a92e155e2d2966efa568ce1c76c9804";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-cio-signature", SIG), ("x-cio-timestamp", TS)],
        );
    }

    #[test]
    fn round_trip_tampering_and_window() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-cio-signature";
        assert_missing_and_duplicate(
            &SCHEME,
            SECRET,
            BODY,
            NOW,
            &[(header, SIG), ("x-cio-timestamp", TS)],
        );
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, SIG)],
                VerifyError::MissingHeader {
                    header: "x-cio-timestamp",
                },
            ),
            (
                &[(header, SIG), ("x-cio-timestamp", "1700000001")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("v0={SIG}")), ("x-cio-timestamp", TS)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[
                    (header, SIG),
                    ("x-cio-timestamp", TS),
                    ("x-cio-timestamp", TS),
                ],
                VerifyError::DuplicateHeader {
                    header: "x-cio-timestamp",
                },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("customerio", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-cio-signature", SIG),
                    ("x-cio-timestamp", TS),
                ],
                BODY,
                NOW + 10,
            ),
            Want {
                id: Id::Is("01E2EMRMM6TZ12TF9WGZN0WJQT"),
                ty: "customerio.email.sent",
                subject: Some("user-123"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
