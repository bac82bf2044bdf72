//! ElevenLabs: `ElevenLabs-Signature: t=<unix seconds>,v0=<hex HMAC-SHA256(secret, "{t}.{raw body}")>`,
//! the webhook's secret used as its UTF-8 bytes. Source: ElevenLabs' own SDK,
//! elevenlabs-python `src/elevenlabs/webhooks_custom.py` (`construct_event`: splits the header
//! at `,`, `t=` and `v0=`, `message = f"{timestamp}.{rawBody}"`, `"v0=" + hmac.new(secret,
//! message, sha256).hexdigest()`, and refuses a timestamp older than 30 minutes), and
//! https://elevenlabs.io/docs/eleven-agents/workflows/post-call-webhooks. The SDK refuses only
//! old timestamps; Inlet's window is symmetric, 1800 s. The body is one event,
//! `{"type":"post_call_transcription","event_timestamp":…,"data":{…}}`: no event id is sent, so
//! the id is the body digest (the body holds the conversation id and the event's time, so
//! identical bytes are a retry); `type` is the type, `data.conversation_id` the subject,
//! `event_timestamp` the time.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "elevenlabs",
    title: "ElevenLabs",
    signature: Signature {
        at: &[Loc::Header("elevenlabs-signature")],
        format: Format::Kv {
            sep: ",",
            key: "v0",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Seconds,
        tolerance: 1800,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.conversation_id")],
    time: &[
        TimeLoc::At(Loc::Json("event_timestamp"), Unit::Seconds),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Docs("elevenlabs-python webhooks_custom.py construct_event"),
    note: "t=,v0= over t.body, window 1800 s as the SDK's; no event id: the id is the body digest",
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

    const SECRET: &str = "wsec_elevenlabs-test";
    /// Shaped as the post-call webhook of ElevenLabs' docs, shortened.
    const BODY: &[u8] = br#"{"type":"post_call_transcription","event_timestamp":1739537297,"data":{"agent_id":"xyz","conversation_id":"abc","status":"done"}}"#;
    /// Derived, not published: hex HMAC-SHA256 of `1739537297.` + body, Python's hmac (as
    /// `construct_event` computes it).
    const SIG: &str = "c0c72cbf4225f7e98d306ecff11b1561087f4e09237a54ec0157c400a4fc45a3";
    const NOW: u64 = 1_739_537_297;

    fn header(sig: &str) -> String {
        format!("t=1739537297,v0={sig}")
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("elevenlabs-signature", &header(SIG))],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_signatures_are_refused() {
        let h = "elevenlabs-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header: h }),
            (
                &[(h, &format!("v0={SIG}"))],
                VerifyError::MalformedSignature { header: h },
            ),
            // Stripe's key is not ElevenLabs'.
            (
                &[(h, &format!("t=1739537297,v1={SIG}"))],
                VerifyError::SignatureMismatch { header: h },
            ),
            (
                &[(h, &format!("t=1739537298,v0={SIG}"))],
                VerifyError::SignatureMismatch { header: h },
            ),
            (
                &[(h, &header(SIG)), (h, &format!("t=1739537298,v0={SIG}"))],
                VerifyError::DuplicateHeader { header: h },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let value = header(SIG);
        assert_envelope_forged(
            Source::new("elevenlabs", &SCHEME),
            SECRET,
            "wsec_another",
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("elevenlabs-signature", &value),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "elevenlabs.post_call_transcription",
                subject: Some("abc"),
                time: "2025-02-14T12:48:17.000Z",
            },
        );
    }
}
