//! Frame.io (V4 webhooks): `X-Frameio-Signature: v0=<hex HMAC-SHA256(secret, "v0:{timestamp}:{raw
//! body}")>`, the timestamp (unix seconds) in `X-Frameio-Request-Timestamp`, the signing secret
//! returned when the webhook is created used as its UTF-8 bytes. Sources: Frame.io's V4 webhook
//! guide (https://next.developer.frame.io/platform/docs/guides/webhooks, "Verifying webhook
//! signatures": the two headers, `v0:` + timestamp + `:` + body, HMAC-SHA256, a 5-minute
//! window) and its legacy V2 overview (https://developer.frame.io/platform/v2/webhooks-overview,
//! same scheme), cross-checked with Frame.io's example app's `checkSig` (`'v0:' + timestamp +
//! ':' + body`, `'v0=' + hex`). The window is 300 s, as the guide says. The body is one event,
//! `{"account","project","resource":{"id","type"},"type","user","workspace"}`: Frame.io sends no
//! event id and no event time in it, so two events (a comment updated twice) can be identical
//! bytes: the id is the body digest and repeats are `Distinct` (nothing suppressed,
//! at-least-once; inferred from the documented payloads). `type` (`file.ready`,
//! `comment.created`) is the type, `resource.id` the subject, the signed timestamp the time.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "frameio",
    title: "Frame.io",
    signature: Signature {
        at: &[Loc::Header("x-frameio-signature")],
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
        at: &[Loc::Header("x-frameio-request-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("resource.id")],
    time: &[TimeLoc::Signed],
    repeats: Repeats::Distinct,
    evidence: Evidence::Docs("Frame.io's V4 webhook guide and its example app's checkSig"),
    note: "v0= over v0:ts:body, 300 s; no event id and identical bodies can be two events: nothing is suppressed (at-least-once)",
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

    const SECRET: &str = "frameio-signing-secret";
    /// Shaped as the `file.ready` example of Frame.io's V4 webhook guide.
    const BODY: &[u8] = br#"{"account":{"id":"6f70f1bd-7e89-4a7e-b4d3-7e576585a181"},"project":{"id":"7e46e495-4444-4555-8649-bee4d391a997"},"resource":{"id":"d3075547-4e64-45f0-ad12-d075660eddd2","type":"file"},"type":"file.ready","user":{"id":"56556a3f-859f-4b38-b6c6-e8625b5da8a5"},"workspace":{"id":"382fd3e1-f2d1-4d7b-b2d2-7d1b4c0d8b41"}}"#;
    const TS: &str = "1700000000";
    /// Derived, not published: hex HMAC-SHA256 of `v0:1700000000:` + body, Python's hmac.
    const SIG: &str = "v0=d80cbe365915812f368c8412e3cfb21b66a46bfb3940972ac9beda2a0a16c6c1";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[
                ("x-frameio-signature", SIG),
                ("x-frameio-request-timestamp", TS),
            ],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_headers_are_refused() {
        let header = "x-frameio-signature";
        let ts = ("x-frameio-request-timestamp", TS);
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG), ts]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, SIG)],
                VerifyError::MissingHeader {
                    header: "x-frameio-request-timestamp",
                },
            ),
            (
                &[(header, &SIG["v0=".len()..]), ts],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace("v0=", "v1=")), ts],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), ("x-frameio-request-timestamp", "1700000001")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("frameio", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-frameio-signature", SIG),
                    ("x-frameio-request-timestamp", TS),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::NotDigest,
                ty: "frameio.file.ready",
                subject: Some("d3075547-4e64-45f0-ad12-d075660eddd2"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
