//! CircleCI (outbound webhooks): `circleci-signature: v1=<hex HMAC-SHA256(signing secret, raw
//! body)>`, a comma-separated list of versioned signatures of which only `v1` exists today; any
//! `v1` may match and other versions are ignored. Id (`id`, which CircleCI says to deduplicate on),
//! type (`type`, e.g. `workflow-completed`), subject (`project.slug`) and time (`happened_at`)
//! come from the signed body. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "circleci",
    title: "CircleCI",
    signature: Signature {
        at: &[Loc::Header("circleci-signature")],
        format: Format::List { prefix: "v1=" },
        all: false,
    },
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("project.slug")],
    time: &[TimeLoc::At(Loc::Json("happened_at"), Unit::Rfc3339)],
    evidence: Evidence::Docs("CircleCI's webhooks-consumer-sample"),
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

    const SECRET: &str = "circleci-secret";
    const BODY: &[u8] = br#"{"type":"workflow-completed","id":"3888f21b-eaa7-38e3-8f3d-75a63bba8895","happened_at":"2021-09-01T22:49:34.317Z","project":{"slug":"gh/acme/app"}}"#;
    /// Derived from https://circleci.com/docs/guides/integration/outbound-webhooks/ (`v1=` + hex
    /// HMAC-SHA256 of the body, computed with Python's hmac), not published.
    const SIG: &str = "v1=f0ef86c0813a4f1147f9a5638634e381f46aded53ebcbe9b60b4b9ca7ef8e532";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("circleci-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn other_versions_are_ignored_and_any_v1_may_match() {
        let header = "circleci-signature";
        let other = format!("v1={}", "0".repeat(64));
        for value in [
            format!("{SIG},v2=abcd"),
            format!("v2=abcd,{SIG}"),
            format!("{other},{SIG}"),
        ] {
            check(&SCHEME, &[SECRET.as_bytes()], &[(header, &value)], BODY, 0)
                .unwrap_or_else(|e| panic!("{value}: {e}"));
        }
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &SIG[3..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "v2=abcd")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &other)],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("circleci", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("circleci-event-type", "workflow-completed"),
                    ("circleci-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "3888f21b-eaa7-38e3-8f3d-75a63bba8895");
        assert_eq!(e["type"], "circleci.workflow-completed");
        assert_eq!(e["subject"], "gh/acme/app");
        assert_eq!(e["time"], "2021-09-01T22:49:34.317Z");
    }
}
