//! Box: `BOX-SIGNATURE-PRIMARY` and `BOX-SIGNATURE-SECONDARY` (one per signature key), each a
//! base64 HMAC-SHA256 of `{raw body}{timestamp}` (body first) under that key (UTF-8), with the
//! timestamp (RFC 3339 with offset) in `BOX-DELIVERY-TIMESTAMP`, held to the SDK's 600 s. Every
//! configured secret is tried against both headers, so the primary and secondary keys can be
//! `WEBHOOK_SECRET` and `WEBHOOK_SECRET_2`. Id: the signed body's event `id` (else the
//! unsigned `BOX-DELIVERY-ID`); type: the signed `trigger` (`FILE.UPLOADED`). A signed request
//! also carries `BOX-SIGNATURE-VERSION: 1` and `BOX-SIGNATURE-ALGORITHM: HmacSHA256`, without
//! which the SDK computes no signature and refuses it (Inlet does not require them).
//! (The module is `boxcom` because `box` is a keyword.)

use crate::core::scheme::*;
use crate::core::verify::engine::Signing;

pub const SCHEME: Scheme = Scheme {
    custom: Some(&VersionHeaders),
    ..DATA
};

/// The scheme as data; `VersionHeaders` adds the headers a Box sender sends beside the signature.
const DATA: Scheme = Scheme {
    name: "box",
    title: "Box",
    signature: Signature {
        at: &[
            Loc::Header("box-signature-primary"),
            Loc::Header("box-signature-secondary"),
        ],
        format: Format::Plain,
        all: true,
    },
    signed: &[Part::Body, Part::Timestamp],
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("box-delivery-timestamp")],
        unit: Unit::Rfc3339,
        tolerance: 600,
    }),
    id: &[Loc::Json("id"), Loc::Header("box-delivery-id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("trigger"))],
    subject: &[Loc::Json("source.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("box-sdk-gen 1.17.0 (PyPI)"),
    note: "configure the primary and secondary keys as two secrets; BOX-SIGNATURE-VERSION/-ALGORITHM are not checked; the SDK's window rejects any future timestamp, Inlet's allows 600 s either way",
    ..Scheme::BASE
};

/// Signs as the data says, then adds the version and algorithm headers Box sends (the SDK's
/// `compute_webhook_signature` returns nothing without them) and the delivery id.
#[derive(Debug)]
struct VersionHeaders;

impl Custom for VersionHeaders {
    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(
            crate::core::verify::engine::sign(&DATA, key, s).map(|mut headers| {
                headers.push(("box-signature-version".into(), "1".into()));
                headers.push(("box-signature-algorithm".into(), "HmacSHA256".into()));
                if !s.id.is_empty() {
                    headers.push(("box-delivery-id".into(), s.id.into()));
                }
                headers
            }),
        )
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// box-python-sdk-gen `test/webhooks.py`.
    const BODY: &[u8] = br#"{"type":"webhook_event","webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"Test.txt"}}"#;
    const TS: &str = "2020-01-01T00:00:00-07:00";
    const PRIMARY: &[u8] = b"SamplePrimaryKey";
    const SECONDARY: &[u8] = b"SampleSecondaryKey";
    const PRIMARY_SIG: &str = "6TfeAW3A1PASkgboxxA5yqHNKOwFyMWuEXny/FPD5hI=";
    const SECONDARY_SIG: &str = "v+1CD1Jdo3muIcbpv5lxxgPglOqMfsNHPV899xWYydo=";
    const AT: u64 = 1_577_862_000;

    fn headers<'a>(
        primary: Option<&'a str>,
        secondary: Option<&'a str>,
    ) -> Vec<(&'a str, &'a str)> {
        let mut h = vec![
            ("box-delivery-id", "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f"),
            ("box-delivery-timestamp", TS),
            ("box-signature-algorithm", "HmacSHA256"),
            ("box-signature-version", "1"),
        ];
        h.extend(primary.map(|p| ("box-signature-primary", p)));
        h.extend(secondary.map(|s| ("box-signature-secondary", s)));
        h
    }

    #[test]
    fn published_vectors() {
        vector(&SCHEME, PRIMARY, BODY, &headers(Some(PRIMARY_SIG), None));
        vector(
            &SCHEME,
            SECONDARY,
            BODY,
            &headers(None, Some(SECONDARY_SIG)),
        );
        let both = headers(Some(PRIMARY_SIG), Some(SECONDARY_SIG));
        vector(&SCHEME, PRIMARY, BODY, &both);
        vector(&SCHEME, SECONDARY, BODY, &both);
        assert_eq!(
            check(&SCHEME, &[b"IncorrectKey"], &both, BODY, AT),
            Err(VerifyError::SignatureMismatch {
                header: "box-signature-primary"
            })
        );
    }

    #[test]
    fn primary_and_secondary_as_two_secrets() {
        // WEBHOOK_SECRET = primary, WEBHOOK_SECRET_2 = secondary.
        let both = headers(Some(PRIMARY_SIG), Some(SECONDARY_SIG));
        assert_eq!(
            check(&SCHEME, &[PRIMARY, SECONDARY], &both, BODY, AT).expect("verifies"),
            "secret-0"
        );
        // After Box rotates the primary key, only the secondary signature still matches.
        let rotated = headers(
            Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
            Some(SECONDARY_SIG),
        );
        assert_eq!(
            check(&SCHEME, &[PRIMARY, SECONDARY], &rotated, BODY, AT).expect("verifies"),
            "secret-1"
        );
        assert_eq!(
            check(&SCHEME, &[b"IncorrectKey", SECONDARY], &both, BODY, AT).expect("verifies"),
            "secret-1"
        );
    }

    #[test]
    fn the_sdks_escaped_body_vectors_verify_over_the_escaped_bytes() {
        // The SDK also signs the body with non-ASCII written as \uXXXX (for frameworks that
        // decoded it); as bytes on the wire, that form verifies like any other.
        let japanese = br#"{"webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"\u30b9\u30af\u30ea\u30fc\u30f3\u30b7\u30e7\u30c3\u30c8 2020-08-05.txt"}}"#;
        vector(
            &SCHEME,
            PRIMARY,
            japanese,
            &headers(Some("LV2uCu+5NJtIHrCXDYgZ0v/PP5THGRuegw3RtdnEyuE="), None),
        );
        let emoji = br#"{"webhook":{"id":"1234567890"},"trigger":"FILE.UPLOADED","source":{"id":"1234567890","type":"file","name":"\ud83d\ude00 2020-08-05.txt"}}"#;
        vector(
            &SCHEME,
            PRIMARY,
            emoji,
            &headers(Some("xF/SDZosX4le+v4A0Qn59sZhuD1RqY5KRUKzVMSbh0E="), None),
        );
    }

    #[test]
    fn signing_sends_the_headers_the_sdk_requires() {
        // The SDK computes no signature (and refuses) unless version and algorithm are sent.
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            PRIMARY,
            &crate::core::verify::engine::Signing::post(
                BODY,
                AT as i64,
                "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f",
                None,
            ),
        )
        .expect("signs");
        let get = |name: &str| {
            signed
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("box-signature-version"), Some("1"));
        assert_eq!(get("box-signature-algorithm"), Some("HmacSHA256"));
        assert_eq!(
            get("box-delivery-id"),
            Some("f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f")
        );
        // Inlet writes the timestamp in UTC; Box's offset form signs other bytes, equally valid.
        assert_eq!(get("box-delivery-timestamp"), Some("2020-01-01T07:00:00Z"));
        let pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        check(&SCHEME, &[PRIMARY], &pairs, BODY, AT).expect("verifies");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, PRIMARY, BODY);
    }

    #[test]
    fn rejections() {
        let cases: &[(Vec<(&str, &str)>, VerifyError)] = &[
            (
                headers(None, None),
                VerifyError::MissingSignature {
                    header: "box-signature-primary",
                },
            ),
            (
                vec![("box-signature-primary", PRIMARY_SIG)],
                VerifyError::MissingHeader {
                    header: "box-delivery-timestamp",
                },
            ),
            (
                vec![
                    ("box-signature-primary", PRIMARY_SIG),
                    ("box-delivery-timestamp", "1577862000"),
                ],
                VerifyError::InvalidTimestamp {
                    header: "box-delivery-timestamp",
                },
            ),
            // The same instant written in UTC is different signed bytes.
            (
                vec![
                    ("box-signature-primary", PRIMARY_SIG),
                    ("box-delivery-timestamp", "2020-01-01T07:00:00Z"),
                ],
                VerifyError::SignatureMismatch {
                    header: "box-signature-primary",
                },
            ),
            (
                headers(Some("not base64!"), None),
                VerifyError::MalformedSignature {
                    header: "box-signature-primary",
                },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(&SCHEME, &[PRIMARY], pairs, BODY, AT).expect_err("fails");
            assert_eq!(&got, want, "{pairs:?}");
        }
        let both = headers(Some(PRIMARY_SIG), None);
        for now in [AT + 601, AT - 601] {
            assert!(matches!(
                check(&SCHEME, &[PRIMARY], &both, BODY, now),
                Err(VerifyError::TimestampOutsideTolerance { .. })
            ));
        }
    }

    #[test]
    fn normalization() {
        let body = br#"{"type":"webhook_event","id":"eb0c4e06-751f-442c-86f8-fd5bb404dbec","created_at":"2019-02-06T13:47:24-08:00","trigger":"FILE.PREVIEWED","webhook":{"id":"161003","type":"webhook"},"created_by":{"type":"user","id":"2030392","name":"Aaron Levie","login":"ceo@box.com"},"source":{"id":"12345","type":"file","name":"Test.txt"},"additional_info":[]}"#;
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            PRIMARY,
            &crate::core::verify::engine::Signing::post(body, 1_549_489_644, "", None),
        )
        .expect("signs");
        let mut pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push(("box-delivery-id", "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f"));
        let got = deliver(
            crate::catalogue::sources::Source::new("box", &SCHEME),
            "SamplePrimaryKey",
            Request::post(&pairs, body, 1_549_489_644),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "eb0c4e06-751f-442c-86f8-fd5bb404dbec");
        assert_eq!(e["type"], "box.file.previewed");
        assert_eq!(e["subject"], "12345");
        assert_eq!(e["time"], "2019-02-06T21:47:24.000Z");
        // The SDK's body has no event id: the delivery header is used.
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            PRIMARY,
            &crate::core::verify::engine::Signing::post(BODY, 1_549_489_644, "", None),
        )
        .expect("signs");
        let mut pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push(("box-delivery-id", "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f"));
        let got = deliver(
            crate::catalogue::sources::Source::new("box", &SCHEME),
            "SamplePrimaryKey",
            Request::post(&pairs, BODY, 1_549_489_644),
        );
        assert_eq!(got.reply.status, 202);
        assert_eq!(
            got.envelopes[0]["id"],
            "f96bb54b-ee16-4fc5-aa65-8c2d9e5b546f"
        );
        assert_eq!(got.envelopes[0]["type"], "box.file.uploaded");
    }
}
