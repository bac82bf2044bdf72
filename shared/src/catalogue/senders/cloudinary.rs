//! Cloudinary: `X-Cld-Signature: <hex>` is a plain digest (not an HMAC) of
//! `{raw body}{timestamp}{API secret}`, the timestamp (unix seconds) in `X-Cld-Timestamp`:
//! SHA-1 by default (`cloudinary`), SHA-256 for accounts set to it (`cloudinary-sha256`). The
//! SDK accepts notifications up to 7200 s old. Notifications carry no event id: the id is the
//! body digest; the type is the signed `notification_type` (`upload`, `eager`, …).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "cloudinary",
    title: "Cloudinary",
    signature: Signature {
        at: &[Loc::Header("x-cld-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body, Part::Timestamp, Part::Secret],
    algorithm: Algorithm::Digest(Hash::Sha1),
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-cld-timestamp")],
        unit: Unit::Seconds,
        tolerance: 7200,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("notification_type"))],
    subject: &[Loc::Json("public_id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Sdk("cloudinary 1.46.3 (PyPI)"),
    note: "the secret is the API secret; SHA-1 (accounts set to SHA-256 use cloudinary-sha256); no event id: the id is the body digest",
    ..Scheme::BASE
};

/// Cloudinary for accounts whose signature algorithm is SHA-256.
pub const SHA256: Scheme = Scheme {
    name: "cloudinary-sha256",
    title: "Cloudinary (SHA-256 signatures)",
    algorithm: Algorithm::Digest(Hash::Sha256),
    note: "the secret is the API secret; for accounts set to SHA-256 signatures; no event id: the id is the body digest",
    ..SCHEME
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &SHA256];

#[cfg(test)]
mod tests {
    use super::{SCHEME, SHA256};
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// pycloudinary `test/test_utils.py` (`MOCKED_NOW - 60`).
    const SECRET: &[u8] = b"X7qLTrsES31MzxxkxPPA-pAGGfU";
    const BODY: &[u8] = br#"{"notification_type":"eager","eager":[{"transformation":"sp_full_hd/mp4","bytes":1055,"url":"http://res.cloudinary.com/demo/video/upload/sp_full_hd/v1533125278/dog.mp4","secure_url":"https://res.cloudinary.com/demo/video/upload/sp_full_hd/v1533125278/dog.mp4"}],"public_id":"dog","batch_id":"9b11fa058c61fa577f4ec516bf6ee756ac2aefef095af99aef1302142cc1694a"}"#;
    const SIG: &str = "dfe82de1d9083fe0b7ea68070649f9a15b8874da";
    const TS: &str = "1549533514";

    #[test]
    fn published_sha1_vector() {
        let pairs = [("x-cld-signature", SIG), ("x-cld-timestamp", TS)];
        vector(&SCHEME, SECRET, BODY, &pairs);
        // The SDK's window: 7200 s.
        check(&SCHEME, &[SECRET], &pairs, BODY, 1_549_533_514 + 7200).expect("2 h old");
        assert!(matches!(
            check(&SCHEME, &[SECRET], &pairs, BODY, 1_549_533_514 + 7201),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        // Not the SHA-256 scheme.
        assert!(check(&SHA256, &[SECRET], &pairs, BODY, 1_549_533_514).is_err());
    }

    #[test]
    fn published_sha256_vector() {
        vector(
            &SHA256,
            b"someApiSecret",
            b"{}",
            &[
                (
                    "x-cld-signature",
                    "d5497e1a206ad0ba29ad09a7c0c5f22e939682d15009c15ab3199f62fefbd14b",
                ),
                ("x-cld-timestamp", "0"),
            ],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
        round_trip(&SHA256, SECRET, BODY);
    }

    #[test]
    fn rejections() {
        let header = "x-cld-signature";
        let th = "x-cld-timestamp";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[(th, TS)], VerifyError::MissingSignature { header }),
            (&[(header, SIG)], VerifyError::MissingHeader { header: th }),
            (
                &[(header, SIG), (th, "1549533515")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[
                    (header, "dfe82de1d9083fe0b7ea68070649f9a15b8874dachars"),
                    (th, TS),
                ],
                VerifyError::MalformedSignature { header },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(&SCHEME, &[SECRET], pairs, BODY, 1_549_533_514).expect_err("fails");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }

    #[test]
    fn normalization() {
        let got = deliver(
            crate::catalogue::sources::Source::new("cloudinary", &SCHEME),
            "X7qLTrsES31MzxxkxPPA-pAGGfU",
            Request::post(
                &[("x-cld-signature", SIG), ("x-cld-timestamp", TS)],
                BODY,
                1_549_533_574,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::core::normalize::body_digest_id(BODY));
        assert_eq!(e["type"], "cloudinary.eager");
        assert_eq!(e["subject"], "dog");
        assert_eq!(e["time"], "2019-02-07T09:58:34.000Z");
    }
}
