//! Heroku (app and add-on webhooks): `Heroku-Webhook-Hmac-SHA256: <base64 HMAC-SHA256(secret, raw
//! body)>`, the subscription's secret used as its UTF-8 bytes. Heroku's docs
//! (https://devcenter.heroku.com/articles/addon-webhooks, `secret`: "Deliveries will set the
//! HMAC-SHA256 of the body using this secret as the Heroku-Webhook-Hmac-SHA256 header";
//! https://devcenter.heroku.com/articles/app-webhooks-schema) name the header, the hash and the
//! signed bytes; the base64 encoding is that of
//! https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests as
//! getsentry/sentry's Heroku plugin and nuxt-webhook-validators compute it. A subscription
//! without a secret sends no signature, which is refused. The body is one event
//! (https://devcenter.heroku.com/articles/webhook-events): its `id` (signed, the same as
//! `webhook_metadata.event.id`) is the envelope id, `resource` + `action` the type (e.g.
//! `heroku.addon-attachment.create`, `heroku.release.update`), `data.id` the subject (the entity
//! changed), `created_at` the time. Every attempt changes `webhook_metadata.attempt.id`, so
//! retries are recognised by the event id, not the body digest. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "heroku",
    title: "Heroku",
    signature: Signature {
        at: &[Loc::Header("heroku-webhook-hmac-sha256")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("resource")),
        TypePart::Optional(Loc::Json("action")),
    ],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Docs("getsentry/sentry's Heroku release-hook plugin"),
    note: "no timestamp is signed, so no replay window applies (duplicates by the signed event id); a subscription without a secret is unsigned and refused",
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

    const SECRET: &str = "heroku-webhook-secret";
    /// The `api:addon-attachment` `create` example of
    /// https://devcenter.heroku.com/articles/webhook-events, shortened.
    const BODY: &[u8] = br#"{"action":"create","actor":{"email":"user-0165@example.com","id":"33500732-3b64-436f-9710-64cc569c3e4f"},"created_at":"2016-10-26T22:48:45Z","id":"7846bee9-b017-4492-9bed-34cd8327e71d","data":{"app":{"id":"d2f24bd2-399a-4868-9467-bc0ba2411cc2","name":"sample-app-0084"},"id":"25bfb830-8c4a-49e1-b0a3-831da386de90","name":"DATABASE"},"previous_data":{},"published_at":null,"resource":"addon-attachment","sequence":null,"updated_at":"2016-10-26T22:48:45Z","version":"application/vnd.heroku+json; version=3","webhook_metadata":{"attempt":{"id":"8a44f820-2354-489d-9a11-a793cbf49979"},"delivery":{"id":"d244009a-670f-4340-88e9-789a4f9002d5"},"event":{"id":"7846bee9-b017-4492-9bed-34cd8327e71d","include":"api:addon-attachment"},"webhook":{"id":"b54e6a7e-d162-4bd7-ab42-1011582c19cc"}}}"#;
    /// Derived from https://devcenter.heroku.com/articles/app-webhooks (base64 HMAC-SHA256 of the
    /// body, computed with Python's hmac), not published.
    const SIG: &str = "55IElLF+DSPMM4yztjy28nUj/IMt72oOU29WafMLhNY=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("heroku-webhook-hmac-sha256", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "heroku-webhook-hmac-sha256";
        // The same MAC in hex is not Heroku's encoding.
        let hex_sig = "e7920494b17e0d23cc338cb3b63cb6f27523fc832def6a0e536f5669f30b84d6";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, hex_sig)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "not base64!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("heroku-webhook-hmac-sha256", SIG),
        ];
        assert_envelope(
            Source::new("heroku", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("7846bee9-b017-4492-9bed-34cd8327e71d"),
                ty: "heroku.addon-attachment.create",
                subject: Some("25bfb830-8c4a-49e1-b0a3-831da386de90"),
                time: "2016-10-26T22:48:45.000Z",
            },
        );
    }
}
