//! Asana: `X-Hook-Signature: <hex HMAC-SHA256(hook secret, raw body)>`, the secret Asana handed
//! over in the webhook's creation handshake, used as its UTF-8 bytes.
//!
//! Sources:
//! - https://developers.asana.com/docs/webhooks-guide (every event carries `X-Hook-Signature`,
//!   the hex HMAC-SHA256 of the request body keyed with the handshake's `X-Hook-Secret`; no
//!   answer within 10 s is retried "for up to 24 hours";
//!   at-most-once otherwise, no replay). That `{"events":[]}` is a heartbeat is the issue's and
//!   Prismatic's Asana component's (`isHeartbeatData`) reading, not words found in the guide's
//!   text: it is handled as any empty batch is.
//! - https://developers.asana.com/reference/createwebhook (the handshake: "we will send a test
//!   POST to the target with an `X-Hook-Secret` header. The target must respond with a `200 OK`
//!   or `204 No Content` and a matching `X-Hook-Secret` header"; its example secret is the
//!   64-hex-digit value our tests use).
//! - Cross-checked against Asana's own example server, Asana/devrel-examples
//!   `javascript/webhooks-nodejs/index.js`: hex HMAC-SHA256 under the stored `X-Hook-Secret`,
//!   echoing the handshake's header with 200. (It MACs `JSON.stringify` of the parsed body, which
//!   equals the raw body only because Asana sends compact JSON; we MAC the raw bytes, as the
//!   guide says.) No SDK verifies deliveries and Asana publishes no vector: ours are derived with
//!   Python's `hmac`, not published.
//!
//! The handshake ([`Handshake::AsanaHookSecret`], answered by the pipeline, never enqueued): the
//! `X-Hook-Secret` is the only secret Asana ever gives, so Inlet stores it as the source's secret
//! itself, and only when the operator opted in: the source's secret must hold
//! `inlet:await-handshake` ([`crate::ports::secrets::AWAIT_HANDSHAKE`]) when the webhook is created,
//! stored there at most an hour before ([`crate::ports::secrets::AWAIT_WINDOW`], Secrets Manager's
//! version date; an older awaiting value takes no handshake).
//! The first handshake's value (16 to 512 printable characters) is then stored create-if-absent
//! (Secrets Manager `PutSecretValue` on the function's own secret with a `ClientRequestToken`
//! derived from the awaiting version, so of two racing handshakes one is stored; the local
//! server's file is created by a hard link), echoed with 200, and verifies deliveries at once.
//! Any other handshake (the secret is set, another came first, no writable store, a value that
//! cannot be a secret) is answered as an unsigned delivery is, 401, echoing and storing nothing.
//! An operator who sees Asana's webhook creation fail after setting the awaiting value knows
//! someone else's handshake came first: set it again and recreate the webhook.
//!
//! A delivery is a batch, `{"events":[…]}`; `{"events":[]}` is the heartbeat (signed; answered
//! 202 as an empty batch, nothing queued). Events carry no id: each envelope's id is the digest of the event's bytes
//! (Asana retries resend the same events; two distinct events differ at least in `created_at`,
//! milliseconds, `user`, `resource` or `change`: that they are never byte-identical is inferred,
//! not documented). Type `<resource.resource_type>.<action>` (`asana.task.changed`), subject
//! `resource.gid`, time `created_at`. No timestamp is signed, so no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "asana",
    title: "Asana",
    signature: Signature {
        at: &[Loc::Header("x-hook-signature")],
        format: Format::Plain,
        all: false,
    },
    batch: Some(Batch { items: "events" }),
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("resource.resource_type")),
        TypePart::Required(Loc::Json("action")),
    ],
    subject: &[Loc::Json("resource.gid")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    handshakes: &[Handshake::AsanaHookSecret],
    evidence: Evidence::Docs("Asana/devrel-examples javascript/webhooks-nodejs/index.js"),
    note: "the X-Hook-Secret handshake is stored as the secret only while the source's secret is inlet:await-handshake (Secrets Manager or the local server); a delivery is a batch, one envelope per event, id the event's digest (events carry no id); no timestamp is signed",
    repeats: Repeats::Retry,
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::handshake::testing::{header, Instance, MemorySecret};
    use crate::core::verify::VerifyError;
    use crate::ports::secrets::AWAIT_HANDSHAKE;
    use crate::tests::*;

    /// The handshake secret of https://developers.asana.com/reference/createwebhook's example.
    const SECRET: &str = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81";
    /// Two events in the shape of the guide's examples (a task's assignee changed, a story added).
    const BODY: &[u8] = br#"{"events":[{"user":{"gid":"1123","resource_type":"user"},"created_at":"2018-11-30T22:27:17.165Z","action":"changed","resource":{"gid":"1234","resource_type":"task","resource_subtype":"default_task"},"parent":null,"change":{"field":"assignee","action":"changed"}},{"user":{"gid":"1123","resource_type":"user"},"created_at":"2018-11-30T22:27:18.004Z","action":"added","resource":{"gid":"5678","resource_type":"story","resource_subtype":"assigned"},"parent":{"gid":"1234","resource_type":"task","resource_subtype":"default_task"}}]}"#;
    /// Derived from the guide (hex HMAC-SHA256 of the body, computed with Python's hmac), not
    /// published.
    const SIG: &str = "7b2d8ee831864a6c5686144398239d4ed22ffcc8b337de7de5a89ce1de94e554";
    /// The heartbeat, `{"events":[]}`, signed likewise (derived, not published).
    const HEARTBEAT_SIG: &str = "10468027b67df18c739cc4794c6fc2d2806dcaaf2259fc3e1ed9d26433659853";
    const NOW: u64 = 1_700_000_000;
    const H: &str = "x-hook-signature";

    fn source() -> Source {
        Source::new("asana", &SCHEME)
    }

    #[test]
    fn derived_vectors() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(H, SIG)]);
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            br#"{"events":[]}"#,
            &[(H, HEARTBEAT_SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = H;
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &SIG.replace('7', "8"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization_and_heartbeat() {
        let d = deliver(source(), SECRET, Request::post(&[(H, SIG)], BODY, NOW));
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        let (e, story) = (&d.envelopes[0], &d.envelopes[1]);
        assert!(e["id"].as_str().is_some_and(|id| id.starts_with("sha256:")));
        assert_ne!(e["id"], story["id"]);
        assert_eq!(e["type"], "asana.task.changed");
        assert_eq!(e["subject"], "1234");
        assert_eq!(e["time"], "2018-11-30T22:27:17.165Z");
        assert_eq!(story["type"], "asana.story.added");
        let heartbeat = deliver(
            source(),
            SECRET,
            Request::post(&[(H, HEARTBEAT_SIG)], br#"{"events":[]}"#, NOW),
        );
        // Answered as an empty batch: 202, nothing queued (Asana takes any 2xx).
        assert_eq!(heartbeat.reply.status, 202, "{}", heartbeat.text());
        assert!(heartbeat.envelopes.is_empty());
        assert_forged(
            source(),
            "another-secret",
            Request::post(&[(H, SIG)], BODY, NOW),
        );
        assert_identical_bytes_are_a_retry(source(), SECRET, Request::post(&[(H, SIG)], BODY, NOW));
    }

    #[test]
    fn the_first_handshake_of_an_awaiting_source_is_stored_and_echoed() {
        let stored = MemorySecret::default();
        let fn_ = Instance::new(source(), AWAIT_HANDSHAKE, &stored);
        // While it awaits, a delivery signed with anything is refused.
        assert_eq!(fn_.post(&[(H, SIG)], BODY, NOW).reply.status, 401);
        let d = fn_.post(&[("x-hook-secret", SECRET)], b"", NOW);
        assert_eq!(d.reply.status, 200, "{}", d.text());
        assert_eq!(header(&d, "x-hook-secret"), Some(SECRET));
        assert!(d.envelopes.is_empty(), "a handshake is never enqueued");
        assert_eq!(stored.value().as_deref(), Some(SECRET));
        // Picked up at once, without a restart.
        let d = fn_.post(&[(H, SIG)], BODY, NOW);
        assert_eq!(
            (d.reply.status, d.envelopes.len()),
            (202, 2),
            "{}",
            d.text()
        );

        // A later handshake, which anyone can send, neither replaces the secret nor is echoed.
        for forged in [SECRET, "attacker-chosen-secret-0123456789"] {
            let d = fn_.post(&[("x-hook-secret", forged)], b"", NOW);
            assert_eq!(d.reply.status, 401, "{}", d.text());
            assert_eq!(header(&d, "x-hook-secret"), None);
            assert!(!d.text().contains(forged) && !d.text().contains(SECRET));
            assert!(d.envelopes.is_empty());
        }
        assert_eq!(stored.value().as_deref(), Some(SECRET));
        assert_eq!(fn_.post(&[(H, SIG)], BODY, NOW + 1).reply.status, 202);
    }

    #[test]
    fn handshakes_are_refused_unless_the_source_awaits_one() {
        // A configured secret: every handshake is refused exactly as an unsigned request.
        let stored = MemorySecret::default();
        let fn_ = Instance::new(source(), SECRET, &stored);
        let unsigned = fn_.post(&[], b"{}", NOW);
        let d = fn_.post(
            &[("x-hook-secret", "attacker-chosen-secret-0123456789")],
            b"",
            NOW,
        );
        assert_eq!((d.reply.status, d.text()), (401, unsigned.text()));
        assert_eq!(header(&d, "x-hook-secret"), None);
        assert_eq!(stored.value().as_deref(), Some(SECRET));
        // A fixed secret with no writable store (the environment's): refused too.
        let d = deliver(
            source(),
            SECRET,
            Request::post(
                &[("x-hook-secret", "attacker-chosen-secret-0123456789")],
                b"",
                NOW,
            ),
        );
        assert_eq!(d.reply.status, 401);
        assert_eq!(header(&d, "x-hook-secret"), None);
        // An awaiting source refuses values that cannot be a secret, and stays awaiting.
        let stored = MemorySecret::default();
        let fn_ = Instance::new(source(), AWAIT_HANDSHAKE, &stored);
        for bad in [
            "short",
            AWAIT_HANDSHAKE,
            "{\"secrets\":[\"abcdefghijklmnop\"]}",
            "with space 0123456789",
        ] {
            let d = fn_.post(&[("x-hook-secret", bad)], b"", NOW);
            assert_eq!(d.reply.status, 401, "{bad}");
            assert_eq!(header(&d, "x-hook-secret"), None, "{bad}");
        }
        let twice = fn_.post(
            &[("x-hook-secret", SECRET), ("x-hook-secret", SECRET)],
            b"",
            NOW,
        );
        assert_eq!(twice.reply.status, 401);
        assert_eq!(stored.value(), None);
        assert_eq!(
            fn_.post(&[("x-hook-secret", SECRET)], b"", NOW)
                .reply
                .status,
            200
        );
    }

    #[test]
    fn of_two_instances_racing_only_the_first_handshake_is_stored() {
        // Two instances of the function, both started while the secret awaited a handshake.
        let stored = MemorySecret::default();
        let a = Instance::new(source(), AWAIT_HANDSHAKE, &stored);
        let b = Instance::new(source(), AWAIT_HANDSHAKE, &stored);
        assert_eq!(
            a.post(&[("x-hook-secret", SECRET)], b"", NOW).reply.status,
            200
        );
        let d = b.post(
            &[("x-hook-secret", "attacker-chosen-secret-0123456789")],
            b"",
            NOW,
        );
        assert_eq!(d.reply.status, 401);
        assert_eq!(header(&d, "x-hook-secret"), None);
        assert_eq!(stored.value().as_deref(), Some(SECRET));
    }
}
