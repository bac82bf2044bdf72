//! Segment (Webhooks and Webhooks (Actions) destinations): `X-Signature: <hex HMAC-SHA1(shared
//! secret, raw body)>`, sent only when the destination has a shared secret, used as its UTF-8
//! bytes (https://segment.com/docs/connections/destinations/catalog/webhooks/, "Authentication":
//! "a SHA1 digest using the shared secret and the JSON-stringified body of the request";
//! https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook: "an HMAC
//! in the "X-Signature" request header. The HMAC is a hex-encoded SHA1 hash"; Segment's sender,
//! segmentio/action-destinations `actions-webhook`, signs `JSON.stringify` of the event it
//! posts). Batched Actions deliveries are refused: their `X-Signature` covers only the first
//! event, not the body
//! (https://support.twilio.com/hc/en-us/articles/51193799782171-How-Segment-Computes-x-signature-for-Batched-Webhooks).
//! The body is a Segment spec event: its `messageId` (signed) is the envelope id, `type` the type
//! (`segment.track`, `segment.identify`), `userId` (else `anonymousId`) the subject, `timestamp`
//! the time. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "segment",
    title: "Segment",
    signature: Signature {
        at: &[Loc::Header("x-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Json("messageId"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("userId"), Loc::Json("anonymousId")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339)],
    evidence: Evidence::Docs("Segment's own sender, segmentio/action-destinations actions-webhook"),
    note: "HMAC-SHA1; no timestamp is signed, so no replay window applies (duplicates by the signed messageId); batched Actions deliveries are refused (their signature covers only the first event)",
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

    const SECRET: &str = "segment-shared-secret";
    /// A `track` call, shaped like the Segment spec events the destination posts.
    const BODY: &[u8] = br#"{"anonymousId":"23adfd82-aa0f-45a7-a756-24f2a7a4c895","context":{"library":{"name":"analytics.js","version":"2.11.1"}},"event":"Order Completed","messageId":"ajs-f8ca1e4de5024d9430b3928bd8ac6b96","properties":{"revenue":99.9},"receivedAt":"2015-12-12T19:11:01.266Z","sentAt":"2015-12-12T19:11:01.169Z","timestamp":"2015-12-12T19:11:01.249Z","type":"track","userId":"AiUGstSDIg"}"#;
    /// Derived from https://segment.com/docs/connections/destinations/catalog/webhooks/ (hex
    /// HMAC-SHA1 of the body, computed with Python's hmac), not published.
    const SIG: &str = "cf5ff5dabfce5b2f5eef70c1f54754c7149bc8ab";
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
        // The HMAC-SHA256 of the same body under the same secret is not Segment's.
        let sha256 = "af8d35e9059a2897f2133c4e9eb3b3077093df416e012576815c9bf7ba144326";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, sha256)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha1={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("user-agent", "Segment.io/1.0"),
            ("x-signature", SIG),
        ];
        assert_envelope(
            Source::new("segment", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("ajs-f8ca1e4de5024d9430b3928bd8ac6b96"),
                ty: "segment.track",
                subject: Some("AiUGstSDIg"),
                time: "2015-12-12T19:11:01.249Z",
            },
        );
    }

    #[test]
    fn a_batch_signed_over_its_first_event_is_refused() {
        // What the Actions destination sends for a batch: the array, with X-Signature over the
        // first event alone.
        let batch = [b"[".as_slice(), BODY, b"]".as_slice()].concat();
        assert!(matches!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[("x-signature", SIG)],
                &batch,
                NOW
            ),
            Err(VerifyError::SignatureMismatch { .. })
        ));
    }
}
