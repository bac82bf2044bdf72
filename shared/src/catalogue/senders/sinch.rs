//! Sinch Conversation API callbacks: `x-sinch-webhook-signature: <base64 HMAC-SHA256(secret,
//! raw body + "." + nonce + "." + timestamp)>`, the nonce in `x-sinch-webhook-signature-nonce`,
//! the timestamp (unix seconds) in `x-sinch-webhook-signature-timestamp`, the webhook's `secret`
//! used as its UTF-8 bytes. Sources: Sinch's Conversation API docs ("Validating callbacks":
//! "HMAC(secret, raw callback body || . || x-sinch-webhook-signature-nonce || . ||
//! x-sinch-webhook-signature-timestamp)", inputs UTF-8; "Verify the timestamp is within an
//! acceptable time window") and Sinch's own SDK, sinch-sdk-dotnet (`ValidateAuthenticationHeader`,
//! `$"{body}.{nonce}.{timestamp}"`, base64), whose test `Conversation/WebhooksTests.ValidateRequest`
//! publishes the vector below. `x-sinch-webhook-signature-algorithm` names the HMAC (`HmacSHA256`);
//! it is not read, and a webhook set to another algorithm does not verify. Sinch names no
//! window: 300 s is Inlet's choice (inferred, configurable). The body is one callback,
//! `{"app_id","accepted_time","event_time","project_id",<kind>:{…},"message_metadata",
//! "correlation_id"}`, its kind the member it carries (`message` for an inbound message,
//! `message_delivery_report`, `contact_create_notification`, …), read with `TypePart::KeyOf`.
//! Sinch sends no callback id; the id is the body digest (each callback's `accepted_time` has
//! microseconds, so identical bytes are a retry). The subject is the message (else contact,
//! conversation) id, the time `event_time`, else `accepted_time`. The Voice and SMS (XMS) APIs
//! sign differently and are not this scheme.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "sinch",
    title: "Sinch Conversation API",
    signature: Signature {
        at: &[Loc::Header("x-sinch-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[
        Part::Body,
        Part::Lit("."),
        Part::Header("x-sinch-webhook-signature-nonce"),
        Part::Lit("."),
        Part::Timestamp,
    ],
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-sinch-webhook-signature-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::KeyOf(&[
        "message",
        "message_delivery_report",
        "message_submit_notification",
        "message_deletion_notification",
        "event",
        "event_delivery_report",
        "conversation_start_notification",
        "conversation_stop_notification",
        "conversation_delete_notification",
        "contact_create_notification",
        "contact_delete_notification",
        "contact_merge_notification",
        "contact_update_notification",
        "contact_identities_duplication_notification",
        "capability_notification",
        "opt_in_notification",
        "opt_out_notification",
        "channel_event_notification",
        "record_notification",
        "smart_conversation_notification",
        "unsupported_callback",
    ])],
    subject: &[
        Loc::Json("message.id"),
        Loc::Json("message_delivery_report.message_id"),
        Loc::Json("contact_create_notification.contact.id"),
        Loc::Json("contact_update_notification.contact.id"),
        Loc::Json("contact_delete_notification.contact.id"),
        Loc::Json("conversation_start_notification.conversation.id"),
    ],
    time: &[
        TimeLoc::At(Loc::Json("event_time"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("accepted_time"), Unit::Rfc3339),
    ],
    custom: Some(&Nonce),
    evidence: Evidence::Vectors,
    note: "HMAC-SHA256 only (the algorithm header is not read); body.nonce.timestamp, base64; the window (300 s) is Inlet's; no callback id: the id is the body digest",
    ..Scheme::BASE
};

/// Signs as Sinch does, writing the nonce header the signature covers (the engine signs a
/// header only when it is given); verification is the data's.
#[derive(Debug)]
struct Nonce;

impl Custom for Nonce {
    fn sign(
        &self,
        key: &[u8],
        s: &crate::core::verify::engine::Signing<'_>,
    ) -> Option<Result<Vec<(String, String)>, String>> {
        // Sinch's nonces are ULIDs; any unique text will do for a signer.
        let nonce = if s.id.is_empty() {
            format!("inlet{}", s.at)
        } else {
            s.id.to_owned()
        };
        let ts = s.at.to_string();
        let content = [s.body, b".", nonce.as_bytes(), b".", ts.as_bytes()].concat();
        let mac = crate::core::verify::engine::hmac_sha256(key, &content);
        Some(Ok(vec![
            (
                "x-sinch-webhook-signature".into(),
                crate::core::verify::engine::encode(Encoding::Base64, &mac),
            ),
            ("x-sinch-webhook-signature-nonce".into(), nonce),
            ("x-sinch-webhook-signature-timestamp".into(), ts),
            (
                "x-sinch-webhook-signature-algorithm".into(),
                "HmacSHA256".into(),
            ),
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

    /// sinch-sdk-dotnet `Sinch.Tests/Conversation/WebhooksTests.cs` `ValidateRequest`.
    const SECRET: &str = "foo_secret1234";
    const BODY: &[u8] = br#"{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS","identity":"48123456789","app_id":""}],"display_name":"New Test Contact","email":"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},"message_metadata":""}"#;
    const NONCE: &str = "01FJA8B4A7BM43YGWSG9GBV067";
    const TS: &str = "1634579353";
    const SIG: &str = "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE=";
    const NOW: u64 = 1_634_579_353;

    fn headers<'a>(sig: &'a str, nonce: &'a str) -> [(&'a str, &'a str); 4] {
        [
            ("x-sinch-webhook-signature", sig),
            ("x-sinch-webhook-signature-nonce", nonce),
            ("x-sinch-webhook-signature-timestamp", TS),
            ("x-sinch-webhook-signature-algorithm", "HmacSHA256"),
        ]
    }

    #[test]
    fn published_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &headers(SIG, NONCE));
        // The nonce is signed.
        assert_eq!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &headers(SIG, "01FJA8B4A7BM43YGWSG9GBV068"),
                BODY,
                NOW
            ),
            Err(VerifyError::SignatureMismatch {
                header: "x-sinch-webhook-signature"
            })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_headers_are_refused() {
        let header = "x-sinch-webhook-signature";
        let nonce = ("x-sinch-webhook-signature-nonce", NONCE);
        let ts = ("x-sinch-webhook-signature-timestamp", TS);
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG), nonce, ts]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, SIG), nonce],
                VerifyError::MissingHeader {
                    header: "x-sinch-webhook-signature-timestamp",
                },
            ),
            (
                &[(header, "not base64!"), nonce, ts],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        // Without its nonce the content is another.
        assert!(check(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[(header, SIG), ts],
            BODY,
            NOW
        )
        .is_err());
    }

    #[test]
    fn normalization() {
        let mut pairs = vec![("content-type", "application/json")];
        pairs.extend_from_slice(&headers(SIG, NONCE));
        assert_envelope(
            Source::new("sinch", &SCHEME),
            SECRET,
            Request::post(&pairs, BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "sinch.contact_create_notification",
                subject: Some("01FJA8B466Y0R2GNXD78MD9SM1"),
                time: "2021-10-18T17:49:13.813Z",
            },
        );
    }
}
