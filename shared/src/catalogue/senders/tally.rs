//! Tally (form webhooks): `Tally-Signature: <base64 HMAC-SHA256(signing secret, raw body)>`, sent
//! only when the webhook has a signing secret, used as its UTF-8 bytes
//! (https://tally.so/help/webhooks, "Add a signing secret": "a SHA256 cryptographic hash of the
//! webhook payload", and its Express.js example, which digests to base64). A webhook without a
//! secret is unsigned and refused. The body is one event (the same page's "Example webhook
//! event"): its `eventId` (signed) is the envelope id, `eventType` the type
//! (`tally.form_response`), `data.responseId` the subject (the submission), `createdAt` the time.
//! No timestamp is signed. Not Tally for Agents (tallyforagents.com), whose `tally-signature`
//! is `t=…,v1=…` over `<unix_ts>.<body>`.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "tally",
    title: "Tally",
    signature: Signature {
        at: &[Loc::Header("tally-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Json("eventId"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("eventType"))],
    subject: &[Loc::Json("data.responseId")],
    time: &[TimeLoc::At(Loc::Json("createdAt"), Unit::Rfc3339)],
    evidence: Evidence::Docs("Tally's own Express.js example, as receivers that copy it run it"),
    note: "no timestamp is signed, so no replay window applies (duplicates by the signed eventId); a webhook without a signing secret is unsigned and refused",
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

    const SECRET: &str = "tally-signing-secret";
    /// Shaped like the "Example webhook event" of https://tally.so/help/webhooks.
    const BODY: &[u8] = br#"{"eventId":"a4cb511e-d513-4fa5-baee-b815d718dfd1","eventType":"FORM_RESPONSE","createdAt":"2023-06-28T15:00:21.889Z","data":{"responseId":"2wgx4n","submissionId":"2wgx4n","respondentId":"dwQKYm","formId":"VwbNEw","formName":"Webhook payload","createdAt":"2023-06-28T15:00:21.000Z","fields":[{"key":"question_3EKz4n","label":"Text","type":"INPUT_TEXT","value":"Hello"}]}}"#;
    /// Derived from https://tally.so/help/webhooks (base64 HMAC-SHA256 of the body, computed with
    /// Python's hmac), not published.
    const SIG: &str = "amli2vIW0aNU0rBo6tW5vWbTYyGEygTTl/Xl6cdL8BI=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("tally-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "tally-signature";
        // The same MAC in hex is not Tally's encoding; Tally for Agents' format is not Tally's.
        let hex_sig = "6a6962daf216d1a354d2b068ead5b9bd66d3632184ca04d397f5e5e9c74bf012";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, hex_sig)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("t=1687964421,v1={hex_sig}"))],
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
            ("tally-signature", SIG),
        ];
        assert_envelope(
            Source::new("tally", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("a4cb511e-d513-4fa5-baee-b815d718dfd1"),
                ty: "tally.form_response",
                subject: Some("2wgx4n"),
                time: "2023-06-28T15:00:21.889Z",
            },
        );
    }
}
