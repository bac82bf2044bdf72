//! Commerce Layer real-time webhooks: `X-CommerceLayer-Signature: <base64 HMAC-SHA256(shared
//! secret, raw body)>`, the webhook's `shared_secret` (returned when the webhook is created) used
//! as its UTF-8 bytes, and the topic in `X-CommerceLayer-Topic`.
//!
//! - Header, hash, encoding and signed bytes: https://docs.commercelayer.io/core/callbacks-security
//!   (its Node sample: `createHmac("sha256", CL_SHARED_SECRET).update(req.body).digest("base64")`
//!   over the raw body) and https://docs.commercelayer.io/core/real-time-webhooks ("a shared
//!   secret is generated. It will be used each time the webhook is fired to sign the payload").
//!   Cross-checked against atoms-studio/commercelayer-webhooks (npm `commercelayer-webhooks`).
//! - No timestamp is signed, so no replay window applies.
//! - Body: the resource as the REST API returns it (JSON:API `{"data":{"id","type","attributes":
//!   {…,"updated_at"}},"included":[…]}`). The type is the topic header (`orders.place`,
//!   `customers.create`, `{resource}.{event}`), which the signature does not cover: it is held to
//!   the unsigned-type checks, with `.` allowed as Commerce Layer's own separator. The subject is
//!   `data.id`, the time `data.attributes.updated_at`.
//! - Id: no event id is sent, so the id is the body digest. Failed deliveries are retried up to 10
//!   times; but one snapshot of a resource can be sent under two topics (an order placed and
//!   authorized at once), so identical bytes are not assumed to be a retry: each delivery is
//!   queued (at-least-once).
//! - No batches, no handshake. External resources (prices, taxes, shipping) use the same signature
//!   but expect an answer: point them at their service, not at Inlet.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "commercelayer",
    title: "Commerce Layer",
    signature: Signature {
        at: &[Loc::Header("x-commercelayer-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Header("x-commercelayer-topic"))],
    type_chars: "_.",
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(
        Loc::Json("data.attributes.updated_at"),
        Unit::Rfc3339,
    )],
    evidence: Evidence::Docs("atoms-studio/commercelayer-webhooks; Commerce Layer's Node sample"),
    note: "the topic header is unsigned; no event id or timestamp is signed: every delivery is queued (at-least-once)",
    // One snapshot can be sent under two topics.
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

    const SECRET: &str = "commercelayer-shared-secret";
    /// An order as the REST API returns it (values made up), sent for `orders.place`.
    const BODY: &[u8] = br#"{"data":{"id":"wBXVhKzrWq","type":"orders","links":{"self":"https://yourdomain.commercelayer.io/api/orders/wBXVhKzrWq"},"attributes":{"number":"1234","status":"placed","payment_status":"authorized","fulfillment_status":"unfulfilled","currency_code":"EUR","total_amount_cents":5000,"placed_at":"2023-11-14T22:13:19.812Z","created_at":"2023-11-14T22:10:02.101Z","updated_at":"2023-11-14T22:13:19.840Z"},"meta":{"mode":"test"}}}"#;
    /// Derived, not published: base64 HMAC-SHA256 of the body, computed with Python's hmac as the
    /// docs' Node sample does.
    const SIG: &str = "hlkN+ER90VQTh0haEx5qZa3L+sH1MYtnfnm3iqM0DhU=";
    const HEADER: &str = "x-commercelayer-signature";
    const TOPIC: (&str, &str) = ("x-commercelayer-topic", "orders.place");
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(HEADER, SIG), TOPIC]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        // The same MAC in hex is not Commerce Layer's encoding.
        let hex_sig = "86590df8447dd1541387485a131e6a65adcbfac1f5318b677e79b78aa3340e15";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG), TOPIC]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, hex_sig), TOPIC],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "not base64!"), TOPIC],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let source = || Source::new("commercelayer", &SCHEME);
        let headers = [("content-type", "application/json"), (HEADER, SIG), TOPIC];
        // The topic is unsigned: a value outside Commerce Layer's alphabet is refused.
        let odd = [(HEADER, SIG), ("x-commercelayer-topic", "orders/place")];
        let refused = deliver(source(), SECRET, Request::post(&odd, BODY, NOW));
        assert_eq!(refused.reply.status, 400, "{}", refused.text());
        assert!(refused.envelopes.is_empty());
        assert_envelope(
            source(),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::NotDigest,
                ty: "commercelayer.orders.place",
                subject: Some("wBXVhKzrWq"),
                time: "2023-11-14T22:13:19.840Z",
            },
        );
    }

    /// One snapshot can be sent under two topics: each delivery is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("commercelayer", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG), TOPIC], BODY, NOW),
        );
    }
}
