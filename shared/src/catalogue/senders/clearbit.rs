//! Clearbit (enrichment; acquired by HubSpot, and its standalone APIs and webhooks are being
//! retired: not re-checked here, kept for accounts that still receive them): `X-Request-Signature:
//! sha1=<hex HMAC-SHA1(secret API key, raw body)>`, the `sk_…` key used as its UTF-8 bytes.
//!
//! - Header, prefix, hash, encoding and key: Clearbit's own SDK, clearbit/clearbit-ruby
//!   `lib/clearbit/webhook_signature.rb` (`'sha1=' + OpenSSL::HMAC.hexdigest('sha1',
//!   clearbit_key, webhook_body)`) read from `HTTP_X_REQUEST_SIGNATURE`
//!   (`lib/clearbit/webhook_response.rb`).
//! - No timestamp is signed, so no replay window applies.
//! - Body: a lookup's result, `{"id","status","type","body":{…}}`, `id` being the `webhook_id`
//!   the caller passed with its lookup and `type` `person` or `company` (Clearbit's API docs,
//!   clearbit.com/docs#webhooks, no longer online: this shape is as they described it and was not
//!   re-read for this file). The type is `type` when present (`clearbit.person`), the subject
//!   `body.id`.
//! - Id: the caller's `webhook_id` need not be unique, so the id is the body digest; two lookups
//!   of one person can answer the same bytes, so identical bytes are not assumed to be a retry:
//!   each delivery is queued (at-least-once).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "clearbit",
    title: "Clearbit",
    signature: Signature {
        at: &[Loc::Header("x-request-signature")],
        format: Format::Prefix("sha1="),
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Digest],
    ty: &[TypePart::Optional(Loc::Json("type"))],
    subject: &[Loc::Json("body.id")],
    evidence: Evidence::Docs("clearbit/clearbit-ruby lib/clearbit/webhook_signature.rb"),
    note: "HMAC-SHA1 with the secret API key; no event id or timestamp is signed: every delivery is queued (at-least-once)",
    // Two lookups of one person can answer the same bytes.
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

    const SECRET: &str = "sk_clearbit_secret_key";
    /// A person lookup's webhook, shaped as Clearbit's API docs described it (values made up).
    const BODY: &[u8] = br#"{"id":"custom-lookup-42","status":200,"type":"person","body":{"id":"d54c54ad-40be-4305-8a34-0ab44710b90d","name":{"fullName":"Alex MacCaw"},"email":"alex@clearbit.com"}}"#;
    /// Derived, not published: `sha1=` + hex HMAC-SHA1 of the body, computed with Python's hmac
    /// as clearbit-ruby's `WebhookSignature.valid?` does.
    const SIG: &str = "sha1=957be2fb8dfa9f453897a811d53685be9d0809b5";
    const HEADER: &str = "x-request-signature";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(HEADER, SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &SIG[5..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha1=0000000000000000000000000000000000000000")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let headers = [("content-type", "application/json"), (HEADER, SIG)];
        assert_envelope_forged(
            Source::new("clearbit", &SCHEME),
            SECRET,
            "sk_another",
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::NotDigest,
                ty: "clearbit.person",
                subject: Some("d54c54ad-40be-4305-8a34-0ab44710b90d"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }

    /// Two lookups of one person can answer the same bytes: each is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("clearbit", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
