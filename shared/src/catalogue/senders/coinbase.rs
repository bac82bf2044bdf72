//! Coinbase Commerce: `X-CC-Webhook-Signature: <hex HMAC-SHA256(shared secret, raw body)>`. The
//! body wraps the event: `event.id` (signed; the top-level `id` numbers the delivery) is the
//! envelope id, `event.type` (e.g. `charge:confirmed`, colon kept) the type. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "coinbase",
    title: "Coinbase Commerce",
    signature: Signature {
        at: &[Loc::Header("x-cc-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("event.id")],
    ty: &[TypePart::Required(Loc::Json("event.type"))],
    subject: &[Loc::Json("event.data.code"), Loc::Json("event.data.id")],
    time: &[TimeLoc::At(Loc::Json("event.created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("coinbase-commerce 1.0.1 (PyPI)"),
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

    /// coinbase-commerce-python `tests/test_webhook.py`: `SECRET`, `PAYLOAD_STR`, `SIG_HEADER`.
    const SECRET: &str = "30291a20-0bd1-4267-9b0f-e6e7b123c0bf";
    const BODY: &str = r#"{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1,"event":{"id":"24934862-d980-46cb-9402-43c81b0cdba6","type":"charge:created","api_version":"2018-03-22","created_at":"2017-01-31T20:49:02Z","data":{"code":"66BEOV2A","name":"The Sovereign Individual","description":"Mastering the Transition to the Information Age","hosted_url":"https://commerce.coinbase.com/charges/66BEOV2A","created_at":"2017-01-31T20:49:02Z","expires_at":"2017-01-31T21:04:02Z","timeline":[{"time":"2017-01-31T20:49:02Z","status":"NEW"}],"metadata":{},"pricing_type":"no_price","payments":[],"addresses":{"bitcoin":"0000000000000000000000000000000000","ethereum":"0x0000000000000000000000000000000000000000","litecoin":"3000000000000000000000000000000000","bitcoincash":"bitcoincash:000000000000000000000000000000000000000000"}}}}"#;
    const SIG: &str = "8be7742c7d372f08a6a3224edadf18a22b65fa9e28f3f2de97376cdaa092590d";

    #[test]
    fn published_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY.as_bytes(),
            &[("x-cc-webhook-signature", SIG)],
        );
        // The SDK's negative case: every `3` of the signature replaced by `1`.
        let header = "x-cc-webhook-signature";
        assert_eq!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(header, &SIG.replace('3', "1"))],
                BODY.as_bytes(),
                0
            ),
            Err(VerifyError::SignatureMismatch { header })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY.as_bytes());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-cc-webhook-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "t=1,v1=ab")],
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
            Source::new("coinbase", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-cc-webhook-signature", SIG),
                ],
                BODY.as_bytes(),
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "24934862-d980-46cb-9402-43c81b0cdba6");
        assert_eq!(e["type"], "coinbase.charge:created");
        assert_eq!(e["subject"], "66BEOV2A");
        assert_eq!(e["time"], "2017-01-31T20:49:02.000Z");
    }

    #[test]
    fn a_body_without_an_event_is_refused() {
        // The SDK's `test_invalid_payload_no_event`, signed properly.
        let body = br#"{"id":1,"scheduled_for":"2017-01-31T20:50:02Z","attempt_number":1}"#;
        let sig = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            body,
        ));
        let d = deliver(
            Source::new("coinbase", &SCHEME),
            SECRET,
            Request::post(&[("x-cc-webhook-signature", &sig)], body, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 400, "{}", d.text());
        assert!(d.envelopes.is_empty());
    }
}
