//! X (Twitter) Account Activity API: `x-twitter-webhooks-signature: sha256=<base64
//! HMAC-SHA256(consumer secret, raw body)>`. The challenge-response check (CRC) is a `GET
//! ?crc_token=T`, answered `{"response_token":"sha256=<base64 HMAC-SHA256(consumer secret,
//! T)>"}` (at registration, then periodically). The body is `{"for_user_id":…,"<kind>":[…]}`; the
//! type is that kind (`x.tweet_create_events`), read with `TypePart::KeyOf` since it is a key, not a
//! value. X sends no delivery or event id, so the id is the body digest. No timestamp is signed.
//!
//! Trap: the CRC answer is X's signature of a body `T`. Answered for any `T`, it is a signing
//! oracle: `GET ?crc_token=<a JSON event>`, then POST that event with the answer as its signature.
//! So a token must be what X sends, base64/base64url characters and no more than 255 of them
//! (X documents no format; its examples are UUIDs and words), which can never be a JSON object or
//! array, the only bodies Inlet accepts. And X signs the CRCs it sends (its 2020 docs: the GET's
//! `x-twitter-webhooks-signature` is over the query string, `crc_token=…&nonce=…`; its autohook
//! library checks it): a CRC that carries one is answered only when it matches, under the secret
//! it matched. One without is still answered: X's docs do not say that the periodic CRC is
//! signed, and a wrong answer marks the webhook invalid at once (no retry), so refusing unsigned
//! CRCs could stop every delivery.

use base64::Engine;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::core::response::Reply;
use crate::core::scheme::*;
use crate::core::verify::engine::{hmac_sha256, B64};
use crate::core::verify::{single_header, SecretSet, Unverified, VerifyError};

/// The header X signs its deliveries (and its CRCs) with.
const SIGNATURE: &str = "x-twitter-webhooks-signature";
/// Longest CRC token answered.
const MAX_CRC_TOKEN: usize = 255;

