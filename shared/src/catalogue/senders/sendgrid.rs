//! SendGrid Event Webhook (signed): `X-Twilio-Email-Event-Webhook-Signature: <base64 DER ECDSA
//! P-256/SHA-256>` over `{timestamp}{raw body}`, the timestamp (unix seconds) in
//! `X-Twilio-Email-Event-Webhook-Timestamp`. The configured "secret" is the verification key
//! SendGrid shows: base64 SubjectPublicKeyInfo DER. The SDK checks no age: 300 s. The body is
//! a batch of events of mixed kinds (and ends with CRLF, which is signed): the type is
//! `sendgrid.batch` and the id the body digest; each event's `sg_event_id` is in the data.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "sendgrid",
    title: "SendGrid Event Webhook",
    signature: Signature {
        at: &[Loc::Header("x-twilio-email-event-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Body],
    algorithm: Algorithm::EcdsaP256,
    encoding: Encoding::Base64,
    key: KeyDecoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-twilio-email-event-webhook-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    batch: Some(Batch { items: "" }),
    id: &[Loc::Json("sg_event_id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("sg_message_id"), Loc::Json("email")],
    time: &[
        TimeLoc::At(Loc::Json("timestamp"), Unit::Seconds),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Sdk("sendgrid 6.12.5 (PyPI)"),
    note: "the secret is the base64 verification (public) key; the SDK checks no age, so 300 s; a delivery is a batch: one envelope per event, id its sg_event_id",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// sendgrid-python `test/unit/test_eventwebhook.py`.
    const PUBLIC_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    const SIGNATURE: &str = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    const TIMESTAMP: &str = "1600112502";
    const PAYLOAD: &[u8] = b"[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";
    const SIG_HEADER: &str = "x-twilio-email-event-webhook-signature";
    const TS_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

    /// A P-256 key pair generated with Python's `cryptography` for these tests: the private
    /// scalar (hex) and the public key as SendGrid shows one (base64 SPKI DER).
    const TEST_PRIVATE: &str = "b3e137a2511f8c707c9587deac4d3c7d6a03dcd137034116f7cc6ddffddad3dc";
    const TEST_PUBLIC: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEoDiU8Vyh/P0s+0s5qs2meOHlqBkb0o93tnn1qEUQ14zRL5hPko1edPL1zty3rSbvjSUuSOYHcZjSS/YQnYW+tw==";

    #[test]
    fn published_vector() {
        // Not `vector`: it would try its made-up secret, which is no P-256 key.
        let pairs = [(SIG_HEADER, SIGNATURE), (TS_HEADER, TIMESTAMP)];
        let now = 1_600_112_502;
        check(&SCHEME, &[PUBLIC_KEY.as_bytes()], &pairs, PAYLOAD, now)
            .expect("the published vector verifies");
        let mismatch = Err(VerifyError::SignatureMismatch { header: SIG_HEADER });
        let mut tampered = PAYLOAD.to_vec();
        tampered[3] ^= 1;
        assert_eq!(
            check(&SCHEME, &[PUBLIC_KEY.as_bytes()], &pairs, &tampered, now),
            mismatch
        );
        // The trailing CRLF is signed.
        assert_eq!(
            check(
                &SCHEME,
                &[PUBLIC_KEY.as_bytes()],
                &pairs,
                &PAYLOAD[..PAYLOAD.len() - 2],
                now
            ),
            mismatch
        );
        // The SDK's failing cases: another key, another payload, another signature.
        let bad_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA==";
        assert_eq!(
            check(&SCHEME, &[bad_key.as_bytes()], &pairs, PAYLOAD, now),
            mismatch
        );
        assert_eq!(
            check(&SCHEME, &[PUBLIC_KEY.as_bytes()], &pairs, b"payload", now),
            mismatch
        );
        let bad_sig = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0=";
        assert_eq!(
            check(
                &SCHEME,
                &[PUBLIC_KEY.as_bytes()],
                &[(SIG_HEADER, bad_sig), (TS_HEADER, TIMESTAMP)],
                PAYLOAD,
                now
            ),
            mismatch
        );
        assert_eq!(
            check(
                &SCHEME,
                &[PUBLIC_KEY.as_bytes()],
                &[(SIG_HEADER, SIGNATURE), (TS_HEADER, "timestamp")],
                PAYLOAD,
                now
            ),
            Err(VerifyError::InvalidTimestamp { header: TS_HEADER })
        );
        // The bad-key secret and the right one, rotated: the right one matches.
        let label = check(
            &SCHEME,
            &[bad_key.as_bytes(), PUBLIC_KEY.as_bytes()],
            &pairs,
            PAYLOAD,
            now,
        )
        .expect("verifies");
        assert_eq!(label, "secret-1");
    }

    #[test]
    fn round_trip_and_tampering() {
        let private = hex::decode(TEST_PRIVATE).expect("hex");
        round_trip_keys(&SCHEME, &private, TEST_PUBLIC.as_bytes(), PAYLOAD);
    }

    #[test]
    fn the_secret_must_be_a_p256_public_key() {
        use crate::core::verify::engine::decode_secret;
        assert!(decode_secret(&SCHEME, PUBLIC_KEY).is_ok());
        assert!(decode_secret(&SCHEME, "not base64!").is_err());
        assert!(decode_secret(&SCHEME, "AAEC").is_err());
    }

    #[test]
    fn normalization() {
        let got = deliver(
            crate::catalogue::sources::Source::new("sendgrid", &SCHEME),
            PUBLIC_KEY,
            Request::post(
                &[
                    (SIG_HEADER, SIGNATURE),
                    (TS_HEADER, TIMESTAMP),
                    ("content-type", "application/json"),
                ],
                PAYLOAD,
                1_600_112_502,
            ),
        );
        assert_eq!(got.reply.status, 202);
        assert_eq!(got.envelopes.len(), 1);
        let e = &got.envelopes[0];
        assert_eq!(
            e["id"],
            "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"
        );
        assert_eq!(e["type"], "sendgrid.dropped");
        assert_eq!(
            e["subject"],
            "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0"
        );
        assert_eq!(e["time"], "2020-09-14T19:41:32.000Z");
        assert_eq!(e["data"]["reason"], "Bounced Address");
    }

    /// Signs `body` with the test key pair, as SendGrid does.
    fn signed(body: &[u8]) -> Vec<(String, String)> {
        let key = hex::decode(TEST_PRIVATE).expect("hex");
        sign_headers(&SCHEME, &key, body, 1_700_000_000, "", None)
    }

    fn batch(events: impl Iterator<Item = (usize, &'static str)>) -> String {
        let items: Vec<String> = events
            .map(|(i, kind)| {
                format!(
                    r#"{{"email":"user{i}@example.com","timestamp":1700000000,"event":"{kind}","sg_event_id":"ev-{i:05}","sg_message_id":"msg-{}.filter"}}"#,
                    i / 3
                )
            })
            .collect();
        format!("[{}]\r\n", items.join(","))
    }

    /// A SendGrid batch of 1,000 events is 1,000 envelopes, each with its own id and type, all
    /// queued before the 202; the sender's retry of it queues none again.
    #[test]
    fn a_thousand_events_are_a_thousand_envelopes() {
        let kinds = ["processed", "delivered", "open", "click"];
        let body = batch((0..1000).map(|i| (i, kinds[i % 4])));
        let headers = signed(body.as_bytes());
        let pairs = pairs(&headers);
        let req = Request::post(&pairs, body.as_bytes(), 1_700_000_000);
        let d = deliver_again(
            crate::catalogue::sources::Source::new("sendgrid", &SCHEME),
            TEST_PUBLIC,
            &[req, req],
        );
        assert_eq!(counts(&d), [1000, 0]);
        let ids: std::collections::BTreeSet<&str> = d[0]
            .envelopes
            .iter()
            .map(|e| e["id"].as_str().expect("id"))
            .collect();
        assert_eq!(ids.len(), 1000);
        assert_eq!(d[0].envelopes[1]["type"], "sendgrid.delivered");
        assert_eq!(d[0].envelopes[999]["inletbatchindex"], 999);
        assert_eq!(
            d[1].json(),
            serde_json::json!({"events": 1000, "queued": 0, "duplicates": 1000, "parked": 0})
        );
    }

    #[test]
    fn more_events_than_the_limit_are_refused_whole() {
        let n = crate::core::normalize::engine::MAX_BATCH_EVENTS + 1;
        let body = batch((0..n).map(|i| (i, "open")));
        let headers = signed(body.as_bytes());
        let pairs = pairs(&headers);
        let d = deliver(
            crate::catalogue::sources::Source::new("sendgrid", &SCHEME),
            TEST_PUBLIC,
            Request::post(&pairs, body.as_bytes(), 1_700_000_000),
        );
        assert_eq!(d.reply.status, 413, "{}", d.text());
        assert!(d.envelopes.is_empty());
    }
}
