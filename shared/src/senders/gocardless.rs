//! GoCardless: `Webhook-Signature: <hex HMAC-SHA256(endpoint secret, raw body)>`. One delivery
//! carries a batch, `{"events":[…],"meta":{"webhook_id":…}}`: the id is `meta.webhook_id` (signed,
//! the same on every retry; the body digest when absent), and the type, subject and time are the
//! first event's (`resource_type` + `action`, the resource in `links`, `created_at`); every event
//! stays in `data`. No timestamp is signed.

use crate::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "gocardless",
    title: "GoCardless",
    signature: Signature {
        at: &[Loc::Header("webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("meta.webhook_id"), Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("events.0.resource_type")),
        TypePart::Optional(Loc::Json("events.0.action")),
    ],
    subject: &[
        Loc::Json("events.0.links.payment"),
        Loc::Json("events.0.links.mandate"),
        Loc::Json("events.0.links.subscription"),
        Loc::Json("events.0.links.refund"),
        Loc::Json("events.0.links.payout"),
        Loc::Json("events.0.links.customer"),
        Loc::Json("events.0.links.billing_request"),
        Loc::Json("events.0.links.instalment_schedule"),
        Loc::Json("events.0.links.creditor"),
    ],
    time: &[TimeLoc::At(Loc::Json("events.0.created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("gocardless-pro 3.22.0 (PyPI)"),
    note:
        "a delivery is a batch of events: id meta.webhook_id, type and subject from the first event",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;
    use crate::sources::Source;
    use crate::verify::VerifyError;

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

    #[test]
    fn a_batch_is_one_envelope_typed_by_its_first_event() {
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
        assert_eq!(d.envelopes.len(), 1);
        let e = &d.envelopes[0];
        // The fixture predates `meta.webhook_id`: the body digest.
        assert!(e["id"].as_str().expect("id").starts_with("sha256:"));
        assert_eq!(e["type"], "gocardless.subscriptions.created");
        assert_eq!(e["subject"], "SB0003JJQ2MR06");
        assert_eq!(e["time"], "2018-07-05T09:13:51.404Z");
        assert_eq!(e["data"]["events"][1]["id"], "EV00BD05TB8K63");
    }

    #[test]
    fn the_webhook_id_is_the_envelope_id() {
        let body = br#"{"events":[{"id":"EV123","created_at":"2014-08-04T12:00:00.000Z","action":"confirmed","resource_type":"payments","links":{"payment":"PM123"}}],"meta":{"webhook_id":"WB123"}}"#;
        let sig = hex::encode(crate::verify::engine::hmac_sha256(SECRET.as_bytes(), body));
        let d = deliver(
            Source::new("gocardless", &SCHEME),
            SECRET,
            Request::post(&[("webhook-signature", &sig)], body, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "WB123");
        assert_eq!(e["type"], "gocardless.payments.confirmed");
        assert_eq!(e["subject"], "PM123");
        assert_eq!(e["time"], "2014-08-04T12:00:00.000Z");
    }
}
