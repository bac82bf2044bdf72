//! Standard Webhooks, and the senders that use it under their own names (Svix, Clerk, Resend,
//! OpenAI, Replicate, Brex, Render, Lithic, incident.io, Stytch, Polar):
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{raw body}")> [v1,<…> …]` with
//! `webhook-id` and `webhook-timestamp`; Svix-hosted senders send the same as `svix-*` headers. The
//! key is the base64 after `whsec_`, decoded (Polar's: the secret's own bytes). The id is signed.

use crate::core::scheme::*;

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

/// Brex: `Webhook-Id`, `Webhook-Timestamp` and `Webhook-Signature` (two signatures while a key
/// rotates), `whsec_` secrets from `GET /v1/webhooks/secrets`
/// (https://developer.brex.com/openapi/webhooks_api/, https://developer.brex.com/docs/webhooks/).
/// Each event says what it is in `event_type` (`TRANSFER_PROCESSED`, `REFERRAL_CREATED`,
/// `USER_UPDATED`, …) and names its object in an id of its own: `transfer_id`, `referral_id`,
/// `user_id` (the Webhook Events schemas of the Webhooks API).
pub const BREX: Scheme = Scheme {
    name: "brex",
    title: "Brex",
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[
        Loc::Json("transfer_id"),
        Loc::Json("referral_id"),
        Loc::Json("user_id"),
    ],
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI)"),
    ..SCHEME
};

/// Render: Standard Webhooks (https://render.com/docs/webhooks; Render's own receiver,
/// github.com/render-examples/webhook-receiver, verifies with the `standardwebhooks` library and
/// reads `{"type", "timestamp", "data": {"id", "serviceId"}}`). The subject is the service.
pub const RENDER: Scheme = Scheme {
    name: "render",
    title: "Render",
    subject: &[Loc::Json("data.serviceId")],
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI)"),
    ..SCHEME
};

/// Lithic: Standard Webhooks (Lithic's SDKs verify with the `standardwebhooks` library,
/// github.com/lithic-com/lithic-go webhook.go). The event type is `event_type`
/// (`card_transaction.updated`, `account_holder.created`, …:
/// https://docs.lithic.com/docs/types-of-events) and the object's own `token` names it.
pub const LITHIC: Scheme = Scheme {
    name: "lithic",
    title: "Lithic",
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[Loc::Json("token")],
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI)"),
    ..SCHEME
};

/// incident.io: "powered by Svix", `webhook-id`, `webhook-timestamp` and `webhook-signature`,
/// verified with the Svix libraries (https://docs.incident.io/api-reference/webhooks). The body is
/// `{"event_type": "public_incident.incident_created_v2", "<event_type>": {…}}`: the object sits
/// under a key named after the type, which a path cannot name, so there is no subject.
pub const INCIDENT_IO: Scheme = Scheme {
    name: "incident-io",
    title: "incident.io",
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    evidence: Evidence::Sdk("svix 2.9.1 (PyPI; incident.io signs with Svix)"),
    ..SCHEME
};

/// Stytch: "powered through Svix" (https://stytch.com/docs/b2b/guides/webhooks). Its event type is
/// `source.object_type.action` (`dashboard.organization.create`), from the body's `source`,
/// `object_type` and `action`; `id` is the entity acted upon.
pub const STYTCH: Scheme = Scheme {
    name: "stytch",
    title: "Stytch",
    ty: &[
        TypePart::Required(Loc::Json("source")),
        TypePart::Required(Loc::Json("object_type")),
        TypePart::Required(Loc::Json("action")),
    ],
    subject: &[Loc::Json("id")],
    evidence: Evidence::Sdk("svix 2.9.1 (PyPI; Stytch signs with Svix)"),
    ..SCHEME
};

