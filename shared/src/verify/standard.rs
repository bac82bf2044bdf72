//! Standard Webhooks (Svix and every sender that adopted the spec):
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{raw body}")> [v1,<...> ...]`
//! with `webhook-id` and `webhook-timestamp`; `svix-*` headers are the same scheme.
//! The key is the base64 part of the `whsec_...` secret, decoded.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::{
    check_window, find_match, hmac_sha256, single_header, timestamp_header, Clock, SecretSet,
    Unverified, Verified, VerifyError,
};

pub const SCHEME: &str = "standard-webhooks-v1";
pub const SECRET_PREFIX: &str = "whsec_";

/// The names of one header family.
#[derive(Debug, Clone, Copy)]
struct Family {
    id: &'static str,
    timestamp: &'static str,
    signature: &'static str,
}

const WEBHOOK: Family = Family {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};
const SVIX: Family = Family {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// The header names this scheme reads the delivery id from, in order of preference.
pub const ID_HEADERS: [&str; 2] = [WEBHOOK.id, SVIX.id];

/// Turns a configured secret (`whsec_<base64>`, or bare base64) into the HMAC key.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = B64
        .decode(b64.trim())
        .map_err(|_| "a Standard Webhooks secret must be `whsec_` followed by base64".to_owned())?;
    if key.is_empty() {
        return Err("the Standard Webhooks secret decodes to an empty key".into());
    }
    Ok(key)
}

/// Checks every `v1` signature against every active secret, then the replay window.
pub fn verify<'a>(
    secrets: &SecretSet,
    req: Unverified<'a>,
    clock: &Clock,
) -> Result<Verified<'a>, VerifyError> {
    let family = if req.headers.contains_key(WEBHOOK.signature)
        || !req.headers.contains_key(SVIX.signature)
    {
        WEBHOOK
    } else {
        SVIX
    };
    let header = family.signature;
    let value =
        single_header(req.headers, header)?.ok_or(VerifyError::MissingSignature { header })?;
    let id = single_header(req.headers, family.id)?
        .filter(|id| !id.is_empty())
        .ok_or(VerifyError::MissingHeader { header: family.id })?;
    let t = timestamp_header(req.headers, family.timestamp)?;
    let candidates = signatures(value);
    if candidates.is_empty() {
        return Err(VerifyError::MalformedSignature { header });
    }
    let ts = t.to_string();
    let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", req.body];
    let secret = find_match(secrets, &parts, &candidates)
        .ok_or(VerifyError::SignatureMismatch { header })?;
    check_window(t, clock)?;
    Ok(Verified::new(req, SCHEME, secret, Some(t)).with_signed_id(id))
}

/// The decoded `v1` signatures in a header value. Entries are space-separated `version,base64`
/// pairs; since base64 has no commas, values that API Gateway joined with commas pair up too.
/// Other versions (e.g. `v1a`, asymmetric) and undecodable entries are skipped.
fn signatures(value: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for token in value.split_ascii_whitespace() {
        let parts: Vec<&str> = token.split(',').filter(|p| !p.is_empty()).collect();
        for pair in parts.chunks(2) {
            if let [version, sig] = pair {
                if *version == "v1" {
                    if let Ok(bytes) = B64.decode(sig) {
                        out.push(bytes);
                    }
                }
            }
        }
    }
    out
}

