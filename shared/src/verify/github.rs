//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`. No timestamp is signed.

use super::{find_match, hmac_sha256, single_header, SecretSet, Unverified, Verified, VerifyError};

pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
pub const SCHEME: &str = "github-hmac-sha256";

/// Checks the signature over the exact body bytes against every active secret.
pub fn verify<'a>(secrets: &SecretSet, req: Unverified<'a>) -> Result<Verified<'a>, VerifyError> {
    let header = SIGNATURE_HEADER;
    let value =
        single_header(req.headers, header)?.ok_or(VerifyError::MissingSignature { header })?;
    let hex_sig = value
        .strip_prefix("sha256=")
        .ok_or(VerifyError::MalformedSignature { header })?;
    let given = hex::decode(hex_sig).map_err(|_| VerifyError::MalformedSignature { header })?;
    let secret = find_match(secrets, &[req.body], &[given])
        .ok_or(VerifyError::SignatureMismatch { header })?;
    Ok(Verified::new(req, SCHEME, secret, None))
}

/// The header value GitHub would send for `body`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(key, &[body])))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const DOCS_SECRET: &[u8] = b"It's a Secret to Everybody";
    const DOCS_SIG: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn known_answer_from_github_docs() {
        assert_eq!(sign(DOCS_SECRET, b"Hello, World!"), DOCS_SIG);
        let h = headers(&[("X-Hub-Signature-256", DOCS_SIG)]);
        let v = verify(
            &secrets(&[DOCS_SECRET]),
            Unverified {
                headers: &h,
                body: b"Hello, World!",
            },
        )
        .expect("verifies");
        assert_eq!(v.scheme(), SCHEME);
        assert_eq!(v.secret_label(), "secret-0");
    }

    #[test]
    fn any_active_secret_verifies_during_rotation() {
        let h = headers(&[("x-hub-signature-256", DOCS_SIG)]);
        let v = verify(
            &secrets(&[b"new-secret", DOCS_SECRET]),
            Unverified {
                headers: &h,
                body: b"Hello, World!",
            },
        )
        .expect("old secret still accepted");
        assert_eq!(v.secret_label(), "secret-1");
    }

    #[test]
    fn non_utf8_body_is_verified_as_bytes() {
        let body = [0xff, 0xfe, 0x00, b'{'];
        let sig = sign(b"k", &body);
        let h = headers(&[("x-hub-signature-256", &sig)]);
        assert!(verify(
            &secrets(&[b"k"]),
            Unverified {
                headers: &h,
                body: &body
            }
        )
        .is_ok());
    }

    #[test]
    fn rejections() {
        let s = secrets(&[DOCS_SECRET]);
        let body: &[u8] = b"Hello, World!";
        let header = SIGNATURE_HEADER;
        let cases: &[(Pairs, &[u8], VerifyError)] = &[
            (&[], body, VerifyError::MissingSignature { header }),
            (
                &[("x-hub-signature-256", DOCS_SIG)],
                b"Hello, World?",
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[("x-hub-signature-256", "757107ea")],
                body,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("x-hub-signature-256", "sha256=zz")],
                body,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("x-hub-signature-256", "sha1=757107ea")],
                body,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("x-hub-signature-256", "sha256=")],
                body,
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[
                    ("x-hub-signature-256", DOCS_SIG),
                    ("x-hub-signature-256", DOCS_SIG),
                ],
                body,
                VerifyError::DuplicateHeader { header },
            ),
            (
                &[("x-hub-signature-256", &format!("{DOCS_SIG},{DOCS_SIG}"))],
                body,
                VerifyError::MalformedSignature { header },
            ),
        ];
        for (pairs, body, want) in cases {
            let h = headers(pairs);
            let got = verify(&s, Unverified { headers: &h, body }).expect_err("must fail");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }
}
