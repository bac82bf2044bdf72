//! GitLab (classic secret token): `X-Gitlab-Token: <secret>`, compared with the configured token
//! in constant time. A token proves who sent the request, not what it says, so nothing is signed:
//! the id (`Idempotency-Key` in newer GitLab, the same on every retry; else `X-Gitlab-Event-UUID`;
//! else the body digest) and the type (body `object_kind`, plus `object_attributes.action` where
//! there is one; `event_name` for member, subgroup and system-hook events, which have no
//! `object_kind`) are unsigned, and duplicates are recognised by the body digest. No timestamp.
//! `X-Gitlab-Event` (`Push Hook`) is not used: it holds spaces. GitLab's newer signing token is
//! Standard Webhooks (use the `standard` scheme).

use std::time::SystemTime;

use serde_json::value::RawValue;

use crate::core::normalize::{Disposition, NormalizeError};
use crate::core::scheme::*;
use crate::core::verify::Verified;

pub const SCHEME: Scheme = Scheme {
    name: "gitlab",
    title: "GitLab",
    signature: Signature {
        at: &[Loc::Header("x-gitlab-token")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Token,
    encoding: Encoding::Raw,
    id: &[
        Loc::Header("idempotency-key"),
        Loc::Header("x-gitlab-event-uuid"),
        Loc::Digest,
    ],
    ty: &[
        TypePart::Optional(Loc::Json("object_kind")),
        TypePart::Optional(Loc::Json("object_attributes.action")),
    ],
    subject: &[
        Loc::Json("project.path_with_namespace"),
        Loc::Json("group.full_path"),
        Loc::Json("group_path"),
    ],
    custom: Some(&EventName),
    evidence: Evidence::Docs("GitLab's own sender, web_hook_service.rb; akuity/kargo"),
    note: "a shared token signs nothing: id (Idempotency-Key) and type (object_kind) are unsigned; duplicates by body digest",
    // Identical bytes can be distinct events: a push carries no event id or time.
    repeats: Repeats::Distinct,
    ..Scheme::BASE
};

/// Member, subgroup and system-hook events: `event_name` instead of `object_kind`.
const BY_EVENT_NAME: Scheme = Scheme {
    ty: &[TypePart::Required(Loc::Json("event_name"))],
    custom: None,
    ..SCHEME
};

/// Types events that have no `object_kind` by their `event_name`.
#[derive(Debug)]
struct EventName;

impl Custom for EventName {
    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        // A body that is not JSON is left to the engine, which refuses it.
        let raw: &RawValue = serde_json::from_slice(v.body()).ok()?;
        let has = |path: &str| crate::core::json::lookup(raw, path).is_some();
        (!has("object_kind") && has("event_name"))
            .then(|| crate::core::normalize::engine::normalize(source, &BY_EVENT_NAME, v, received))
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the token proves the sender but covers no byte of the body, so the helper's
/// every-byte tampering check does not apply (nothing from the body is trusted instead).
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const TOKEN: &str = "gitlab-secret-token";
    const PUSH: &[u8] = br#"{"object_kind":"push","event_name":"push","ref":"refs/heads/main","project":{"id":15,"path_with_namespace":"mike/diaspora"}}"#;

    #[test]
    fn the_token_must_equal_the_secret() {
        // The recipe from https://docs.gitlab.com/user/project/integrations/webhooks/ (not
        // published as a vector): the header carries the secret token verbatim.
        let header = "x-gitlab-token";
        check(&SCHEME, &[TOKEN.as_bytes()], &[(header, TOKEN)], PUSH, 0)
            .expect("the token verifies");
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "gitlab-secret-toke")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "gitlab-secret-token2")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "GITLAB-SECRET-TOKEN")],
                VerifyError::SignatureMismatch { header },
            ),
            (&[(header, "")], VerifyError::SignatureMismatch { header }),
            (
                &[(header, TOKEN), (header, TOKEN)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[TOKEN.as_bytes()], PUSH, 0, cases);
        // The older of two active tokens still verifies (rotation).
        let label = check(
            &SCHEME,
            &[b"new-token", TOKEN.as_bytes()],
            &[(header, TOKEN)],
            PUSH,
            0,
        )
        .expect("the older token verifies");
        assert_eq!(label, "secret-1");
    }

    #[test]
    fn a_token_does_not_cover_the_body_so_nothing_from_it_is_trusted() {
        assert!(!SCHEME.signs(&crate::core::scheme::Loc::Json("object_kind")));
        assert!(!SCHEME.signs(&crate::core::scheme::Loc::Header("idempotency-key")));
    }

    #[test]
    fn push_events_are_typed_by_object_kind() {
        let d = deliver(
            Source::new("gitlab", &SCHEME),
            TOKEN,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-gitlab-token", TOKEN),
                    ("x-gitlab-event", "Push Hook"),
                    ("idempotency-key", "908a6d9e-45fd-46c8-97e6-c4f350f219dd"),
                    (
                        "x-gitlab-event-uuid",
                        "13792a34-cac6-4fda-95a8-c58e00a3954e",
                    ),
                ],
                PUSH,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "908a6d9e-45fd-46c8-97e6-c4f350f219dd");
        assert_eq!(e["type"], "gitlab.push");
        assert_eq!(e["subject"], "mike/diaspora");
    }

    #[test]
    fn merge_requests_carry_their_action_and_older_gitlab_falls_back() {
        let body = br#"{"object_kind":"merge_request","event_type":"merge_request","project":{"path_with_namespace":"gitlabhq/gitlab-test"},"object_attributes":{"iid":1,"action":"open"}}"#;
        let d = deliver(
            Source::new("gitlab", &SCHEME),
            TOKEN,
            Request::post(
                &[
                    ("x-gitlab-token", TOKEN),
                    ("x-gitlab-event", "Merge Request Hook"),
                    (
                        "x-gitlab-event-uuid",
                        "13792a34-cac6-4fda-95a8-c58e00a3954e",
                    ),
                ],
                body,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "13792a34-cac6-4fda-95a8-c58e00a3954e");
        assert_eq!(e["type"], "gitlab.merge_request.open");
        assert_eq!(e["subject"], "gitlabhq/gitlab-test");
    }

    #[test]
    fn member_events_are_typed_by_event_name() {
        let body = br#"{"created_at":"2020-12-11T04:57:22Z","group_name":"webhook-test","group_path":"webhook-test","group_id":100,"user_username":"test_user","group_access":"Guest","event_name":"user_add_to_group"}"#;
        let d = deliver(
            Source::new("gitlab", &SCHEME),
            TOKEN,
            Request::post(
                &[("x-gitlab-token", TOKEN), ("x-gitlab-event", "Member Hook")],
                body,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["type"], "gitlab.user_add_to_group");
        assert_eq!(e["subject"], "webhook-test");
        let id = e["id"].as_str().expect("id");
        assert_eq!(id.len(), 36, "no id header: an id of its own, {id}");
    }

    /// A push carries no event id or time: two pushes of one tag to one commit are the same
    /// bytes, told apart by GitLab's Idempotency-Key, which a retry repeats.
    #[test]
    fn identical_bytes_are_told_apart_by_the_idempotency_key() {
        let with = |key| {
            [
                ("x-gitlab-token", TOKEN),
                ("x-gitlab-event", "Push Hook"),
                ("idempotency-key", key),
            ]
        };
        let (a, b) = (
            with("908a6d9e-45fd-46c8-97e6-c4f350f219dd"),
            with("2b5e1a7c-0c8d-4a3e-9f6b-1d2c3e4f5a6b"),
        );
        assert_told_apart_by_delivery_id(
            Source::new("gitlab", &SCHEME),
            TOKEN,
            Request::post(&a, PUSH, 1_700_000_000),
            Request::post(&b, PUSH, 1_700_000_000),
        );
        // Without one (older GitLab): each delivery is queued.
        assert_identical_bytes_are_two_events(
            Source::new("gitlab", &SCHEME),
            TOKEN,
            Request::post(&[("x-gitlab-token", TOKEN)], PUSH, 1_700_000_000),
        );
    }

    #[test]
    fn a_wrong_token_is_refused_and_nothing_is_queued() {
        let d = deliver(
            Source::new("gitlab", &SCHEME),
            TOKEN,
            Request::post(&[("x-gitlab-token", "guess")], PUSH, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 401);
        assert!(d.envelopes.is_empty());
    }
}
