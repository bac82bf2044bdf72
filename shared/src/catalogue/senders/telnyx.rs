//! Telnyx (API v2): `telnyx-signature-ed25519: <base64>` over `{timestamp}|{raw body}`, the
//! timestamp (unix seconds) in `telnyx-timestamp`, held to the SDK's 300 s either way. The
//! configured "secret" is the account's public key (base64, 32 bytes). Id (`data.id`), type
//! (`data.event_type`) and time come from the signed body.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "telnyx",
    title: "Telnyx",
    signature: Signature {
        at: &[Loc::Header("telnyx-signature-ed25519")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("|"), Part::Body],
    algorithm: Algorithm::Ed25519,
    encoding: Encoding::Base64,
    key: KeyDecoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("telnyx-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("data.id")],
    ty: &[TypePart::Required(Loc::Json("data.event_type"))],
    subject: &[
        Loc::Json("data.payload.call_control_id"),
        Loc::Json("data.payload.id"),
    ],
    time: &[TimeLoc::At(Loc::Json("data.occurred_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("telnyx 7.24.0 (npm)"),
    note: "the secret is the account's public key (base64)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// An Ed25519 key pair generated with Python's `cryptography` for these tests.
    const TEST_SEED: &str = "bc5e1bec59e58f929d9639676d0520fa87b24d594324b1a62b3fc3e995acd701";
    const TEST_PUBLIC: &str = "HN0tuTR281axgq9MyRZXInFdMCE59cw+0Erv9qv/u8k=";
    const BODY: &[u8] = br#"{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4","occurred_at":"2023-11-14T22:13:20.000+00:00","payload":{"id":"40317f5a-0e42-4f5f-a3b1-1a4ff5a4d4e5","direction":"inbound","type":"SMS","text":"Hello"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}"#;
    /// Signed with Python's `cryptography` over "1700000000|" + BODY.
    const SIG: &str =
        "KU8wcSP8Zx7fs91+gJKfcb71fTXi70hjblrMpUrBqWqAjwcAsWVajQEn7+t+WmjDWI+fCYvnqwKSCzXMYMkBDw==";
    const AT: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        // Derived from team-telnyx/telnyx-python src/telnyx/lib/webhook_verification.py
        // ("{timestamp}|{payload}", Ed25519, base64), signed with Python's `cryptography`; not
        // published.
        let header = "telnyx-signature-ed25519";
        let pairs = [(header, SIG), ("telnyx-timestamp", "1700000000")];
        check(&SCHEME, &[TEST_PUBLIC.as_bytes()], &pairs, BODY, AT).expect("verifies");
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        let mismatch = Err(VerifyError::SignatureMismatch { header });
        assert_eq!(
            check(&SCHEME, &[TEST_PUBLIC.as_bytes()], &pairs, &tampered, AT),
            mismatch
        );
        let other_key = "6nbC+JD7g957ObBbjcd6OxFW8ZDIJiNmJd3bYzI3hRw=";
        assert_eq!(
            check(&SCHEME, &[other_key.as_bytes()], &pairs, BODY, AT),
            mismatch
        );
        // Without the `|` it is Discord's content, not Telnyx's.
        assert_eq!(
            check(
                &SCHEME,
                &[TEST_PUBLIC.as_bytes()],
                &[(header, SIG), ("telnyx-timestamp", "1700000000|")],
                BODY,
                AT
            ),
            Err(VerifyError::InvalidTimestamp {
                header: "telnyx-timestamp"
            })
        );
        assert!(matches!(
            check(&SCHEME, &[TEST_PUBLIC.as_bytes()], &pairs, BODY, AT - 301),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn round_trip_and_tampering() {
        let seed = hex::decode(TEST_SEED).expect("hex");
        round_trip_keys(&SCHEME, &seed, TEST_PUBLIC.as_bytes(), BODY);
    }

    #[test]
    fn the_secret_must_be_an_ed25519_public_key_in_base64() {
        use crate::core::verify::engine::decode_secret;
        assert!(decode_secret(&SCHEME, TEST_PUBLIC).is_ok());
        assert!(decode_secret(
            &SCHEME,
            "1cdd2db93476f356b182af4cc9165722715d302139f5cc3ed04aeff6abffbbc9"
        )
        .is_err());
    }

    #[test]
    fn normalization() {
        let got = deliver(
            crate::catalogue::sources::Source::new("telnyx", &SCHEME),
            TEST_PUBLIC,
            Request::post(
                &[
                    ("telnyx-signature-ed25519", SIG),
                    ("telnyx-timestamp", "1700000000"),
                ],
                BODY,
                AT,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "b301ed3f-1490-491f-995f-6e64e69674d4");
        assert_eq!(e["type"], "telnyx.message.received");
        assert_eq!(e["subject"], "40317f5a-0e42-4f5f-a3b1-1a4ff5a4d4e5");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
