//! Pipedrive webhooks: no signature. A webhook created with `http_auth_user` and
//! `http_auth_password` is delivered with `Authorization: Basic <base64 user:password>`; the
//! configured secret is `user:password`, compared in constant time. Sources: Pipedrive's "Guide
//! for Webhooks v2" (https://pipedrive.readme.io/docs/guide-for-webhooks-v2: the HTTP basic auth
//! user and password of the subscription URL; v2 bodies `{"data","previous","meta"}`), its
//! "Webhooks v2 migration guide" (https://pipedrive.readme.io/docs/webhooks-v2-migration-guide:
//! "one edit or update to the object will only trigger one change webhook in v2") and the API's
//! `POST /v1/webhooks` parameters. Credentials sign nothing: every value read from the body is
//! unsigned. No timestamp is signed, so no replay window applies. Type `meta.action` +
//! `meta.entity` (v2, `pipedrive.change.deal`) or `meta.object` (v1, `pipedrive.added.deal`);
//! subject `meta.entity_id` (v1 `meta.id`); time `meta.timestamp` (unix seconds, else RFC 3339).
//! Pipedrive documents no event id (`meta.id` is not documented as one, and example payloads show
//! it equal to the entity's id), and `meta` changes on a retry (`meta.attempt`): the id is the
//! digest of the body without `meta` (inferred: `data` carries the object's `update_time`, so two
//! edits differ, and a retry repeats `data` and `previous`). v1 bodies also carry a top-level
//! `retry` counter, so a v1 retry is queued again (at-least-once).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "pipedrive",
    title: "Pipedrive",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Prefix("Basic "),
        all: false,
    },
    algorithm: Algorithm::Basic,
    encoding: Encoding::Base64,
    id: &[Loc::DigestWithout("meta")],
    ty: &[
        TypePart::Required(Loc::Json("meta.action")),
        TypePart::Optional(Loc::Json("meta.entity")),
        TypePart::Optional(Loc::Json("meta.object")),
    ],
    subject: &[Loc::Json("meta.entity_id"), Loc::Json("meta.id")],
    time: &[
        TimeLoc::At(Loc::Json("meta.timestamp"), Unit::Seconds),
        TimeLoc::At(Loc::Json("meta.timestamp"), Unit::Rfc3339),
    ],
    evidence: Evidence::Docs("Pipedrive's webhooks v2 guide; hookdeck/webhook-skills pipedrive-webhooks"),
    note: "Basic credentials (secret `user:password`) sign nothing; no event id: the id is the digest of the body without `meta` (which a retry changes)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the credentials cover no byte of the body, so the every-byte tampering check
/// does not apply.
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const CREDENTIALS: &str = "inlet:pd-password";
    /// Derived, not published: `Basic ` + base64 of `inlet:pd-password` (Python's base64).
    const AUTHORIZATION: &str = "Basic aW5sZXQ6cGQtcGFzc3dvcmQ=";

    fn body(attempt: u32) -> String {
        format!(
            r#"{{"data":{{"id":1,"title":"test deal","value":2,"currency":"USD","status":"open","update_time":"2024-09-27T14:25:28Z"}},"previous":null,"meta":{{"action":"change","entity":"deal","version":"2.0","company_id":12882925,"user_id":18487521,"id":1,"entity_id":1,"webhook_id":99,"attempt":{attempt},"host":"company.pipedrive.com","timestamp":1727447128,"change_source":"app"}}}}"#
        )
    }

    fn request<'a>(authorization: &'a str, body: &'a [u8]) -> Request<'a> {
        let headers: &'a [(&'a str, &'a str)] = Box::leak(Box::new([
            ("content-type", "application/json"),
            ("authorization", authorization),
        ]));
        Request::post(headers, body, 1_727_447_130)
    }

    #[test]
    fn basic_credentials_must_equal_the_secret() {
        let header = "authorization";
        let b = body(1);
        let key: &[&[u8]] = &[CREDENTIALS.as_bytes()];
        assert_header_refusals(
            &SCHEME,
            CREDENTIALS,
            b.as_bytes(),
            0,
            &[(header, AUTHORIZATION)],
        );
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // inlet:pd-passworD
            (
                &[(header, "Basic aW5sZXQ6cGQtcGFzc3dvckQ=")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "Basic !!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "Bearer aW5sZXQ6cGQtcGFzc3dvcmQ=")],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, key, b.as_bytes(), 0, cases);
        assert_forged(
            Source::new("pipedrive", &SCHEME),
            "inlet:another",
            request(AUTHORIZATION, b.as_bytes()),
        );
    }

    #[test]
    fn normalization_and_a_retry() {
        let (first, retry) = (body(1), body(2));
        let d = deliver_again(
            Source::new("pipedrive", &SCHEME),
            CREDENTIALS,
            &[
                request(AUTHORIZATION, first.as_bytes()),
                request(AUTHORIZATION, retry.as_bytes()),
            ],
        );
        assert_eq!(d[0].reply.status, 202, "{}", d[0].text());
        assert_eq!(counts(&d), [1, 0]);
        let e = &d[0].envelopes[0];
        assert!(e["id"].as_str().is_some_and(|id| id.starts_with("sha256:")));
        assert_eq!(e["type"], "pipedrive.change.deal");
        assert_eq!(e["subject"], "1");
        assert_eq!(e["time"], "2024-09-27T14:25:28.000Z");
    }
}
