//! AfterShip Tracking: `aftership-hmac-sha256: <base64 HMAC-SHA256(webhook secret, raw body)>`,
//! the secret (Settings > Webhooks) used as its UTF-8 bytes. Source: AfterShip's "Webhook
//! Signature" (https://www.aftership.com/docs/tracking/webhook/webhook-signature: "a base64-encoded
//! HMAC generated using sha256 algorithm with webhook request body and webhook secret") and its
//! webhook reference (https://www.aftership.com/docs/tracking/2025-01/webhook/webhook-specifications: the body
//! `{"event":"tracking_update","event_id":…,"msg":{…},"ts":…}`). No timestamp is signed, so no
//! replay window applies. `event_id` (signed; "UUID v4 format, to uniquely identify the webhook
//! event") is the envelope id, `event` the type (`aftership.tracking_update`), the tracking's
//! `msg.id` the subject, `ts` (unix seconds) the time. AfterShip's other products sign the same
//! way under other headers (Returns and Warranty `as-signature-hmac-sha256`, Shipping
//! `am-webhook-signature`, per hookdeck/webhook-skills' aftership-webhooks) with other bodies;
//! they are not this scheme.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "aftership",
    title: "AfterShip Tracking",
    signature: Signature {
        at: &[Loc::Header("aftership-hmac-sha256")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Json("event_id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("msg.id")],
    time: &[TimeLoc::At(Loc::Json("ts"), Unit::Seconds)],
    evidence: Evidence::Docs("AfterShip's signature samples (Tracking docs); hookdeck/webhook-skills aftership-webhooks"),
    note: "Tracking webhooks: base64 HMAC-SHA256 of the body; id the signed event_id; no timestamp is signed",
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

    const SECRET: &str = "aftership-webhook-secret";
    /// Shaped as the `tracking_update` example of AfterShip's webhook docs, shortened.
    const BODY: &[u8] = br#"{"event":"tracking_update","event_id":"53f5d4a2-5b2a-4b4f-a6a8-1f4d1a0a2b3c","is_tracking_first_tag":false,"msg":{"id":"lq0wnn0rllb2ploy0hwq2001","tracking_number":"1234567890","slug":"dhl","tag":"InTransit","subtag":"InTransit_001"},"ts":1686208980}"#;
    /// Derived, not published: base64 HMAC-SHA256 of the body, Python's hmac.
    const SIG: &str = "LArruNI47JOPSAady5FTAYqj0j3A/VF+n8TZ8BjZA48=";
    const NOW: u64 = 1_686_208_980;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("aftership-hmac-sha256", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "aftership-hmac-sha256";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // The Returns header is another product's.
            (
                &[("as-signature-hmac-sha256", SIG)],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, "AArruNI47JOPSAady5FTAYqj0j3A/VF+n8TZ8BjZA48=")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("aftership", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("aftership-hmac-sha256", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("53f5d4a2-5b2a-4b4f-a6a8-1f4d1a0a2b3c"),
                ty: "aftership.tracking_update",
                subject: Some("lq0wnn0rllb2ploy0hwq2001"),
                time: "2023-06-08T07:23:00.000Z",
            },
        );
    }
}
