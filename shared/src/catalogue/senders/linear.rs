//! Linear: `Linear-Signature: <hex HMAC-SHA256(secret, raw body)>`. The timestamp is the body's
//! `webhookTimestamp` (milliseconds, so signed with the body), held to ±60 s as `@linear/sdk`'s
//! `LinearWebhookClient.verify` does. Type (`type` + `action`, e.g. `linear.issue.create`),
//! subject (`data.id`) come from the signed body; the delivery id (`Linear-Delivery`) is an
//! unsigned header, held to a strict character set, and duplicates are recognised by the body
//! digest.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "linear",
    title: "Linear",
    signature: Signature {
        at: &[Loc::Header("linear-signature")],
        format: Format::Plain,
        all: false,
    },
    timestamp: Some(Timestamp {
        at: &[Loc::Json("webhookTimestamp")],
        unit: Unit::Millis,
        tolerance: 60,
    }),
    id: &[Loc::Header("linear-delivery"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("type")),
        TypePart::Optional(Loc::Json("action")),
    ],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Sdk("@linear/sdk 98.0.0 (npm)"),
    note: "the delivery id (Linear-Delivery) is an unsigned header (validated); duplicates by body digest; webhookTimestamp is required",
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

    const SECRET: &str = "lin_wh_secret";
    const BODY: &[u8] = br#"{"action":"create","type":"Issue","createdAt":"2023-11-14T22:13:20.000Z","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9"},"webhookTimestamp":1700000000000}"#;
    /// Derived from https://linear.app/developers/webhooks (hex HMAC-SHA256 of the body, computed
    /// with Python's hmac), not published.
    const SIG: &str = "c03ff8564c6b7e4635afc4a891902821ac14769bda0114ec93aa4a86505af4b3";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector_at(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("linear-signature", SIG)],
            NOW,
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        // BODY carries the round trip's instant as its webhookTimestamp.
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn the_body_timestamp_is_held_to_sixty_seconds_either_way() {
        let sig = [("linear-signature", SIG)];
        let key: &[&[u8]] = &[SECRET.as_bytes()];
        check(&SCHEME, key, &sig, BODY, NOW + 60).expect("60 s late");
        check(&SCHEME, key, &sig, BODY, NOW - 60).expect("60 s early");
        for now in [NOW + 61, NOW - 61] {
            assert!(matches!(
                check(&SCHEME, key, &sig, BODY, now),
                Err(VerifyError::TimestampOutsideTolerance {
                    tolerance_seconds: 60,
                    ..
                })
            ));
        }
        // Without one the delivery is refused, as @linear/sdk 98.0.0 refuses it ("Missing webhook
        // timestamp").
        let body = br#"{"action":"create","type":"Issue"}"#;
        let sig = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            body,
        ));
        assert_eq!(
            check(&SCHEME, key, &[("linear-signature", &sig)], body, NOW),
            Err(VerifyError::MissingHeader {
                header: "webhookTimestamp"
            })
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "linear-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("linear", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json; charset=utf-8"),
                    ("linear-signature", SIG),
                    ("linear-delivery", "234d1a4e-b617-4388-90fe-adc3633d6b72"),
                    ("linear-event", "Issue"),
                ],
                BODY,
                NOW + 5,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "234d1a4e-b617-4388-90fe-adc3633d6b72");
        assert_eq!(e["type"], "linear.issue.create");
        assert_eq!(e["subject"], "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        let stale = deliver(
            Source::new("linear", &SCHEME),
            SECRET,
            Request::post(&[("linear-signature", SIG)], BODY, NOW + 120),
        );
        assert_eq!(stale.reply.status, 400);
        assert!(stale.envelopes.is_empty());
    }
}
