//! SendGrid Event Webhook (signed): `X-Twilio-Email-Event-Webhook-Signature: <base64 DER ECDSA
//! P-256/SHA-256>` over `{timestamp}{raw body}`, the timestamp (unix seconds) in
//! `X-Twilio-Email-Event-Webhook-Timestamp`. The configured "secret" is the verification key
//! SendGrid shows: base64 SubjectPublicKeyInfo DER. The SDK checks no age: 300 s. The body is
//! a batch of events of mixed kinds (and ends with CRLF, which is signed): the type is
//! `sendgrid.batch` and the id the body digest; each event's `sg_event_id` is in the data.

use crate::scheme::*;

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
    id: &[Loc::Digest],
    ty: &[TypePart::Lit("batch")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Sdk("sendgrid 6.12.5 (PyPI)"),
    note: "the secret is the base64 verification (public) key; the SDK checks no age, so 300 s; the body is a batch of events (type sendgrid.batch, id the body digest)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;
    use crate::verify::VerifyError;

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
        use crate::verify::engine::decode_secret;
        assert!(decode_secret(&SCHEME, PUBLIC_KEY).is_ok());
        assert!(decode_secret(&SCHEME, "not base64!").is_err());
        assert!(decode_secret(&SCHEME, "AAEC").is_err());
    }

    #[test]
    fn normalization() {
        let got = deliver(
            crate::sources::Source::new("sendgrid", &SCHEME),
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
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::normalize::body_digest_id(PAYLOAD));
        assert_eq!(e["type"], "sendgrid.batch");
        assert_eq!(e.get("subject"), None);
        assert_eq!(e["time"], "2020-09-14T19:41:42.000Z");
        assert_eq!(
            e["data"][0]["sg_event_id"],
            "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"
        );
    }
}
