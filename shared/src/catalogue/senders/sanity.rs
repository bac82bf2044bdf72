//! Sanity (GROQ-powered webhooks): `sanity-webhook-signature: t=<ms>,v1=<base64url, unpadded>`,
//! HMAC-SHA256 of `{t}.{raw body}` under the webhook secret (UTF-8). The toolkit never checks the
//! age (and compares the header with `!==`): Inlet holds `t` to 300 s. The body is the webhook's
//! own projection, so the id is the unsigned `idempotency-key` header (the body digest keys
//! duplicates), and the type is the projection's `_type` plus the unsigned `sanity-operation`.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "sanity",
    title: "Sanity",
    signature: Signature {
        at: &[Loc::Header("sanity-webhook-signature")],
        format: Format::Kv {
            sep: ",",
            key: "v1",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    encoding: Encoding::Base64Url,
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    id: &[Loc::Header("idempotency-key"), Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("_type")),
        TypePart::Optional(Loc::Header("sanity-operation")),
    ],
    subject: &[Loc::Json("_id"), Loc::Header("sanity-document-id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Sdk("@sanity/webhook 4.0.4 (npm)"),
    note: "the toolkit checks no age: Inlet allows 300 s; id and operation are unsigned headers (duplicates by body digest); the body is your projection",
    // Identical bytes can be distinct events: the body is the user's projection (`{_id}`), the same for every update.
    repeats: Repeats::Distinct,
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// sanity-io/webhook-toolkit `test/signature.test.ts`.
    const SECRET: &[u8] = b"test";
    const BODY: &[u8] = br#"{"_id":"resume"}"#;
    const HEADER: &str = "t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0";

    #[test]
    fn published_vector() {
        vector(
            &SCHEME,
            SECRET,
            BODY,
            &[("sanity-webhook-signature", HEADER)],
        );
    }

    #[test]
    fn the_toolkits_failing_variants_fail() {
        let header = "sanity-webhook-signature";
        let now = 1_633_519_811;
        let cases: &[(&str, &[u8], VerifyError)] = &[
            // Timestamp one millisecond off.
            (
                "t=1633519811128,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0",
                BODY,
                VerifyError::SignatureMismatch { header },
            ),
            // Hash changed: its last character now sets bits that unpadded base64url leaves
            // zero, so it is not even a valid encoding.
            (
                "t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N1",
                BODY,
                VerifyError::SignatureMismatch { header },
            ),
            (
                "t=1633519811129,v1=uLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0",
                BODY,
                VerifyError::SignatureMismatch { header },
            ),
            // Payload changed.
            (
                HEADER,
                br#"{"_id":"structure"}"#,
                VerifyError::SignatureMismatch { header },
            ),
            // Wrong version.
            (
                "t=1633519811129,v5=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0",
                BODY,
                VerifyError::SignatureMismatch { header },
            ),
            // Standard base64 is not this encoding.
            (
                "t=1633519811129,v1=tLa470fx7qkLLEcMOcEUFuBbRSkGujyskxrNXcoh0N0+/",
                BODY,
                VerifyError::SignatureMismatch { header },
            ),
        ];
        for (value, body, want) in cases {
            let got = check(&SCHEME, &[SECRET], &[(header, value)], body, now).expect_err("fails");
            assert_eq!(&got, want, "{value}");
        }
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(
            &SCHEME,
            b"a-sanity-secret",
            br#"{"_id":"post-1","_type":"post"}"#,
        );
    }

    #[test]
    fn normalization() {
        let body = br#"{"_id":"drafts.post-1","_type":"post","title":"Hello"}"#;
        let secret = "a-sanity-secret";
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            secret.as_bytes(),
            &crate::core::verify::engine::Signing::post(body, 1_700_000_000, "", None),
        )
        .expect("signs");
        let mut pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.retain(|(n, _)| *n != "idempotency-key");
        pairs.extend([
            ("idempotency-key", "01HFQ8R2W7ZQ9X3M5N6P7K8J9T"),
            ("sanity-operation", "update"),
            ("sanity-document-id", "drafts.post-1"),
        ]);
        let got = deliver(
            crate::catalogue::sources::Source::new("sanity", &SCHEME),
            secret,
            Request::post(&pairs, body, 1_700_000_000),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "01HFQ8R2W7ZQ9X3M5N6P7K8J9T");
        assert_eq!(e["type"], "sanity.post.update");
        assert_eq!(e["subject"], "drafts.post-1");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
