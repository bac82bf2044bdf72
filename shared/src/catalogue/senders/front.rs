//! Front (rule webhooks): `X-Front-Signature: <base64 HMAC-SHA1(API secret, raw body)>`, the
//! company's API secret used as its UTF-8 bytes. Front's docs
//! (https://dev.frontapp.com/docs/rule-webhooks, "Validating Data Integrity": "calculate the
//! base64 encoded HMAC hash of the request body using the SHA1 algorithm and your API secret as
//! the key", with Front's Node, Ruby and Python verifiers) name all of it. The body is the
//! event (or its preview): its `id` (signed, `evt_…`) the envelope id, `type` the type
//! (`front.assign`, `front.inbound`), `conversation.id` the subject, `emitted_at` (unix seconds)
//! the time. No timestamp is signed, so no replay window applies; Front does not retry.
//!
//! Front's *application* webhooks sign differently (`X-Front-Signature: base64
//! HMAC-SHA256(app secret, "{x-front-request-timestamp}:{body}")`, the timestamp in
//! milliseconds; https://dev.frontapp.com/docs/application-webhooks) and, when configured,
//! expect the endpoint to answer an `x-front-challenge` validation request, a handshake Inlet's
//! scheme data cannot express: they are not supported by this scheme.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "front",
    title: "Front (rule webhooks)",
    signature: Signature {
        at: &[Loc::Header("x-front-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("conversation.id")],
    time: &[TimeLoc::At(Loc::Json("emitted_at"), Unit::Seconds)],
    evidence: Evidence::Docs("Front's own Node/Ruby/Python verifiers in its rule-webhooks docs"),
    note: "rule webhooks (API secret, HMAC-SHA1); application webhooks need a challenge handshake and are not supported; no timestamp is signed, so no replay window applies",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::tests::*;

    const SECRET: &str = "front-api-secret";
    /// An `assign` event in the shape of Front's event reference, shortened.
    const BODY: &[u8] = br#"{"_links":{"self":"https://api2.frontapp.com/events/evt_55c8c149"},"id":"evt_55c8c149","type":"assign","emitted_at":1700000000.123,"source":{"_meta":{"type":"teammates"},"data":{"id":"tea_55c8c149","email":"leela@planet-express.com"}},"target":{"_meta":{"type":"teammates"},"data":{"id":"tea_6r55a","email":"fry@planet-express.com"}},"conversation":{"id":"cnv_55c8c149","subject":"You broke my heart, Hubert.","status":"assigned"}}"#;
    /// Derived from Front's docs (base64 HMAC-SHA1 of the body, computed with Python's hmac),
    /// not published.
    const SIG: &str = "Ki3+uwCwLT6Fh0Gn20uJuiqjxAI=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-front-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-front-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("front", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-front-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("evt_55c8c149"),
                ty: "front.assign",
                subject: Some("cnv_55c8c149"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
