//! Trend Micro Cloud One Conformity (now Trend Vision One Cloud Posture) webhook channel:
//! `X-Conformity-Signature: <hex HMAC-SHA256(Webhook Security Token, raw body)>`, the token (base64
//! characters only, but used as typed, its UTF-8 bytes, not decoded) as the key.
//!
//! - Header, hash, encoding and key:
//!   https://cloudone.trendmicro.com/docs/conformity/webhook-communication/ ("Conformity uses it
//!   to create a hash signature with each payload … in the headers as X-Conformity-Signature …
//!   HMAC hexdigest (sha-256)", and its Node sample `crypto.createHmac("sha256",
//!   YOUR_SECURITY_TOKEN)…digest("hex")`). The sample hashes `JSON.stringify` of the parsed body,
//!   which is the raw body when Conformity sends compact JSON: Inlet hashes the raw body (inferred:
//!   the docs do not say the body is compact).
//! - The token is optional in Conformity; a channel without one is unsigned and refused here.
//! - No timestamp is signed, so no replay window applies.
//! - Body: the docs publish no payload schema, so every delivery has one type,
//!   `trendmicro-conformity.notification`, and the data is the body as sent. No event id is documented: the id
//!   is the body digest, and as nothing says two notifications differ, identical bytes are not
//!   assumed to be a retry: each delivery is queued (at-least-once).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "trendmicro-conformity",
    title: "Trend Micro Conformity",
    signature: Signature {
        at: &[Loc::Header("x-conformity-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[TypePart::Lit("notification")],
    evidence: Evidence::Docs("the Node sample of Conformity's webhook-communication page"),
    note: "signed with the Webhook Security Token; no payload schema is published: one type (notification), and every delivery is queued (at-least-once)",
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

    /// Conformity accepts only base64 characters in the token; it is used undecoded.
    const SECRET: &str = "c29tZS1zZWN1cml0eS10b2tlbg==";
    /// Made up (the docs publish no payload): a check notification.
    const BODY: &[u8] = br#"{"id":"ccc:OhsDrXkCZ:EC2-001:EC2:us-east-1:sg-0123456789abcdef0","ruleId":"EC2-001","ruleTitle":"Security Group Port Range","riskLevel":"MEDIUM","status":"FAILURE","region":"us-east-1","accountId":"H19NxM15-","lastModifiedDate":1700000000000}"#;
    /// Derived, not published: hex HMAC-SHA256 of the body keyed with the token's text, computed
    /// with Python's hmac as the docs' Node sample does.
    const SIG: &str = "d7d664be0af95c61a29983c0c6ab5fdbe05ebb06d538be7a4679fbddad947f58";
    const HEADER: &str = "x-conformity-signature";
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
    fn the_token_is_not_base64_decoded() {
        use crate::core::verify::engine::decode_secret;
        assert_eq!(
            decode_secret(&SCHEME, SECRET).expect("key"),
            SECRET.as_bytes()
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace('d', "e"))],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let headers = [("content-type", "application/json"), (HEADER, SIG)];
        let e = assert_envelope_forged(
            Source::new("trendmicro-conformity", &SCHEME),
            SECRET,
            "YW5vdGhlci10b2tlbg==",
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::NotDigest,
                ty: "trendmicro-conformity.notification",
                subject: None,
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        assert_eq!(e["data"]["ruleId"], "EC2-001");
    }

    /// Nothing documented tells two notifications apart: each delivery is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("trendmicro-conformity", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
