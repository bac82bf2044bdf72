//! Autodesk Platform Services (APS, formerly Forge) Webhooks API: `x-adsk-signature:
//! sha1hash=<hex HMAC-SHA1(secret token, raw body)>`, the secret token (set with `POST
//! webhooks/v1/tokens`, or per hook) used as its UTF-8 bytes.
//!
//! - Header, prefix, hash, encoding and signed bytes:
//!   https://aps.autodesk.com/en/docs/webhooks/v1/tutorials/how-to-verify-payload-signature/ (its
//!   Node sample computes `'sha1hash=' + createHmac('sha1', token).update(body).digest('hex')`
//!   over the raw body) and the `x-adsk-signature` row of every callback reference page
//!   (https://aps.autodesk.com/en/docs/webhooks/v1/reference/callback/data_management_events/dm.version.modified).
//!   Cross-checked against the README of Autodesk's sample repository
//!   autodesk-platform-services/aps-webhooks-signature (read through a mirror of its page, the
//!   repository itself not being reachable here: HMAC-SHA1 of the raw body, hex, `sha1hash=`).
//! - A hook without a secret token is delivered unsigned: refused here.
//! - No timestamp is signed, so no replay window applies.
//! - Body (the callback reference pages): `{"version":"1.0","resourceUrn","hook":{"system",
//!   "event","hookId",…},"payload":{…}}`. The type is `hook.event` (`autodesk.dm.version.added`,
//!   `autodesk.extraction.finished`, …), the subject `resourceUrn`. The payload's times are written
//!   `2017-09-06T03:04:48+0000`, not RFC 3339, so the time is when Inlet received it.
//! - Id: APS sends no event id in the body; `x-adsk-delivery-id` is a delivery id outside the
//!   signature. The id is the body digest. Retries (four, the last at least 48 hours later,
//!   https://aps.autodesk.com/en/docs/webhooks/v1/overview/basics) repeat the body; two distinct
//!   events differ in `resourceUrn` (which names the version) or the payload's times, so identical
//!   bytes are a retry (inferred from the documented bodies, not stated by Autodesk).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "autodesk",
    title: "Autodesk Platform Services",
    signature: Signature {
        at: &[Loc::Header("x-adsk-signature")],
        format: Format::Prefix("sha1hash="),
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("hook.event"))],
    subject: &[Loc::Json("resourceUrn")],
    evidence: Evidence::Docs(
        "the Node sample of APS's how-to-verify-payload-signature tutorial",
    ),
    note: "HMAC-SHA1 of the body with the hook's secret token; no timestamp is signed and no event id is sent: the id is the body digest",
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

    const SECRET: &str = "aps-webhook-secret-token-0123456789";
    /// The `dm.version.modified` example of
    /// https://aps.autodesk.com/en/docs/webhooks/v1/reference/callback/data_management_events/dm.version.modified,
    /// shortened.
    const BODY: &[u8] = br#"{"version":"1.0","resourceUrn":"urn:adsk.wipprod:fs.file:vf.0zvdp3CoTzWDdZC_wL0kJA?version=1","hook":{"system":"data","event":"dm.version.modified","hookId":"1fcd3e30-9f3f-11e7-951f-0fd5337ed5ce","tenant":"urn:adsk.wipprod:fs.folder:co.s424tpjyS_yYBs5ozch94g","callbackUrl":"http://bf067e05.ngrok.io/callback","createdBy":"************","createdDate":"2017-09-22T02:38:32.341+0000","creatorType":"Application","scope":{"folder":"urn:adsk.wipprod:fs.folder:co.s424tpjyS_yYBs5ozch94g"},"urn":"urn:adsk.webhooks:events.hook:1fcd3e30-9f3f-11e7-951f-0fd5337ed5ce","status":"active"},"payload":{"ext":"txt","modifiedTime":"2017-09-06T03:04:48+0000","lineageUrn":"urn:adsk.wipprod:dm.lineage:53ZAFeM4SSu-WrRAdCO-LA","sizeInBytes":36,"hidden":false,"indexable":true,"project":"4f8b8b74-3853-473d-85c4-4e8a8bff885b"}}"#;
    /// Derived, not published: `sha1hash=` + hex HMAC-SHA1 of the body, computed with Python's
    /// hmac as the how-to-verify-payload-signature tutorial describes.
    const SIG: &str = "sha1hash=aee0c4861a631f66f60f6e8bfa9524adab636acc";
    const HEADER: &str = "x-adsk-signature";
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
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // The bare hex, without Autodesk's prefix.
            (
                &[(header, &SIG[9..])],
                VerifyError::MalformedSignature { header },
            ),
            // GitHub's prefix is not Autodesk's.
            (
                &[(header, &format!("sha1={}", &SIG[9..]))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "sha1hash=0000000000000000000000000000000000000000")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            (HEADER, SIG),
            ("x-adsk-delivery-id", "7e1f3d2a-9f3f-11e7-951f-0fd5337ed5ce"),
        ];
        assert_envelope_forged(
            Source::new("autodesk", &SCHEME),
            SECRET,
            "another-secret-token",
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "autodesk.dm.version.modified",
                subject: Some("urn:adsk.wipprod:fs.file:vf.0zvdp3CoTzWDdZC_wL0kJA?version=1"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }

    #[test]
    fn identical_bytes_are_a_retry() {
        assert_identical_bytes_are_a_retry(
            Source::new("autodesk", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
