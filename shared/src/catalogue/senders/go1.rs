//! Go1 (learning content platform): `Go1-Signature: t=<unix seconds>,v1=<hex
//! HMAC-SHA256(secret_key, "{t}.{raw body}")>`, the webhook's `secret_key` (at most 64
//! characters) used as its UTF-8 bytes.
//!
//! - Header, format, signed bytes, hash and encoding:
//!   https://www.go1.com/developers/partners/concepts/webhook-signature-authentification and
//!   https://developers.go1.com/docs/developer-tools/webhooks/security, and Go1's own verifier
//!   go1com/webhook-verifier-js (`src/signature-verifier.ts`: `createHmac('sha256',
//!   secret).update(`${timestamp}.${payload}`).digest('hex')`, version `v1`).
//! - Window: the SDK's default `timestampToleranceInSeconds` is 60 (`src/config.ts`), so 60 here.
//! - A webhook without a `secret_key` is sent unsigned (or with Go1's OAuth2 bearer token instead,
//!   which Inlet does not check): refused here.
//! - Body (the guide's example): `{"type":"user.create","fired_at":"…","data":{"id",…}}`. The type
//!   is `type` (`go1.user.create`, `go1.enrollment.complete`, …), the subject `data.id`. `fired_at`
//!   is written `2020-04-29T06:29:13+0000`, not RFC 3339, so the time is the signed timestamp.
//! - Id: Go1 sends no event id, so the id is the body digest; the body carries `fired_at`, so
//!   identical bytes are a retry (inferred from the documented body).
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "go1",
    title: "Go1",
    signature: Signature {
        at: &[Loc::Header("go1-signature")],
        format: Format::Kv {
            sep: ",",
            key: "v1",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Seconds,
        tolerance: 60,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Docs("go1com/webhook-verifier-js src/signature-verifier.ts"),
    note: "no event id is sent: the id is the body digest; 60-second window, as Go1's verifier",
    repeats: Repeats::Retry,
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

    const SECRET: &str = "go1-webhook-secret-key";
    /// The example request of Go1's webhook-signature guide.
    const BODY: &[u8] = br#"{"type":"user.create","fired_at":"2020-04-29T06:29:13+0000","data":{"id":"8191190","email":"new.user@go1.com","full_name":"New User","first_name":"New","last_name":"User","profile_picture":null,"status":null,"created_time":"1588141753","account":null}}"#;
    /// Derived, not published (the guide's signature is for a secret it does not give): hex
    /// HMAC-SHA256 of `{t}.{body}`, computed with Python's hmac.
    const SIG: &str =
        "t=1588141753,v1=61d2d9f87b12695b8f2fb92ce4e7d38f86321a2d3fa5c4e9888abba7f527bc53";
    const HEADER: &str = "go1-signature";
    const AT: u64 = 1_588_141_753;

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
        let v1 = &SIG[13..];
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (&[(header, v1)], VerifyError::MalformedSignature { header }),
            (
                &[(header, &format!("t=soon,{v1}"))],
                VerifyError::InvalidTimestamp { header: "t" },
            ),
            // Another version than Go1's `v1`.
            (
                &[(header, &SIG.replace("v1=", "v2="))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &SIG.replace("1588141753", "1588141754"))],
                VerifyError::SignatureMismatch { header },
            ),
            // Two timestamps: which one was signed is not for the receiver to guess.
            (
                &[
                    (header, SIG),
                    (header, &SIG.replace("1588141753", "1588141754")),
                ],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, AT, cases);
        // 61 seconds late is outside Go1's window.
        assert!(matches!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(HEADER, SIG)],
                BODY,
                AT + 61
            ),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn normalization() {
        let headers = [("content-type", "application/json"), (HEADER, SIG)];
        assert_envelope(
            Source::new("go1", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, AT),
            Want {
                id: Id::Digest,
                ty: "go1.user.create",
                subject: Some("8191190"),
                time: "2020-04-29T06:29:13.000Z",
            },
        );
    }

    #[test]
    fn identical_bytes_are_a_retry() {
        assert_identical_bytes_are_a_retry(
            Source::new("go1", &SCHEME),
            SECRET,
            Request::post(&[(HEADER, SIG)], BODY, AT),
        );
    }
}
