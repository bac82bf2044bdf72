//! Cal.com: `X-Cal-Signature-256: <hex HMAC-SHA256(secret, raw body)>`. A webhook without a
//! secret sends the literal `no-secret-provided`, which is not hex and is refused like any
//! malformed signature (it must never count as signed). The type (`triggerEvent`, e.g.
//! `BOOKING_CREATED`), subject (`payload.uid`) and time (`createdAt`) come from the signed body;
//! Cal.com sends no event id, so the id is the body digest. A custom payload template may send a
//! form or any other body; it is signed the same way and kept as it came. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "calcom",
    title: "Cal.com",
    signature: Signature {
        at: &[Loc::Header("x-cal-signature-256")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[TypePart::Optional(Loc::Json("triggerEvent"))],
    subject: &[Loc::Json("payload.uid")],
    time: &[TimeLoc::At(Loc::Json("createdAt"), Unit::Rfc3339)],
    body: Body::ANY,
    evidence: Evidence::Docs("Cal.com's own sender, sendPayload.ts"),
    note: "no event id is sent: the id is the body digest; `no-secret-provided` is refused",
    // Identical bytes can be distinct events: a payload template can send the same text twice; Cal.com does not retry.
    repeats: Repeats::Distinct,
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

    const SECRET: &str = "calcom-secret";
    const BODY: &[u8] = br#"{"triggerEvent":"BOOKING_CREATED","createdAt":"2023-05-24T09:30:00.538Z","payload":{"uid":"bFJeNb2uX8ANpT3JL5EfXw"}}"#;
    /// Derived from cal.com `packages/features/webhooks/lib/sendPayload.ts` (hex HMAC-SHA256 of
    /// the body, computed with Python's hmac), not published.
    const SIG: &str = "f07c5b92de2418de872d9ea770adf19fc91c1c1bb98776b44ff7f7eb277e2d30";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-cal-signature-256", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn no_secret_provided_never_matches() {
        let header = "x-cal-signature-256";
        // Whatever secret is configured, including that very string.
        for secret in [SECRET, "no-secret-provided"] {
            assert_eq!(
                check(
                    &SCHEME,
                    &[secret.as_bytes()],
                    &[(header, "no-secret-provided")],
                    BODY,
                    0
                ),
                Err(VerifyError::MalformedSignature { header })
            );
        }
        let d = deliver(
            Source::new("calcom", &SCHEME),
            SECRET,
            Request::post(&[(header, "no-secret-provided")], BODY, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-cal-signature-256";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (&[(header, "")], VerifyError::SignatureMismatch { header }),
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
    fn normalization() {
        let d = deliver(
            Source::new("calcom", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-cal-signature-256", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        // No id is sent and identical bytes can be two bookings' events: an id of its own.
        assert_eq!(e["id"].as_str().expect("id").len(), 36);
        assert_eq!(e["type"], "calcom.booking_created");
        assert_eq!(e["subject"], "bFJeNb2uX8ANpT3JL5EfXw");
        assert_eq!(e["time"], "2023-05-24T09:30:00.538Z");
    }

    /// A payload template can send the same text for two bookings, and Cal.com does not retry:
    /// identical bytes are queued each time.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("calcom", &SCHEME),
            SECRET,
            Request::post(&[("x-cal-signature-256", SIG)], BODY, 1_700_000_000),
        );
    }

    #[test]
    fn a_custom_template_that_is_not_json_is_kept_raw() {
        let body = b"Booking created for bFJeNb2uX8ANpT3JL5EfXw";
        let sig = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            body,
        ));
        let d = deliver(
            Source::new("calcom", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "text/plain"),
                    ("x-cal-signature-256", &sig),
                ],
                body,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["type"], "calcom.raw");
        assert!(e["data_base64"].is_string());
    }
}
