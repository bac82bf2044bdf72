//! Vonage (Messages and Dispatch APIs' signed webhooks, and Voice API's): `Authorization: Bearer
//! <JWT>`, a JWS in compact form signed HS256 with the account's signature secret (its UTF-8
//! bytes), whose claims include `iat`, `jti`, `api_key`, `application_id` and `payload_hash`:
//! the hex SHA-256 of the raw body. Sources: "Signed webhooks"
//! (https://developer.vonage.com/en/messages/concepts/signed-webhooks: the JWT in the
//! authorization header, signed with the signature secret, "SHA-256 is always used", and the
//! optional check of `payload_hash` against "a SHA-256 hash of the payload"; Inlet always makes
//! it, so the body is covered), Vonage's own verifier `vonage_jwt.verify_signature`
//! (github.com/Vonage/vonage-python-sdk `jwt/src/vonage_jwt/verify_jwt.py`: PyJWT `decode(token,
//! signature_secret, algorithms='HS256')`), and Vonage's blog "Validating Inbound Messages From
//! the Vonage Messages API" (2020), which checks `iat` for staleness. The docs give no window:
//! 300 s either way is inferred (the deployment's tolerance when lower); an `exp`, when sent, is
//! held to the clock. Vonage may, on an internal error, send an unsigned callback: it is refused
//! (401), and Vonage retries.
//!
//! Bodies: an inbound message or a message status (`channel`, `message_uuid`, `status` or
//! `message_type`, `timestamp`), or a Voice event (`uuid`, `status`, `timestamp`). A message's
//! statuses share its `message_uuid`, so the id is the body digest (each status's `status` and
//! `timestamp` differ; a retry repeats the bytes: inferred). The type is `channel`, then
//! `status` or `message_type`, when present (`vonage.whatsapp.text`, `vonage.sms.delivered`,
//! `vonage.answered` for a call); the subject the message or call uuid; the time `timestamp`.
//! No batches, no handshake.

use crate::core::scheme::*;
use crate::core::verify::keys::{BodyHash, JwtAlg, JwtRules};

pub const SCHEME: Scheme = Scheme {
    name: "vonage",
    title: "Vonage",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Prefix("Bearer "),
        all: false,
    },
    signed: &[Part::Body],
    algorithm: Algorithm::Jwt(JwtRules {
        algorithms: &[JwtAlg::HS256],
        max_age: Some(300),
        body_hash: Some(BodyHash {
            claim: "payload_hash",
            hash: Hash::Sha256,
        }),
        ..JwtRules::BASE
    }),
    encoding: Encoding::Raw,
    id: &[Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("channel")),
        TypePart::Optional(Loc::Json("status")),
        TypePart::Optional(Loc::Json("message_type")),
    ],
    subject: &[Loc::Json("message_uuid"), Loc::Json("uuid")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("vonage-jwt 1.1.5 (PyPI)"),
    note: "the JWT's iat must be within 300 s (inferred); a message's statuses share its uuid, so duplicates are recognised by the body digest",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::keys::{sign_jwt, JwtAlg};
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "vonage-signature-secret-32-bytes";
    /// A Messages API inbound WhatsApp text, as the Messages API webhook reference shows one.
    const BODY: &[u8] = br#"{"channel":"whatsapp","message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab","to":"447700900000","from":"447700900001","timestamp":"2025-02-03T12:14:25Z","message_type":"text","text":"Hello From Vonage!"}"#;
    /// Derived, not published: Python's hmac/hashlib/base64 over the docs' rules (HS256 with
    /// SECRET; claims iat 1738584866, jti, iss, `payload_hash` = SHA-256 of BODY, api_key,
    /// application_id).
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3Mzg1ODQ4NjYsImp0aSI6ImM1YmE4ZjI0LTFhMTQtNGMxMC1iZmRmLTNmYmU4Y2U1MTFiNSIsImlzcyI6IlZvbmFnZSIsInBheWxvYWRfaGFzaCI6IjMwOTY0ODYxNWU2ZGZiYzZjYWY0Y2Q0NTUyN2YxZDFhYzc5NjAxODdkMWM1OTAxYmI1YjEwZjQxYzdhMzU4MGEiLCJhcGlfa2V5IjoiYTFiMmMzZDQiLCJhcHBsaWNhdGlvbl9pZCI6ImFhYWFhYWFhLWJiYmItY2NjYy1kZGRkLTAxMjM0NTY3ODlhYiJ9.J-tI68BuUzFhv4XoPfORaqnWKclMu69BQ8KOO-ZTNSc";
    const IAT: u64 = 1_738_584_866;
    const HEADER: &str = "authorization";

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn derived_vector_and_window() {
        let auth = bearer(JWT);
        vector_at(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[(HEADER, &auth)],
            IAT + 10,
        );
        // `iat` more than 300 s away, either way, is refused.
        for now in [IAT + 301, IAT - 301] {
            assert_eq!(
                check(&SCHEME, &[SECRET.as_bytes()], &[(HEADER, &auth)], BODY, now),
                Err(VerifyError::SignatureMismatch { header: HEADER })
            );
        }
        check(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[(HEADER, &auth)],
            BODY,
            IAT + 299,
        )
        .expect("inside the window");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        let no_hash = bearer(
            &sign_jwt(
                JwtAlg::HS256,
                SECRET.as_bytes(),
                &serde_json::json!({"iat": IAT}),
            )
            .expect("sign"),
        );
        let hs512 = bearer(
            &sign_jwt(
                JwtAlg::HS512,
                SECRET.as_bytes(),
                &serde_json::json!({"iat": IAT, "payload_hash": "309648615e6dfbc6caf4cd45527f1d1ac7960187d1c5901bb5b10f41c7a3580a"}),
            )
            .expect("sign"),
        );
        let auth = bearer(JWT);
        assert_header_refusals(&SCHEME, SECRET, BODY, IAT, &[(header, &auth)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[(header, JWT)], VerifyError::MalformedSignature { header }),
            (
                &[(header, &format!("Basic {JWT}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &no_hash)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &hs512)],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, IAT, cases);
    }

    #[test]
    fn normalization() {
        let auth = bearer(JWT);
        assert_envelope(
            Source::new("vonage", &SCHEME),
            SECRET,
            Request::post(
                &[("content-type", "application/json"), (HEADER, &auth)],
                BODY,
                IAT,
            ),
            Want {
                id: Id::Digest,
                ty: "vonage.whatsapp.text",
                subject: Some("aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"),
                time: "2025-02-03T12:14:25.000Z",
            },
        );
    }
}
