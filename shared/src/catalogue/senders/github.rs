//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`. Nothing but the
//! body is signed: the event (`X-GitHub-Event`) and delivery id (`X-GitHub-Delivery`) are
//! unsigned headers, so they are held to a strict character set and duplicates are recognised by
//! the body digest (a redelivery sends the same bytes). JSON and form (`payload=`) bodies.

use crate::core::scheme::*;

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
    // Identical bytes can be distinct events: repository_dispatch and workflow_dispatch repeat byte for byte.
    repeats: Repeats::Distinct,
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::tests::*;

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
        use crate::core::verify::VerifyError;
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

    /// The hostile round's spoof: a captured `ping` body resent with `X-GitHub-Event:
    /// repository.deleted` became `github.repository.deleted`, a real event's type. A value from
    /// the unsigned header is one word of GitHub's alphabet: no `.`.
    #[test]
    fn an_unsigned_event_name_cannot_pass_for_another_type() {
        let body = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
        let secret = "inlet-dev-github-secret";
        let sig = format!(
            "sha256={}",
            hex::encode(crate::core::verify::engine::hmac_sha256(
                secret.as_bytes(),
                body
            ))
        );
        let with = |event: &'static str| -> Vec<(&'static str, String)> {
            vec![
                ("x-hub-signature-256", sig.clone()),
                ("x-github-event", event.to_owned()),
                (
                    "x-github-delivery",
                    "72d3162e-cc78-11e3-81ab-4c9367dc0958".to_owned(),
                ),
            ]
        };
        for (event, status) in [
            ("ping", 202),
            ("pull_request_review_comment", 202),
            ("repository.deleted", 400),
            ("repository deleted", 400),
            ("push/x", 400),
        ] {
            let headers = with(event);
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let d = deliver(
                crate::catalogue::sources::Source::new("github", &SCHEME),
                secret,
                Request::post(&pairs, body, 1_700_000_000),
            );
            assert_eq!(d.reply.status, status, "{event}: {}", d.text());
            if status == 400 {
                assert!(d.envelopes.is_empty());
                assert_eq!(d.json()["type"], "urn:inlet:problem:invalid-field");
            } else {
                assert_eq!(d.envelopes[0]["type"], format!("github.{event}"));
            }
        }
    }
}
