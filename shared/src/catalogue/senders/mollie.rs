//! Mollie next-gen webhooks: `X-Mollie-Signature: sha256=<hex HMAC-SHA256(signing secret, raw
//! body)>`, the webhook's signing secret used as its UTF-8 bytes. Mollie's docs
//! (https://docs.mollie.com/reference/webhooks-new, "Set up webhook signature verification";
//! https://docs.mollie.com/reference/webhooks-best-practices, "How to verify HMAC signature")
//! name the header, the hash and the key; the `sha256=` prefix and the lower-case hex are those
//! of Mollie's own SDK, mollie/mollie-api-php `src/Webhooks/SignatureValidator.php`
//! (`SIGNATURE_PREFIX = 'sha256='`, `hash_hmac('sha256', $payload, $secret)`, several secrets
//! during rotation). That SDK also accepts a bare hex value and treats an unsigned request as a
//! legacy webhook (`id=tr_…`, which carries no signature): both are refused here. The body is
//! one event: its `id` (signed, `event_…`) the envelope id, `type` the type
//! (`mollie.payment-link.paid`), `entityId` the subject, `createdAt` the time. No timestamp is
//! signed, so no replay window applies. The SDK is on Packagist, not PyPI or npm, so there is
//! no oracle test.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "mollie",
    title: "Mollie (next-gen webhooks)",
    signature: Signature {
        at: &[Loc::Header("x-mollie-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("entityId")],
    time: &[TimeLoc::At(Loc::Json("createdAt"), Unit::Rfc3339)],
    evidence: Evidence::Docs("mollie/mollie-api-php's Webhooks/SignatureValidator.php"),
    note: "next-gen (event) webhooks only: legacy id-only webhooks are unsigned and refused; no timestamp is signed, so no replay window applies (duplicates by the signed event id)",
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

    const SECRET: &str = "mollie-signing-secret";
    /// The `payment-link.paid` example event of https://docs.mollie.com/reference/webhooks-new,
    /// without its embedded entity.
    const BODY: &[u8] = br#"{"resource":"event","id":"event_GvJ8WHrp5isUdRub9CJyH","type":"payment-link.paid","entityId":"pl_qng5gbbv8NAZ5gpM5ZYgW","createdAt":"2024-12-16T15:57:04.0Z","_links":{"self":{"href":"https://api.mollie.com/v2/events/event_GvJ8WHrp5isUdRub9CJyH","type":"application/hal+json"},"documentation":{"href":"https://docs.mollie.com/reference/webhooks-new","type":"text/html"},"entity":{"href":"https://api.mollie.com/v2/payment-links/pl_qng5gbbv8NAZ5gpM5ZYgW","type":"application/hal+json"}}}"#;
    /// Derived from Mollie's docs and SDK (hex HMAC-SHA256 of the body, computed with Python's
    /// hmac), not published.
    const SIG: &str = "sha256=eb9d8ef886b4003250b4062e88f3a288cf47ab5d4e341331ad2567fc901f9859";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-mollie-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-mollie-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &SIG["sha256=".len()..])],
            VerifyError::MalformedSignature { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("mollie", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-mollie-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("event_GvJ8WHrp5isUdRub9CJyH"),
                ty: "mollie.payment-link.paid",
                subject: Some("pl_qng5gbbv8NAZ5gpM5ZYgW"),
                time: "2024-12-16T15:57:04.000Z",
            },
        );
        // A legacy webhook (a form with the resource id, no signature) is refused.
        let legacy = deliver(
            Source::new("mollie", &SCHEME),
            SECRET,
            Request::post(
                &[("content-type", "application/x-www-form-urlencoded")],
                b"id=tr_WDqYK6vllg",
                NOW,
            ),
        );
        assert_eq!(legacy.reply.status, 401);
        assert!(legacy.envelopes.is_empty());
    }
}
