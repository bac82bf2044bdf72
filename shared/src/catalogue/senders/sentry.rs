//! Sentry (integration platform): `Sentry-Hook-Signature: <hex HMAC-SHA256(client secret, raw
//! body)>`. The resource (`Sentry-Hook-Resource`, e.g. `issue`), the request id (`Request-ID`)
//! and `Sentry-Hook-Timestamp` are unsigned headers: the first two are held to a strict character
//! set (duplicates are recognised by the body digest), and the timestamp, which the signature does
//! not cover, is not used. The type is the resource plus the body's `action`
//! (`sentry.issue.created`).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "sentry",
    title: "Sentry",
    signature: Signature {
        at: &[Loc::Header("sentry-hook-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Header("request-id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Header("sentry-hook-resource")),
        TypePart::Optional(Loc::Json("action")),
    ],
    subject: &[
        Loc::Json("data.issue.id"),
        Loc::Json("data.error.issue_id"),
        Loc::Json("data.event.issue_id"),
        Loc::Json("data.comment.issue_id"),
        Loc::Json("installation.uuid"),
    ],
    evidence: Evidence::Docs("Sentry's own sender, sentry_app.py"),
    note: "resource and Request-ID are unsigned headers (validated); duplicates by body digest; Sentry-Hook-Timestamp is not signed and not checked",
    // Identical bytes can be distinct events: issue alerts carry no event id.
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

    const SECRET: &str = "sentry-client-secret";
    const BODY: &[u8] = br#"{"action":"created","installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},"data":{"issue":{"id":"1170820242"}}}"#;
    /// Derived from https://docs.sentry.io/integrations/integration-platform/webhooks/ (hex
    /// HMAC-SHA256 of the body with the client secret, computed with Python's hmac), not
    /// published.
    const SIG: &str = "31405c49fe445f47c3d3239f833d8f172a87f0ef928d0778a8bf336c6903763e";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("sentry-hook-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "sentry-hook-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &format!("v1={SIG}"))],
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
            Source::new("sentry", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("request-id", "d3c6e1f0-77b1-4c6b-9a57-2a5a2f4e8e01"),
                    ("sentry-hook-resource", "issue"),
                    ("sentry-hook-timestamp", "1"),
                    ("sentry-hook-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "d3c6e1f0-77b1-4c6b-9a57-2a5a2f4e8e01");
        assert_eq!(e["type"], "sentry.issue.created");
        assert_eq!(e["subject"], "1170820242");
    }
}
