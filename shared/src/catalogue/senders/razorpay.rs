//! Razorpay: `X-Razorpay-Signature: <hex HMAC-SHA256(webhook secret, raw body)>`. The event id
//! (`X-Razorpay-Event-Id`, which Razorpay's docs say to deduplicate on) is an unsigned header,
//! held to a strict character set, and duplicates are recognised by the body digest; the type
//! (`event`, e.g. `payment.captured`) and time (`created_at`) come from the signed body. No
//! timestamp is signed, so replays are caught only by deduplication.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "razorpay",
    title: "Razorpay",
    signature: Signature {
        at: &[Loc::Header("x-razorpay-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Header("x-razorpay-event-id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[
        Loc::Json("payload.payment.entity.id"),
        Loc::Json("payload.order.entity.id"),
        Loc::Json("payload.refund.entity.id"),
        Loc::Json("payload.subscription.entity.id"),
        Loc::Json("payload.invoice.entity.id"),
        Loc::Json("payload.payment_link.entity.id"),
        Loc::Json("payload.dispute.entity.id"),
        Loc::Json("payload.settlement.entity.id"),
    ],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Seconds)],
    evidence: Evidence::Sdk("razorpay 2.0.1 (PyPI)"),
    note: "the event id (X-Razorpay-Event-Id) is an unsigned header (validated); duplicates by body digest",
    // Identical bytes can be distinct events: the event id is an unsigned header.
    repeats: Repeats::Distinct,
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

    /// razorpay-python `tests/test_client_utility.py` (`key_secret`, the webhook fixture below).
    const SECRET: &str = "key_secret";
    /// razorpay-python `tests/mocks/fake_payment_authorized_webhook.json`, byte for byte (971 bytes,
    /// with its trailing newline).
    const BODY: &str = r#"{
  "event": "payment.authorized",
  "entity": "event",
  "contains": [
    "payment"
  ],
  "payload": {
    "payment": {
      "entity": {
        "id": "pay_6koWN7bvxujzxM",
        "entity": "payment",
        "amount": 1000000,
        "currency": "INR",
        "status": "captured",
        "order_id": "order_100000000order",
        "international": false,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": null,
        "captured": true,
        "description": "random description",
        "card_id": "card_6koWNAT6LASUqy",
        "bank": null,
        "wallet": null,
        "vpa": null,
        "email": "a@b.com",
        "contact": "+919999999999",
        "notes": {
          "merchant_order_id": "random order id"
        },
        "fee": 23000,
        "service_tax": 3000,
        "error_code": null,
        "error_description": null,
        "created_at": 1479978483
      }
    }
  },
  "created_at": 1400826760
}
"#;
    const SIG: &str = "d60e67fd884556c045e9be7dad57903e33efc7172c17c6e3ef77db42d2b366e9";

    #[test]
    fn published_vector() {
        assert_eq!(BODY.len(), 971);
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY.as_bytes(),
            &[("x-razorpay-signature", SIG)],
        );
        // The SDK compares lower-case hex; upper case decodes to the same bytes here.
        check(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[("x-razorpay-signature", &SIG.to_uppercase())],
            BODY.as_bytes(),
            0,
        )
        .expect("hex of either case");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY.as_bytes());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-razorpay-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // The SDK's own negative case.
            (
                &[(header, "test_signature")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
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
    fn normalization() {
        let d = deliver(
            Source::new("razorpay", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-razorpay-signature", SIG),
                    ("x-razorpay-event-id", "LVKBGj4GQ8PdQH"),
                ],
                BODY.as_bytes(),
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "LVKBGj4GQ8PdQH");
        assert_eq!(e["type"], "razorpay.payment.authorized");
        assert_eq!(e["subject"], "pay_6koWN7bvxujzxM");
        assert_eq!(e["time"], "2014-05-23T06:32:40.000Z");
    }
}
