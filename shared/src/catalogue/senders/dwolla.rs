//! Dwolla: `X-Request-Signature-SHA-256: <hex HMAC-SHA256(secret, raw body)>`, the webhook
//! subscription's `secret` used as its UTF-8 bytes. Dwolla's docs
//! (https://developers.dwolla.com/docs/balance/webhooks/frequently-asked-questions: "a SHA-256
//! HMAC hash of the request body with the key being the webhook secret";
//! https://developers.dwolla.com/guides/webhooks/validating-webhooks.html, whose Node and Ruby
//! verifiers compute `createHmac('sha256', webhook_secret).update(payload_body).digest('hex')`)
//! name the header, the hash, the encoding and the key. (Older guides describe a SHA-1
//! `X-Request-Signature` header; only the SHA-256 one is accepted.) The body is one event: its
//! `id` (signed) the envelope id, `topic` the type (`dwolla.customer_transfer_created`),
//! `resourceId` the subject, `timestamp` the time. Dwolla retries a failed delivery up to 8
//! times over 72 hours with the same event. No timestamp is signed, so no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "dwolla",
    title: "Dwolla",
    signature: Signature {
        at: &[Loc::Header("x-request-signature-sha-256")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("topic"))],
    subject: &[Loc::Json("resourceId")],
    time: &[
        TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("created"), Unit::Rfc3339),
    ],
    evidence: Evidence::Docs("Dwolla's own Node.js verifier in its Validating webhooks guide"),
    note: "no timestamp is signed, so no replay window applies (duplicates by the signed event id)",
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

    const SECRET: &str = "dwolla-webhook-secret";
    /// The webhook payload example of Dwolla's Validating webhooks guide.
    const BODY: &[u8] = br#"{"id":"cac95329-9fa5-42f1-a4fc-c08af7b868fb","resourceId":"cdb5f11f-62df-e611-80ee-0aa34a9b2388","topic":"customer_transfer_created","timestamp":"2017-01-20T22:45:12.790Z","_links":{"self":{"href":"https://api-sandbox.dwolla.com/events/cac95329-9fa5-42f1-a4fc-c08af7b868fb"},"account":{"href":"https://api-sandbox.dwolla.com/accounts/ad5f2162-404a-4c4c-994e-6ab6c3a13254"},"resource":{"href":"https://api-sandbox.dwolla.com/transfers/cdb5f11f-62df-e611-80ee-0aa34a9b2388"},"customer":{"href":"https://api-sandbox.dwolla.com/customers/e358a488-6699-4d79-bbfb-c5bf58100ea4"}},"created":"2017-01-20T22:45:12.790Z"}"#;
    /// Derived from Dwolla's guide (hex HMAC-SHA256 of the body, computed with Python's hmac),
    /// not published.
    const SIG: &str = "3fb69abec7bccc9da61528a13641abfabc217147a0ec142ecceca18911f3aeb4";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-request-signature-sha-256", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-request-signature-sha-256";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // Only the legacy SHA-1 header: not accepted.
            (
                &[("x-request-signature", &SIG[..40])],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("dwolla", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-request-signature-sha-256", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("cac95329-9fa5-42f1-a4fc-c08af7b868fb"),
                ty: "dwolla.customer_transfer_created",
                subject: Some("cdb5f11f-62df-e611-80ee-0aa34a9b2388"),
                time: "2017-01-20T22:45:12.790Z",
            },
        );
    }
}
