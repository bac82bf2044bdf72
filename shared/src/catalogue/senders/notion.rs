//! Notion (integration webhooks): `X-Notion-Signature: sha256=<hex HMAC-SHA256(verification
//! token, raw body)>`, the subscription's `verification_token` used as its UTF-8 bytes.
//!
//! Sources:
//! - https://developers.notion.com/reference/webhooks ("Step 2 - Verifying the subscription":
//!   on creation "Notion sends a one-time POST request to your webhook URL. The body of the
//!   request contains a `verification_token`", which the user pastes into the integration's
//!   Webhooks tab to verify it; "Step 3 - Validating event payloads": every event carries
//!   `X-Notion-Signature`, `sha256=` and the hex HMAC-SHA256 of the body keyed with that token).
//! - https://developers.notion.com/reference/webhooks-events-delivery and the event pages
//!   (https://developers.notion.com/reference/webhooks/page-created …): one event per POST; `id`
//!   "unique identifier for this webhook event", `timestamp` ISO 8601, `type`
//!   (`page.created`, `comment.created`, `data_source.schema_updated` …), `entity` (`id`,
//!   `type`), `attempt_number` (1 to 8: deliveries are retried, and a retry changes it, so the
//!   body digest cannot recognise retries; that `id` is the same on every attempt is inferred
//!   from its description and `attempt_number`, not stated).
//! - Cross-checked against notionrs_webhooks 0.2.0 `src/verify_signature.rs` (an independent
//!   Rust verifier: `sha256=` prefix, hex, HMAC-SHA256 of the raw body under the token). Notion
//!   publishes no vector and no SDK verifies: ours are derived with Python's `hmac`, not
//!   published.
//!
//! The verification request ([`Handshake::NotionVerification`], answered by the pipeline, never
//! enqueued) is unsigned: an unsigned POST whose JSON body has the one member
//! `verification_token`. The token is the only secret Notion gives, and the operator must read
//! it to paste it back into Notion, so Inlet stores it as the source's secret, only when the
//! operator opted in: the source's secret must hold `inlet:await-handshake`
//! ([`crate::ports::secrets::AWAIT_HANDSHAKE`]) when the subscription is created, stored there at most
//! an hour before ([`crate::ports::secrets::AWAIT_WINDOW`]; an older awaiting value takes none). The first such
//! request's token (16 to 512 printable characters) is stored create-if-absent (Secrets Manager
//! `PutSecretValue` on the function's own secret with a `ClientRequestToken` derived from the
//! awaiting version; the local server's file, created by a hard link) and answered 200 with no
//! body; it verifies deliveries at once. It is never logged nor echoed: the operator reads it
//! from the store (`aws secretsmanager get-secret-value --secret-id <the stack's
//! <source>SecretArn output> --query SecretString --output text`, or the local server's file)
//! and pastes it into Notion. Any other verification request (the secret is set, another came
//! first, no writable store, a value that cannot be a secret) is answered as an unsigned
//! delivery is, 401, storing nothing. If the stored token is not the one Notion shows as sent,
//! someone else's request came first: set the awaiting value again and have Notion resend it.
//!
//! The envelope: id the event's `id` (signed), type its `type` (`notion.page.created`), subject
//! `entity.id`, time `timestamp`. No timestamp is signed, so no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "notion",
    title: "Notion",
    signature: Signature {
        at: &[Loc::Header("x-notion-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("entity.id")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339)],
    handshakes: &[Handshake::NotionVerification],
    evidence: Evidence::Docs("notionrs_webhooks 0.2.0 src/verify_signature.rs"),
    note: "the verification_token request is stored as the secret only while the source's secret is inlet:await-handshake (Secrets Manager or the local server), where the operator reads it to paste into Notion; no timestamp is signed, so no replay window applies (duplicates by the signed event id)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::handshake::testing::{Instance, MemorySecret};
    use crate::core::verify::VerifyError;
    use crate::ports::secrets::AWAIT_HANDSHAKE;
    use crate::tests::*;

    /// The token of the verification example in https://developers.notion.com/reference/webhooks.
    const SECRET: &str = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
    const VERIFICATION: &[u8] =
        br#"{"verification_token":"secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"}"#;
    /// A `page.created` event as https://developers.notion.com/reference/webhooks/page-created
    /// shows it.
    const BODY: &[u8] = br#"{"id":"367cba44-b6f3-4c92-81e7-6a2e9659efd4","timestamp":"2024-12-05T23:55:34.285Z","workspace_id":"13950b26-c203-4f3b-b97d-93ec06319565","workspace_name":"Quantify Labs","subscription_id":"29d75c0d-5546-4414-8459-7b7a92f1fc4b","integration_id":"0ef2e755-4912-8096-91c1-00376a88a5ca","authors":[{"id":"c7c11cca-1d73-471d-9b6e-bdef51470190","type":"person"}],"attempt_number":1,"type":"page.created","entity":{"id":"153104cd-477e-809d-8dc4-ff2d96ae3090","type":"page"},"data":{"parent":{"id":"13950b26-c203-805f-bc41-eac4ab5eb9a3","type":"space"}}}"#;
    /// Derived from the docs (hex HMAC-SHA256 of the body under the token, computed with
    /// Python's hmac), not published.
    const SIG: &str = "sha256=cfe74786b14a02d18589963d174cad57514af05a6759769ac783293832bf00c0";
    const NOW: u64 = 1_700_000_000;
    const H: &str = "x-notion-signature";

    fn source() -> Source {
        Source::new("notion", &SCHEME)
    }

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(H, SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = H;
        let bare = SIG.trim_start_matches("sha256=");
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &SIG.replace('c', "d"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, bare)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha256=not hex")],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            source(),
            SECRET,
            Request::post(&[(H, SIG)], BODY, NOW),
            Want {
                id: Id::Is("367cba44-b6f3-4c92-81e7-6a2e9659efd4"),
                ty: "notion.page.created",
                subject: Some("153104cd-477e-809d-8dc4-ff2d96ae3090"),
                time: "2024-12-05T23:55:34.285Z",
            },
        );
    }

    #[test]
    fn the_first_verification_of_an_awaiting_source_is_stored_never_echoed() {
        let stored = MemorySecret::default();
        let fn_ = Instance::new(source(), AWAIT_HANDSHAKE, &stored);
        assert_eq!(fn_.post(&[(H, SIG)], BODY, NOW).reply.status, 401);
        let d = fn_.post(&[("content-type", "application/json")], VERIFICATION, NOW);
        assert_eq!(d.reply.status, 200, "{}", d.text());
        assert!(
            d.reply.body.is_empty(),
            "the token is read from the store, not the reply"
        );
        assert!(d.reply.headers.iter().all(|(_, v)| !v.contains(SECRET)));
        assert!(d.envelopes.is_empty(), "a handshake is never enqueued");
        assert_eq!(stored.value().as_deref(), Some(SECRET));
        let d = fn_.post(&[(H, SIG)], BODY, NOW);
        assert_eq!(
            (d.reply.status, d.envelopes.len()),
            (202, 1),
            "{}",
            d.text()
        );

        // A forged later verification request: refused, nothing stored, nothing revealed.
        let forged = br#"{"verification_token":"secret_attackerChosen0123456789"}"#;
        let d = fn_.post(&[], forged, NOW);
        assert_eq!(d.reply.status, 401, "{}", d.text());
        assert!(!d.text().contains(SECRET) && !d.text().contains("attacker"));
        assert!(d.envelopes.is_empty());
        assert_eq!(stored.value().as_deref(), Some(SECRET));
        assert_eq!(fn_.post(&[(H, SIG)], BODY, NOW + 1).reply.status, 202);
    }

    #[test]
    fn verification_requests_are_refused_unless_the_source_awaits_one() {
        let stored = MemorySecret::default();
        let fn_ = Instance::new(source(), SECRET, &stored);
        let unsigned = fn_.post(&[], b"{}", NOW);
        let forged = br#"{"verification_token":"secret_attackerChosen0123456789"}"#;
        let d = fn_.post(&[], forged, NOW);
        assert_eq!((d.reply.status, d.text()), (401, unsigned.text()));
        assert_eq!(stored.value().as_deref(), Some(SECRET));
        let d = deliver(source(), SECRET, Request::post(&[], forged, NOW));
        assert_eq!(d.reply.status, 401);

        // Awaiting: bodies that are not the verification request are not one; bad tokens are
        // refused and the source keeps awaiting.
        let stored = MemorySecret::default();
        let fn_ = Instance::new(source(), AWAIT_HANDSHAKE, &stored);
        let not_one: &[&[u8]] = &[
            br#"{"verification_token":"secret_attackerChosen0123456789","type":"page.created"}"#,
            br#"{"verification_token":"short"}"#,
            br#"{"verification_token":123456789012345678}"#,
            br#"{"verification_token":"inlet:await-handshake"}"#,
        ];
        for body in not_one {
            let d = fn_.post(&[], body, NOW);
            assert_eq!(d.reply.status, 401, "{}", String::from_utf8_lossy(body));
        }
        // Signed like a delivery: not the verification request.
        let d = fn_.post(&[(H, SIG)], VERIFICATION, NOW);
        assert_eq!(d.reply.status, 401);
        assert_eq!(stored.value(), None);
        assert_eq!(fn_.post(&[], VERIFICATION, NOW).reply.status, 200);
    }
}
