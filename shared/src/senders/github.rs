//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`. Nothing but the
//! body is signed: the event (`X-GitHub-Event`) and delivery id (`X-GitHub-Delivery`) are
//! unsigned headers, so they are held to a strict character set and duplicates are recognised by
//! the body digest (a redelivery sends the same bytes). JSON and form (`payload=`) bodies.

use crate::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "github",
    title: "GitHub",
    signature: Signature {
        at: &[Loc::Header("x-hub-signature-256")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    id: &[Loc::Header("x-github-delivery")],
    ty: &[
        TypePart::Required(Loc::Header("x-github-event")),
        TypePart::Optional(Loc::Json("action")),
    ],
    subject: &[
        Loc::Json("repository.full_name"),
        Loc::Json("organization.login"),
    ],
    body: Body {
        json: true,
        form: Form::JsonIn("payload"),
        other: false,
    },
    evidence: Evidence::Sdk("@octokit/webhooks-methods 6.0.0"),
    note: "id and type are unsigned headers (validated); duplicates by body digest",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;

    #[test]
    fn published_vectors() {
        // GitHub's docs.
        vector(
            &SCHEME,
            b"It's a Secret to Everybody",
            b"Hello, World!",
            &[(
                "x-hub-signature-256",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            )],
        );
        // octokit/webhooks-methods.js test/sign.test.ts.
        vector(
            &SCHEME,
            b"mysecret",
            br#"{"foo":"bar"}"#,
            &[(
                "x-hub-signature-256",
                "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
            )],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, b"k", br#"{"action":"opened"}"#);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        use crate::verify::VerifyError;
        let header = "x-hub-signature-256";
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "757107ea")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha256=zz")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha1=757107ea")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha256=")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, sig), (header, sig)],
                VerifyError::DuplicateHeader { header },
            ),
            (
                &[(header, &format!("{sig},{sig}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(
                &SCHEME,
                &[b"It's a Secret to Everybody"],
                pairs,
                b"Hello, World!",
                0,
            )
            .expect_err("must fail");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }
}
