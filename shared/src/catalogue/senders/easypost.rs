//! EasyPost: `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256(secret, raw body)>`, keyed with
//! the webhook's `webhook_secret` NFKD-normalized, as UTF-8. Sources: EasyPost's docs
//! (https://docs.easypost.com/docs/webhooks, "HMAC Validation": the `webhook_secret`, the
//! `X-Hmac-Signature` header, the client libraries' `validate_webhook()`) and EasyPost's own SDK,
//! easypost-python `validate_webhook` (`unicodedata.normalize("NFKD", webhook_secret)`,
//! `hmac.new(key, event_body, sha256)`, `"hmac-sha256-hex=" + hexdigest()`). Inlet uses the
//! configured secret's bytes as they are: a secret with characters NFKD changes must be
//! configured already normalized (ASCII secrets are unaffected). No timestamp is signed, so no
//! replay window applies. The body is one Event: its `id` (`evt_…`, signed, the same on a
//! retry) is the envelope id, `description` (`tracker.updated`, `batch.created`) the type, the
//! `result` object's id the subject, `created_at` the time. The newer `X-Hmac-Signature-V2`
//! (which also signs a timestamp and path) is not read.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "easypost",
    title: "EasyPost",
    signature: Signature {
        at: &[Loc::Header("x-hmac-signature")],
        format: Format::Prefix("hmac-sha256-hex="),
        all: false,
    },
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("description"))],
    subject: &[Loc::Json("result.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("easypost 10.7.0 (PyPI)"),
    note: "hmac-sha256-hex= of the body (configure the secret NFKD-normalized if it is not ASCII); id the signed event id; no timestamp is signed",
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

    const SECRET: &str = "easypost-webhook-secret";
    /// Shaped as EasyPost's `tracker.updated` Event example, shortened.
    const BODY: &[u8] = br#"{"id":"evt_7b1d9a4e1c2f11ee8a8bac1f6bc539ae","object":"Event","mode":"test","description":"tracker.updated","previous_attributes":{"status":"pre_transit"},"result":{"id":"trk_c8e0edb5bb284caa934a0d3db23a148z","object":"Tracker","mode":"test","tracking_code":"9400110898825022579493","status":"in_transit","carrier":"USPS"},"status":"pending","created_at":"2023-11-14T22:13:20Z","updated_at":"2023-11-14T22:13:20Z"}"#;
    /// Derived, not published: `hmac-sha256-hex=` + hex HMAC-SHA256 of the body, Python's hmac
    /// (as `validate_webhook` computes it).
    const SIG: &str =
        "hmac-sha256-hex=f40dcd9d187ef5b1e8c15e57d0ea2d40a0218c4e2209883b4223b2f44c7ad60a";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-hmac-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-hmac-signature";
        let bare = &SIG["hmac-sha256-hex=".len()..];
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, bare)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &format!("sha256={bare}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace('f', "e"))],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("easypost", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-hmac-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Is("evt_7b1d9a4e1c2f11ee8a8bac1f6bc539ae"),
                ty: "easypost.tracker.updated",
                subject: Some("trk_c8e0edb5bb284caa934a0d3db23a148z"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
