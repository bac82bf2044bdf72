//! Castle (fraud and account-takeover detection): `X-Castle-Signature: <base64 HMAC-SHA256(API
//! secret, raw body)>`, the environment's API secret used as its UTF-8 bytes.
//!
//! - Header: https://docs.castle.io/docs/webhooks ("Each webhook has X-Castle-Signature header
//!   that allows verifying webhook's source", castle/castle-python's README). Hash, key and
//!   encoding from Castle's own SDKs: castle/castle-ruby `lib/castle/webhooks/verify.rb`
//!   (`Base64.encode64(OpenSSL::HMAC.digest('sha256', api_secret, body)).strip`) and
//!   castle/castle-python `castle/webhooks/verify.py` (the same, via `hexdigest` and `unhexlify`).
//! - No timestamp is signed, so no replay window applies.
//! - Body (https://docs.castle.io/docs/subscribe-to-webhooks, https://castle.io/docs/webhooks):
//!   `{"api_version","app_id","type","created_at","data":{"id","user_id",…}}`. The type is
//!   `type` as Castle writes it, `$` and all (`castle.$review.opened`, `castle.$incident.confirmed`,
//!   `castle.$list_item.created`, `castle.$policy.matched`); the subject `data.user_id`; the time
//!   `created_at` (RFC 3339, milliseconds).
//! - Id: Castle sends no event id (`data.id` names the device or item, shared by its events), so
//!   the id is the body digest. `created_at` has millisecond precision and differs between two
//!   events, so identical bytes are a retry (inferred from the documented bodies).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "castle",
    title: "Castle",
    signature: Signature {
        at: &[Loc::Header("x-castle-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.user_id"), Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("castle 7.3.0 (PyPI)"),
    note: "signed with the environment's API secret; no timestamp is signed and no event id is sent: the id is the body digest",
    repeats: Repeats::Retry,
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

    const SECRET: &str = "castle-api-secret";
    /// The "Example Review webhook" of https://castle.io/docs/webhooks, shortened.
    const BODY: &[u8] = br#"{"api_version":"v1","app_id":"12345678901234","type":"$review.opened","created_at":"2016-10-02T00:30:08.276Z","data":{"id":"xh6eyJxQ3AqouYqnACWYy2pe9NvLp59W","user_id":"joH8NAVsYwRW4yBvPddS6TzydMmTjuzF","trigger":"$login.succeeded"}}"#;
    /// Derived, not published: base64 HMAC-SHA256 of the body, computed with Python's hmac as
    /// castle-python's `WebhooksVerify` does.
    const SIG: &str = "3N6eD6TcoAaUpCW0DGbcDALQxVwXb2pfOJRANJVJee8=";
    const HEADER: &str = "x-castle-signature";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(HEADER, SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        // The same MAC in hex is not Castle's encoding.
        let hex_sig = "dcde9e0fa4dca00694a425b40c66dc0c02d0c55c176f6a5f38944034954979ef";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, hex_sig)],
            VerifyError::SignatureMismatch { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let headers = [("content-type", "application/json"), (HEADER, SIG)];
        assert_envelope(
            Source::new("castle", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "castle.$review.opened",
                subject: Some("joH8NAVsYwRW4yBvPddS6TzydMmTjuzF"),
                time: "2016-10-02T00:30:08.276Z",
            },
        );
    }

    #[test]
    fn identical_bytes_are_a_retry() {
        assert_identical_bytes_are_a_retry(
            Source::new("castle", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
