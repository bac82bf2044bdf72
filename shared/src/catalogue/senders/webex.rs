//! Webex (Webhooks API): `X-Spark-Signature: <hex HMAC-SHA1(secret, raw body)>`, the `secret`
//! given when the webhook was registered, used as its UTF-8 bytes. Sources: Webex's "Receive and
//! verify events" (https://developer.webex.com/docs/receive-and-verify-webhooks, the example
//! body below, and the HMAC-SHA1 `X-Spark-Signature` over the original request bytes) and the
//! node-spark `webhook.js` verifier (`crypto.createHmac('sha1', secret)` over the body, hex).
//! A webhook without a secret sends no signature, which is refused. No timestamp is signed, so no
//! replay window applies. The body is one notification: its top-level `id` is the *webhook's*
//! id (the same on every notification), so it is not an event id; Webex sends none, and the id
//! is the body digest. Identical bytes can be two events (a membership updated, then updated
//! back, carries the same `data`): repeats are `Distinct`, so nothing is suppressed
//! (at-least-once; inferred from the documented payloads). Type `resource` + `event`
//! (`webex.messages.created`), subject `data.id`, time `data.created`. Contact Center
//! subscriptions sign differently and are not this scheme.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "webex",
    title: "Webex",
    signature: Signature {
        at: &[Loc::Header("x-spark-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("resource")),
        TypePart::Optional(Loc::Json("event")),
    ],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("data.created"), Unit::Rfc3339)],
    evidence: Evidence::Docs("node-spark webhook.js (HMAC-SHA1 hex of the body)"),
    note: "HMAC-SHA1 of the body; no event id (the body's id is the webhook's) and identical bodies can be two events: nothing is suppressed (at-least-once); no timestamp is signed",
    repeats: Repeats::Distinct,
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

    const SECRET: &str = "webex-webhook-secret";
    /// The example notification of https://developer.webex.com/docs/receive-and-verify-webhooks.
    const BODY: &[u8] = br#"{"id":"Y2lzY29zcGFyazovL3VzL1dFQkhPT0svZjRlNjA1NjAtNjYwMi00ZmIwLWEyNWEtOTQ5ODgxNjA5NDk3","name":"New message in 'Project Unicorn' room","resource":"messages","event":"created","filter":"roomId=Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0","orgId":"OTZhYmMyYWEtM2RjYy0xMWU1LWExNTItZmUzNDgxOWNkYzlh","createdBy":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY","appId":"Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL0MyNzljYjMwYzAyOTE4MGJiNGJkYWViYjA2MWI3OTY1Y2RhMzliNjAyOTdjODUwM2YyNjZhYmY2NmM5OTllYzFm","ownedBy":"creator","status":"active","actorId":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY","data":{"id":"Y2lzY29zcGFyazovL3VzL01FU1NBR0UvOTJkYjNiZTAtNDNiZC0xMWU2LThhZTktZGQ1YjNkZmM1NjVk","roomId":"Y2lzY29zcGFyazovL3VzL1JPT00vYmJjZWIxYWQtNDNmMS0zYjU4LTkxNDctZjE0YmIwYzRkMTU0","personId":"Y2lzY29zcGFyazovL3VzL1BFT1BMRS9mNWIzNjE4Ny1jOGRkLTQ3MjctOGIyZi1mOWM0NDdmMjkwNDY","personEmail":"matt@example.com","created":"2015-10-18T14:26:16.000Z"}}"#;
    /// Derived, not published: hex HMAC-SHA1 of the body, computed with Python's hmac.
    const SIG: &str = "16edf23aa617613b61db911fe5714d9cec8bcbec";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-spark-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-spark-signature";
        // The HMAC-SHA256 of the same body is not Webex's hash.
        let sha256 = "8a8bc1a1cf2e4d9f2a7b4ed0f3a6c2d1b8e9f0a1b2c3d4e5f60718293a4b5c6d";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, sha256)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha1={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let e = assert_envelope(
            Source::new("webex", &SCHEME),
            SECRET,
            Request::post(
                    &[
                        ("content-type", "application/json"),
                        ("x-spark-signature", SIG),
                    ],
                    BODY,
                    NOW,
                ),
            Want {
                id: Id::NotDigest,
                ty: "webex.messages.created",
                subject: Some("Y2lzY29zcGFyazovL3VzL01FU1NBR0UvOTJkYjNiZTAtNDNiZC0xMWU2LThhZTktZGQ1YjNkZmM1NjVk"),
                time: "2015-10-18T14:26:16.000Z",
            },
        );
        assert!(e["id"].as_str().is_some_and(|id| !id.starts_with("Y2lz")));
    }
}
