//! Signal Sciences generic webhooks (now Fastly Next-Gen WAF; ngrok's `signal_sciences`):
//! `X-SigSci-Signature: <hex HMAC-SHA256(signing key, raw body)>`, the key generated with the
//! generic webhook integration (rotatable) used as its UTF-8 bytes.
//!
//! - Header, hash, encoding and key: https://docs.fastly.com/signalsciences/integrations/generic-webhooks/
//!   ("The value is an HMAC-SHA256 hex digest hashed using a secret key generated when the generic
//!   webhook was created", and its Go `CheckMAC` example over the payload bytes).
//! - No timestamp is signed, so no replay window applies.
//! - Body (same page): `{"created","type","payload",…,"link"}`. The type is `type`
//!   (`signal-sciences.flag`, …), the time `created` (RFC 3339 with an offset). The payload's
//!   shape depends on the activity and is not documented, so no subject is read (inferred: the
//!   page shows `"payload": ...`).
//! - Id: no event id is documented, so the id is the body digest; `created` has second
//!   precision and nothing documented tells two notifications apart, so identical bytes are not
//!   assumed to be a retry: each delivery is queued (at-least-once).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "signal-sciences",
    title: "Signal Sciences (Fastly Next-Gen WAF)",
    signature: Signature {
        at: &[Loc::Header("x-sigsci-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    time: &[TimeLoc::At(Loc::Json("created"), Unit::Rfc3339)],
    evidence: Evidence::Docs("the Go CheckMAC example of Fastly's generic-webhooks page"),
    note: "signed with the integration's signing key; no event id or timestamp is signed: every delivery is queued (at-least-once)",
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

    const SECRET: &str = "sigsci-generic-webhook-key";
    /// Shaped as the generic-webhooks page's "Notifications format" (the payload made up).
    const BODY: &[u8] = br#"{"created":"2022-12-09T10:43:54-08:00","type":"flag","payload":{"id":"639381da0ee1b301d4c7e2f5","type":"ip","source":"198.51.100.7","reason":"SQLI","expires":"2022-12-10T10:43:54-08:00"},"link":"https://dashboard.signalsciences.net/corps/example/sites/www/events/639381da0ee1b301d4c7e2f5"}"#;
    /// Derived, not published: hex HMAC-SHA256 of the body, computed with Python's hmac as the
    /// page's Go example does.
    const SIG: &str = "98d3fbba95784a05f14e33719dfde954080e571aac68425b10f8803307b4337d";
    const HEADER: &str = "x-sigsci-signature";
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
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace('9', "a"))],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let headers = [("content-type", "application/json"), (HEADER, SIG)];
        assert_envelope(
            Source::new("signal-sciences", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::NotDigest,
                ty: "signal-sciences.flag",
                subject: None,
                time: "2022-12-09T18:43:54.000Z",
            },
        );
    }

    /// Nothing documented tells two notifications apart: each delivery is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("signal-sciences", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, NOW),
        );
    }
}
