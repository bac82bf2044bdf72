//! Zendesk: `X-Zendesk-Webhook-Signature: <base64 HMAC-SHA256>` of `{timestamp}{raw body}` under
//! the webhook's signing secret (used as UTF-8 although it looks like base64), with the timestamp
//! (ISO 8601, e.g. `2021-07-25T10:00:00Z`) in `X-Zendesk-Webhook-Signature-Timestamp`, as
//! developer.zendesk.com's "Verifying webhook authenticity" says: `base64(HMACSHA256(TIMESTAMP +
//! BODY))`. Trap: an older revision of that page said body then timestamp, with a vector (secret
//! `HRkRd4…zeA=`, body `{"say": "hello"}`) that matches only that order; every verifier of real
//! deliveries found signs timestamp first (n8n's Zendesk trigger, Pipedream's Zendesk source,
//! GOV.UK One Login's txma-ticf-integration, island.is, webhookx), so the old vector is kept as a
//! refusal. Zendesk states no window: 300 s. The id is the unsigned
//! `X-Zendesk-Webhook-Invocation-Id`; event-subscription payloads give the type and subject,
//! trigger payloads are whatever the trigger defines (JSON, form or XML, kept as sent).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "zendesk",
    title: "Zendesk",
    signature: Signature {
        at: &[Loc::Header("x-zendesk-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Body],
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-zendesk-webhook-signature-timestamp")],
        unit: Unit::Rfc3339,
        tolerance: 300,
    }),
    id: &[Loc::Header("x-zendesk-webhook-invocation-id"), Loc::Digest],
    ty: &[TypePart::Optional(Loc::Json("type"))],
    subject: &[Loc::Json("subject")],
    time: &[TimeLoc::At(Loc::Json("time"), Unit::Rfc3339), TimeLoc::Signed],
    body: Body::ANY,
    evidence: Evidence::Docs("n8n's Zendesk trigger; Pipedream; GOV.UK One Login; island.is"),
    note: "signed content is timestamp then body, as Zendesk's current docs and every independent verifier say (an older docs vector had body then timestamp); no documented window, so 300 s; the invocation id is an unsigned header; only POST is accepted",
    // Identical bytes can be distinct events: a trigger's payload is whatever it defines, the same for every firing.
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

    /// The static test secret Zendesk's "Verifying webhook authenticity" page gives for test
    /// webhooks.
    const SECRET: &[u8] = b"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
    const BODY: &[u8] = br#"{"type":"zen:event-type:ticket.created","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2023-11-14T22:13:20Z","zendesk_event_version":"2022-06-20","subject":"zen:ticket:12","detail":{"id":"12","subject":"Help","status":"NEW"},"event":{}}"#;
    const TS: &str = "2023-11-14T22:13:20Z";
    /// base64(HMAC-SHA256(TIMESTAMP + BODY)) as the current docs and n8n's Zendesk trigger
    /// compute it (Python's hmac); derived, not published.
    const SIG: &str = "nwNBZ0FP6wJiPo1ru/kJ0TXIiI6/wuG0vj7I/l5yQyU=";
    const SIG_HEADER: &str = "x-zendesk-webhook-signature";
    const TS_HEADER: &str = "x-zendesk-webhook-signature-timestamp";

    #[test]
    fn timestamp_then_body_as_the_current_docs_say() {
        vector(&SCHEME, SECRET, BODY, &[(SIG_HEADER, SIG), (TS_HEADER, TS)]);
        // Body then timestamp (the same inputs, Python's hmac) is not Zendesk's signature.
        assert_eq!(
            check(
                &SCHEME,
                &[SECRET],
                &[
                    (SIG_HEADER, "c0YIC5NVcoxEGfTRQniXHZrRIXWlFVi/GYy8KR5wioA="),
                    (TS_HEADER, TS)
                ],
                BODY,
                1_700_000_000
            ),
            Err(VerifyError::SignatureMismatch { header: SIG_HEADER })
        );
    }

    /// The older docs revision's vector (secret `HRkRd4…`, `{"say": "hello"}`) matches only body
    /// then timestamp: refused now. The same inputs in the current order verify.
    #[test]
    fn the_old_docs_vector_is_the_old_order() {
        let secret: &[u8] = b"HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=";
        let body: &[u8] = br#"{"say": "hello"}"#;
        let ts = "2021-07-25T10:00:00Z";
        let at = 1_627_207_200;
        assert_eq!(
            check(
                &SCHEME,
                &[secret],
                &[
                    (SIG_HEADER, "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="),
                    (TS_HEADER, ts)
                ],
                body,
                at
            ),
            Err(VerifyError::SignatureMismatch { header: SIG_HEADER })
        );
        check(
            &SCHEME,
            &[secret],
            &[
                (SIG_HEADER, "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="),
                (TS_HEADER, ts),
            ],
            body,
            at,
        )
        .expect("timestamp + body verifies");
    }

    #[test]
    fn the_secret_is_not_base64_decoded() {
        use crate::core::verify::engine::decode_secret;
        assert_eq!(
            decode_secret(&SCHEME, "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==").expect("key"),
            SECRET.to_vec()
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
    }

    #[test]
    fn rejections() {
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(TS_HEADER, TS)],
                VerifyError::MissingSignature { header: SIG_HEADER },
            ),
            (
                &[(SIG_HEADER, SIG)],
                VerifyError::MissingHeader { header: TS_HEADER },
            ),
            (
                &[(SIG_HEADER, SIG), (TS_HEADER, "1700000000")],
                VerifyError::InvalidTimestamp { header: TS_HEADER },
            ),
            (
                &[(SIG_HEADER, SIG), (TS_HEADER, "2023-11-14T22:13:20+00:00")],
                VerifyError::SignatureMismatch { header: SIG_HEADER },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(&SCHEME, &[SECRET], pairs, BODY, 1_700_000_000).expect_err("fails");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }

    #[test]
    fn normalization() {
        let body = br#"{"type":"zen:event-type:ticket.created","account_id":12514403,"id":"2b24ef10-19d4-4740-93cf-8f98ec4776c0","time":"2023-11-14T22:13:20Z","zendesk_event_version":"2022-06-20","subject":"zen:ticket:12","detail":{"id":"12","subject":"Help","status":"NEW"},"event":{}}"#;
        let secret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA=";
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            secret.as_bytes(),
            &crate::core::verify::engine::Signing::post(body, 1_700_000_000, "8350205582", None),
        )
        .expect("signs");
        let pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let source = crate::catalogue::sources::Source::new("zendesk", &SCHEME);
        let got = deliver(
            source.clone(),
            secret,
            Request::post(&pairs, body, 1_700_000_000),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "8350205582");
        assert_eq!(e["type"], "zendesk.zen:event-type:ticket.created");
        assert_eq!(e["subject"], "zen:ticket:12");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        // A trigger's XML payload is kept as sent.
        let xml = b"<ticket><id>12</id></ticket>";
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            secret.as_bytes(),
            &crate::core::verify::engine::Signing::post(xml, 1_700_000_000, "8350205583", None),
        )
        .expect("signs");
        let mut pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push(("content-type", "application/xml"));
        let got = deliver(source, secret, Request::post(&pairs, xml, 1_700_000_000));
        assert_eq!(got.reply.status, 202);
        assert_eq!(got.envelopes[0]["type"], "zendesk.raw");
        assert_eq!(got.envelopes[0]["id"], "8350205583");
    }
}
