//! Attio: `Attio-Signature: <hex HMAC-SHA256(webhook secret, raw body)>` (duplicated as
//! `X-Attio-Signature` "to support legacy middleware"), the secret used as its UTF-8 bytes.
//! Source: Attio's webhooks guide (https://docs.attio.com/rest-api/how-to/webhooks: "a SHA256
//! HMAC of the request body using your webhook secret", "We encode the Attio-Signature as a
//! hexadecimal string, and we only sign the request body"; retried up to 10 times over about
//! 3 days; an `Idempotency-Key` header "different for each message, but the same between retries
//! and redeliveries") and its webhook reference (e.g.
//! https://docs.attio.com/rest-api/webhook-reference/record-events/recordupdated: the body is
//! `{"webhook_id":…,"events":[…]}`, "Currently, each delivery contains exactly one event, but this
//! may change in the future to support batching"). `Attio-Signature` is read first, then
//! `X-Attio-Signature`. No timestamp is signed, so no replay window applies. Each event of
//! `events` is an envelope, typed by its `event_type` (`attio.record.updated`), subject the
//! record (else note, list entry, task, object) id in `id`. Events carry no id or time of their
//! own, so two updates of one attribute by one actor are identical bytes: repeats are `Distinct`
//! and nothing is suppressed (at-least-once). The unsigned `Idempotency-Key` is per message, not
//! per event, so it is not used as an event id.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "attio",
    title: "Attio",
    signature: Signature {
        at: &[
            Loc::Header("attio-signature"),
            Loc::Header("x-attio-signature"),
        ],
        format: Format::Plain,
        all: false,
    },
    batch: Some(Batch { items: "events" }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[
        Loc::Json("id.record_id"),
        Loc::Json("id.note_id"),
        Loc::Json("id.entry_id"),
        Loc::Json("id.task_id"),
        Loc::Json("id.list_id"),
        Loc::Json("id.object_id"),
    ],
    repeats: Repeats::Distinct,
    evidence: Evidence::Docs("Attio's Node.js verification example (webhooks guide)"),
    note: "hex HMAC-SHA256 of the body; one envelope per event of `events`; events carry no id: nothing is suppressed (at-least-once); no timestamp is signed",
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

    const SECRET: &str = "attio-webhook-secret";
    /// The `record.updated` example of Attio's webhook reference.
    const BODY: &[u8] = br#"{"webhook_id":"23e42eaf-323a-41da-b5bb-fd67eebda553","events":[{"event_type":"record.updated","id":{"workspace_id":"14beef7a-99f7-4534-a87e-70b564330a4c","object_id":"97052eb9-e65e-443f-a297-f2d9a4a7f795","record_id":"bf071e1f-6035-429d-b874-d83ea64ea13b","attribute_id":"41252299-f8c7-4b5e-99c9-4ff8321d2f96"},"actor":{"type":"workspace-member","id":"50cf242c-7fa3-4cad-87d0-75b1af71c57b"}}]}"#;
    /// Derived, not published: hex HMAC-SHA256 of the body, Python's hmac.
    const SIG: &str = "036854253881f8e0f33c9be078667a0fcfb2867bd52bd6f1f6237435a238ef39";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector_in_either_header() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("attio-signature", SIG)],
        );
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-attio-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "attio-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            // The first header present is the one read.
            (
                &[(header, &SIG.replace('3', "4")), ("x-attio-signature", SIG)],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let e = assert_envelope(
            Source::new("attio", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("attio-signature", SIG),
                    ("idempotency-key", "b8c7e0f2-0000-4000-8000-000000000001"),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::NotDigest,
                ty: "attio.record.updated",
                subject: Some("bf071e1f-6035-429d-b874-d83ea64ea13b"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        assert!(e["id"].as_str().is_some_and(|id| !id.starts_with("b8c7")));
    }
}
