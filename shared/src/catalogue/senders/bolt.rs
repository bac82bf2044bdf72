//! Bolt (checkout and payments) transaction webhooks: `X-Bolt-Hmac-Sha256: <base64
//! HMAC-SHA256(signing secret, raw body)>`, the merchant division's Signing Secret used as its
//! UTF-8 bytes.
//!
//! - Header, hash, encoding and signed bytes:
//!   https://help.bolt.com/developers/webhooks/hook-verification (its PHP `base64_encode(
//!   hash_hmac('sha256', $payload, BOLT_SIGNING_SECRET, true))` and Ruby samples) and
//!   https://help.bolt.com/gaming/guide/bolt-webhooks/validate-authenticity (the same steps).
//!   Bolt also offers `/v1/merchant/verify_signature`, which Inlet does not call.
//! - No timestamp is signed, so no replay window applies.
//! - Body: a transaction hook, as Bolt's own Magento 2 plugin documents it (BoltApp/bolt-magento2
//!   `Api/OrderManagementInterface.php`): `{"id","reference","order","type","amount","currency",
//!   "status","display_id"}`. The type is `type` (`bolt.payment`, `bolt.capture`, `bolt.credit`,
//!   `bolt.void`, …), the subject the transaction `reference`. No event time is sent: the time is
//!   when Inlet received it.
//! - Id: `id` names the transaction, which several hooks share, so the id is the body digest; and
//!   two captures or refunds of the same amount on one transaction can be the same bytes, so
//!   identical bytes are not assumed to be a retry: each delivery is queued (at-least-once).
//! - Bolt's Merchant Callback API (order creation, shipping and tax) is signed the same way but
//!   expects an answer computed by the merchant: point it at the store, not at Inlet.
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "bolt",
    title: "Bolt",
    signature: Signature {
        at: &[Loc::Header("x-bolt-hmac-sha256")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("reference")],
    evidence: Evidence::Docs("BoltApp/bolt-magento2 (Bolt's plugin) and Bolt's PHP and Ruby samples"),
    note: "transaction webhooks only; no event id or timestamp is signed: every delivery is queued (at-least-once)",
    // Two captures of one amount on one transaction can be the same bytes.
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

    const SECRET: &str = "bolt-signing-secret";
    /// The transaction hook of BoltApp/bolt-magento2's `OrderManagementInterface`.
    const BODY: &[u8] = br#"{"id":"TAgRDWjyT88sJ","reference":"D6JZ-TQ63-RFHJ","order":"353","type":"payment","amount":21485,"currency":"USD","status":"completed","display_id":"000000318"}"#;
    /// Derived, not published: base64 HMAC-SHA256 of the body, computed with Python's hmac as
    /// Bolt's PHP sample does.
    const SIG: &str = "9aNWbRkhhkTZmnAKJLQXTLsJ7e6cR+RLG/+JNzLwUvI=";
    const HEADER: &str = "x-bolt-hmac-sha256";
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
        // The same MAC in hex is not Bolt's encoding.
        let hex_sig = "f5a3566d19218644d99a700a24b4174cbb09edee9c47e44b1bff893732f052f2";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, hex_sig)],
            VerifyError::SignatureMismatch { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let headers = [("content-type", "application/json"), (HEADER, SIG)];
        assert_envelope(
            Source::new("bolt", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::NotDigest,
                ty: "bolt.payment",
                subject: Some("D6JZ-TQ63-RFHJ"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }

    /// Two captures of one amount can be the same bytes: each is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("bolt", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
