//! Chargebee webhooks: no signature. A webhook configured with basic authentication is delivered
//! with `Authorization: Basic <base64 user:password>`; the configured secret is `user:password`,
//! compared in constant time. Sources: Chargebee's webhook settings
//! (https://www.chargebee.com/docs/2.0/webhook_settings.html: "Protect webhook URL with basic
//! authentication", username and password; retries, and duplicate events to be handled by event
//! id) and Chargebee's own SDK types for the posted Event (chargebee-node 3.x
//! `types/resources/Event.d.ts`: `id`, `occurred_at` (unix seconds), `source`, `event_type`,
//! `api_version`, `content`). Credentials sign nothing: every value read from the body is
//! unsigned. No timestamp is signed, so no replay window applies. The body is one Event: its `id`
//! (`ev_…`, the same on a resend) is the envelope id, `event_type` (`subscription_created`) the
//! type, the subscription's (else customer's, invoice's) id the subject, `occurred_at` the time.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "chargebee",
    title: "Chargebee",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Prefix("Basic "),
        all: false,
    },
    algorithm: Algorithm::Basic,
    encoding: Encoding::Base64,
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[
        Loc::Json("content.subscription.id"),
        Loc::Json("content.customer.id"),
        Loc::Json("content.invoice.id"),
    ],
    time: &[TimeLoc::At(Loc::Json("occurred_at"), Unit::Seconds)],
    evidence: Evidence::Docs("Chargebee's webhook settings docs; chargebee-node Event.d.ts"),
    note: "Basic credentials (secret `user:password`) sign nothing: the event id and type are unsigned",
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

    const CREDENTIALS: &str = "inlet:cb-password";
    /// Derived, not published: `Basic ` + base64 of `inlet:cb-password` (Python's base64).
    const AUTHORIZATION: &str = "Basic aW5sZXQ6Y2ItcGFzc3dvcmQ=";
    /// Shaped as a `subscription_created` event of Chargebee's API docs, shortened.
    const BODY: &[u8] = br#"{"id":"ev_16BPgETyVrQbiGhA","occurred_at":1700000000,"source":"admin_console","user":"full_access_key_v1","object":"event","api_version":"v2","content":{"subscription":{"id":"16BPgETyVrQVHGh1","customer_id":"16BPgETyVrQVHGh1","status":"active"},"customer":{"id":"16BPgETyVrQVHGh1"}},"event_type":"subscription_created","webhook_status":"scheduled"}"#;

    #[test]
    fn basic_credentials_must_equal_the_secret() {
        let header = "authorization";
        let key: &[&[u8]] = &[CREDENTIALS.as_bytes()];
        assert_header_refusals(&SCHEME, CREDENTIALS, BODY, 0, &[(header, AUTHORIZATION)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // inlet:cb-passworD
            (
                &[(header, "Basic aW5sZXQ6Y2ItcGFzc3dvckQ=")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "Basic !!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "Bearer aW5sZXQ6Y2ItcGFzc3dvcmQ=")],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, key, BODY, 0, cases);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("authorization", AUTHORIZATION),
        ];
        assert_envelope_forged(
            Source::new("chargebee", &SCHEME),
            CREDENTIALS,
            "inlet:another",
            Request::post(&headers, BODY, 1_700_000_010),
            Want {
                id: Id::Is("ev_16BPgETyVrQbiGhA"),
                ty: "chargebee.subscription_created",
                subject: Some("16BPgETyVrQVHGh1"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
