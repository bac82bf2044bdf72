//! Bitbucket (Cloud, and Data Center's webhooks with a secret): `X-Hub-Signature:
//! sha256=<hex HMAC-SHA256(secret, raw body)>`, sent only when the webhook has a secret. The
//! event key (`X-Event-Key`, e.g. `repo:push`) and the delivery id (`X-Request-UUID` on Cloud,
//! `X-Request-Id` on Data Center) are unsigned headers, held to a strict character set, and
//! duplicates are recognised by the body digest. No timestamp. Types keep Bitbucket's colon
//! (`bitbucket.repo:push`).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "bitbucket",
    title: "Bitbucket",
    signature: Signature {
        at: &[Loc::Header("x-hub-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    id: &[
        Loc::Header("x-request-uuid"),
        Loc::Header("x-request-id"),
        Loc::Digest,
    ],
    ty: &[TypePart::Required(Loc::Header("x-event-key"))],
    subject: &[
        Loc::Json("repository.full_name"),
        Loc::Json("repository.slug"),
    ],
    evidence: Evidence::Docs("go-github ValidateSignature, as akuity/kargo uses it"),
    note: "id and type are unsigned headers (validated); duplicates by body digest; a webhook without a secret is unsigned and refused",
    // Identical bytes can be distinct events: a push carries no event id or time.
    repeats: Repeats::Distinct,
    type_chars: "_:",
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

    const SECRET: &str = "bitbucket-secret";
    const BODY: &[u8] = br#"{"push":{"changes":[]},"repository":{"full_name":"alice/demo"}}"#;
    /// Derived from https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/ (secure
    /// webhooks: `sha256=` + hex HMAC-SHA256 of the body, computed with Python's hmac), not published.
    const SIG: &str = "sha256=fa377ab1748668f538dc4fd06c74935a98a3a33f5ba83aad4b10a92399844aa7";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-hub-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-hub-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &SIG[7..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha1=fa377ab1748668f538dc4fd06c74935a98a3a33f")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha256=zz")],
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
            Source::new("bitbucket", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-hub-signature", SIG),
                    ("x-event-key", "repo:push"),
                    ("x-hook-uuid", "908a6d9e-45fd-46c8-97e6-c4f350f219dd"),
                    ("x-request-uuid", "07606ab4-601c-4ca4-8c93-b979d3c7b3a1"),
                    ("x-attempt-number", "1"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "07606ab4-601c-4ca4-8c93-b979d3c7b3a1");
        assert_eq!(e["type"], "bitbucket.repo:push");
        assert_eq!(e["subject"], "alice/demo");
    }

    #[test]
    fn a_missing_event_key_is_refused() {
        let d = deliver(
            Source::new("bitbucket", &SCHEME),
            SECRET,
            Request::post(&[("x-hub-signature", SIG)], BODY, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 400);
        assert!(d.envelopes.is_empty());
    }
}
