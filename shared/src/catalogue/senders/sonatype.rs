//! Sonatype Nexus Repository Manager (and Nexus IQ Server) webhooks: `X-Nexus-Webhook-Signature:
//! <hex HMAC-SHA1(secret key, raw body)>`, the capability's Secret Key used as its UTF-8 bytes.
//!
//! - Header, hash and signed bytes:
//!   https://help.sonatype.com/en/enabling-a-repository-webhook-capability.html ("Webhooks will
//!   provide a sha1 hash of the JSON body using a shared secret key … provided in the header as
//!   X-Nexus-Webhook-Signature") and https://help.sonatype.com/en/example-headers-and-payloads.html
//!   (`X-Nexus-Webhook-Signature: 687f3719b87232cf1c11b3ef7ea10c49218b6df1`, 40 hex digits: the
//!   HMAC digest of the body). Nexus IQ's guide
//!   (https://books.sonatype.com/sonatype-clm-book/1.30/html/book/webhooks-working-with-hmac.html)
//!   computes `createHmac("sha1", secretKey)…digest("hex")`. Cross-checked against
//!   fluxcd/flux-recv `nexus.go` (HMAC-SHA1 of the raw body, hex).
//! - A capability without a Secret Key sends no signature: refused here.
//! - No timestamp is signed, so no replay window applies.
//! - The event type is the `X-Nexus-Webhook-Id` header (`rm:repository:asset`,
//!   `rm:repository:component`, `rm:global:audit`, `iq:policyManagement`, …), which the signature
//!   does not cover (held to the unsigned-type checks, `:` allowed), then the body's `action` when
//!   present: `sonatype.rm:repository:asset.created`. The subject is `repositoryName`. The
//!   body's `timestamp` is written `2016-11-10T23:57:49.664+0000`, not RFC 3339, so the time is
//!   when Inlet received it.
//! - Id: `X-Nexus-Webhook-Delivery` ("a unique UUID identifying the event") is outside the
//!   signature, so the id is the body digest. Bodies carry `timestamp` (milliseconds) and `nodeId`,
//!   so identical bytes are a retry (inferred from the documented bodies).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "sonatype",
    title: "Sonatype Nexus",
    signature: Signature {
        at: &[Loc::Header("x-nexus-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Header("x-nexus-webhook-id")),
        TypePart::Optional(Loc::Json("action")),
    ],
    type_chars: "_:-",
    subject: &[Loc::Json("repositoryName")],
    evidence: Evidence::Docs("fluxcd/flux-recv nexus.go"),
    note: "HMAC-SHA1 of the body with the capability's Secret Key; the type header is unsigned; no event id is signed: the id is the body digest",
    repeats: Repeats::Retry,
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

    const SECRET: &str = "nexus-secret-key";
    /// The repository asset example of
    /// https://help.sonatype.com/en/example-headers-and-payloads.html, without whitespace as
    /// Nexus sends it.
    const BODY: &[u8] = br#"{"timestamp":"2016-11-10T23:57:49.664+0000","nodeId":"52905B51-085CCABB-CEBBEAAD-16795588-FC927D93","initiator":"admin/127.0.0.1","repositoryName":"npm-proxy","action":"CREATED","asset":{"id":"31c950c8eeeab78336308177ae9c441c","assetId":"bnBtLXByb3h5OjMxYzk1MGM4ZWVlYWI3ODMzNjMwODE3N2FlOWM0NDFj","format":"npm","name":"concrete"}}"#;
    /// Derived, not published (the docs' example signature is for a key they do not give): hex
    /// HMAC-SHA1 of the body, computed with Python's hmac.
    const SIG: &str = "5f05215cf978b4fd0c1f4183d2616d74a2dd3c2e";
    const HEADER: &str = "x-nexus-webhook-signature";
    const EVENT: (&str, &str) = ("x-nexus-webhook-id", "rm:repository:asset");
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
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG), EVENT]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &format!("sha1={SIG}")), EVENT],
                VerifyError::MalformedSignature { header },
            ),
            // The docs' example signature, for another key.
            (
                &[(header, "687f3719b87232cf1c11b3ef7ea10c49218b6df1"), EVENT],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let source = || Source::new("sonatype", &SCHEME);
        let headers = [
            ("content-type", "application/json; charset=UTF-8"),
            (HEADER, SIG),
            EVENT,
            (
                "x-nexus-webhook-delivery",
                "7f4a6dde-5c68-4999-bcc0-a62f3fb8ae48",
            ),
        ];
        assert_envelope(
            source(),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "sonatype.rm:repository:asset.created",
                subject: Some("npm-proxy"),
                // No time is read: the receipt's.
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        // An unsigned type header cannot pass for a dotted type of another event.
        let dotted = [(HEADER, SIG), ("x-nexus-webhook-id", "rm:repository.asset")];
        let refused = deliver(source(), SECRET, Request::post(&dotted, BODY, NOW));
        assert_eq!(refused.reply.status, 400, "{}", refused.text());
        assert!(refused.envelopes.is_empty());
    }

    #[test]
    fn identical_bytes_are_a_retry() {
        assert_identical_bytes_are_a_retry(
            Source::new("sonatype", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG), EVENT], BODY, NOW),
        );
    }
}
