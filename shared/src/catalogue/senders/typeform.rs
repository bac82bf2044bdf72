//! Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>`. Id
//! (`event_id`), type (`event_type`, e.g. `form_response`), subject (`form_response.form_id`) and
//! time (`form_response.submitted_at`) come from the signed body. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "typeform",
    title: "Typeform",
    signature: Signature {
        at: &[Loc::Header("typeform-signature")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    encoding: Encoding::Base64,
    id: &[Loc::Json("event_id")],
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[Loc::Json("form_response.form_id")],
    time: &[TimeLoc::At(
        Loc::Json("form_response.submitted_at"),
        Unit::Rfc3339,
    )],
    evidence: Evidence::Docs("n8n's Typeform trigger"),
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

    const SECRET: &str = "typeform-secret";
    const BODY: &[u8] = br#"{"event_id":"01HCD7XN0QXJ7MPN3S8XSEB7ZT","event_type":"form_response","form_response":{"form_id":"lT4Z3j","submitted_at":"2023-11-14T22:13:20Z"}}"#;
    /// Derived from https://www.typeform.com/developers/webhooks/secure-your-webhooks/ (`sha256=`
    /// + base64 HMAC-SHA256 of the body, computed with Python's hmac), not published.
    const SIG: &str = "sha256=KyL+fm97eTUvnmhR9GbQswR57aBK9Kg4Mfl1z11wKBg=";

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("typeform-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "typeform-signature";
        let hex_sig = hex::encode(crate::core::verify::engine::hmac_sha256(
            SECRET.as_bytes(),
            BODY,
        ));
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &SIG[7..])],
                VerifyError::MalformedSignature { header },
            ),
            // The MAC in hex is not Typeform's encoding.
            (
                &[(header, &format!("sha256={hex_sig}"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "sha256=***")],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("typeform", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("typeform-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "01HCD7XN0QXJ7MPN3S8XSEB7ZT");
        assert_eq!(e["type"], "typeform.form_response");
        assert_eq!(e["subject"], "lT4Z3j");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
