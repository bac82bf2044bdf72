//! GoCardless: `Webhook-Signature: <hex HMAC-SHA256(endpoint secret, raw body)>`. One delivery
//! carries a batch, `{"events":[…],"meta":{"webhook_id":…}}`: the id is `meta.webhook_id` (signed,
//! the same on every retry; the body digest when absent), and the type, subject and time are the
//! first event's (`resource_type` + `action`, the resource in `links`, `created_at`); every event
//! stays in `data`. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "gocardless",
    title: "GoCardless",
    signature: Signature {
        at: &[Loc::Header("webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    batch: Some(Batch { items: "events" }),
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("resource_type")),
        TypePart::Optional(Loc::Json("action")),
    ],
    subject: &[
        Loc::Json("links.payment"),
        Loc::Json("links.mandate"),
        Loc::Json("links.subscription"),
        Loc::Json("links.refund"),
        Loc::Json("links.payout"),
        Loc::Json("links.customer"),
        Loc::Json("links.billing_request"),
        Loc::Json("links.instalment_schedule"),
        Loc::Json("links.creditor"),
    ],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("gocardless-pro 3.22.0 (PyPI)"),
    note: "a delivery is a batch: one envelope per event of events[], id the event's id (EV…)",
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

    /// gocardless-pro-python `tests/webhooks_test.py`.
    const SECRET: &str = "ED7D658C-D8EB-4941-948B-3973214F2D49";
    /// gocardless-pro-python `tests/fixtures/webhook_body.json`, stripped as the test reads it
    /// (550 bytes).
    const BODY: &str = r#"{"events":[{"id":"EV00BD05S5VM2T","created_at":"2018-07-05T09:13:51.404Z","resource_type":"subscriptions","action":"created","links":{"subscription":"SB0003JJQ2MR06"},"details":{"origin":"api","cause":"subscription_created","description":"Subscription created via the API."},"metadata":{}},{"id":"EV00BD05TB8K63","created_at":"2018-07-05T09:13:56.893Z","resource_type":"mandates","action":"created","links":{"mandate":"MD000AMA19XGEC"},"details":{"origin":"api","cause":"mandate_created","description":"Mandate created via the API."},"metadata":{}}]}"#;
    const SIG: &str = "2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e";

    #[test]
    fn published_vector() {
        assert_eq!(BODY.len(), 550);
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY.as_bytes(),
            &[("webhook-signature", SIG)],
        );
        // The SDK's negative case: another key.
        assert_eq!(
            check(
                &SCHEME,
                &[b"anotherkey"],
                &[("webhook-signature", SIG)],
                BODY.as_bytes(),
                0
            ),
            Err(VerifyError::SignatureMismatch {
                header: "webhook-signature"
            })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY.as_bytes());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "webhook-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "v1,abc")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY.as_bytes(), 0, cases);
    }

    /// A delivery of two events is two envelopes, each with its own id, type, subject and time
    /// (issue 16: the earlier main made one envelope typed by the first event).
    #[test]
    fn a_batch_is_one_envelope_per_event() {
        let d = deliver(
            Source::new("gocardless", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("webhook-signature", SIG),
                ],
                BODY.as_bytes(),
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(
            d.json(),
            serde_json::json!({"events": 2, "queued": 2, "duplicates": 0, "parked": 0})
        );
        let got: Vec<(&str, &str, &str, &str)> = d
            .envelopes
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().expect("id"),
                    e["type"].as_str().expect("type"),
                    e["subject"].as_str().expect("subject"),
                    e["time"].as_str().expect("time"),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "EV00BD05S5VM2T",
                    "gocardless.subscriptions.created",
                    "SB0003JJQ2MR06",
                    "2018-07-05T09:13:51.404Z"
                ),
                (
                    "EV00BD05TB8K63",
                    "gocardless.mandates.created",
                    "MD000AMA19XGEC",
                    "2018-07-05T09:13:56.893Z"
                ),
            ]
        );
        // Each event's data is its own object, exactly as sent; the batch is recorded.
        let e = &d.envelopes[1];
        assert_eq!(e["data"]["links"]["mandate"], "MD000AMA19XGEC");
        assert_eq!(e["inletbatchindex"], 1);
        assert_eq!(e["inletbatchsize"], 2);
        assert_eq!(
            e["inletbatchsha256"],
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(BODY.as_bytes()))
        );
        // The second event's bytes as they stand in the body: from its `{` to before `]}`.
        let start = BODY
            .find(r#"{"id":"EV00BD05TB8K63""#)
            .expect("second event");
        let own = &BODY[start..BODY.len() - 2];
        assert_eq!(
            e["inletbodysha256"],
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(own.as_bytes())),
            "the digest of the event's own bytes"
        );
    }

    /// A retry of a partly queued delivery queues only what is missing: each event is
    /// de-duplicated on its own id.
    #[test]
    fn a_retry_queues_only_the_events_not_yet_queued() {
        let first = br#"{"events":[{"id":"EV1","created_at":"2014-08-04T12:00:00.000Z","action":"confirmed","resource_type":"payments","links":{"payment":"PM1"}}],"meta":{"webhook_id":"WB1"}}"#;
        let both = br#"{"events":[{"id":"EV1","created_at":"2014-08-04T12:00:00.000Z","action":"confirmed","resource_type":"payments","links":{"payment":"PM1"}},{"id":"EV2","created_at":"2014-08-04T12:00:01.000Z","action":"paid_out","resource_type":"payments","links":{"payment":"PM1"}}],"meta":{"webhook_id":"WB2"}}"#;
        let sig = |body: &[u8]| {
            hex::encode(crate::core::verify::engine::hmac_sha256(
                SECRET.as_bytes(),
                body,
            ))
        };
        let (s1, s2) = (sig(first), sig(both));
        let d = deliver_again(
            Source::new("gocardless", &SCHEME),
            SECRET,
            &[
                Request::post(&[("webhook-signature", &s1)], first, 1_700_000_000),
                Request::post(&[("webhook-signature", &s2)], both, 1_700_000_000),
                Request::post(&[("webhook-signature", &s2)], both, 1_700_000_000),
            ],
        );
        assert_eq!(counts(&d), [1, 1, 0]);
        assert_eq!(d[1].envelopes[0]["id"], "EV2");
        assert_eq!(
            d[1].json(),
            serde_json::json!({"events": 2, "queued": 1, "duplicates": 1, "parked": 0})
        );
        assert_eq!(
            d[2].json(),
            serde_json::json!({"events": 2, "queued": 0, "duplicates": 2, "parked": 0})
        );
    }

    /// The same event twice in one delivery is queued once.
    #[test]
    fn an_event_repeated_within_a_delivery_is_queued_once() {
        let body = br#"{"events":[{"id":"EV1","resource_type":"payments","action":"confirmed"},{"id":"EV1","resource_type":"payments","action":"confirmed"}]}"#;
        let sig = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            body,
        ));
        let d = deliver_again(
            Source::new("gocardless", &SCHEME),
            SECRET,
            &[Request::post(
                &[("webhook-signature", &sig)],
                body,
                1_700_000_000,
            )],
        );
        assert_eq!(counts(&d), [1]);
        assert_eq!(
            d[0].json(),
            serde_json::json!({"events": 2, "queued": 1, "duplicates": 1, "parked": 0})
        );
    }

    #[test]
    fn events_must_be_a_list_of_objects() {
        for body in [
            &br#"{"meta":{"webhook_id":"WB1"}}"#[..],
            br#"{"events":{"id":"EV1"}}"#,
            br#"{"events":[1,2]}"#,
            br#"{"events":[{"id":"EV1"}]}"#,
        ] {
            let sig = hex::encode(crate::core::verify::engine::hmac_sha256(
                SECRET.as_bytes(),
                body,
            ));
            let d = deliver(
                Source::new("gocardless", &SCHEME),
                SECRET,
                Request::post(&[("webhook-signature", &sig)], body, 1_700_000_000),
            );
            assert_eq!(d.reply.status, 400, "{}", d.text());
            assert!(d.envelopes.is_empty());
        }
    }
}
