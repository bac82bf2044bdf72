//! Worldline Direct (ngrok's `worldline`): `X-GCS-Signature: <base64 HMAC-SHA256(secret webhook
//! key, raw body)>` with `X-GCS-KeyId` naming the key, the Secret Webhook Key (Merchant Portal >
//! Developer > Webhooks) used as its UTF-8 bytes.
//!
//! - Header, hash, encoding and key: Worldline's own SDK, Online-Payments/sdk-python3
//!   `onlinepayments/sdk/webhooks/signature_validator.py` (`b64encode(hmac.new(secret_key.encode(
//!   "utf-8"), body, hashlib.sha256).digest())` against `X-GCS-Signature`, the key looked up by
//!   `X-GCS-KeyId`), and https://docs.connect.worldline-solutions.com/documentation/webhooks/event-structure
//!   ("X-GCS-Signature: the HMAC-SHA256 signature of the HTTP body"). The vector below is the SDK's
//!   own (`tests/unit/test_signature_validator.py`: key `hello+world`, body
//!   `tests/resources/webhooks/valid-body`).
//! - Inlet tries every configured secret rather than looking the key up by `X-GCS-KeyId`, so two
//!   keys (during a rotation) are two secrets.
//! - Worldline Connect (the older platform) also sends a `GET` with
//!   `X-GCS-Webhooks-Endpoint-Verification` that must be echoed before it delivers anything;
//!   Inlet has no such handshake, so this sender serves Worldline Direct, whose webhooks guide
//!   asks only that the endpoint accept POSTs, verify the signature and answer 2xx (read here in
//!   its copy at https://cmspoc.direct.wl.logeecom.com/integration/webhooks; Hookdeck's Worldline
//!   guide also notes the platforms differ in endpoint verification).
//! - No timestamp is signed, so no replay window applies.
//! - Body (event structure page): `{"apiVersion","id","created","merchantId","type",<object>}`.
//!   `id` is "the unique id of this event. You should use this id to verify that you did not
//!   already receive this event": the id. The type is `type` (`worldline.payment.paid`,
//!   `worldline.refund.captured`, …), the subject the object's id (`payment.id`, `refund.id`,
//!   `payout.id`). `created` is written `2017-02-02T11:24:14.040+0100`, not RFC 3339, so the time
//!   is when Inlet received it.
//! - No batches.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "worldline",
    title: "Worldline Direct",
    signature: Signature {
        at: &[Loc::Header("x-gcs-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[
        Loc::Json("payment.id"),
        Loc::Json("refund.id"),
        Loc::Json("payout.id"),
        Loc::Json("token.id"),
    ],
    evidence: Evidence::Sdk("onlinepayments-sdk-python3 10.3.0 (PyPI)"),
    note: "Worldline Direct (Connect's GET endpoint verification is not answered); any configured key is tried, X-GCS-KeyId is not read; duplicates by the signed event id",
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

    /// The key of Online-Payments/sdk-python3 `tests/unit/test_signature_validator.py`.
    const SECRET: &str = "hello+world";
    /// `tests/resources/webhooks/valid-body` of the same SDK, its `\r` removed as the test does.
    const BODY: &[u8] = br#"{
  "apiVersion": "v1",
  "id": "8ee793f6-4553-4749-85dc-f2ef095c5ab0",
  "created": "2017-02-02T11:24:14.040+0100",
  "merchantId": "20000",
  "type": "payment.paid",
  "payment": {
    "id": "00000200000143570012",
    "paymentOutput": {
      "amountOfMoney": {
        "amount": 1000,
        "currencyCode": "EUR"
      },
      "references": {
        "paymentReference": "200001681810"
      },
      "paymentMethod": "bankTransfer",
      "bankTransferPaymentMethodSpecificOutput": {
        "paymentProductId": 11
      }
    },
    "status": "PAID",
    "statusOutput": {
      "isCancellable": false,
      "statusCategory": "COMPLETED",
      "statusCode": 1000,
      "statusCodeChangeDateTime": "20170202112414",
      "isAuthorized": true
    }
  }
}"#;
    /// Published: the SDK test's `SIGNATURE`.
    const SIG: &str = "2S7doBj/GnJnacIjSJzr5fxGM5xmfQyFAwxv1I53ZEk=";
    const HEADER: &str = "x-gcs-signature";
    const KEY_ID: (&str, &str) = ("x-gcs-keyid", "dummy-key-id");
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn published_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(HEADER, SIG), KEY_ID]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        // The same MAC in hex is not Worldline's encoding.
        let hex_sig = "d92edda018ff1a726769c223489cebe5fc46339c667d0c85030c6fd48e776449";
        assert_missing_and_duplicate(&SCHEME, SECRET, BODY, NOW, &[(header, SIG), KEY_ID]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, hex_sig), KEY_ID],
                VerifyError::SignatureMismatch { header },
            ),
            // The SDK test's invalid signature: `1` prepended.
            (
                &[(header, &format!("1{SIG}")), KEY_ID],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, &format!("{SIG}1")), KEY_ID],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        // The SDK test's other key, `1` prepended, does not verify.
        assert_eq!(
            check(&SCHEME, &[b"1hello+world"], &[(HEADER, SIG)], BODY, NOW),
            Err(VerifyError::SignatureMismatch { header })
        );
    }

    #[test]
    fn normalization() {
        let source = || Source::new("worldline", &SCHEME);
        let headers = [("content-type", "application/json"), (HEADER, SIG), KEY_ID];
        assert_envelope_forged(
            source(),
            SECRET,
            "1hello+world",
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("8ee793f6-4553-4749-85dc-f2ef095c5ab0"),
                ty: "worldline.payment.paid",
                subject: Some("00000200000143570012"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        // A retry (the same signed event id) is queued once.
        let again = deliver_again(
            source(),
            SECRET,
            &[
                Request::post(&headers, BODY, NOW),
                Request::post(&headers, BODY, NOW + 60),
            ],
        );
        assert_eq!(counts(&again), [1, 0]);
    }
}