/// The `webhook-signature` value a Standard Webhooks sender would send.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
    format!("v1,{}", B64.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    struct Vector {
        secret: &'static str,
        id: &'static str,
        ts: i64,
        body: &'static [u8],
        sig: &'static str,
    }

    const VECTORS: [Vector; 2] = [
        Vector {
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            ts: 1_614_265_330,
            body: br#"{"test": 2432232314}"#,
            sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        Vector {
            secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            ts: 1_649_367_553,
            body: br#"{"email":"test@example.com","username":"test_user"}"#,
            sig: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        },
    ];

    fn key(v: &Vector) -> Vec<u8> {
        decode_secret(v.secret).expect("valid secret")
    }

    #[test]
    fn known_answers_from_the_spec_libraries() {
        for v in &VECTORS {
            assert_eq!(sign(&key(v), v.id, v.ts, v.body), v.sig);
            for prefix in ["webhook", "svix"] {
                let ts = v.ts.to_string();
                let h = headers(&[
                    (&format!("{prefix}-id"), v.id),
                    (&format!("{prefix}-timestamp"), &ts),
                    (&format!("{prefix}-signature"), v.sig),
                ]);
                let got = verify(
                    &secrets(&[&key(v)]),
                    Unverified {
                        headers: &h,
                        body: v.body,
                    },
                    &clock_at(v.ts as u64),
                );
                assert!(got.is_ok(), "{prefix}: {got:?}");
            }
        }
    }

    #[test]
    fn the_signed_id_is_the_one_the_signature_covered() {
        let v = &VECTORS[0];
        let ts = v.ts.to_string();
        // Signed with svix-* headers; an unsigned webhook-id added by whoever replays it.
        let h = headers(&[
            ("svix-id", v.id),
            ("svix-timestamp", &ts),
            ("svix-signature", v.sig),
            ("webhook-id", "forged-id"),
        ]);
        let verified = verify(
            &secrets(&[&key(v)]),
            Unverified {
                headers: &h,
                body: v.body,
            },
            &clock_at(v.ts as u64),
        )
        .expect("verifies");
        assert_eq!(verified.signed_id(), Some(v.id));
    }

    #[test]
    fn several_signatures_and_joined_headers() {
        let v = &VECTORS[0];
        let ts = v.ts.to_string();
        let other = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        for value in [
            format!("{other} {}", v.sig),
            format!("v1a,abc {} v2,xyz", v.sig),
            format!("{other},{}", v.sig),
        ] {
            let h = headers(&[
                ("webhook-id", v.id),
                ("webhook-timestamp", &ts),
                ("webhook-signature", &value),
            ]);
            assert!(
                verify(
                    &secrets(&[&key(v)]),
                    Unverified {
                        headers: &h,
                        body: v.body
                    },
                    &clock_at(v.ts as u64)
                )
                .is_ok(),
                "{value}"
            );
        }
    }

    #[test]
    fn secret_decoding() {
        assert!(decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert_eq!(
            decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        );
        assert!(decode_secret("whsec_not base64!").is_err());
        assert!(decode_secret("whsec_").is_err());
    }

    #[test]
    fn rejections() {
        let v = &VECTORS[1];
        let ts = v.ts.to_string();
        let s = secrets(&[&key(v)]);
        let sig = "webhook-signature";
        type Case<'a> = (Vec<(&'a str, &'a str)>, &'a [u8], i64, VerifyError);
        let cases: Vec<Case> = vec![
            (
                vec![("webhook-id", v.id), ("webhook-timestamp", &ts)],
                v.body,
                v.ts,
                VerifyError::MissingSignature { header: sig },
            ),
            (
                vec![("webhook-timestamp", &ts), ("webhook-signature", v.sig)],
                v.body,
                v.ts,
                VerifyError::MissingHeader {
                    header: "webhook-id",
                },
            ),
            (
                vec![("webhook-id", v.id), ("webhook-signature", v.sig)],
                v.body,
                v.ts,
                VerifyError::MissingHeader {
                    header: "webhook-timestamp",
                },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", v.sig),
                ],
                b"{}",
                v.ts,
                VerifyError::SignatureMismatch { header: sig },
            ),
            (
                vec![
                    ("webhook-id", "msg_other"),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", v.sig),
                ],
                v.body,
                v.ts,
                VerifyError::SignatureMismatch { header: sig },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", "v2,abc"),
                ],
                v.body,
                v.ts,
                VerifyError::MalformedSignature { header: sig },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", "tZ1I4"),
                ],
                v.body,
                v.ts,
                VerifyError::MalformedSignature { header: sig },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-timestamp", "1649367553.5"),
                    ("webhook-signature", v.sig),
                ],
                v.body,
                v.ts,
                VerifyError::InvalidTimestamp {
                    header: "webhook-timestamp",
                },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-id", v.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", v.sig),
                ],
                v.body,
                v.ts,
                VerifyError::DuplicateHeader {
                    header: "webhook-id",
                },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", v.sig),
                ],
                v.body,
                v.ts + 301,
                VerifyError::TimestampOutsideTolerance {
                    skew_seconds: 301,
                    tolerance_seconds: 300,
                },
            ),
            (
                vec![
                    ("webhook-id", v.id),
                    ("webhook-timestamp", &ts),
                    ("webhook-signature", v.sig),
                ],
                v.body,
                v.ts - 301,
                VerifyError::TimestampOutsideTolerance {
                    skew_seconds: -301,
                    tolerance_seconds: 300,
                },
            ),
        ];
        for (pairs, body, at, want) in cases {
            let h = headers(&pairs);
            let got = verify(&s, Unverified { headers: &h, body }, &clock_at(at as u64))
                .expect_err("must fail");
            assert_eq!(got, want, "{pairs:?}");
        }
    }
}
