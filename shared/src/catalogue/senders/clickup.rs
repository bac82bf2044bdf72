//! ClickUp: `X-Signature: <hex HMAC-SHA256(secret, raw body)>`, the webhook's `secret` (returned
//! when the webhook is created) used as its UTF-8 bytes. ClickUp's docs
//! (https://developer.clickup.com/docs/webhooksignature: "a signature will be created by hashing
//! the body of the request ... with the shared secret ... sent in the X-Signature http header
//! ... Signatures will always be digested using hexadecimal", with the Node verifier
//! `createHmac('sha256', key).update(body).digest('hex')`) name all of it. The docs' example
//! `X-Signature: f7bc83f430538424b13298e6aa6` is truncated, so it is no vector. The body is one
//! event: `event` the type (`clickup.taskcreated`), `task_id` (else `list_id`, `folder_id`,
//! `space_id`, `goal_id`) the subject, the first history item's `date` (milliseconds, as a
//! string) the time. The envelope id is the first history item's `id` (signed; one per change),
//! else the body digest for the few events without history items. No timestamp is signed, so
//! no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "clickup",
    title: "ClickUp",
    signature: Signature {
        at: &[Loc::Header("x-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("history_items.0.id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[
        Loc::Json("task_id"),
        Loc::Json("list_id"),
        Loc::Json("folder_id"),
        Loc::Json("space_id"),
        Loc::Json("goal_id"),
    ],
    time: &[TimeLoc::At(Loc::Json("history_items.0.date"), Unit::Millis)],
    evidence: Evidence::Docs("ClickUp's own Node.js verifier in its Webhook signature docs"),
    note: "id: the first history item's id (signed), else the body digest; no timestamp is signed, so no replay window applies",
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

    const SECRET: &str = "clickup-webhook-secret";
    /// A `taskCreated` event in the shape of ClickUp's task webhook payloads, shortened.
    const BODY: &[u8] = br#"{"event":"taskCreated","history_items":[{"id":"2800763136717140857","type":1,"date":"1642734631523","field":"status","parent_id":"162641062","data":{"status_type":"open"},"source":null,"user":{"id":183,"username":"John"},"before":{"status":null},"after":{"status":"to do"}}],"task_id":"1vj37mc","webhook_id":"7fa3ec74-69a8-4530-a251-8a13730bd204"}"#;
    /// Derived from ClickUp's docs (hex HMAC-SHA256 of the body, computed with Python's hmac),
    /// not published.
    const SIG: &str = "abb8fac41dcf1681a3c21c06b3a634151b20f78b176d8cd8d629cf80625bac94";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("x-signature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &format!("sha256={SIG}"))],
            VerifyError::MalformedSignature { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("clickup", &SCHEME),
            SECRET,
            Request::post(
                &[("content-type", "application/json"), ("x-signature", SIG)],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("2800763136717140857"),
                ty: "clickup.taskcreated",
                subject: Some("1vj37mc"),
                time: "2022-01-21T03:10:31.523Z",
            },
        );
    }
}