pub const SCHEME: Scheme = Scheme {
    name: "x",
    title: "X (Twitter)",
    signature: Signature {
        at: &[Loc::Header(SIGNATURE)],
        format: Format::Prefix("sha256="),
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    subject: &[Loc::Json("for_user_id")],
    handshakes: &[Handshake::XCrc],
    custom: Some(&Crc),
    ty: &[TypePart::KeyOf(KINDS)],
    evidence: Evidence::Vectors,
    note: "no id is sent: the id is the body digest; the type is the event array's key",
    ..Scheme::BASE
};

/// X's CRC, in code.
#[derive(Debug)]
struct Crc;

impl Custom for Crc {
    /// A token X would not send gets no MAC: the caller learns only "not verified".
    fn answer_challenge(
        &self,
        token: &str,
        req: &Unverified<'_>,
        secrets: &SecretSet,
    ) -> Option<Result<Reply, VerifyError>> {
        if !crc_token(token) {
            return Some(Err(VerifyError::MalformedSignature {
                header: "crc_token",
            }));
        }
        Some(crc_answer(token, req, secrets))
    }
}

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

/// Whether `token` is shaped as X's CRC tokens are: base64 or base64url characters, 1 to
/// [`MAX_CRC_TOKEN`] of them. No such string is a JSON object or array, so no answer signs a body
/// Inlet would accept.
pub(crate) fn crc_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_CRC_TOKEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// The answer to `GET ?crc_token=T`, once `T` is [`crc_token`]-shaped: under the secret the CRC's
/// own signature matches when it carries one (`sha256=` + base64, or the base64 alone, of
/// HMAC-SHA256 over the raw query string), else under the newest. `Err` when it carries a
/// signature that matches no active secret.
pub(crate) fn crc_answer(
    token: &str,
    req: &Unverified<'_>,
    secrets: &SecretSet,
) -> Result<Reply, VerifyError> {
    let key = match single_header(req.headers, SIGNATURE)? {
        None => secrets.iter().next().map(|s| s.key()),
        Some(value) => {
            let sig = value.strip_prefix("sha256=").unwrap_or(value);
            let given = B64
                .decode(sig)
                .map_err(|_| VerifyError::MalformedSignature { header: SIGNATURE })?;
            secrets
                .iter()
                .find(|s| {
                    let mac = hmac_sha256(s.key(), req.query.as_bytes());
                    mac.len() == given.len() && bool::from(mac.ct_eq(&given))
                })
                .map(|s| s.key())
        }
    }
    .ok_or(VerifyError::SignatureMismatch { header: SIGNATURE })?;
    let mac = hmac_sha256(key, token.as_bytes());
    Ok(Reply::json(
        200,
        &json!({ "response_token": format!("sha256={}", B64.encode(mac)) }),
    ))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

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

    /// X's autohook library, `test/signature.js` (github.com/twitterdev/autohook): a delivery's
    /// body, and a query string as a CRC's signature covers it, under the consumer secret `test`.
    #[test]
    fn published_vectors() {
        vector(
            &SCHEME,
            b"test",
            br#"{"test_number":1,"test_string":"two"}"#,
            &[(
                "x-twitter-webhooks-signature",
                "sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI=",
            )],
        );
        let h = headers(&[(
            "x-twitter-webhooks-signature",
            "sha256=25Cu3iwbbiqBTwQRzcKJZwisjf736V2Q8UaTlkfLSoc=",
        )]);
        let secrets = crate::core::verify::SecretSet::new(vec![crate::core::verify::Secret::new(
            "WEBHOOK_SECRET",
            b"test".to_vec(),
        )])
        .expect("secrets");
        let req = |query| crate::core::verify::Unverified {
            method: &http::Method::GET,
            headers: &h,
            body: b"",
            query,
            url: None,
        };
        assert!(super::crc_answer("challenge", &req("test=1&other_test=2"), &secrets).is_ok());
        assert_eq!(
            super::crc_answer("challenge", &req("test=1&other_test=3"), &secrets).map(|_| ()),
            Err(VerifyError::SignatureMismatch {
                header: "x-twitter-webhooks-signature"
            })
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

    /// The hostile round's forgery: a CRC for a JSON event, then the event signed with the answer.
    #[test]
    fn a_crc_answer_is_never_the_signature_of_an_event() {
        let event = r#"{"for_user_id":"2244994945","tweet_create_events":[{"id_str":"1"}]}"#;
        let query = format!(
            "crc_token={}",
            form_urlencoded::byte_serialize(event.as_bytes()).collect::<String>()
        );
        let d = get(&query);
        assert_eq!(d.reply.status, 401, "{}", d.text());
        assert!(!d.text().contains("response_token"));
        assert_eq!(
            d.json()["detail"],
            "the request's signature could not be verified"
        );
        // Tokens X's alphabet allows can be JSON, but never an object or array: their answers
        // sign bodies that are refused before anything is queued.
        for token in ["1700000000", "true", "null", "-1", "1e5", "challenge123"] {
            let d = get(&format!("crc_token={token}"));
            assert_eq!(d.reply.status, 200, "{token}");
            let answer = d.json()["response_token"]
                .as_str()
                .expect("token")
                .to_owned();
            let posted = deliver(
                Source::new("x", &SCHEME),
                SECRET,
                Request::post(
                    &[
                        ("content-type", "application/json"),
                        ("x-twitter-webhooks-signature", &answer),
                    ],
                    token.as_bytes(),
                    1_700_000_000,
                ),
            );
            assert!(posted.envelopes.is_empty(), "{token}");
            assert_ne!(posted.reply.status, 202, "{token}");
        }
        for bad in ["", "a b", "a%00", &"a".repeat(256), "{}", "[1]", "%22x%22"] {
            let d = get(&format!("crc_token={bad}"));
            assert_eq!(d.reply.status, 401, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever token is answered, the answer never verifies an event that gets queued.
        #[test]
        fn no_answered_token_becomes_an_event(token in "[A-Za-z0-9+/=_-]{1,64}") {
            let query = format!(
                "crc_token={}",
                form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
            );
            let d = get(&query);
            proptest::prop_assert_eq!(d.reply.status, 200);
            let answer = d.json()["response_token"].as_str().expect("token").to_owned();
            let posted = deliver(
                Source::new("x", &SCHEME),
                SECRET,
                Request::post(&[("x-twitter-webhooks-signature", &answer)], token.as_bytes(), 1_700_000_000),
            );
            proptest::prop_assert!(posted.envelopes.is_empty());
            proptest::prop_assert_ne!(posted.reply.status, 202);
        }
    }

    #[test]
    fn a_signed_crc_is_answered_only_when_its_signature_matches() {
        use crate::core::verify::engine::{hmac_sha256, B64};
        use base64::Engine;
        let query = "crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553&nonce=MTcwMDAwMDAwMA";
        let signed_by = |secret: &str| {
            format!(
                "sha256={}",
                B64.encode(hmac_sha256(secret.as_bytes(), query.as_bytes()))
            )
        };
        let answer = |secret: &str| {
            format!(
                "sha256={}",
                B64.encode(hmac_sha256(
                    secret.as_bytes(),
                    b"9b4507b3-9040-4669-9ca3-6b94edb50553"
                ))
            )
        };
        let crc = |signature: &str| {
            deliver_to(
                Source::new("x", &SCHEME),
                &[SECRET, "x-old-consumer-secret"],
                Request::get(
                    query,
                    &[("x-twitter-webhooks-signature", signature)],
                    1_700_000_000,
                ),
            )
        };
        // Signed with the older of two active secrets: answered under that one.
        let d = crc(&signed_by("x-old-consumer-secret"));
        assert_eq!(d.reply.status, 200, "{}", d.text());
        assert_eq!(d.json()["response_token"], answer("x-old-consumer-secret"));
        // The base64 alone, without the prefix, is the same signature.
        let bare = signed_by(SECRET);
        let d = crc(bare.trim_start_matches("sha256="));
        assert_eq!(d.json()["response_token"], answer(SECRET));
        for forged in [signed_by("another-secret"), "sha256=***".to_owned()] {
            let d = crc(&forged);
            assert_eq!(d.reply.status, 401, "{forged}");
            assert!(!d.text().contains("response_token"));
        }
        // Unsigned: answered under the newest secret.
        let d = get(query);
        assert_eq!(d.json()["response_token"], answer(SECRET));
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
