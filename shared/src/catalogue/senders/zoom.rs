//! Zoom: `x-zm-signature: v0=<hex>`, HMAC-SHA256 of `v0:{ts}:{raw body}` under the app's webhook
//! secret token (UTF-8), with `ts` from `x-zm-request-timestamp` (unix seconds). Zoom states no
//! window and has no SDK helper: 300 s. It also validates the endpoint with a signed
//! `endpoint.url_validation` event, answered with `{plainToken, encryptedToken}` (hex
//! HMAC-SHA256 of the token). Payloads carry no event id: the id is the body digest; the type
//! is the signed `event` (`meeting.started`).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "zoom",
    title: "Zoom",
    signature: Signature {
        at: &[Loc::Header("x-zm-signature")],
        format: Format::Prefix("v0="),
        all: false,
    },
    signed: &[
        Part::Lit("v0:"),
        Part::Timestamp,
        Part::Lit(":"),
        Part::Body,
    ],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-zm-request-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[
        Loc::Json("payload.object.uuid"),
        Loc::Json("payload.object.id"),
    ],
    time: &[TimeLoc::At(Loc::Json("event_ts"), Unit::Millis)],
    handshakes: &[Handshake::ZoomUrlValidation],
    evidence: Evidence::Docs("Zoom's webhook-sample"),
    note: "no event id in the payload: the id is the body digest; no SDK window, so 300 s",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "zoom-secret-token";
    const BODY: &[u8] = br#"{"event":"meeting.started","event_ts":1700000000123,"payload":{"account_id":"AAAAAABBBB","object":{"id":"1234567890","uuid":"4444AAAiAAAAAiAiAiiAii==","host_id":"x1yCzABCDEfg23HiJKl4mN","topic":"My Meeting","type":2}}}"#;
    const SIG: &str = "v0=85f6ea7190eaa60e2a247c5f86af3ff14872aa97efc86e01f7aa8536772f4d8a";

    #[test]
    fn derived_vector() {
        // Derived from https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
        // (hex HMAC-SHA256 of "v0:{ts}:{body}", computed with Python's hmac), not published.
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[
                ("x-zm-signature", SIG),
                ("x-zm-request-timestamp", "1700000000"),
            ],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn url_validation_is_answered_only_when_signed() {
        let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
        // Signed with Python's hmac: "v0:1654503850:" + body.
        let pairs = [
            (
                "x-zm-signature",
                "v0=419a2554d67b8f3c834e05f98858254956e2aa1040a72682d35086d9efe88465",
            ),
            ("x-zm-request-timestamp", "1654503850"),
        ];
        let source = crate::catalogue::sources::Source::new("zoom", &SCHEME);
        let ok = deliver(
            source.clone(),
            SECRET,
            Request::post(&pairs, body, 1_654_503_850),
        );
        assert_eq!(ok.reply.status, 200);
        assert_eq!(ok.reply.header("content-type"), Some("application/json"));
        // encryptedToken = hex HMAC-SHA256("zoom-secret-token", plainToken), from Python's hmac.
        assert_eq!(
            ok.json(),
            serde_json::json!({
                "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
                "encryptedToken": "d9e0d764a78494688ba3f2d5c0ed4ca311394b4834d959759213424d2df961e3"
            })
        );
        assert!(ok.envelopes.is_empty());
        let forged = deliver(
            source.clone(),
            "another-secret",
            Request::post(&pairs, body, 1_654_503_850),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
        // The MAC the answer carries is computed only for a request the secret signed: an
        // unauthenticated caller never gets one (issue 16's audit of handshakes).
        assert!(!forged.text().contains("encryptedToken"));
        let unsigned = deliver(
            source,
            SECRET,
            Request::post(
                &[("x-zm-request-timestamp", "1654503850")],
                body,
                1_654_503_850,
            ),
        );
        assert_eq!(unsigned.reply.status, 401);
        assert!(unsigned.envelopes.is_empty());
        assert!(!unsigned.text().contains("encryptedToken"));
    }

    #[test]
    fn rejections() {
        let header = "x-zm-signature";
        let th = "x-zm-request-timestamp";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(th, "1700000000")],
                VerifyError::MissingSignature { header },
            ),
            (&[(header, SIG)], VerifyError::MissingHeader { header: th }),
            (
                &[(header, &SIG[3..]), (th, "1700000000")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (th, "1700000001")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (th, "1700000000000")],
                VerifyError::InvalidTimestamp { header: th },
            ),
        ];
        for (pairs, want) in cases {
            let got = check(&SCHEME, &[SECRET.as_bytes()], pairs, BODY, 1_700_000_000)
                .expect_err("fails");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }

    #[test]
    fn normalization() {
        let got = deliver(
            crate::catalogue::sources::Source::new("zoom", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("x-zm-signature", SIG),
                    ("x-zm-request-timestamp", "1700000000"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::core::normalize::body_digest_id(BODY));
        assert_eq!(e["type"], "zoom.meeting.started");
        assert_eq!(e["subject"], "4444AAAiAAAAAiAiAiiAii==");
        assert_eq!(e["time"], "2023-11-14T22:13:20.123Z");
    }
}