/// Polar: Standard Webhooks (https://docs.polar.sh/developers/webhooks), but the key is the
/// secret's own UTF-8 bytes, `polar_whs_…` prefix and all: Polar's SDK hands `standardwebhooks`
/// the base64 of the whole secret (github.com/polarsource/polar-python,
/// `src/polar_sdk/_webhooks/__init__.py`). Bodies are `{"type", "timestamp", "data": {"id", …}}`
/// (https://polar.sh/docs/api-reference/webhooks/order.paid).
pub const POLAR: Scheme = Scheme {
    name: "polar",
    title: "Polar",
    key: KeyDecoding::Utf8,
    subject: &[Loc::Json("data.id")],
    evidence: Evidence::Sdk("standardwebhooks 1.1.0 (PyPI; as polar-sdk calls it)"),
    ..SCHEME
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[
    &SCHEME,
    &SVIX,
    &CLERK,
    &RESEND,
    &OPENAI,
    &REPLICATE,
    &BREX,
    &RENDER,
    &LITHIC,
    &INCIDENT_IO,
    &STYTCH,
    &POLAR,
];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

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
        use crate::core::verify::engine::decode_secret;
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

/// The aliases' envelopes, from bodies shaped as each sender's docs show them.
#[cfg(test)]
mod aliases {
    use super::*;
    use crate::catalogue::sources::Source;
    use crate::core::verify::engine::decode_secret;
    use crate::tests::*;

    const AT: i64 = 1_700_000_000;
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    /// Signs `body` as `scheme`'s sender does, in `family` headers (`webhook` or `svix`), and
    /// delivers it: the one envelope it queues.
    fn envelope(
        scheme: &'static Scheme,
        secret: &str,
        body: &[u8],
        family: &str,
    ) -> serde_json::Value {
        let key = decode_secret(scheme, secret).expect("secret");
        let signed = sign_headers(scheme, &key, body, AT, "msg_2mVY6Jk1", None);
        let renamed: Vec<(String, String)> = signed
            .into_iter()
            .map(|(n, v)| (n.replacen("webhook-", &format!("{family}-"), 1), v))
            .collect();
        let mut headers = pairs(&renamed);
        headers.push(("content-type", "application/json"));
        let d = deliver(
            Source::new(scheme.name, scheme),
            secret,
            Request::post(&headers, body, AT as u64),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 1);
        let e = d.envelopes[0].clone();
        assert_eq!(e["id"], "msg_2mVY6Jk1");
        assert_eq!(e["source"], scheme.name);
        e
    }

    #[test]
    fn brex() {
        let body = br#"{"event_type":"TRANSFER_PROCESSED","transfer_id":"dpmt_cm1x8k2ph00aa08l5b3qz9v7c","payment_type":"ACH","company_id":"cuacc_cm1x8k2ph00ab08l5a1c2d3e4"}"#;
        let e = envelope(&BREX, WHSEC, body, "webhook");
        assert_eq!(e["type"], "brex.transfer_processed");
        assert_eq!(e["subject"], "dpmt_cm1x8k2ph00aa08l5b3qz9v7c");
        let body = br#"{"event_type":"REFERRAL_CREATED","referral_id":"ref_cm1x8k2ph00ac08l5"}"#;
        let e = envelope(&BREX, WHSEC, body, "webhook");
        assert_eq!(e["type"], "brex.referral_created");
        assert_eq!(e["subject"], "ref_cm1x8k2ph00ac08l5");
    }

    #[test]
    fn render() {
        let body = br#"{"type":"deploy_ended","timestamp":"2025-02-05T16:00:01.000000Z","data":{"id":"evj-cukouhrtq21c73e9scng","serviceId":"srv-cukouhrtq21c73e9scng"}}"#;
        let e = envelope(&RENDER, WHSEC, body, "webhook");
        assert_eq!(e["type"], "render.deploy_ended");
        assert_eq!(e["subject"], "srv-cukouhrtq21c73e9scng");
    }

    #[test]
    fn lithic() {
        let body = br#"{"event_type":"account_holder.created","token":"9a7f0cd1-0f5e-4b8b-9d3c-2f1a6b7c8d9e","account_token":"1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b","created":"2025-01-15T10:30:00Z","status":"ACCEPTED","status_reason":[]}"#;
        let e = envelope(&LITHIC, WHSEC, body, "webhook");
        assert_eq!(e["type"], "lithic.account_holder.created");
        assert_eq!(e["subject"], "9a7f0cd1-0f5e-4b8b-9d3c-2f1a6b7c8d9e");
    }

    #[test]
    fn incident_io() {
        let body = br#"{"event_type":"private_incident.action_created_v1","private_incident.action_created_v1":{"id":"abc123"}}"#;
        for family in ["webhook", "svix"] {
            let e = envelope(&INCIDENT_IO, WHSEC, body, family);
            assert_eq!(e["type"], "incident-io.private_incident.action_created_v1");
            assert!(e.get("subject").is_none_or(|s| s.is_null()), "{e}");
        }
    }

    #[test]
    fn stytch() {
        let body = br#"{"project_id":"project-live-3a5e7c9b-1d2f-4e6a-8b0c-2d4f6a8c0e1f","event_id":"event-live-5c7e9a1b-3d5f-4a6c-8e0a-2c4e6a8c0d2f","action":"CREATE","object_type":"organization","source":"DASHBOARD","id":"organization-live-7e9a1b3c-5d7f-4c8e-8a2b-4c6e8a0c2e4f","timestamp":"2024-01-23T19:38:41.000Z","organization":{"organization_id":"organization-live-7e9a1b3c-5d7f-4c8e-8a2b-4c6e8a0c2e4f","organization_name":"Example Org"}}"#;
        let e = envelope(&STYTCH, WHSEC, body, "svix");
        assert_eq!(e["type"], "stytch.dashboard.organization.create");
        assert_eq!(
            e["subject"],
            "organization-live-7e9a1b3c-5d7f-4c8e-8a2b-4c6e8a0c2e4f"
        );
    }

    #[test]
    fn polar_keys_are_the_secrets_own_bytes() {
        let secret = "polar_whs_8oQ2mZJ1xQ0m3d6bYv4kRr7TgHn2pLsE9wUcVa5KfXy";
        assert_eq!(
            decode_secret(&POLAR, secret).expect("key"),
            secret.as_bytes()
        );
        let body = br#"{"type":"order.paid","timestamp":"2025-06-01T12:00:00Z","data":{"id":"b7d0e3c4-2f1a-4c5b-9e8d-7a6b5c4d3e2f","status":"paid","total_amount":1000,"currency":"usd"}}"#;
        let e = envelope(&POLAR, secret, body, "webhook");
        assert_eq!(e["type"], "polar.order.paid");
        assert_eq!(e["subject"], "b7d0e3c4-2f1a-4c5b-9e8d-7a6b5c4d3e2f");
    }

    #[test]
    fn round_trips() {
        for s in [&BREX, &RENDER, &LITHIC, &INCIDENT_IO, &STYTCH] {
            round_trip(s, WHSEC.as_bytes(), br#"{"type":"a.b","event_type":"a.b"}"#);
        }
        round_trip(
            &POLAR,
            b"polar_whs_8oQ2mZJ1xQ0m3d6bYv4kRr7TgHn2pLsE9wUcVa5KfXy",
            br#"{"type":"a.b"}"#,
        );
    }
}
