//! Auth0 log streams (Custom Webhook): `Authorization: <the stream's Authorization Token>`, the
//! value configured on the stream sent verbatim (Auth0 adds no scheme word: configure
//! `Bearer <token>` on the stream and the same text here, or a bare token in both), compared in
//! constant time. Sources: Auth0's "Custom log streams using HTTP webhooks"
//! (https://auth0.com/docs/customize/log-streams/custom-log-streams: "Authorization Token
//! (Optional) The value in the Authorization header of the request"; Content Format "JSON lines,
//! arrays, or objects"; retries on failure) and Auth0's log event schema
//! (https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes). A token signs nothing: the
//! body's values are unsigned. No timestamp is signed, so no replay window applies. Set the
//! stream's Content Format to JSON Array (or JSON Object, one log per request); JSON Lines is not
//! accepted. Each log is an envelope: `log_id` (unique per log, the same on a redelivery) the id,
//! `data.type` (the event code, `s`, `f`, `seacft`, …) the type, `data.user_id` the subject,
//! `data.date` the time. Auth0's Event Streams (`user.created`, CloudEvents) are not this scheme.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "auth0",
    title: "Auth0 log streams",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    batch: Some(Batch { items: "" }),
    id: &[Loc::Json("log_id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("data.type"))],
    subject: &[Loc::Json("data.user_id")],
    time: &[TimeLoc::At(Loc::Json("data.date"), Unit::Rfc3339)],
    evidence: Evidence::Docs("Auth0's custom log stream docs; auth0-cli `logs streams create http --authorization`"),
    note: "the secret is the stream's whole Authorization Token value; a token signs nothing; JSON Array or Object content format, one envelope per log, id its log_id",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the token covers no byte of the body, so the every-byte tampering check does
/// not apply.
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const TOKEN: &str = "Bearer auth0-log-stream-token";
    /// Two logs as a JSON Array stream sends them, shaped as Auth0's log event examples.
    const BODY: &[u8] = br#"[{"log_id":"90020231114221320000000000000000000000000000000000000001","data":{"date":"2023-11-14T22:13:20.000Z","type":"s","description":"Successful login","client_id":"AaiyAPdpYdesoKnqjj8HJqRn4T5titww","user_id":"auth0|5f7c8ec7c33c6c004bbafe82","user_name":"alice@example.com","log_id":"90020231114221320000000000000000000000000000000000000001"}},{"log_id":"90020231114221321000000000000000000000000000000000000002","data":{"date":"2023-11-14T22:13:21.000Z","type":"f","description":"Wrong email or password.","user_id":"auth0|5f7c8ec7c33c6c004bbafe82","log_id":"90020231114221321000000000000000000000000000000000000002"}}]"#;

    fn post(token: &str, body: &[u8]) -> Delivered {
        deliver(
            Source::new("auth0", &SCHEME),
            TOKEN,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("authorization", token),
                ],
                body,
                1_700_000_030,
            ),
        )
    }

    #[test]
    fn the_authorization_value_must_equal_the_secret() {
        // Derived from Auth0's docs (not published): the header is the configured value verbatim.
        let header = "authorization";
        assert_missing_and_duplicate(&SCHEME, TOKEN, BODY, 0, &[(header, TOKEN)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // Without the scheme word it is another value.
            (
                &[(header, "auth0-log-stream-token")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "Bearer auth0-log-stream-tokeN")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[TOKEN.as_bytes()], BODY, 0, cases);
        let d = post("Bearer guess", BODY);
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn each_log_is_an_envelope() {
        let d = post(TOKEN, BODY);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        let e = &d.envelopes[0];
        assert_eq!(
            e["id"],
            "90020231114221320000000000000000000000000000000000000001"
        );
        assert_eq!(e["type"], "auth0.s");
        assert_eq!(e["subject"], "auth0|5f7c8ec7c33c6c004bbafe82");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(d.envelopes[1]["type"], "auth0.f");
        // A JSON Object stream sends one log per request.
        let one = br#"{"log_id":"90020231114221322000000000000000000000000000000000000003","data":{"date":"2023-11-14T22:13:22.000Z","type":"slo","user_id":"auth0|1"}}"#;
        let d = post(TOKEN, one);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes[0]["type"], "auth0.slo");
    }
}
