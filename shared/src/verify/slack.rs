//! Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")>`
//! with the timestamp in `X-Slack-Request-Timestamp`.

use super::{
    check_window, find_match, hmac_sha256, single_header, timestamp_header, Clock, SecretSet,
    Unverified, Verified, VerifyError,
};

pub const SIGNATURE_HEADER: &str = "x-slack-signature";
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SCHEME: &str = "slack-v0-hmac-sha256";

/// Checks the `v0` signature against every active secret, then the replay window.
pub fn verify<'a>(
    secrets: &SecretSet,
    req: Unverified<'a>,
    clock: &Clock,
) -> Result<Verified<'a>, VerifyError> {
    let header = SIGNATURE_HEADER;
    let value =
        single_header(req.headers, header)?.ok_or(VerifyError::MissingSignature { header })?;
    let t = timestamp_header(req.headers, TIMESTAMP_HEADER)?;
    let given = value
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(VerifyError::MalformedSignature { header })?;
    let ts = t.to_string();
    let secret = find_match(secrets, &[b"v0:", ts.as_bytes(), b":", req.body], &[given])
        .ok_or(VerifyError::SignatureMismatch { header })?;
    check_window(t, clock)?;
    Ok(Verified::new(req, SCHEME, secret, Some(t)))
}

/// The `X-Slack-Signature` value Slack would send for `body` at `timestamp`.
pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac_sha256(key, &[b"v0:", ts.as_bytes(), b":", body]);
    format!("v0={}", hex::encode(mac))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    fn check(pairs: &[(&str, &str)], body: &[u8], now: u64) -> Result<(), VerifyError> {
        let h = headers(pairs);
        verify(
            &secrets(&[SECRET]),
            Unverified { headers: &h, body },
            &clock_at(now),
        )
        .map(|_| ())
    }

    #[test]
    fn known_answer_from_slack_sdk() {
        assert_eq!(sign(SECRET, 1_531_420_618, BODY), SIG);
        check(
            &[
                ("X-Slack-Signature", SIG),
                ("X-Slack-Request-Timestamp", TS),
            ],
            BODY,
            1_531_420_618,
        )
        .expect("verifies");
    }

    #[test]
    fn rejections() {
        let header = SIGNATURE_HEADER;
        let th = TIMESTAMP_HEADER;
        let now = 1_531_420_618;
        let cases: &[(Pairs, &[u8], u64, VerifyError)] = &[
            (
                &[("x-slack-request-timestamp", TS)],
                BODY,
                now,
                VerifyError::MissingSignature { header },
            ),
            (
                &[("x-slack-signature", SIG)],
                BODY,
                now,
                VerifyError::MissingHeader { header: th },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", TS),
                ],
                b"token=x",
                now,
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", "1531420619"),
                ],
                BODY,
                now,
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[
                    ("x-slack-signature", "v1=00"),
                    ("x-slack-request-timestamp", TS),
                ],
                BODY,
                now,
                VerifyError::MalformedSignature { header },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", "yesterday"),
                ],
                BODY,
                now,
                VerifyError::InvalidTimestamp { header: th },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", TS),
                    ("x-slack-request-timestamp", TS),
                ],
                BODY,
                now,
                VerifyError::DuplicateHeader { header: th },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", "1531420618,1531420618"),
                ],
                BODY,
                now,
                VerifyError::InvalidTimestamp { header: th },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", TS),
                ],
                BODY,
                now + 301,
                VerifyError::TimestampOutsideTolerance {
                    skew_seconds: 301,
                    tolerance_seconds: 300,
                },
            ),
            (
                &[
                    ("x-slack-signature", SIG),
                    ("x-slack-request-timestamp", TS),
                ],
                BODY,
                now - 400,
                VerifyError::TimestampOutsideTolerance {
                    skew_seconds: -400,
                    tolerance_seconds: 300,
                },
            ),
        ];
        for (pairs, body, at, want) in cases {
            assert_eq!(
                &check(pairs, body, *at).expect_err("must fail"),
                want,
                "{pairs:?}"
            );
        }
    }
}
