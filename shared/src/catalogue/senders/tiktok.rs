//! TikTok (TikTok for Developers webhooks): `TikTok-Signature: t=<unix>,s=<hex
//! HMAC-SHA256(client secret, "{t}.{raw body}")>`, the app's client secret used as its UTF-8
//! bytes. TikTok's docs (https://developers.tiktok.com/doc/webhooks-verification, "Check the
//! signature": split the header at `,` and `=`, `t` the timestamp and `s` the signature; the
//! signed payload is the timestamp, `.`, and the request body; HMAC-SHA256 with the
//! `client_secret`) describe it; the header's example value is hex, and an independent verifier
//! following those steps (TechyJ416/astro-platform-starter
//! `netlify/functions/utils/tiktok-signature.js`: `${timestamp}.${rawBody}`, hex) agrees. TikTok
//! leaves the window to
//! the receiver ("decide whether the difference is tolerable"): ±5 minutes is held
//! (configurable). The body (https://developers.tiktok.com/doc/webhooks-overview) is one event:
//! `event` the type (`tiktok.video.publish.complete`, `tiktok.authorization.removed`),
//! `user_openid` the subject, the signed timestamp the time; `content` is a JSON string kept as
//! sent. The body has no event id: the envelope id is the body digest (`create_time` and
//! `content` tell events apart). TikTok Shop's webhooks are a different scheme, not this one.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "tiktok",
    title: "TikTok for Developers",
    signature: Signature {
        at: &[Loc::Header("tiktok-signature")],
        format: Format::Kv { sep: ",", key: "s" },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("user_openid")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Docs(
        "TechyJ416/astro-platform-starter's netlify/functions/utils/tiktok-signature.js",
    ),
    note:
        "TikTok names no window: ±5 minutes (configurable); no event id (duplicates by body digest)",
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

    const SECRET: &str = "tiktok-client-secret";
    /// A `video.publish.complete` event in the shape of TikTok's webhook events reference.
    const BODY: &[u8] = br#"{"client_key":"awcx1kjd8e8q0ahd","event":"video.publish.complete","create_time":1700000000,"user_openid":"act.example12345Example12345Example","content":"{\"publish_id\":\"v_inbox_file~v2.123456789\",\"publish_type\":\"INBOX_SHARE\"}"}"#;
    /// Derived from TikTok's docs (hex HMAC-SHA256 of `{t}.{body}`, computed with Python's hmac),
    /// not published.
    const HEADER: &str =
        "t=1700000000,s=fbcc0f89b5233b27788e374eb31df8d1e06b30345fb83916452ee6bf5f792ef9";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("tiktok-signature", HEADER)],
        );
    }

    #[test]
    fn round_trip_tampering_and_window() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "tiktok-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &HEADER[13..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &HEADER.replace("t=1700000000", "t=1700000001"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &HEADER.replace("s=", "v1="))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "t=1700000000,t=1700000001,s=00")],
                VerifyError::DuplicateHeader { header },
            ),
            (
                &[(header, "t=1700000000;s=00")],
                VerifyError::InvalidTimestamp { header: "t" },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("tiktok", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("tiktok-signature", HEADER),
                ],
                BODY,
                NOW + 3,
            ),
            Want {
                id: Id::Digest,
                ty: "tiktok.video.publish.complete",
                subject: Some("act.example12345Example12345Example"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
