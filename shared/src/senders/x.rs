//! X (Twitter) Account Activity API: `x-twitter-webhooks-signature: sha256=<base64
//! HMAC-SHA256(consumer secret, raw body)>`. The challenge-response check is an unsigned
//! `GET ?crc_token=T`, answered `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret,
//! T)>"}` (at registration, then periodically). The body is `{"for_user_id":…,"<kind>":[…]}`; the
//! type is that kind (`x.tweet_create_events`), read with `TypePart::KeyOf` since it is a key, not a
//! value. X sends no delivery or event id, so the id is the body digest. No timestamp is signed.

use crate::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "x",
    title: "X (Twitter)",
    signature: Signature {
        at: &[Loc::Header("x-twitter-webhooks-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    subject: &[Loc::Json("for_user_id")],
    handshakes: &[Handshake::XCrc],
    ty: &[TypePart::KeyOf(KINDS)],
    note: "no id is sent: the id is the body digest; the type is the event array's key",
    ..Scheme::BASE
};

const KINDS: &[&str] = &[
    "tweet_create_events",
    "tweet_delete_events",
    "favorite_events",
    "follow_events",
    "unfollow_events",
    "block_events",
    "unblock_events",
    "mute_events",
    "unmute_events",
    "user_event",
    "direct_message_events",
    "direct_message_indicate_typing_events",
    "direct_message_mark_read_events",
];

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;
    use crate::sources::Source;
    use crate::verify::VerifyError;

    const SECRET: &str = "x-consumer-secret";
    const BODY: &[u8] =
        br#"{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1700000000000000000"}]}"#;
    /// Derived from https://docs.x.com/x-api/webhooks/introduction (`sha256=` + base64
    /// HMAC-SHA256 of the body with the consumer secret, computed with Python's hmac), not
    /// published.
    const SIG: &str = "sha256=YmOglAIDHBxyTLr0Zc/74paWPrD6dMRP6oYSXlTB2fk=";

    fn get(query: &str) -> Delivered {
        deliver(
            Source::new("x", &SCHEME),
            SECRET,
            Request::get(query, &[], 1_700_000_000),
        )
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-twitter-webhooks-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-twitter-webhooks-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &SIG[7..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha256=***")],
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
    fn the_crc_is_answered_with_the_consumer_secrets_mac() {
        let d = get("crc_token=challenge123");
        assert_eq!(d.reply.status, 200);
        assert_eq!(d.reply.header("content-type"), Some("application/json"));
        // Derived with Python: base64(HMAC-SHA256("x-consumer-secret", "challenge123")).
        assert_eq!(
            d.json(),
            serde_json::json!({"response_token": "sha256=7aVfvNM95LH4fjv+yFXWT/n6G2m5wO/Qx0ofxFd4LwY="})
        );
        assert!(d.envelopes.is_empty());
        let other = get("x=1");
        assert_eq!(other.reply.status, 401);
        assert!(other.envelopes.is_empty());
    }

    #[test]
    fn the_type_is_the_event_arrays_key() {
        let d = deliver(
            Source::new("x", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-twitter-webhooks-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert!(e["id"].as_str().expect("id").starts_with("sha256:"));
        assert_eq!(e["type"], "x.tweet_create_events");
        assert_eq!(e["subject"], "2244994945");
        let forged = deliver(
            Source::new("x", &SCHEME),
            "another-secret",
            Request::post(
                &[("x-twitter-webhooks-signature", SIG)],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
