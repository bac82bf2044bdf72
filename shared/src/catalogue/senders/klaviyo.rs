//! Klaviyo (system webhooks): `Klaviyo-Signature: <hex HMAC-SHA256(secret, raw body +
//! Klaviyo-Timestamp)>`, the webhook's secret (at least 16 characters) used as its UTF-8 bytes,
//! the timestamp header's value appended to the body as sent. Klaviyo's guide
//! (https://developers.klaviyo.com/en/docs/working_with_system_webhooks: the `Klaviyo-Webhook-Id`,
//! `Klaviyo-Signature` and `Klaviyo-Timestamp` headers, a body of `data[]` events each with
//! `external_id`, `topic` and `payload`, and `meta`) and hookdeck/webhook-skills' Klaviyo
//! verifiers (`references/verification.md`: "the raw request body with the Klaviyo-Timestamp
//! header value appended", hex) agree on the signed bytes.
//!
//! The timestamp is signed, but what it holds is not settled: hookdeck's examples send unix
//! seconds, another verifier parses an HTTP date. Inlet signs it as sent and holds it to no
//! window, so a captured delivery can be replayed; each event is still recognised by its signed
//! `external_id`, so a replay within the idempotency store's memory queues nothing. Flow
//! "Webhook" actions are unsigned and refused.
//!
//! A delivery is a batch of up to 1,000 events: one envelope per event of `data[]`, its id the
//! event's `external_id` (signed), its type the `topic` (`klaviyo.event:klaviyo.opened_email`),
//! its subject the event's `payload.data.id`.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "klaviyo",
    title: "Klaviyo",
    signature: Signature {
        at: &[Loc::Header("klaviyo-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body, Part::Header("klaviyo-timestamp")],
    batch: Some(Batch { items: "data" }),
    id: &[Loc::Json("external_id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("topic"))],
    type_chars: "_-:.",
    subject: &[Loc::Json("payload.data.id")],
    custom: Some(&Timestamped),
    evidence: Evidence::Docs("hookdeck/webhook-skills' Klaviyo verifiers (Node, Python)"),
    note: "HMAC of the body with Klaviyo-Timestamp appended; the timestamp's format is not documented, so it is signed but held to no window (events are recognised by their signed external_id); a delivery is a batch, one envelope per event of data[]",
    ..Scheme::BASE
};

/// Signs as Klaviyo does, writing the timestamp header the signature covers (the engine signs a
/// header only when it is given); verification is the data's.
#[derive(Debug)]
struct Timestamped;

impl Custom for Timestamped {
    fn sign(
        &self,
        key: &[u8],
        s: &crate::core::verify::engine::Signing<'_>,
    ) -> Option<Result<Vec<(String, String)>, String>> {
        let ts = s.at.to_string();
        let mac = crate::core::verify::engine::hmac_sha256(key, &[s.body, ts.as_bytes()].concat());
        Some(Ok(vec![
            (
                "klaviyo-signature".into(),
                crate::core::verify::engine::encode(Encoding::Hex, &mac),
            ),
            ("klaviyo-timestamp".into(), ts),
        ]))
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "klaviyo-webhook-secret-1234";
    /// Two events in the shape of Klaviyo's guide (`data[]` of `external_id`, `topic`, `payload`
    /// as the Get Event API returns it, and `meta`).
    const BODY: &[u8] = br#"{"data":[{"external_id":"01JZ3B5Q2V6M8X9Y0A1B2C3D4E","topic":"event:klaviyo.opened_email","payload":{"data":{"type":"event","id":"01JZ3B5Q2V6M8X9Y0A1B2C3D4E","attributes":{"datetime":"2026-07-02T12:00:00+00:00"}}}},{"external_id":"01JZ3B5Q2V6M8X9Y0A1B2C3D4F","topic":"event:klaviyo.clicked_email","payload":{"data":{"type":"event","id":"01JZ3B5Q2V6M8X9Y0A1B2C3D4F","attributes":{"datetime":"2026-07-02T12:00:01+00:00"}}}}],"meta":{"klaviyo_account_id":"AbC123","klaviyo_webhook_id":"01JZ3AXXWEBHOOK","timestamp":"2026-07-02T12:00:02+00:00"}}"#;
    const TS: &str = "1751457602";
    /// Derived, not published: hex HMAC-SHA256 of BODY + TS, Python's hmac.
    const SIG: &str = "31a195d389b124c461598ebec285fec3b5e5898284035c23f3a8b338d2516861";
    const NOW: u64 = 1_751_457_602;
    const HEADER: &str = "klaviyo-signature";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[(HEADER, SIG), ("klaviyo-timestamp", TS)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn the_timestamp_is_signed_and_required() {
        let header = HEADER;
        let ts = "klaviyo-timestamp";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[(ts, TS)], VerifyError::MissingSignature { header }),
            (
                &[(header, SIG), (ts, "1751457603")],
                VerifyError::SignatureMismatch { header },
            ),
            (&[(header, SIG)], VerifyError::MissingHeader { header: ts }),
            (
                &[(header, "not hex"), (ts, TS)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG), (ts, TS)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn each_event_of_a_delivery_is_an_envelope() {
        let headers = [
            ("content-type", "application/json"),
            (HEADER, SIG),
            ("klaviyo-timestamp", TS),
        ];
        let d = deliver(
            Source::new("klaviyo", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "01JZ3B5Q2V6M8X9Y0A1B2C3D4E");
        assert_eq!(e["type"], "klaviyo.event:klaviyo.opened_email");
        assert_eq!(e["subject"], "01JZ3B5Q2V6M8X9Y0A1B2C3D4E");
        assert_eq!(
            d.envelopes[1]["type"],
            "klaviyo.event:klaviyo.clicked_email"
        );
        let forged = deliver(
            Source::new("klaviyo", &SCHEME),
            "another-secret-of-16",
            Request::post(&headers, BODY, NOW),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
