//! Retell AI: `X-Retell-Signature: v=<unix ms>,d=<hex HMAC-SHA256(API key, raw body + v)>`, keyed
//! with the Retell API key that carries the webhook badge (its UTF-8 bytes). Sources: Retell's
//! "Secure the webhook" (https://docs.retellai.com/features/secure-webhook: the header, the API key
//! with the webhook badge, the SDKs' `Retell.verify(body, api_key, signature)`) and Retell's own
//! SDK, retell-python-sdk `src/retell/lib/webhook_auth.py` (`verify`: matches `v=(\d+),d=(.*)`,
//! refuses a `v` more than 5 minutes from now in either direction, then compares
//! `hmac.new(key, body + str(v), sha256).hexdigest()`); retell-sdk 6.2.13's `sign` computes the
//! same HMAC (an older source read a plain `sha256(key + input)` there), and that SDK signs and
//! verifies this sender's oracle. The window is the SDK's, 300 s. The body is one event,
//! `{"event":"call_ended","call":{…}}` (chat events carry `chat`): Retell sends no event id, so
//! the id is the body digest (the body holds the call id and the event, and each event of a call
//! has a different body, so identical bytes are a retry); `event` is the type, the call (or chat)
//! id the subject, the signed `v` the time.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "retell",
    title: "Retell AI",
    signature: Signature {
        at: &[Loc::Header("x-retell-signature")],
        format: Format::Kv { sep: ",", key: "d" },
        all: false,
    },
    signed: &[Part::Body, Part::Timestamp],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("v")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("call.call_id"), Loc::Json("chat.chat_id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Sdk("retell-sdk 6.2.13 (PyPI)"),
    note: "the secret is the Retell API key with the webhook badge; v=<ms>,d=<hex> over body + v, 300 s; no event id: the id is the body digest",
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

    const KEY: &str = "key_retell-webhook-api-key";
    /// Shaped as the `call_ended` example of Retell's webhook docs, shortened.
    const BODY: &[u8] = br#"{"event":"call_ended","call":{"call_type":"phone_call","call_id":"Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6","agent_id":"oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD","call_status":"ended","start_timestamp":1714608475945,"end_timestamp":1714608491736,"disconnection_reason":"user_hangup"}}"#;
    /// Derived, not published: hex HMAC-SHA256 of body + `1714608495000`, Python's hmac (as the
    /// SDK's `verify` computes it).
    const SIG: &str =
        "v=1714608495000,d=7dea7623f213cd3a8d70864291b186eaf7a97a20c17d6954e58b15fbae68e3d9";
    const NOW: u64 = 1_714_608_495;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            KEY.as_bytes(),
            BODY,
            &[("x-retell-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, KEY.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_signatures_are_refused() {
        let header = "x-retell-signature";
        let digest = &SIG["v=1714608495000,".len()..];
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, digest)],
                VerifyError::MalformedSignature { header },
            ),
            // The timestamp in seconds is other signed content.
            (
                &[(header, &format!("v=1714608495,{digest}"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "v=1714608495000")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (header, &SIG.replace("495000", "496000"))],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[KEY.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope_forged(
            Source::new("retell", &SCHEME),
            KEY,
            "key_another",
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-retell-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "retell.call_ended",
                subject: Some("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"),
                time: "2024-05-02T00:08:15.000Z",
            },
        );
    }
}
