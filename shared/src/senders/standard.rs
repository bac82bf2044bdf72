//! Standard Webhooks, and the senders that use it under their own names (Svix, Clerk, Resend,
//! OpenAI, Replicate): `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{raw body}")>
//! [v1,<…> …]` with `webhook-id` and `webhook-timestamp`; Svix-hosted senders send the same as
//! `svix-*` headers. The key is the base64 after `whsec_`, decoded. The id is signed.

use crate::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "standard",
    title: "Standard Webhooks",
    signature: Signature {
        at: &[
            Loc::Header("webhook-signature"),
            Loc::Header("svix-signature"),
        ],
        format: Format::Versioned { version: "v1" },
        all: false,
    },
    signed: &[
        Part::Id,
        Part::Lit("."),
        Part::Timestamp,
        Part::Lit("."),
        Part::Body,
    ],
    encoding: Encoding::Base64,
    key: KeyDecoding::Whsec,
    timestamp: Some(Timestamp {
        at: &[
            Loc::Header("webhook-timestamp"),
            Loc::Header("svix-timestamp"),
        ],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Header("webhook-id"), Loc::Header("svix-id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    time: &[TimeLoc::Signed],
    body: Body {
        json: true,
        form: Form::No,
        other: true,
    },
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI)"),
    note: "non-JSON bodies are kept as data_base64 with type <source>.raw",
    ..Scheme::BASE
};

pub const SVIX: Scheme = Scheme {
    name: "svix",
    title: "Svix",
    evidence: Evidence::Sdk("svix 2.9.1 (PyPI)"),
    ..SCHEME
};

pub const CLERK: Scheme = Scheme {
    name: "clerk",
    title: "Clerk",
    evidence: Evidence::Sdk("svix 2.9.1 (PyPI; Clerk signs with Svix)"),
    ..SCHEME
};

pub const RESEND: Scheme = Scheme {
    name: "resend",
    title: "Resend",
    evidence: Evidence::Sdk("svix 2.9.1 (PyPI; Resend signs with Svix)"),
    ..SCHEME
};

pub const OPENAI: Scheme = Scheme {
    name: "openai",
    title: "OpenAI",
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI)"),
    ..SCHEME
};

pub const REPLICATE: Scheme = Scheme {
    name: "replicate",
    title: "Replicate",
    // Replicate posts the prediction itself, which carries no `type`: its status says what happened.
    ty: &[
        TypePart::Lit("prediction"),
        TypePart::Required(Loc::Json("status")),
    ],
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI)"),
    ..SCHEME
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &SVIX, &CLERK, &RESEND, &OPENAI, &REPLICATE];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;
    use crate::verify::VerifyError;

    struct Vector {
        secret: &'static str,
        id: &'static str,
        ts: &'static str,
        body: &'static [u8],
        sig: &'static str,
    }

    /// standard-webhooks `libraries/*/tests`.
    const VECTORS: [Vector; 2] = [
        Vector {
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            ts: "1614265330",
            body: br#"{"test": 2432232314}"#,
            sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        Vector {
            secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            ts: "1649367553",
            body: br#"{"email":"test@example.com","username":"test_user"}"#,
            sig: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        },
    ];

    #[test]
    fn published_vectors_with_both_header_families() {
        for v in &VECTORS {
            for family in ["webhook", "svix"] {
                let (i, t, s) = (
                    format!("{family}-id"),
                    format!("{family}-timestamp"),
                    format!("{family}-signature"),
                );
                vector(
                    &SCHEME,
                    v.secret.as_bytes(),
                    v.body,
                    &[(&i, v.id), (&t, v.ts), (&s, v.sig)],
                );
            }
        }
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(
            &SCHEME,
            b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            br#"{"type":"a.b"}"#,
        );
    }

    #[test]
    fn svix_signed_ids_are_not_replaced_by_a_stray_webhook_id() {
        let v = &VECTORS[0];
        let now = 1_614_265_330;
        check(
            &SCHEME,
            &[v.secret.as_bytes()],
            &[
                ("svix-id", v.id),
                ("svix-timestamp", v.ts),
                ("svix-signature", v.sig),
                ("webhook-id", "forged-id"),
            ],
            v.body,
            now,
        )
        .expect("the svix family pairs with svix-id");
    }

    #[test]
    fn several_signatures_and_joined_headers() {
        let v = &VECTORS[0];
        let other = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        for value in [
            format!("{other} {}", v.sig),
            format!("v1a,abc {} v2,xyz", v.sig),
            format!("{other},{}", v.sig),
        ] {
            check(
                &SCHEME,
                &[v.secret.as_bytes()],
                &[
                    ("webhook-id", v.id),
                    ("webhook-timestamp", v.ts),
                    ("webhook-signature", &value),
                ],
                v.body,
                1_614_265_330,
            )
            .expect("one v1 matches");
        }
    }

    #[test]
    fn rejections() {
        let v = &VECTORS[0];
        let header = "webhook-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[("webhook-id", v.id), ("webhook-timestamp", v.ts)],
                VerifyError::MissingSignature { header },
            ),
            (
                &[("webhook-timestamp", v.ts), (header, v.sig)],
                VerifyError::MissingHeader {
                    header: "webhook-id",
                },
            ),
            (
                &[("webhook-id", v.id), (header, v.sig)],
                VerifyError::MissingHeader {
                    header: "webhook-timestamp",
                },
            ),
            (
                &[
                    ("webhook-id", v.id),
                    ("webhook-timestamp", "x"),
                    (header, v.sig),
                ],
                VerifyError::InvalidTimestamp {
                    header: "webhook-timestamp",
                },
            ),
            (
                &[
                    ("webhook-id", v.id),
                    ("webhook-timestamp", v.ts),
                    (header, "v2,abc"),
                ],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[
                    ("webhook-id", "other"),
                    ("webhook-timestamp", v.ts),
                    (header, v.sig),
                ],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(
                &SCHEME,
                &[v.secret.as_bytes()],
                pairs,
                v.body,
                1_614_265_330,
            )
            .expect_err("must fail");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }

    #[test]
    fn secrets_must_be_base64() {
        use crate::verify::engine::decode_secret;
        assert!(decode_secret(&SCHEME, "whsec_!!!").is_err());
        assert!(decode_secret(&SCHEME, "whsec_").is_err());
        assert_eq!(
            decode_secret(&SCHEME, "whsec_AAEC").expect("key"),
            vec![0, 1, 2]
        );
        assert_eq!(
            decode_secret(&SCHEME, "AAEC").expect("bare base64"),
            vec![0, 1, 2]
        );
    }
}
