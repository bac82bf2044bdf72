//! Vercel: `x-vercel-signature: <hex HMAC-SHA1(webhook or integration secret, raw body)>`. Id
//! (`id`), type (`type`, e.g. `deployment.created`) and time (`createdAt`, milliseconds) come from
//! the signed body. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "vercel",
    title: "Vercel",
    signature: Signature {
        at: &[Loc::Header("x-vercel-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[
        Loc::Json("payload.deployment.id"),
        Loc::Json("payload.project.id"),
    ],
    time: &[TimeLoc::At(Loc::Json("createdAt"), Unit::Millis)],
    evidence: Evidence::Docs("Vercel's example-marketplace-integration; Hookdeck's webhook-skills"),
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

    const SECRET: &str = "vercel-secret";
    const BODY: &[u8] = br#"{"id":"uev_Z0oCNbzcSDxMiKsU5jpyGh3g","type":"deployment.created","createdAt":1700000000000,"payload":{"deployment":{"id":"dpl_2DQwYVKkTfd1M9uLJKtq5mQ"}}}"#;
    /// Derived from https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks (hex
    /// HMAC-SHA1 of the body, computed with Python's hmac), not published.
    const SIG: &str = "9a2ff23421fab82f7f464a9f80b80563b104af06";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-vercel-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-vercel-signature";
        let sha256 = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            BODY,
        ));
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // An HMAC-SHA256 is not Vercel's.
            (
                &[(header, &sha256)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha1={SIG}"))],
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
            Source::new("vercel", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-vercel-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "uev_Z0oCNbzcSDxMiKsU5jpyGh3g");
        assert_eq!(e["type"], "vercel.deployment.created");
        assert_eq!(e["subject"], "dpl_2DQwYVKkTfd1M9uLJKtq5mQ");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
