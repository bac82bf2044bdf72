//! Nango (integrations platform) webhooks: `X-Nango-Hmac-Sha256: <hex HMAC-SHA256(webhook signing
//! key, raw body)>`, the environment's webhook signing key (Environment Settings > Webhooks >
//! Signing key, not the API secret key) used as its UTF-8 bytes.
//!
//! - Header, hash, encoding, key and signed bytes: Nango's docs
//!   (https://nango.dev/docs/guides/platform/webhooks-from-nango, source
//!   NangoHQ/nango `docs/guides/platform/webhooks-from-nango.mdx`: "an HMAC-SHA256 hash of the
//!   webhook payload", and its samples in seven languages, e.g. Python
//!   `hmac.new(webhook_signing_key.encode('utf-8'), body, hashlib.sha256).hexdigest()` over the raw
//!   body). The legacy `X-Nango-Signature` (a plain SHA-256, "should not be used") is not
//!   accepted.
//! - No timestamp is signed, so no replay window applies.
//! - Body (same page): `{"type":"auth","operation":"creation"|"override"|"refresh",
//!   "connectionId",…}`, `{"type":"sync","connectionId","syncName","model",…}` or a forwarded
//!   external webhook (`"type":"forward"`). The type is `type` then `operation` when present
//!   (`nango.auth.creation`, `nango.sync`, `nango.forward`), the subject `connectionId`. No event
//!   time is common to all types: the time is when Inlet received it.
//! - Id: no event id is sent, so the id is the body digest. Nango retries a webhook twice on a
//!   non-2xx answer; but two failed token refreshes of one connection are the same bytes, so
//!   identical bytes are not assumed to be a retry: each delivery is queued (at-least-once).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "nango",
    title: "Nango",
    signature: Signature {
        at: &[Loc::Header("x-nango-hmac-sha256")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("type")),
        TypePart::Optional(Loc::Json("operation")),
    ],
    subject: &[Loc::Json("connectionId")],
    evidence: Evidence::Docs("the HMAC samples of NangoHQ/nango docs/guides/platform/webhooks-from-nango.mdx"),
    note: "signed with the environment's webhook signing key (not the API key); no event id or timestamp is signed: every delivery is queued (at-least-once)",
    // Two failed token refreshes of one connection are the same bytes.
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

    /// Nango's signing keys are UUIDs.
    const SECRET: &str = "3c8e5f2a-9b1d-4e7f-a6c0-2d4b8e1f7a93";
    /// The auth webhook of Nango's docs, with values filled in.
    const BODY: &[u8] = br#"{"type":"auth","operation":"creation","connectionId":"f2b8c1d4-6a3e-4b7f-9c2d-1e5a7b9c0d3f","authMode":"OAUTH2","providerConfigKey":"github-getting-started","provider":"github","environment":"PROD","success":true,"tags":{"end_user_id":"user_123","end_user_email":"jane@example.com","organization_id":"org_456"}}"#;
    /// Derived, not published: hex HMAC-SHA256 of the body, computed with Python's hmac as the
    /// docs' Python sample does.
    const SIG: &str = "291c37ff671a469f5917ca6fd15b69ea7810f19cf493dddd20a71d56fd0128d8";
    /// The legacy plain SHA-256 of key and body, for the same body.
    const LEGACY: &str = "4152c9097d37dbbc6407fac0576c70e4c8659999fa91959b047d0012855698f7";
    const HEADER: &str = "x-nango-hmac-sha256";
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
            // Only the legacy header: not accepted.
            (
                &[("x-nango-signature", LEGACY)],
                VerifyError::MissingSignature { header },
            ),
            // The legacy value in the HMAC header does not match.
            (
                &[(header, LEGACY)],
                VerifyError::SignatureMismatch { header },
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
        let headers = [
            ("content-type", "application/json"),
            (HEADER, SIG),
            ("x-nango-signature", LEGACY),
        ];
        assert_envelope_forged(
            Source::new("nango", &SCHEME),
            SECRET,
            "00000000-0000-0000-0000-000000000000",
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::NotDigest,
                ty: "nango.auth.creation",
                subject: Some("f2b8c1d4-6a3e-4b7f-9c2d-1e5a7b9c0d3f"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }

    /// Two failed refreshes of one connection are the same bytes: each is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("nango", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
