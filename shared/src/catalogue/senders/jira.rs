//! Jira (Cloud admin webhooks and Jira Data Center webhooks registered with a secret):
//! `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`, the secret used as its UTF-8
//! bytes (the WebSub `method=signature` form). Atlassian's Data Center guide
//! (https://confluence.atlassian.com/adminjiraserver/managing-webhooks-938846912.html, "Securing
//! your webhook": "each request is signed via a Hash-based Message Authentication Code (HMAC). The
//! default for this algorithm is HMACSha256. The header X-Hub-Signature is defined and contains
//! the HMAC ... `sha256=…`") and the Cloud page
//! (https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks) describe
//! it; n8n's Jira Trigger node (n8n-io/n8n#8822) and jira.js's `verifyWebhookSignature` verify the
//! same bytes. Only `sha256` is accepted; a webhook registered without a secret is unsigned and
//! refused (so are Connect app webhooks, which Atlassian authenticates with a JWT instead; not
//! supported here).
//! No timestamp is signed, so no replay window applies. The body is one event: `webhookEvent`
//! the type (`jira.jira:issue_created`, `jira.comment_created`), `issue.key` the subject,
//! `timestamp` (milliseconds) the time. The body carries no event id: the envelope id is the
//! `X-Atlassian-Webhook-Identifier` header, which Atlassian documents as unique per delivery and
//! unchanged across retries (with `X-Atlassian-Webhook-Retry` counting them), but which the
//! signature does not cover, so duplicates are recognised by the body digest (its millisecond
//! `timestamp` differs from event to event). No handshake, no batches.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "jira",
    title: "Jira",
    signature: Signature {
        at: &[Loc::Header("x-hub-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    id: &[Loc::Header("x-atlassian-webhook-identifier"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("webhookEvent"))],
    subject: &[Loc::Json("issue.key"), Loc::Json("project.key")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Millis)],
    evidence: Evidence::Docs("n8n-io/n8n's Jira Trigger node (X-Hub-Signature, PR 8822)"),
    note: "no timestamp is signed, so no replay window applies; the delivery id (X-Atlassian-Webhook-Identifier) is an unsigned header (validated), duplicates by body digest; only webhooks registered with a secret are signed",
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

    const SECRET: &str = "jira-webhook-secret";
    /// A `jira:issue_created` event in the shape of
    /// https://developer.atlassian.com/cloud/jira/platform/webhooks/#example-callback-for-an-issue-related-event,
    /// shortened.
    const BODY: &[u8] = br#"{"timestamp":1700000000123,"webhookEvent":"jira:issue_created","issue_event_type_name":"issue_created","user":{"accountId":"5b10a2844c20165700ede21g","displayName":"Mia Krystof"},"issue":{"id":"10002","self":"https://example.atlassian.net/rest/api/2/10002","key":"ED-1","fields":{"summary":"Test"}}}"#;
    /// Derived from Atlassian's docs (hex HMAC-SHA256 of the body, computed with Python's hmac),
    /// not published.
    const SIG: &str = "sha256=5df9912d8c5ab11129d41f8e68177046dd21d4f612290a1c33610edf6afb9dc3";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-hub-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-hub-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &SIG["sha256=".len()..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace("sha256=", "sha1="))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("jira", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-hub-signature", SIG),
                    (
                        "x-atlassian-webhook-identifier",
                        "ec0db5fe-60b1-4e1c-9c3a-3d2b8f0a5e77",
                    ),
                    ("x-atlassian-webhook-flow", "Primary"),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("ec0db5fe-60b1-4e1c-9c3a-3d2b8f0a5e77"),
                ty: "jira.jira:issue_created",
                subject: Some("ED-1"),
                time: "2023-11-14T22:13:20.123Z",
            },
        );
    }
}
