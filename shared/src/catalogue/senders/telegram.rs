//! Telegram Bot API: `X-Telegram-Bot-Api-Secret-Token: <secret_token>` (1–256 characters
//! `A-Za-z0-9_-`, set with `setWebhook`), compared with the configured secret in constant time. A
//! token signs nothing, so the id (`update_id`, a number, the same on every retry of an update)
//! and type are unsigned and duplicates are recognised by the body digest. An update holds one
//! optional field naming its kind (`message`, `callback_query`, …); the type is that field
//! (`telegram.message`), read with `TypePart::KeyOf` since it is a key, not a value. No timestamp.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "telegram",
    title: "Telegram",
    signature: Signature {
        at: &[Loc::Header("x-telegram-bot-api-secret-token")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    id: &[Loc::Json("update_id")],
    subject: &[
        Loc::Json("message.chat.id"),
        Loc::Json("edited_message.chat.id"),
        Loc::Json("channel_post.chat.id"),
        Loc::Json("edited_channel_post.chat.id"),
        Loc::Json("business_message.chat.id"),
        Loc::Json("edited_business_message.chat.id"),
        Loc::Json("deleted_business_messages.chat.id"),
        Loc::Json("message_reaction.chat.id"),
        Loc::Json("message_reaction_count.chat.id"),
        Loc::Json("callback_query.message.chat.id"),
        Loc::Json("my_chat_member.chat.id"),
        Loc::Json("chat_member.chat.id"),
        Loc::Json("chat_join_request.chat.id"),
        Loc::Json("chat_boost.chat.id"),
        Loc::Json("removed_chat_boost.chat.id"),
        Loc::Json("inline_query.from.id"),
        Loc::Json("chosen_inline_result.from.id"),
        Loc::Json("callback_query.from.id"),
        Loc::Json("shipping_query.from.id"),
        Loc::Json("pre_checkout_query.from.id"),
        Loc::Json("poll_answer.poll_id"),
        Loc::Json("poll.id"),
    ],
    time: &[
        TimeLoc::At(Loc::Json("message.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("edited_message.edit_date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("channel_post.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("edited_channel_post.edit_date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("business_message.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("edited_business_message.edit_date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("message_reaction.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("message_reaction_count.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("my_chat_member.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("chat_member.date"), Unit::Seconds),
        TimeLoc::At(Loc::Json("chat_join_request.date"), Unit::Seconds),
    ],
    ty: &[TypePart::KeyOf(KINDS)],
    evidence: Evidence::Docs("n8n's Telegram trigger"),
    note: "a shared token signs nothing: update_id and the type are unsigned; duplicates by body digest",
    ..Scheme::BASE
};

const KINDS: &[&str] = &[
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
];

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the secret token proves the sender but covers no byte of the body, so the helper's
/// every-byte tampering check does not apply (nothing from the body is trusted instead).
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const TOKEN: &str = "tg_Secret-Token_123";
    const MESSAGE: &[u8] = br#"{"update_id":10000,"message":{"message_id":1365,"date":1700000000,"chat":{"id":-1001234567890,"type":"supergroup","title":"Ops"},"from":{"id":1111111,"is_bot":false,"first_name":"Alice"},"text":"/start"}}"#;

    fn post(token: &str, body: &[u8]) -> Delivered {
        deliver(
            Source::new("telegram", &SCHEME),
            TOKEN,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-telegram-bot-api-secret-token", token),
                ],
                body,
                1_700_000_005,
            ),
        )
    }

    #[test]
    fn the_secret_token_must_equal_the_secret() {
        // Derived from https://core.telegram.org/bots/api#setwebhook (not published): the header
        // carries the secret_token verbatim.
        let header = "x-telegram-bot-api-secret-token";
        check(&SCHEME, &[TOKEN.as_bytes()], &[(header, TOKEN)], MESSAGE, 0).expect("verifies");
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "tg_secret-token_123")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, TOKEN), (header, TOKEN)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[TOKEN.as_bytes()], MESSAGE, 0, cases);
        let d = post("guess", MESSAGE);
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn a_message_update() {
        let d = post(TOKEN, MESSAGE);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "10000");
        assert_eq!(e["type"], "telegram.message");
        assert_eq!(e["subject"], "-1001234567890");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn other_kinds_are_typed_by_their_field() {
        let cases: &[(&[u8], &str, Option<&str>)] = &[
            (
                br#"{"update_id":10001,"callback_query":{"id":"4382bfdwdsb323b2d9","from":{"id":1111111},"message":{"message_id":1365,"date":1700000000,"chat":{"id":42}},"data":"yes"}}"#,
                "telegram.callback_query",
                Some("42"),
            ),
            (
                br#"{"update_id":10002,"inline_query":{"id":"134567890097","from":{"id":1111111},"query":"cats","offset":""}}"#,
                "telegram.inline_query",
                Some("1111111"),
            ),
            (
                br#"{"update_id":10003,"some_future_kind":{"id":1}}"#,
                "telegram",
                None,
            ),
        ];
        for (body, ty, subject) in cases {
            let d = post(TOKEN, body);
            assert_eq!(d.reply.status, 202, "{}", d.text());
            let e = &d.envelopes[0];
            assert_eq!(e["type"], *ty);
            assert_eq!(e["subject"].as_str(), *subject, "{ty}");
        }
    }
}
