//! Netlify (deploy notifications, "Outgoing webhook" with a "JWS secret token"):
//! `X-Webhook-Signature: <JWT>`, a JWS in compact form signed HS256 with the token's UTF-8
//! bytes, whose claims are `iss: "netlify"` and `sha256`: the hex SHA-256 of the raw body. The
//! signature covers the body only through that claim. Netlify's docs
//! (https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature) name the
//! header, the JWS, HS256, the `iss` and `sha256` claims; the check here is the one
//! wearefine/fae's `app/controllers/fae/netlify_hooks_controller.rb` makes (Ruby `jwt`:
//! `iss: "netlify", verify_iss: true, algorithm: "HS256"`, then `sha256` against
//! `Digest::SHA256.hexdigest(body)`). The docs name no timestamp claim, so none is required and
//! no replay window applies; an `exp` or `nbf`, were one sent, is held to the clock. A hook
//! without a JWS secret sends no signature and is refused.
//!
//! The body is the deploy object (the docs' payload and gitlab.com/jamietanna/www-api issue 107's
//! capture): `id` the deploy, `state` what happened (`building`, `ready`, `error`, …),
//! `updated_at`. One deploy sends several notifications under the same `id`, so the id is the
//! body digest (each notification's `state` and `updated_at` differ; a retry repeats the bytes:
//! inferred, Netlify documents no retry body); the type is `deploy.<state>`, the subject the
//! deploy id, the time `updated_at`. Form-submission webhooks (no `state`) are not covered: they
//! are refused with 400 (missing `state`). No batches, no handshake.

use crate::core::scheme::*;
use crate::core::verify::keys::{BodyHash, JwtAlg, JwtRules};

pub const SCHEME: Scheme = Scheme {
    name: "netlify",
    title: "Netlify",
    signature: Signature {
        at: &[Loc::Header("x-webhook-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body],
    algorithm: Algorithm::Jwt(JwtRules {
        algorithms: &[JwtAlg::HS256],
        issuer: Some("netlify"),
        body_hash: Some(BodyHash {
            claim: "sha256",
            hash: Hash::Sha256,
        }),
        ..JwtRules::BASE
    }),
    encoding: Encoding::Raw,
    id: &[Loc::Digest],
    ty: &[
        TypePart::Lit("deploy"),
        TypePart::Required(Loc::Json("state")),
    ],
    subject: &[Loc::Json("id")],
    time: &[TimeLoc::At(Loc::Json("updated_at"), Unit::Rfc3339)],
    evidence: Evidence::Docs("wearefine/fae netlify_hooks_controller.rb (Ruby jwt)"),
    note: "the JWT carries no timestamp, so no replay window applies; one deploy notifies several times under one id, so duplicates are recognised by the body digest; form-submission webhooks are not covered",
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

    const SECRET: &str = "netlify-jws-secret";
    /// The deploy of gitlab.com/jamietanna/www-api issue 107, shortened.
    const BODY: &[u8] = br#"{"id":"5ebc34bf4fea0b01f02efa3a","site_id":"fa4dd95a-994e-4f89-8a7a-2d9e9fc36a32","build_id":"5ebc34bf4fea0b01f02efa38","state":"ready","name":"www-jvt-me","url":"https://www.jvt.me","created_at":"2020-05-13T17:56:15.346Z","updated_at":"2020-05-13T17:58:56.738Z","branch":"master","context":"production","deploy_time":159}"#;
    /// Derived, not published: Python's hmac/hashlib/base64 over the docs' rules
    /// (`{"alg":"HS256","typ":"JWT"}`, claims `iss` and `sha256` of BODY, key SECRET).
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJuZXRsaWZ5Iiwic2hhMjU2IjoiNzZkYjNhYzEyMzhiYWU2MWEzN2NmMWQ1NjlhMTRiMmQwMTQ1MGRmNmI5NDQwNTQ3N2FiY2EzZDkzYmUxYTViMiJ9.SP7aGD7Op63DS1aRx_EhTGlksOv_8-eifU89_uSfCWw";
    const NOW: u64 = 1_700_000_000;
    const HEADER: &str = "x-webhook-signature";

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[(HEADER, JWT)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
        // What the engine signs names the issuer Netlify does.
        let signed = sign_headers(&SCHEME, SECRET.as_bytes(), BODY, NOW as i64, "d1", None);
        let token = &signed[0].1;
        let claims = token.split('.').nth(1).expect("claims");
        use base64::Engine;
        let claims = crate::core::verify::engine::B64URL
            .decode(claims)
            .expect("b64");
        assert!(String::from_utf8_lossy(&claims).contains(r#""iss":"netlify""#));
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        let other_issuer = {
            use crate::core::verify::keys::{sign_jwt, JwtAlg};
            let claims = serde_json::json!({"iss": "vercel", "sha256": "76db3ac1238bae61a37cf1d569a14b2d01450df6b94405477abca3d93be1a5b2"});
            sign_jwt(JwtAlg::HS256, SECRET.as_bytes(), &claims).expect("sign")
        };
        assert_missing_and_duplicate(&SCHEME, SECRET, BODY, NOW, &[(header, JWT)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, "not.a.jwt")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &other_issuer)],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("netlify", &SCHEME),
            SECRET,
            Request::post(
                &[("content-type", "application/json"), (HEADER, JWT)],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "netlify.deploy.ready",
                subject: Some("5ebc34bf4fea0b01f02efa3a"),
                time: "2020-05-13T17:58:56.738Z",
            },
        );
    }
}
