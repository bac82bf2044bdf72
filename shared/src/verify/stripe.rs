//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` over `{t}.{raw body}`.
//! The `whsec_...` secret is the HMAC key as UTF-8 bytes (it is not base64-decoded).

use super::{
    check_window, find_match, hmac_sha256, joined_header, parse_unix_seconds, Clock, SecretSet,
    Unverified, Verified, VerifyError,
};

pub const SIGNATURE_HEADER: &str = "stripe-signature";
pub const SCHEME: &str = "stripe-v1-hmac-sha256";

/// Checks every `v1` signature against every active secret, then the replay window.
pub fn verify<'a>(
    secrets: &SecretSet,
    req: Unverified<'a>,
    clock: &Clock,
) -> Result<Verified<'a>, VerifyError> {
    let header = SIGNATURE_HEADER;
    // Repeated headers arrive joined with commas, which is the list separator here anyway.
    let value =
        joined_header(req.headers, header).ok_or(VerifyError::MissingSignature { header })?;
    let mut timestamp: Option<&str> = None;
    let mut candidates = Vec::new();
    for item in value.split(',') {
        let Some((key, val)) = item.trim().split_once('=') else {
            return Err(VerifyError::MalformedSignature { header });
        };
        match key {
            "t" => match timestamp {
                Some(seen) if seen != val => return Err(VerifyError::DuplicateHeader { header }),
                _ => timestamp = Some(val),
            },
            "v1" => candidates
                .push(hex::decode(val).map_err(|_| VerifyError::MalformedSignature { header })?),
            // Other schemes (v0 for test-mode legacy) are ignored, as Stripe's SDKs do.
            _ => {}
        }
    }
    let raw_t = timestamp.ok_or(VerifyError::MalformedSignature { header })?;
    let t = parse_unix_seconds(raw_t).ok_or(VerifyError::InvalidTimestamp { header })?;
    if candidates.is_empty() {
        return Err(VerifyError::SignatureMismatch { header });
    }
    let secret = find_match(secrets, &[raw_t.as_bytes(), b".", req.body], &candidates)
        .ok_or(VerifyError::SignatureMismatch { header })?;
    check_window(t, clock)?;
    Ok(Verified::new(req, SCHEME, secret, Some(t)))
}

/// The header value Stripe would send for `body` at `timestamp`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let mac = hmac_sha256(key, &[t.as_bytes(), b".", body]);
    format!("t={t},v1={}", hex::encode(mac))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = b"{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}";
    const HEADER: &str =
        "t=1700000000,v1=4f1cd7feda9826e746b7d482c4badebb657398df1099e1046364f6196a230150";

    /// Verifies with two active secrets; on success, the signed timestamp and the matching label.
    fn run(
        pairs: &[(&str, &str)],
        body: &[u8],
        now: u64,
    ) -> Result<(Option<i64>, String), VerifyError> {
        let h = headers(pairs);
        let v = verify(
            &secrets(&[b"whsec_other", SECRET]),
            Unverified { headers: &h, body },
            &clock_at(now),
        )?;
        Ok((v.timestamp(), v.secret_label().to_owned()))
    }

    #[test]
    fn known_answer() {
        assert_eq!(sign(SECRET, 1_700_000_000, BODY), HEADER);
        let (timestamp, label) =
            run(&[("Stripe-Signature", HEADER)], BODY, 1_700_000_100).expect("verifies");
        assert_eq!(timestamp, Some(1_700_000_000));
        assert_eq!(label, "secret-1");
    }

    #[test]
    fn several_v1_entries_and_unknown_schemes() {
        let good = HEADER.split_once(",v1=").expect("v1").1;
        let value = format!("t=1700000000,v1={},v0=abcd,v1={good}", "00".repeat(32));
        assert!(run(&[("stripe-signature", &value)], BODY, 1_700_000_000).is_ok());
    }

    #[test]
    fn repeated_headers_joined_still_parse() {
        let good = HEADER.split_once(",v1=").expect("v1").1;
        let first = format!("t=1700000000,v1={}", "11".repeat(32));
        let second = format!("t=1700000000,v1={good}");
        assert!(run(
            &[("stripe-signature", &first), ("stripe-signature", &second)],
            BODY,
            1_700_000_000
        )
        .is_ok());
        let conflicting = "t=1700000001,v1=00";
        assert_eq!(
            run(
                &[
                    ("stripe-signature", HEADER),
                    ("stripe-signature", conflicting)
                ],
                BODY,
                1_700_000_000
            )
            .expect_err("t conflict"),
            VerifyError::DuplicateHeader {
                header: SIGNATURE_HEADER
            }
        );
    }

    #[test]
    fn rejections() {
        let header = SIGNATURE_HEADER;
        let now = 1_700_000_000;
        let cases: &[(Pairs, &[u8], u64, VerifyError)] = &[
            (&[], BODY, now, VerifyError::MissingSignature { header }),
            (
                &[("stripe-signature", HEADER)],
                b"{}",
                now,
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[("stripe-signature", "v1=4f1c")],
                BODY,
                now,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("stripe-signature", "garbage")],
                BODY,
                now,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("stripe-signature", "t=1700000000")],
                BODY,
                now,
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[("stripe-signature", "t=1700000000,v1=xyz")],
                BODY,
                now,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("stripe-signature", "t=soon,v1=00")],
                BODY,
                now,
                VerifyError::InvalidTimestamp { header },
            ),
            (
                &[("stripe-signature", HEADER)],
                BODY,
                now + 301,
                VerifyError::TimestampOutsideTolerance {
                    skew_seconds: 301,
                    tolerance_seconds: 300,
                },
            ),
            (
                &[("stripe-signature", HEADER)],
                BODY,
                now - 301,
                VerifyError::TimestampOutsideTolerance {
                    skew_seconds: -301,
                    tolerance_seconds: 300,
                },
            ),
        ];
        for (pairs, body, at, want) in cases {
            assert_eq!(
                &run(pairs, body, *at).expect_err("must fail"),
                want,
                "{pairs:?} at {at}"
            );
        }
    }

    #[test]
    fn secret_is_not_base64_decoded() {
        // Decoding "whsec_test_secret" as base64 would give another key and another signature.
        let h = headers(&[("stripe-signature", HEADER)]);
        let decoded_key = secrets(&[b"test_secret"]);
        assert!(verify(
            &decoded_key,
            Unverified {
                headers: &h,
                body: BODY
            },
            &clock_at(1_700_000_000)
        )
        .is_err());
    }
}
