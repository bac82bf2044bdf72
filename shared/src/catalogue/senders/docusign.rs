//! DocuSign Connect (HMAC): `X-DocuSign-Signature-1` … `-N`, one per active HMAC key, each a
//! base64 HMAC-SHA256 of the raw body under that key, used as-is (it looks like base64 but is
//! not decoded). Every configured secret is tried against every numbered header (1 to 10 are
//! read), so keys can rotate. No timestamp is signed. DocuSign's JSON messages carry no event
//! id and retries change `retryCount`, so the id is the body digest (consumers dedupe on
//! `data.envelopeId` + `event` + `generatedDateTime`); the type is the signed `event`
//! (`envelope-completed`). XML messages are kept as sent.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "docusign",
    title: "DocuSign Connect",
    signature: Signature {
        at: &[
            Loc::Header("x-docusign-signature-1"),
            Loc::Header("x-docusign-signature-2"),
            Loc::Header("x-docusign-signature-3"),
            Loc::Header("x-docusign-signature-4"),
            Loc::Header("x-docusign-signature-5"),
            Loc::Header("x-docusign-signature-6"),
            Loc::Header("x-docusign-signature-7"),
            Loc::Header("x-docusign-signature-8"),
            Loc::Header("x-docusign-signature-9"),
            Loc::Header("x-docusign-signature-10"),
        ],
        format: Format::Plain,
        all: true,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("data.envelopeId")],
    time: &[TimeLoc::At(Loc::Json("generatedDateTime"), Unit::Rfc3339)],
    body: Body {
        json: true,
        form: Form::No,
        other: true,
    },
    evidence: Evidence::Docs("DocuSign's code-examples-node and connect-node-listener-aws"),
    note: "the HMAC key is used as-is, not base64-decoded; no timestamp is signed; no event id and retries change retryCount: the id is the body digest",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const KEY_1: &[u8] = b"ZEMyMm9pS0xDeUNCb0FlRk1wN3RhZz09";
    const KEY_2: &[u8] = b"c2Vjb25kLWRvY3VzaWduLWhtYWMta2V5";
    const BODY: &[u8] = br#"{"event":"envelope-completed","apiVersion":"v2.1","uri":"/restapi/v2.1/accounts/f6f2e5d1-7cd4-4b7e-a3b6-1b9c2a3e8b41/envelopes/93be49ab-afa0-4adf-933c-f752070d0cd4","retryCount":0,"configurationId":10418018,"generatedDateTime":"2021-03-18T16:51:07.0120945Z","data":{"accountId":"f6f2e5d1-7cd4-4b7e-a3b6-1b9c2a3e8b41","envelopeId":"93be49ab-afa0-4adf-933c-f752070d0cd4"}}"#;
    const SIG_1: &str = "Ql0R7lpdfL7D93cjhZ5eFgi8+P3jqtd2SjpdyX3fpjo=";
    const SIG_2: &str = "pNNAkS6UqCeBckp3MBN8Nrmiiaxjc4fZoztroFeeGDI=";

    #[test]
    fn derived_vectors() {
        // Derived from docusign.com/blog/developers/manually-authenticating-hmac-signatures-docusign-connect-webhook-configurations
        // (base64 HMAC-SHA256 of the body, key as-is, computed with Python's hmac), not published.
        vector(&SCHEME, KEY_1, BODY, &[("x-docusign-signature-1", SIG_1)]);
        let both = [
            ("x-docusign-signature-1", SIG_1),
            ("x-docusign-signature-2", SIG_2),
        ];
        vector(&SCHEME, KEY_1, BODY, &both);
        vector(&SCHEME, KEY_2, BODY, &both);
        assert_eq!(
            check(&SCHEME, &[b"another-key", KEY_2], &both, BODY, 0).expect("verifies"),
            "secret-1"
        );
        // A key alone in a later header still counts.
        vector(&SCHEME, KEY_2, BODY, &[("x-docusign-signature-7", SIG_2)]);
    }

    #[test]
    fn the_key_is_not_base64_decoded() {
        use crate::core::verify::engine::decode_secret;
        assert_eq!(
            decode_secret(&SCHEME, "ZEMyMm9pS0xDeUNCb0FlRk1wN3RhZz09").expect("key"),
            KEY_1.to_vec()
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, KEY_1, BODY);
    }

    #[test]
    fn rejections() {
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[("x-authorization-digest", "HMACSHA256")],
                VerifyError::MissingSignature {
                    header: "x-docusign-signature-1",
                },
            ),
            (
                &[("x-docusign-signature-1", "not base64!")],
                VerifyError::MalformedSignature {
                    header: "x-docusign-signature-1",
                },
            ),
            (
                &[("x-docusign-signature-1", SIG_2)],
                VerifyError::SignatureMismatch {
                    header: "x-docusign-signature-1",
                },
            ),
            (
                &[
                    ("x-docusign-signature-1", SIG_1),
                    ("x-docusign-signature-1", SIG_1),
                ],
                VerifyError::DuplicateHeader {
                    header: "x-docusign-signature-1",
                },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(&SCHEME, &[KEY_1], pairs, BODY, 0).expect_err("fails");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }

    #[test]
    fn normalization() {
        let got = deliver(
            crate::catalogue::sources::Source::new("docusign", &SCHEME),
            "ZEMyMm9pS0xDeUNCb0FlRk1wN3RhZz09",
            Request::post(
                &[
                    ("x-docusign-signature-1", SIG_1),
                    ("x-authorization-digest", "HMACSHA256"),
                    ("content-type", "application/json"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::core::normalize::body_digest_id(BODY));
        assert_eq!(e["type"], "docusign.envelope-completed");
        assert_eq!(e["subject"], "93be49ab-afa0-4adf-933c-f752070d0cd4");
        assert_eq!(e["time"], "2021-03-18T16:51:07.012Z");
    }
}
