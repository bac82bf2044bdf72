//! Gitea and Forgejo: `X-Gitea-Signature: <hex HMAC-SHA256(secret, payload)>` (Forgejo also sends
//! the same value as `X-Forgejo-Signature`, and both send GitHub's and Gogs' headers). The signed
//! payload is the event JSON: for JSON hooks the raw body, but for form hooks
//! (`application/x-www-form-urlencoded`, `payload=<json>`) the JSON *inside* the `payload` field,
//! not the bytes on the wire; the code below hands the verifier that JSON. The event
//! (`X-Gitea-Event`) and delivery id (`X-Gitea-Delivery`) are unsigned headers, held to a strict
//! character set, and duplicates are recognised by the body digest. No timestamp. A hook without a
//! secret sends an empty signature, which never matches.

use crate::core::normalize::{body_kind, BodyKind};
use crate::core::scheme::*;
use crate::core::verify::{Unverified, VerifyError};

pub const SCHEME: Scheme = Scheme {
    name: "gitea",
    title: "Gitea",
    signature: Signature {
        at: &[Loc::Header("x-gitea-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Header("x-gitea-delivery")],
    ty: &[
        TypePart::Required(Loc::Header("x-gitea-event")),
        TypePart::Optional(Loc::Json("action")),
    ],
    subject: &[
        Loc::Json("repository.full_name"),
        Loc::Json("organization.username"),
    ],
    body: Body {
        json: true,
        form: Form::JsonIn("payload"),
        other: false,
    },
    custom: Some(&FormPayload),
    evidence: Evidence::Docs("Gitea's own sender, services/webhook/deliver.go"),
    note: "id and type are unsigned headers (validated); duplicates by body digest; form hooks sign the JSON in `payload`; GET hooks are not supported",
    // Identical bytes can be distinct events: a push carries no event id or time.
    repeats: Repeats::Distinct,
    ..Scheme::BASE
};

/// Forgejo under its own headers (`X-Forgejo-Signature`, `-Delivery`, `-Event`). A Forgejo that
/// sends only `X-Gitea-*` headers is served by the `gitea` scheme.
pub const FORGEJO: Scheme = Scheme {
    name: "forgejo",
    title: "Forgejo",
    signature: Signature {
        at: &[Loc::Header("x-forgejo-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Header("x-forgejo-delivery")],
    ty: &[
        TypePart::Required(Loc::Header("x-forgejo-event")),
        TypePart::Optional(Loc::Json("action")),
    ],
    ..SCHEME
};

/// Form hooks sign the JSON in the `payload` field, not the form on the wire.
#[derive(Debug)]
struct FormPayload;

impl Custom for FormPayload {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        if body_kind(req.headers) != BodyKind::Form {
            return None;
        }
        let mut payloads = form_urlencoded::parse(req.body).filter(|(k, _)| k == "payload");
        Some(match (payloads.next(), payloads.next()) {
            (Some((_, json)), None) => Ok(json.into_owned().into_bytes()),
            (Some(_), Some(_)) => Err(VerifyError::DuplicateHeader { header: "payload" }),
            (None, _) => Err(VerifyError::MissingHeader { header: "payload" }),
        })
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &FORGEJO];

#[cfg(test)]
mod tests {
    use super::{FORGEJO, SCHEME};
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "gitea-webhook-secret";
    const BODY: &[u8] = br#"{"ref":"refs/heads/main","repository":{"full_name":"alice/demo"}}"#;
    /// Derived from https://docs.gitea.com/usage/webhooks (hex HMAC-SHA256 of the payload, computed
    /// with Python's hmac), not published.
    const SIG: &str = "86902e4d4e49f05ea8a25cf62aee234a46f8016e76c598ce9cddc8604cbf2228";
    /// The same payload as a form hook sends it (Go's `url.Values.Encode`).
    const FORM: &[u8] = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%2C%22repository%22%3A%7B%22full_name%22%3A%22alice%2Fdemo%22%7D%7D";
    const FORM_TYPE: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    #[test]
    fn derived_vectors() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-gitea-signature", SIG)],
        );
        vector(
            &FORGEJO,
            SECRET.as_bytes(),
            BODY,
            &[("x-forgejo-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
        round_trip(&FORGEJO, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn form_hooks_sign_the_json_inside_the_payload_field() {
        let key = SECRET.as_bytes();
        let header = "x-gitea-signature";
        check(&SCHEME, &[key], &[FORM_TYPE, (header, SIG)], FORM, 0)
            .expect("the inner JSON's signature verifies the form");
        // A signature of the bytes on the wire is not Gitea's.
        let wire = hex::encode(crate::core::verify::engine::hmac_sha256(key, FORM));
        assert_eq!(
            check(&SCHEME, &[key], &[FORM_TYPE, (header, &wire)], FORM, 0),
            Err(VerifyError::SignatureMismatch { header })
        );
        // The same form bytes read as JSON are not the signed JSON either.
        assert!(check(&SCHEME, &[key], &[(header, SIG)], FORM, 0).is_err());
        let twice = [FORM, b"&", FORM].concat();
        assert_eq!(
            check(&SCHEME, &[key], &[FORM_TYPE, (header, SIG)], &twice, 0),
            Err(VerifyError::DuplicateHeader { header: "payload" })
        );
        assert_eq!(
            check(&SCHEME, &[key], &[FORM_TYPE, (header, SIG)], b"other=1", 0),
            Err(VerifyError::MissingHeader { header: "payload" })
        );
    }

    #[test]
    fn a_hook_without_a_secret_never_matches() {
        let header = "x-gitea-signature";
        let cases: &[(&str, VerifyError)] = &[
            ("", VerifyError::SignatureMismatch { header }),
            (
                "sha256=86902e4d",
                VerifyError::MalformedSignature { header },
            ),
            (&SIG[..63], VerifyError::MalformedSignature { header }),
            (&SIG[..62], VerifyError::SignatureMismatch { header }),
        ];
        for (value, want) in cases {
            let got = check(&SCHEME, &[SECRET.as_bytes()], &[(header, value)], BODY, 0)
                .expect_err("must fail");
            assert_eq!(&got, want, "{value:?}");
        }
    }

    #[test]
    fn json_hooks_normalize_like_github() {
        let body = br#"{"action":"opened","number":1,"repository":{"full_name":"alice/demo"}}"#;
        let sig = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            body,
        ));
        let d = deliver(
            Source::new("gitea", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-gitea-signature", &sig),
                    ("x-gitea-event", "pull_request"),
                    ("x-gitea-event-type", "pull_request"),
                    ("x-gitea-delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
                ],
                body,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "f6266f16-1bf3-46a5-9ea4-602e06ead473");
        assert_eq!(e["type"], "gitea.pull_request.opened");
        assert_eq!(e["subject"], "alice/demo");
    }

    #[test]
    fn form_hooks_deliver_the_inner_json() {
        let d = deliver(
            Source::new("forgejo", &FORGEJO),
            SECRET,
            Request::post(
                &[
                    FORM_TYPE,
                    ("x-forgejo-signature", SIG),
                    ("x-forgejo-event", "push"),
                    ("x-forgejo-delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
                    ("x-gitea-signature", SIG),
                    ("x-gitea-event", "push"),
                ],
                FORM,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["type"], "forgejo.push");
        assert_eq!(e["subject"], "alice/demo");
        assert_eq!(e["data"]["ref"], "refs/heads/main");
        assert_eq!(e["datacontenttype"], "application/json");
    }
}
