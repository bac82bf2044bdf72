//! Buildkite (Pipelines notification webhooks), two schemes, as a webhook's **Token** setting
//! chooses (https://buildkite.com/docs/apis/webhooks/pipelines, "Webhook token" and "Webhook
//! signature"; source buildkite/docs `pages/apis/webhooks/_webhook_signature.md`):
//!
//! - `buildkite`: `X-Buildkite-Signature: timestamp=<unix>,signature=<hex HMAC-SHA256(token,
//!   "{timestamp}.{raw body}")>`, the webhook token used as its UTF-8 bytes. Buildkite's own
//!   verifier (buildkite/docs `_verifying_hmac_signatures.md`:
//!   `OpenSSL::HMAC.hexdigest("sha256", secret, "#{timestamp}.#{body}")`) is the cross-check.
//!   Buildkite names no window ("only accept them within a short window (for example, 5
//!   minutes)", `_defending_against_replay_attacks.md`): ±5 minutes is held.
//! - `buildkite-token`: the default, `X-Buildkite-Token: <token>` in clear text, compared in
//!   constant time. It proves who sent the request, not what it says: nothing is signed.
//!
//! The body is one event: `event` the type (`buildkite.build.finished`, `buildkite.job.started`,
//! `buildkite.ping`), `job.id` else `build.id` else `agent.id` the subject; the time is the
//! signed timestamp (`buildkite`) or the time of receipt (`buildkite-token`). The body has no
//! event id and Buildkite sends no delivery id: the envelope id is the body digest, each event
//! of a build or job differing in its `state` and times.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "buildkite",
    title: "Buildkite (HMAC signature)",
    signature: Signature {
        at: &[Loc::Header("x-buildkite-signature")],
        format: Format::Kv {
            sep: ",",
            key: "signature",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[
        Loc::Json("job.id"),
        Loc::Json("build.id"),
        Loc::Json("agent.id"),
    ],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Docs("Buildkite's own Ruby verifier (buildkite/docs _verifying_hmac_signatures.md)"),
    note: "choose \"HMAC signature\" for the webhook's token; no event id (duplicates by body digest); Buildkite names no window: ±5 minutes",
    ..Scheme::BASE
};

/// The default: the webhook token in clear text.
pub const TOKEN: Scheme = Scheme {
    name: "buildkite-token",
    title: "Buildkite (token)",
    signature: Signature {
        at: &[Loc::Header("x-buildkite-token")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[
        Loc::Json("job.id"),
        Loc::Json("build.id"),
        Loc::Json("agent.id"),
    ],
    evidence: Evidence::Docs("Buildkite's docs (buildkite/docs _webhook_token.md): the token compared as sent"),
    note: "a clear-text token proves the sender, not the content (prefer `buildkite`); no event id (duplicates by body digest); no timestamp",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &TOKEN];

#[cfg(test)]
mod tests {
    use super::{SCHEME, TOKEN};
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "buildkite-webhook-token";
    /// A `build.finished` event in the shape of Buildkite's build events reference, shortened.
    const BODY: &[u8] = br#"{"event":"build.finished","build":{"id":"f62a1b4d-10f9-4790-bc1c-e2c3a0c80983","graphql_id":"QnVpbGQtLS1mYmQ2Zjk3OS0yOTRhLTQ3ZjItOTU0Ni1lNTk0M2VlMTAwNzE=","url":"https://api.buildkite.com/v2/organizations/acme-inc/pipelines/my-pipeline/builds/1","number":1,"state":"passed","created_at":"2023-11-14T22:10:00.000Z","finished_at":"2023-11-14T22:13:19.000Z"},"pipeline":{"slug":"my-pipeline"},"sender":{"id":"8a7693f8-dbae-4783-9137-84090fce9045","name":"Some Person"}}"#;
    /// Derived from Buildkite's docs (hex HMAC-SHA256 of `{ts}.{body}`, computed with Python's
    /// hmac), not published.
    const HEADER: &str =
        "timestamp=1700000000,signature=600a3e5f43f3dee34bf201ed1dab9e1a91409acc87cffe29b91617fb22a63c17";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-buildkite-signature", HEADER)],
        );
    }

    #[test]
    fn round_trip_tampering_and_window() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    /// No `round_trip` for the token: it covers no byte of the body, so the helper's every-byte
    /// tampering check does not apply.
    #[test]
    fn the_token_must_equal_the_secret_and_covers_nothing() {
        let header = "x-buildkite-token";
        check(&TOKEN, &[SECRET.as_bytes()], &[(header, SECRET)], BODY, NOW)
            .expect("the token verifies");
        let label = check(
            &TOKEN,
            &[b"new-token", SECRET.as_bytes()],
            &[(header, SECRET)],
            BODY,
            NOW,
        )
        .expect("the older of two tokens verifies");
        assert_eq!(label, "secret-1");
        assert!(!TOKEN.signs(&crate::core::scheme::Loc::Json("event")));
        assert!(SCHEME.signs(&crate::core::scheme::Loc::Json("event")));
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-buildkite-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // The token header alone does not satisfy the signature scheme.
            (
                &[("x-buildkite-token", SECRET)],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, "signature=600a3e5f")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "timestamp=soon,signature=600a3e5f")],
                VerifyError::InvalidTimestamp {
                    header: "timestamp",
                },
            ),
            (
                &[(header, &HEADER.replace("1700000000", "1700000001"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[
                    (header, HEADER),
                    (header, "timestamp=1700000001,signature=00"),
                ],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        let header = "x-buildkite-token";
        assert_missing_and_duplicate(&TOKEN, SECRET, BODY, NOW, &[(header, SECRET)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, "another-token")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "buildkite-webhook-toke")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&TOKEN, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("buildkite", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-buildkite-event", "build.finished"),
                    ("x-buildkite-signature", HEADER),
                ],
                BODY,
                NOW + 5,
            ),
            Want {
                id: Id::Digest,
                ty: "buildkite.build.finished",
                subject: Some("f62a1b4d-10f9-4790-bc1c-e2c3a0c80983"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        let d = deliver(
            Source::new("buildkite-token", &TOKEN),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-buildkite-token", SECRET),
                ],
                BODY,
                NOW,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes[0]["type"], "buildkite-token.build.finished");
        assert_eq!(
            d.envelopes[0]["subject"],
            "f62a1b4d-10f9-4790-bc1c-e2c3a0c80983"
        );
        let forged = deliver(
            Source::new("buildkite-token", &TOKEN),
            SECRET,
            Request::post(&[("x-buildkite-token", "another-token")], BODY, NOW),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
