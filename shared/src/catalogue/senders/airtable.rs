//! Airtable (Web API webhooks): `X-Airtable-Content-MAC: hmac-sha256=<hex HMAC-SHA256(key, raw
//! body)>`, the key being the webhook's `macSecretBase64` (returned once by "Create a webhook")
//! base64-decoded: configure that base64 text as the secret. Airtable's docs
//! (https://airtable.com/developers/web/api/webhooks-overview, its notification-delivery and
//! verification sections) name the header, the prefix, the hash and the key decoding; the Airtable community thread
//! https://community.airtable.com/t5/development-apis/not-able-to-match-x-airtable-content-mac-header-from-webhook/m-p/179349
//! and nango's Airtable webhook routing verify it the same way. The notification is a ping,
//! not the change: `{"base":{"id"},"webhook":{"id"},"timestamp"}`; the receiver then fetches the
//! changes with "List webhook payloads" and its cursor. So the envelope type is the fixed
//! `airtable.notification`, the subject the webhook id, the time the ping's `timestamp`. No
//! event id exists: the envelope id is the body digest. Two pings differ in their millisecond
//! `timestamp` (retries are recognised by the digest only if Airtable resends the same bytes,
//! which its docs do not say; inferred), and a duplicate ping is harmless since the payloads are
//! read by cursor. No timestamp is signed, so no replay window applies. Airtable wants 200 or
//! 204 with an empty body; 202 is a success to it too (inferred from "2xx"), and Inlet's reply
//! body is ignored.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "airtable",
    title: "Airtable",
    signature: Signature {
        at: &[Loc::Header("x-airtable-content-mac")],
        format: Format::Prefix("hmac-sha256="),
        all: false,
    },
    key: KeyDecoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Lit("notification")],
    subject: &[Loc::Json("webhook.id")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339)],
    evidence: Evidence::Docs(
        "nango's Airtable webhook verification and the Airtable community's Node verifier",
    ),
    note: "the notification is a ping (base and webhook ids only): fetch the changes with List webhook payloads; the secret is the webhook's macSecretBase64; no timestamp is signed, so no replay window applies",
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

    /// `macSecretBase64`: base64 of `airtable-webhook-mac-secret-0001`.
    const SECRET: &str = "YWlydGFibGUtd2ViaG9vay1tYWMtc2VjcmV0LTAwMDE=";
    /// The notification body of https://airtable.com/developers/web/api/webhooks-overview.
    const BODY: &[u8] = br#"{"base":{"id":"app00000000000000"},"webhook":{"id":"ach00000000000000"},"timestamp":"2022-02-01T21:25:05.663Z"}"#;
    /// Derived from Airtable's docs (hex HMAC-SHA256 of the body under the base64-decoded
    /// secret, computed with Python's hmac), not published.
    const SIG: &str =
        "hmac-sha256=fa5b82d8abc8133392e634b07dffcfa84b169b295b935a19980328507e18aa9c";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-airtable-content-mac", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn the_secret_is_base64_decoded() {
        // The same MAC keyed by the secret's text is not Airtable's.
        let text_keyed = format!(
            "hmac-sha256={}",
            hex::encode(crate::core::verify::engine::hmac_sha256(
                SECRET.as_bytes(),
                BODY
            ))
        );
        assert_eq!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[("x-airtable-content-mac", &text_keyed)],
                BODY,
                NOW
            ),
            Err(VerifyError::SignatureMismatch {
                header: "x-airtable-content-mac"
            })
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-airtable-content-mac";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &SIG["hmac-sha256=".len()..])],
            VerifyError::MalformedSignature { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("airtable", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-airtable-content-mac", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "airtable.notification",
                subject: Some("ach00000000000000"),
                time: "2022-02-01T21:25:05.663Z",
            },
        );
    }
}
