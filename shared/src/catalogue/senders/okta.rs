//! Okta event hooks: the hook's `authScheme` value arrives verbatim in `Authorization` and is
//! compared with the configured secret in constant time (a token: nothing is signed, so id and
//! type are unsigned and duplicates are recognised by the body digest). The one-time verification
//! is an unsigned `GET` with `X-Okta-Verification-Challenge: V`, answered
//! `{"verification":"V"}`. A delivery batches events in `data.events[]`: the id is the body's
//! `eventId`, the type the first event's `eventType` (`okta.user.session.start`), the time
//! `eventTime`. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "okta",
    title: "Okta",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    batch: Some(Batch {
        items: "data.events",
    }),
    id: &[Loc::Json("uuid"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("eventType"))],
    subject: &[Loc::Json("target.0.id"), Loc::Json("actor.id")],
    time: &[TimeLoc::At(Loc::Json("published"), Unit::Rfc3339)],
    handshakes: &[Handshake::OktaVerification],
    evidence: Evidence::Docs("Okta's developer-docs sample; webhookx"),
    note: "the Authorization value is a shared token: nothing is signed; a delivery is a batch: one envelope per event of data.events[], id its uuid, duplicates by the event's digest",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the Authorization value proves the sender but covers no byte of the body, so the helper's
/// every-byte tampering check does not apply (nothing from the body is trusted instead).
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const TOKEN: &str = "okta-hook-authorization-value";
    /// The shape of https://developer.okta.com/docs/concepts/event-hooks/ 's sample request.
    const BODY: &[u8] = br#"{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","cloudEventsVersion":"0.1","source":"https://example.okta.com/api/v1/eventHooks/whdiwzocp","eventId":"b5a188b9-5ece-4636-b041-482ffda96311","data":{"events":[{"uuid":"a5a8a7a5-5b8c-11e9-8f0a-7b1f3a8b2a10","published":"2019-03-27T16:59:53.032Z","eventType":"user.session.start","actor":{"id":"00u1xgr0bsYn3mGw10h8"},"target":[{"id":"00u1xgr0bsYn3mGw10h7"}]}]},"eventTime":"2019-03-27T16:59:53.032Z","contentType":"application/json"}"#;

    #[test]
    fn the_authorization_value_must_equal_the_secret() {
        // Derived from the docs above (not published): the header is the configured value verbatim.
        let header = "authorization";
        check(&SCHEME, &[TOKEN.as_bytes()], &[(header, TOKEN)], BODY, 0).expect("verifies");
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &format!("Bearer {TOKEN}"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "okta")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, TOKEN), (header, TOKEN)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[TOKEN.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn the_verification_request_is_answered_with_its_challenge() {
        let d = deliver(
            Source::new("okta", &SCHEME),
            TOKEN,
            Request::get(
                "",
                &[
                    (
                        "x-okta-verification-challenge",
                        "rCEBk6J8o4qLq7mMkWEMtfOxbkUkbGHRMAdoOJsC",
                    ),
                    ("authorization", TOKEN),
                ],
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 200);
        assert_eq!(d.reply.header("content-type"), Some("application/json"));
        assert_eq!(
            d.json(),
            serde_json::json!({"verification": "rCEBk6J8o4qLq7mMkWEMtfOxbkUkbGHRMAdoOJsC"})
        );
        assert!(d.envelopes.is_empty());
        // A GET without the challenge header is not the handshake.
        let other = deliver(
            Source::new("okta", &SCHEME),
            TOKEN,
            Request::get("", &[("authorization", TOKEN)], 1_700_000_000),
        );
        assert_eq!(other.reply.status, 401);
        assert!(other.envelopes.is_empty());
    }

    /// Okta amalgamates events close in time into one delivery, and retries at most once: each
    /// event is queued once, however many deliveries carry it.
    #[test]
    fn each_event_of_a_delivery_is_queued_once() {
        let one = r#"{"uuid":"u-1","published":"2019-03-27T16:59:53.032Z","eventType":"user.session.start","actor":{"id":"a"},"target":[{"id":"t1"}]}"#;
        let two = r#"{"uuid":"u-2","published":"2019-03-27T16:59:54.000Z","eventType":"user.session.end","actor":{"id":"a"},"target":[{"id":"t2"}]}"#;
        let delivery = |events: &[&str], id: &str| {
            format!(
                r#"{{"eventType":"com.okta.event_hook","eventId":"{id}","eventTime":"2019-03-27T16:59:55.000Z","data":{{"events":[{}]}}}}"#,
                events.join(",")
            )
        };
        let (first, both) = (delivery(&[one], "d-1"), delivery(&[one, two], "d-2"));
        let auth = [("authorization", TOKEN)];
        let d = deliver_again(
            Source::new("okta", &SCHEME),
            TOKEN,
            &[
                Request::post(&auth, first.as_bytes(), 1_700_000_000),
                Request::post(&auth, both.as_bytes(), 1_700_000_000),
                Request::post(&auth, both.as_bytes(), 1_700_000_000),
            ],
        );
        assert_eq!(counts(&d), [1, 1, 0]);
        assert_eq!(d[1].envelopes[0]["id"], "u-2");
        assert_eq!(d[1].envelopes[0]["type"], "okta.user.session.end");
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("okta", &SCHEME),
            TOKEN,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("authorization", TOKEN),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        // One envelope per event of data.events, its id the event's uuid.
        assert_eq!(d.envelopes.len(), 1);
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "a5a8a7a5-5b8c-11e9-8f0a-7b1f3a8b2a10");
        assert_eq!(e["type"], "okta.user.session.start");
        assert_eq!(e["subject"], "00u1xgr0bsYn3mGw10h7");
        assert_eq!(e["time"], "2019-03-27T16:59:53.032Z");
        let forged = deliver(
            Source::new("okta", &SCHEME),
            TOKEN,
            Request::post(&[("authorization", "guess")], BODY, 1_700_000_000),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
