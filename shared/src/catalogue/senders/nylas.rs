//! Nylas (API v3 webhooks): `X-Nylas-Signature: <hex HMAC-SHA256(webhook_secret, raw body)>`,
//! the `webhook_secret` Nylas returns once when the webhook destination is created, used as its
//! UTF-8 bytes. Sources: Nylas' v3 webhook docs (https://developer.nylas.com/docs/v3/notifications/webhooks/:
//! the challenge, the `x-nylas-signature` header, "a hex-encoded HMAC-SHA256 signature of the
//! request body, using the webhook secret as the signing key") and Nylas' own SDK
//! (nylas-nodejs `WebhookNotification.verifyWebhookSignature`, `createHmac('sha256',
//! secret).update(body).digest('hex')`). Handshake: when a destination is created Nylas sends
//! `GET ?challenge=<value>` and expects the value back, verbatim, in a 200 body within 10
//! seconds; that is the `DropboxChallenge` handshake already in Inlet (200 text/plain, the value
//! echoed; nothing enqueued). No timestamp is signed, so no replay window applies. The body is
//! one notification, `{"specversion","type","source","id","time","webhook_delivery_attempt",
//! "data":{"object":{…}}}`: `id` (signed) is the envelope id, `type` (`message.created`) the
//! type, `data.object.id` the subject, `time` (unix seconds) the time. Destinations with
//! compressed delivery (gzip) are not supported.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "nylas",
    title: "Nylas",
    signature: Signature {
        at: &[Loc::Header("x-nylas-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.object.id")],
    time: &[TimeLoc::At(Loc::Json("time"), Unit::Seconds)],
    handshakes: &[Handshake::DropboxChallenge],
    evidence: Evidence::Docs("nylas-nodejs WebhookNotification.verifyWebhookSignature"),
    note: "the secret is the destination's webhook_secret; GET ?challenge= is echoed; no timestamp is signed",
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

    const SECRET: &str = "nylas-webhook-secret";
    /// Shaped as the `message.created` notification of Nylas' v3 docs, shortened.
    const BODY: &[u8] = br#"{"specversion":"1.0","type":"message.created","source":"/google/emails/realtime","id":"mock-id-8f2d3b","time":1695415185,"webhook_delivery_attempt":1,"data":{"application_id":"NYLAS_APPLICATION_ID","object":{"id":"18ab2d6a3f5c1e7b","grant_id":"GRANT_ID","object":"message","subject":"Hello"}}}"#;
    /// Derived, not published: hex HMAC-SHA256 of the body, Python's hmac.
    const SIG: &str = "395fe3a78f85b6997519e09e40992d0c745b72fb1bbfcffe53934475c1532445";
    const NOW: u64 = 1_695_415_190;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-nylas-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-nylas-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace('3', "4"))],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn the_challenge_is_echoed_and_nothing_is_queued() {
        let d = deliver(
            Source::new("nylas", &SCHEME),
            SECRET,
            Request::get("challenge=bc609b38-c81f-47fb-a275-1d9bd61be301", &[], NOW),
        );
        assert_eq!(d.reply.status, 200);
        assert_eq!(d.text(), "bc609b38-c81f-47fb-a275-1d9bd61be301");
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("x-nylas-signature", SIG),
        ];
        assert_envelope(
            Source::new("nylas", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("mock-id-8f2d3b"),
                ty: "nylas.message.created",
                subject: Some("18ab2d6a3f5c1e7b"),
                time: "2023-09-22T20:39:45.000Z",
            },
        );
    }
}
