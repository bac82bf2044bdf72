//! Persona: `Persona-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "{t}.{raw body}")>`,
//! the webhook's secret (`wbhsec_…`) used as its UTF-8 bytes. Sources: Persona's "Best
//! Practices" (https://docs.withpersona.com/v2022-09-01/docs/best-practices, "Checking
//! Signatures": `OpenSSL::HMAC.hexdigest('SHA256', secret, "#{t}.#{request.body.read}")`) and
//! its webhooks docs (https://docs.withpersona.com/webhooks); during a secret rotation Persona
//! sends two space-separated `t=…,v1=…` pairs (hookdeck/webhook-skills' persona-webhooks).
//! Both pairs are candidates, so either secret verifies a rotating delivery. Persona's docs state no
//! replay window: 300 s is Inlet's choice (inferred, configurable). The body is a JSON:API
//! event: `data.id` (`evt_…`, signed, the same on a retry) is the envelope id,
//! `data.attributes.name` (`inquiry.completed`) the type, the payload's resource id
//! (`data.attributes.payload.data.id`) the subject, `data.attributes.created-at` the time.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "persona",
    title: "Persona",
    signature: Signature {
        at: &[Loc::Header("persona-signature")],
        format: Format::Kv {
            sep: ",",
            key: "v1",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("data.id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("data.attributes.name"))],
    subject: &[Loc::Json("data.attributes.payload.data.id")],
    time: &[
        TimeLoc::At(Loc::Json("data.attributes.created-at"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Docs("Persona's Ruby sample (Best Practices); hookdeck/webhook-skills persona-webhooks"),
    note: "Stripe-like t=,v1= over t.body; the window (300 s) is Inlet's; two space-separated pairs (a rotation) are both read",
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

    const SECRET: &str = "wbhsec_persona-test-secret";
    /// Shaped as Persona's `inquiry.completed` event (https://docs.withpersona.com/webhooks),
    /// shortened.
    const BODY: &[u8] = br#"{"data":{"type":"event","id":"evt_XGuYWp7WnPX1ZrmDzv8W9Fp4","attributes":{"name":"inquiry.completed","payload":{"data":{"type":"inquiry","id":"inq_2CVZ4HyVg7qaboXz6TDAZ1Df","attributes":{"status":"completed"}}},"created-at":"2023-08-15T17:23:00.000Z"}}}"#;
    /// Derived, not published: hex HMAC-SHA256 of `1692120180.` + body, Python's hmac.
    const SIG: &str = "ee7f93ffffa54cb2f35ccd9c5bee6f53d4c2347efe6fddf7fe05f6c7a36484bb";
    /// The same under `wbhsec_persona-old-secret` (derived the same way).
    const OLD: &str = "28b46dc98784ef3895538632c78f276ec7296218ed24ddb5ff8d807f9ccb2bd2";
    const NOW: u64 = 1_692_120_180;

    fn header(v1: &str) -> String {
        format!("t=1692120180,v1={v1}")
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("persona-signature", &header(SIG))],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn a_rotating_header_verifies_under_either_secret() {
        for (secret, pairs) in [
            ("wbhsec_persona-old-secret", [OLD, SIG]),
            (SECRET, [SIG, OLD]),
        ] {
            for order in [pairs, [pairs[1], pairs[0]]] {
                let value = format!("{} {}", header(order[0]), header(order[1]));
                let got = check(
                    &SCHEME,
                    &[secret.as_bytes()],
                    &[("persona-signature", &value)],
                    BODY,
                    NOW,
                );
                assert_eq!(got.as_deref(), Ok("secret-0"), "{secret}: {value}");
            }
        }
        // Two pairs with different timestamps are two claims about one delivery: refused.
        let split = format!("{} t=1692120181,v1={SIG}", header(OLD));
        let got = check(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[("persona-signature", &split)],
            BODY,
            NOW,
        );
        assert!(got.is_err(), "{got:?}");
    }

    #[test]
    fn malformed_and_missing_signatures_are_refused() {
        let h = "persona-signature";
        let header_ = h;
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header: header_ }),
            (
                &[(h, &format!("v1={SIG}"))],
                VerifyError::MalformedSignature { header: header_ },
            ),
            (
                &[(h, "t=1692120180")],
                VerifyError::SignatureMismatch { header: header_ },
            ),
            (
                &[(h, &header(OLD))],
                VerifyError::SignatureMismatch { header: header_ },
            ),
            (
                &[(h, &format!("t=1692120181,v1={SIG}"))],
                VerifyError::SignatureMismatch { header: header_ },
            ),
            (
                &[(h, &header(SIG)), (h, &format!("t=1692120181,v1={SIG}"))],
                VerifyError::DuplicateHeader { header: header_ },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let value = header(SIG);
        assert_envelope_forged(
            Source::new("persona", &SCHEME),
            SECRET,
            "wbhsec_another",
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("persona-signature", &value),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("evt_XGuYWp7WnPX1ZrmDzv8W9Fp4"),
                ty: "persona.inquiry.completed",
                subject: Some("inq_2CVZ4HyVg7qaboXz6TDAZ1Df"),
                time: "2023-08-15T17:23:00.000Z",
            },
        );
    }
}
