//! Discord (interactions endpoint and webhook events): `X-Signature-Ed25519: <hex>` over
//! `{timestamp}{raw body}`, the timestamp (unix seconds) in `X-Signature-Timestamp`. The
//! configured "secret" is the application's public key (hex). The SDK checks no age: 300 s.
//! PINGs are answered: an interaction of type 1 with `{"type":1}`, a webhook event of type 0
//! with 204. The id is the interaction's `id` (webhook events have none: the body digest); the
//! type is the signed body's numeric `type`, then `event.type` or the command's `data.name`.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "discord",
    title: "Discord",
    signature: Signature {
        at: &[Loc::Header("x-signature-ed25519")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Body],
    algorithm: Algorithm::Ed25519,
    encoding: Encoding::Hex,
    key: KeyDecoding::Hex,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-signature-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("type")),
        TypePart::Optional(Loc::Json("event.type")),
        TypePart::Optional(Loc::Json("data.name")),
    ],
    subject: &[
        Loc::Json("guild_id"),
        Loc::Json("channel_id"),
        Loc::Json("event.data.guild.id"),
    ],
    time: &[
        TimeLoc::At(Loc::Json("event.timestamp"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    handshakes: &[Handshake::DiscordPing],
    evidence: Evidence::Sdk("discord-interactions 0.4.0 (PyPI)"),
    note: "the secret is the application's public key (hex); the SDK checks no age, so 300 s; types are Discord's numbers (discord.2.<command> is a slash command, discord.1.<event> a webhook event)",
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
    const TEST_SEED: &str = "b3c76ab80533b36e1154b3f6c33e29f1f49dd136d0cad529954948f125161631";
    const TEST_PUBLIC: &str = "ea76c2f890fb83de7b39b05b8dc77a3b1156f190c826236625dddb633237851c";
    const BODY: &[u8] = br#"{"type":2,"id":"786008729715212338","application_id":"775799577604522054","guild_id":"290926798626357999","channel_id":"645027906669510667","data":{"id":"771825006014889984","name":"blep","type":1},"token":"A_UNIQUE_TOKEN","version":1}"#;
    /// Signed with Python's `cryptography` over "1700000000" + BODY.
    const SIG: &str = "ac3980c9b33cbf2a40447f0bebf0474af99773fc73822aeed0fba33c26a88adfd825db0daf0956eb85a945cc76f762163ecf1eedc2e95994f6e5be638590740e";
    const AT: u64 = 1_700_000_000;

    fn signed(body: &[u8]) -> Vec<(String, String)> {
        crate::core::verify::engine::sign(
            &SCHEME,
            &hex::decode(TEST_SEED).expect("hex"),
            &crate::core::verify::engine::Signing::post(body, 1_700_000_000, "", None),
        )
        .expect("signs")
    }

    #[test]
    fn derived_vector() {
        // Derived from Discord's docs (Ed25519 over timestamp + body, as discord-interactions'
        // verify_key does), signed with Python's `cryptography`; not published.
        let pairs = [
            ("x-signature-ed25519", SIG),
            ("x-signature-timestamp", "1700000000"),
        ];
        check(&SCHEME, &[TEST_PUBLIC.as_bytes()], &pairs, BODY, AT).expect("verifies");
        let header = "x-signature-ed25519";
        let mut tampered = BODY.to_vec();
        tampered[5] ^= 1;
        assert_eq!(
            check(&SCHEME, &[TEST_PUBLIC.as_bytes()], &pairs, &tampered, AT),
            Err(VerifyError::SignatureMismatch { header })
        );
        let other_key = "1cdd2db93476f356b182af4cc9165722715d302139f5cc3ed04aeff6abffbbc9";
        assert_eq!(
            check(&SCHEME, &[other_key.as_bytes()], &pairs, BODY, AT),
            Err(VerifyError::SignatureMismatch { header })
        );
        assert_eq!(
            check(
                &SCHEME,
                &[TEST_PUBLIC.as_bytes()],
                &[(header, SIG), ("x-signature-timestamp", "1700000001")],
                BODY,
                AT
            ),
            Err(VerifyError::SignatureMismatch { header })
        );
        assert_eq!(
            check(
                &SCHEME,
                &[TEST_PUBLIC.as_bytes()],
                &[(header, &SIG[2..]), ("x-signature-timestamp", "1700000000")],
                BODY,
                AT
            ),
            Err(VerifyError::SignatureMismatch { header })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        let seed = hex::decode(TEST_SEED).expect("hex");
        round_trip_keys(&SCHEME, &seed, TEST_PUBLIC.as_bytes(), BODY);
    }

    #[test]
    fn the_secret_must_be_an_ed25519_public_key_in_hex() {
        use crate::core::verify::engine::decode_secret;
        assert!(decode_secret(&SCHEME, TEST_PUBLIC).is_ok());
        assert!(decode_secret(&SCHEME, "6nbC+JD7g957ObBbjcd6OxFW8ZDIJiNmJd3bYzI3hRw=").is_err());
        assert!(decode_secret(&SCHEME, &TEST_PUBLIC[2..]).is_err());
    }

    #[test]
    fn pings_are_answered_only_when_signed() {
        let source = crate::catalogue::sources::Source::new("discord", &SCHEME);
        // Interactions: PING (type 1) gets PONG.
        let body = br#"{"type":1,"id":"786008729715212338","application_id":"775799577604522054","version":1}"#;
        let sig = signed(body);
        let pairs: Vec<(&str, &str)> = sig.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let ok = deliver(source.clone(), TEST_PUBLIC, Request::post(&pairs, body, AT));
        assert_eq!(ok.reply.status, 200);
        assert_eq!(ok.reply.header("content-type"), Some("application/json"));
        assert_eq!(ok.json(), serde_json::json!({"type": 1}));
        assert!(ok.envelopes.is_empty());
        // A bad signature gets 401 (Discord is reported to probe with one: UNCONFIRMED).
        let forged = deliver(
            source.clone(),
            "1cdd2db93476f356b182af4cc9165722715d302139f5cc3ed04aeff6abffbbc9",
            Request::post(&pairs, body, AT),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
        // Webhook events: PING (type 0) gets 204.
        let body = br#"{"version":1,"application_id":"1234560123453231555","type":0}"#;
        let sig = signed(body);
        let pairs: Vec<(&str, &str)> = sig.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let ok = deliver(source.clone(), TEST_PUBLIC, Request::post(&pairs, body, AT));
        assert_eq!(ok.reply.status, 204);
        assert_eq!(ok.reply.header("content-type"), None);
        assert!(ok.reply.body.is_empty());
        assert!(ok.envelopes.is_empty());
        let unsigned = deliver(
            source,
            TEST_PUBLIC,
            Request::post(&[("x-signature-timestamp", "1700000000")], body, AT),
        );
        assert_eq!(unsigned.reply.status, 401);
        assert!(unsigned.envelopes.is_empty());
    }

    #[test]
    fn normalization() {
        let source = crate::catalogue::sources::Source::new("discord", &SCHEME);
        let got = deliver(
            source.clone(),
            TEST_PUBLIC,
            Request::post(
                &[
                    ("x-signature-ed25519", SIG),
                    ("x-signature-timestamp", "1700000000"),
                ],
                BODY,
                AT,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "786008729715212338");
        assert_eq!(e["type"], "discord.2.blep");
        assert_eq!(e["subject"], "290926798626357999");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        // A webhook event (Discord's sample; its timestamp has no offset, so the signed one is used).
        let body = br#"{"version":1,"application_id":"1234560123453231555","type":1,"event":{"type":"APPLICATION_AUTHORIZED","timestamp":"2024-10-18T14:42:53.064834","data":{"integration_type":1,"scopes":["applications.commands"],"user":{"id":"1111111111111111111","username":"user"}}}}"#;
        let sig = signed(body);
        let pairs: Vec<(&str, &str)> = sig.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let got = deliver(source, TEST_PUBLIC, Request::post(&pairs, body, AT));
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::core::normalize::body_digest_id(body));
        assert_eq!(e["type"], "discord.1.application_authorized");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
