//! LINE (Messaging API): `x-line-signature: <base64 HMAC-SHA256(channel secret, raw body)>`, the
//! channel secret used as its UTF-8 bytes
//! (https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/,
//! https://developers.line.biz/en/reference/messaging-api/#signature-validation; the official
//! `@line/bot-sdk` `lib/validate-signature.ts` computes the same). One delivery carries a batch,
//! `{"destination":…,"events":[…]}` (`CallbackRequest` in LINE's schema,
//! https://github.com/line/line-openapi/blob/main/webhook.yml): one envelope per event, its id
//! the event's `webhookEventId` (signed, "an ID that uniquely identifies a webhook event"), its
//! type `type` and, for messages, `message.type` (`line.message.text`, `line.follow`), its
//! subject the group, room or user it came from (`source`), its time `timestamp` (milliseconds).
//! LINE may send a signed batch with no events "to confirm communication": answered, nothing
//! queued. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "line",
    title: "LINE",
    signature: Signature {
        at: &[Loc::Header("x-line-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    batch: Some(Batch { items: "events" }),
    id: &[Loc::Json("webhookEventId"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("type")),
        TypePart::Optional(Loc::Json("message.type")),
    ],
    subject: &[
        Loc::Json("source.groupId"),
        Loc::Json("source.roomId"),
        Loc::Json("source.userId"),
    ],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Millis)],
    evidence: Evidence::Vectors,
    note: "a delivery is a batch: one envelope per event of events[], id its webhookEventId; no timestamp is signed, so no replay window applies (duplicates by the signed event id)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "line-channel-secret";
    /// A text `MessageEvent` in a `CallbackRequest`, as
    /// https://github.com/line/line-openapi/blob/main/webhook.yml describes them.
    const BODY: &[u8] = br#"{"destination":"U3f8c2a1b9d4e5f60718293a4b5c6d7e8","events":[{"type":"message","message":{"type":"text","id":"14353798921116","text":"Hello, world"},"timestamp":1625665242211,"source":{"type":"user","userId":"U80696558e1aa831c2f4d07ae1aa4a1b"},"replyToken":"757913772c4646b784d4b7ce46d12671","mode":"active","webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR","deliveryContext":{"isRedelivery":false}}]}"#;
    /// Derived from https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/
    /// (base64 HMAC-SHA256 of the body, computed with Python's hmac), not published.
    const SIG: &str = "NW02fhfT5YyYI1Z8yVPdkRz7xv9doasaKfzelgmyzZY=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn published_vector() {
        // line-bot-sdk-nodejs `test/validate-signature.spec.ts`: `JSON.stringify({hello:"world"})`
        // under `test_secret`.
        vector(
            &SCHEME,
            b"test_secret",
            br#"{"hello":"world"}"#,
            &[(
                "x-line-signature",
                "t7Hn4ZDHqs6e+wdvI5TyQIvzie0DmMUmuXEBqyyE/tM=",
            )],
        );
        // The same file's failure case (two letters' case changed) is refused.
        assert_eq!(
            check(
                &SCHEME,
                &[b"test_secret"],
                &[(
                    "x-line-signature",
                    "t7Hn4ZDHqs6e+wdvi5TyQivzie0DmMUmuXEBqyyE/tM="
                )],
                br#"{"hello":"world"}"#,
                0,
            ),
            Err(VerifyError::SignatureMismatch {
                header: "x-line-signature"
            })
        );
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-line-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-line-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "not base64!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("line", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json; charset=utf-8"),
                    ("x-line-signature", SIG),
                ],
                BODY,
                NOW,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 1);
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "01FZ74A0TDDPYRVKNK77XKC3ZR");
        assert_eq!(e["type"], "line.message.text");
        assert_eq!(e["subject"], "U80696558e1aa831c2f4d07ae1aa4a1b");
        assert_eq!(e["time"], "2021-07-07T13:40:42.211Z");
    }

    #[test]
    fn the_endpoint_check_queues_nothing() {
        // Base64 HMAC-SHA256 of this body under SECRET, computed with Python's hmac.
        let body = br#"{"destination":"U3f8c2a1b9d4e5f60718293a4b5c6d7e8","events":[]}"#;
        let sig = "M6UeWbChyemQhrD0xDlOMjBlvPtJ9sOozz2dQpkBN14=";
        let d = deliver(
            Source::new("line", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-line-signature", sig),
                ],
                body,
                NOW,
            ),
        );
        assert!((200..300).contains(&d.reply.status), "{}", d.text());
        assert!(d.envelopes.is_empty());
        let forged = deliver(
            Source::new("line", &SCHEME),
            "another-secret",
            Request::post(&[("x-line-signature", sig)], body, NOW),
        );
        assert_eq!(forged.reply.status, 401);
    }
}
