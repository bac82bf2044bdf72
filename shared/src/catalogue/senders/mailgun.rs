//! Mailgun: the signature is inside the JSON body, `signature: {timestamp, token, signature}`,
//! where `signature` is the hex HMAC-SHA256 of `{timestamp}{token}` under the HTTP webhook
//! signing key (UTF-8); sub-account events also carry `parent-signature` (the same under the
//! primary account's key), tried too. Trap: **the event data is not signed**. A captured
//! signature object could be replayed with other event data within the window (300 s: Mailgun
//! states none), so the id is the signed, single-use `token`, which the idempotency store
//! (when on) then refuses a second time. Type (`event-data.event`) and subject come from the
//! unsigned event data. Legacy form-encoded webhooks are not supported. The CLI signs by writing
//! `signature.signature` into the body.

use crate::core::scheme::*;
use crate::core::verify::engine::Signing;

pub const SCHEME: Scheme = Scheme {
    name: "mailgun",
    title: "Mailgun",
    signature: Signature {
        at: &[
            Loc::Json("signature.signature"),
            Loc::Json("signature.parent-signature"),
        ],
        format: Format::Plain,
        all: true,
    },
    signed: &[Part::Timestamp, Part::Json("signature.token")],
    timestamp: Some(Timestamp {
        at: &[Loc::Json("signature.timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("signature.token")],
    ty: &[TypePart::Required(Loc::Json("event-data.event"))],
    subject: &[
        Loc::Json("event-data.message.headers.message-id"),
        Loc::Json("event-data.recipient"),
    ],
    time: &[TimeLoc::Signed],
    custom: Some(&Token),
    evidence: Evidence::Docs("mailgun-php Webhook.php"),
    note: "only timestamp and token are signed, not the event data: the id is the single-use token, so turn the idempotency store on (window of at least 300 s) to refuse replays; legacy form webhooks are not supported",
    ..Scheme::BASE
};

/// What the data cannot say: that the signed token is covered (so it keys duplicates), and
/// that signing means writing into the body.
#[derive(Debug)]
struct Token;

impl Custom for Token {
    fn signs(&self, loc: &Loc) -> bool {
        *loc == Loc::Json("signature.token")
    }

    /// The signature is in the body: no header to add.
    fn sign(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(Ok(Vec::new()))
    }

    /// The body with `signature.signature` set to the MAC of its `signature.timestamp` and
    /// `signature.token` (`inlet sign`, `send` and `event`).
    fn sign_body(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<u8>, String>> {
        Some(sign_body(key, s))
    }
}

fn sign_body(key: &[u8], s: &Signing<'_>) -> Result<Vec<u8>, String> {
    use hmac::{Hmac, Mac};
    let mut doc: serde_json::Value = serde_json::from_slice(s.body)
        .map_err(|_| "mailgun: the body must be JSON with a signature object".to_owned())?;
    let field = |name: &str| {
        doc.pointer(&format!("/signature/{name}"))
            .and_then(|v| match v {
                serde_json::Value::String(t) => Some(t.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| {
                format!("mailgun signs inside the body: give it signature.timestamp and signature.token (no signature.{name})")
            })
    };
    let (timestamp, token) = (field("timestamp")?, field("token")?);
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| "an HMAC key of any length is accepted".to_owned())?;
    mac.update(timestamp.as_bytes());
    mac.update(token.as_bytes());
    doc["signature"]["signature"] = hex::encode(mac.finalize().into_bytes()).into();
    serde_json::to_vec(&doc).map_err(|e| format!("mailgun: {e}"))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::scheme::Loc;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const KEY: &[u8] = b"key-mailgun-test-signing-key";
    const SIG: &str = "cf7ac2eefd1173376cde9a1c848befb2223b039c05894fcb9f06584422825f7e";
    const AT: u64 = 1_700_000_000;

    fn body(signature: &str, event: &str) -> Vec<u8> {
        format!(
            r#"{{"signature":{{"timestamp":"1700000000","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"{signature}"}},"event-data":{{"event":"{event}","timestamp":1700000000.123456,"id":"CPgfbmQMTCKtHW6uIWtuVe","recipient":"alice@example.com","message":{{"headers":{{"message-id":"20231114221320.1.ABC@example.com"}}}}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn derived_vector() {
        // Derived from https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
        // (hex HMAC-SHA256 of timestamp + token, computed with Python's hmac), not published.
        let delivered = body(SIG, "delivered");
        check(&SCHEME, &[KEY], &[], &delivered, AT).expect("verifies");
        let header = "signature.signature";
        assert_eq!(
            check(&SCHEME, &[b"another-key"], &[], &delivered, AT),
            Err(VerifyError::SignatureMismatch { header })
        );
        let changed_token = String::from_utf8(delivered.clone())
            .expect("text")
            .replace("a8ce0edb", "a8ce0edc");
        assert_eq!(
            check(&SCHEME, &[KEY], &[], changed_token.as_bytes(), AT),
            Err(VerifyError::SignatureMismatch { header })
        );
        assert!(matches!(
            check(&SCHEME, &[KEY], &[], &delivered, AT + 301),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn the_event_data_is_not_signed() {
        // The trap: the same signature object verifies with other event data. Only the token,
        // used as the id, lets the idempotency store refuse the second use.
        check(&SCHEME, &[KEY], &[], &body(SIG, "failed"), AT).expect("event data is not covered");
        assert!(SCHEME.signs(&Loc::Json("signature.token")));
        assert!(!SCHEME.signs(&Loc::Json("event-data.event")));
        assert!(!SCHEME.signs(&Loc::Digest));
    }

    #[test]
    fn a_parent_signature_is_tried_too() {
        let parent = format!(
            r#"{{"signature":{{"timestamp":"1700000000","token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0","signature":"{}","parent-signature":"{SIG}"}},"event-data":{{"event":"delivered"}}}}"#,
            "00".repeat(32)
        );
        check(&SCHEME, &[KEY], &[], parent.as_bytes(), AT).expect("the parent key's signature");
    }

    #[test]
    fn rejections() {
        let cases: &[(&[u8], VerifyError)] = &[
            (
                br#"{"event-data":{"event":"delivered"}}"#,
                VerifyError::MissingSignature {
                    header: "signature.signature",
                },
            ),
            (
                br#"{"signature":{"token":"t","signature":"ab"}}"#,
                VerifyError::MissingHeader {
                    header: "signature.timestamp",
                },
            ),
            (
                br#"{"signature":{"timestamp":"1700000000","signature":"ab"}}"#,
                VerifyError::MissingHeader {
                    header: "signature.token",
                },
            ),
            (
                br#"{"signature":{"timestamp":"1700000000","token":"t","signature":"zz"}}"#,
                VerifyError::MalformedSignature {
                    header: "signature.signature",
                },
            ),
            (
                b"signature=ab&timestamp=1700000000&token=t",
                VerifyError::MissingSignature {
                    header: "signature.signature",
                },
            ),
        ];
        for (b, want) in cases {
            let got = check(&SCHEME, &[KEY], &[], b, AT).expect_err("fails");
            assert_eq!(&got, want, "{}", String::from_utf8_lossy(b));
        }
    }

    /// `inlet sign` writes the signature into the body (it once refused to, naming the value).
    #[test]
    fn signing_writes_the_signature_into_the_body() {
        use crate::core::verify::engine::{sign, sign_body};
        let signing = posted;
        let unsigned = body("", "delivered");
        let written = sign_body(&SCHEME, KEY, &signing(&unsigned))
            .expect("signs")
            .expect("a body");
        let doc: serde_json::Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(doc["signature"]["signature"], SIG);
        assert_eq!(doc["event-data"]["event"], "delivered", "the rest is kept");
        check(&SCHEME, &[KEY], &[], &written, AT).expect("what it writes verifies");
        assert_eq!(
            sign(&SCHEME, KEY, &signing(&written)),
            Ok(Vec::new()),
            "no header"
        );
        // A timestamp written as a number is signed as its digits, as it is verified.
        let number = br#"{"signature":{"timestamp":1700000000,"token":"a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"},"event-data":{"event":"delivered"}}"#;
        let written = sign_body(&SCHEME, KEY, &signing(number))
            .expect("signs")
            .expect("a body");
        check(&SCHEME, &[KEY], &[], &written, AT).expect("a numeric timestamp verifies");
        for without in [
            &br#"{"event-data":{}}"#[..],
            br#"{"signature":{"timestamp":"1"}}"#,
            b"signature=ab",
        ] {
            assert!(sign_body(&SCHEME, KEY, &signing(without)).is_err());
        }
    }

    #[test]
    fn normalization() {
        let delivered = body(SIG, "delivered");
        let got = deliver(
            crate::catalogue::sources::Source::new("mailgun", &SCHEME),
            "key-mailgun-test-signing-key",
            Request::post(&[("content-type", "application/json")], &delivered, AT),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(
            e["id"],
            "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
        );
        assert_eq!(e["type"], "mailgun.delivered");
        assert_eq!(e["subject"], "20231114221320.1.ABC@example.com");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
