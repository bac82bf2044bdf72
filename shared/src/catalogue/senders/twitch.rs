//! Twitch EventSub (webhook transport): `Twitch-Eventsub-Message-Signature: sha256=<hex>`,
//! HMAC-SHA256 of `{message id}{timestamp}{raw body}` (no separators) under the subscription
//! secret (UTF-8). The id (`Twitch-Eventsub-Message-Id`) is signed and is the envelope id; the
//! timestamp (`Twitch-Eventsub-Message-Timestamp`, RFC 3339 with nanoseconds) is held to the
//! 10 minutes Twitch's docs name. The type is the unsigned message type (`notification`,
//! `revocation`) then the signed `subscription.type`. The `webhook_callback_verification`
//! message is answered with its challenge as text/plain.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "twitch",
    title: "Twitch EventSub",
    signature: Signature {
        at: &[Loc::Header("twitch-eventsub-message-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    signed: &[Part::Id, Part::Timestamp, Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("twitch-eventsub-message-timestamp")],
        unit: Unit::Rfc3339,
        tolerance: 600,
    }),
    id: &[Loc::Header("twitch-eventsub-message-id")],
    ty: &[
        TypePart::Optional(Loc::Header("twitch-eventsub-message-type")),
        TypePart::Required(Loc::Json("subscription.type")),
    ],
    subject: &[
        Loc::Json("event.broadcaster_user_id"),
        Loc::Json("subscription.condition.broadcaster_user_id"),
    ],
    time: &[TimeLoc::Signed],
    handshakes: &[Handshake::TwitchCallbackVerification],
    evidence: Evidence::Docs("Twitch CLI, forward_event.go"),
    note: "the message type in the envelope type is an unsigned header; the message id is signed",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "twitch-test-secret-0123";
    const ID: &str = "e76c6bd4-55c9-4987-8304-da1588d8988b";
    const TS: &str = "2019-11-16T10:11:12.634234626Z";
    const AT: u64 = 1_573_899_072;
    const BODY: &[u8] = br#"{"subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"enabled","type":"channel.follow","version":"2","cost":0,"condition":{"broadcaster_user_id":"1337","moderator_user_id":"1337"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"},"event":{"user_id":"1234","user_login":"cool_user","user_name":"Cool_User","broadcaster_user_id":"1337","broadcaster_user_login":"cooler_user","broadcaster_user_name":"Cooler_User","followed_at":"2020-07-15T18:16:11.17106713Z"}}"#;
    const SIG: &str = "sha256=7bb6e8a29449b23624275db81676ac42dc7478d5cb6b476e5aaea982bab66007";

    fn pairs<'a>(sig: &'a str, id: &'a str, ts: &'a str) -> [(&'static str, &'a str); 3] {
        [
            ("twitch-eventsub-message-signature", sig),
            ("twitch-eventsub-message-id", id),
            ("twitch-eventsub-message-timestamp", ts),
        ]
    }

    #[test]
    fn derived_vector() {
        // Derived from https://dev.twitch.tv/docs/eventsub/handling-webhook-events (hex
        // HMAC-SHA256 of id + timestamp + body, computed with Python's hmac), not published.
        vector(&SCHEME, SECRET.as_bytes(), BODY, &pairs(SIG, ID, TS));
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn rejections() {
        let header = "twitch-eventsub-message-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &pairs(SIG, "e76c6bd4-55c9-4987-8304-da1588d8988c", TS),
                VerifyError::SignatureMismatch { header },
            ),
            (
                &pairs(SIG, ID, "2019-11-16T10:11:12.634234627Z"),
                VerifyError::SignatureMismatch { header },
            ),
            (
                &pairs(SIG, ID, "1573899072"),
                VerifyError::InvalidTimestamp {
                    header: "twitch-eventsub-message-timestamp",
                },
            ),
            (
                &pairs(&SIG[7..], ID, TS),
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), ("twitch-eventsub-message-timestamp", TS)],
                VerifyError::MissingHeader {
                    header: "twitch-eventsub-message-id",
                },
            ),
        ];
        for (p, want) in cases {
            let got = check(&SCHEME, &[SECRET.as_bytes()], p, BODY, AT).expect_err("fails");
            assert_eq!(&got, want, "{p:?}");
        }
        // Ten minutes old is the limit.
        let p = pairs(SIG, ID, TS);
        check(&SCHEME, &[SECRET.as_bytes()], &p, BODY, AT + 600).expect("10 minutes old");
        assert!(matches!(
            check(&SCHEME, &[SECRET.as_bytes()], &p, BODY, AT + 601),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn callback_verification_is_answered_only_when_signed() {
        let body = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2a387-161a-49f9-a165-0f21d7a4e1c4","status":"webhook_callback_verification_pending","type":"channel.follow","version":"2","cost":1,"condition":{"broadcaster_user_id":"12826"},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}"#;
        // Signed with Python's hmac over id + timestamp + body.
        let p = [
            (
                "twitch-eventsub-message-signature",
                "sha256=fac8d323182b0896c6880561f9aa38ef56dd5167827e1086ccf595742c3ca83d",
            ),
            (
                "twitch-eventsub-message-id",
                "f0ad5ffd-1c9e-4c1f-9d4f-1a2b3c4d5e6f",
            ),
            ("twitch-eventsub-message-timestamp", TS),
            (
                "twitch-eventsub-message-type",
                "webhook_callback_verification",
            ),
        ];
        let source = crate::catalogue::sources::Source::new("twitch", &SCHEME);
        let ok = deliver(source.clone(), SECRET, Request::post(&p, body, AT));
        assert_eq!(ok.reply.status, 200);
        assert_eq!(ok.reply.header("content-type"), Some("text/plain"));
        assert_eq!(ok.text(), "pogchamp-kappa-360noscope-vohiyo");
        assert!(ok.envelopes.is_empty());
        let forged = deliver(
            source.clone(),
            "another-secret-value",
            Request::post(&p, body, AT),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
        let unsigned = deliver(source, SECRET, Request::post(&p[1..], body, AT));
        assert_eq!(unsigned.reply.status, 401);
        assert!(unsigned.envelopes.is_empty());
    }

    #[test]
    fn normalization() {
        let mut p = pairs(SIG, ID, TS).to_vec();
        p.push(("twitch-eventsub-message-type", "notification"));
        let got = deliver(
            crate::catalogue::sources::Source::new("twitch", &SCHEME),
            SECRET,
            Request::post(&p, BODY, AT),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], ID);
        assert_eq!(e["type"], "twitch.notification.channel.follow");
        assert_eq!(e["subject"], "1337");
        assert_eq!(e["time"], "2019-11-16T10:11:12.000Z");
    }
}
