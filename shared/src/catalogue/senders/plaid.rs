//! Plaid: `Plaid-Verification` is a JWT (JWS compact form) whose header says `alg: ES256` (the
//! only algorithm accepted) and names a key `kid`; its claims hold `iat` and
//! `request_body_sha256`, the hex SHA-256 of the raw body. The key is a P-256 JWK fetched from
//! Plaid's API, `POST https://<environment>.plaid.com/webhook_verification_key/get` with
//! `{"client_id","secret","key_id":<kid>}` (HTTPS only, cached by environment, client and
//! `kid`; the host is built from the configured environment, never read from the request). The
//! configured "secret" is `<environment>:<client_id>:<secret>`, environment `production`,
//! `sandbox` or `development`: the API credentials the key request needs (the `kid` alone is
//! read from the request, letters, digits and `-` only). The token is refused unless its
//! signature holds under that key, `iat` is within the window (5 minutes, as Plaid's docs say,
//! either way; the deployment's tolerance when set), and `request_body_sha256` matches the body.
//! A key's `expired_at` is not enforced: the 5-minute window bounds any token's use (inferred;
//! Plaid's docs only say to refresh non-expired keys).
//!
//! Plaid's webhooks carry no event id: `webhook_type`, `webhook_code` and `item_id` say what
//! happened and to which Item, and the same bytes can be two events (`SYNC_UPDATES_AVAILABLE`
//! for one Item, twice), so the envelope id is the body digest and every delivery is queued
//! (`Repeats::Distinct`: at-least-once, nothing suppressed). type
//! `plaid.<webhook_type>.<webhook_code>` lower-cased (`plaid.transactions.default_update`),
//! subject `item_id`, time the `iat` (when Plaid signed it). No batches, no handshake.
//!
//! Sources: "Verify webhooks", <https://plaid.com/docs/api/webhooks/webhook-verification/>
//! (the header, ES256 only, `kid`, `/webhook_verification_key/get`, `iat` not older than 5
//! minutes, `request_body_sha256`, constant-time comparison); "Webhooks"
//! <https://plaid.com/docs/api/webhooks/> (the body's `webhook_type`, `webhook_code`,
//! `item_id`, the hosts `production`/`sandbox`.plaid.com); cross-checked with two independent
//! verifiers: a public Python sample (gist skylarmb/0cecf20afe16ba1959681c838ce9b3a2, the POST
//! body to `https://production.plaid.com/webhook_verification_key/get` and a key cache; its
//! author's tie to Plaid not confirmed) and the `elixir_plaid` library's
//! `lib/plaid/webhooks.ex` (`alg` ES256, `kid`, `iat` at most 5 minutes old, constant-time
//! `request_body_sha256`). The vector below was derived, not published: Python's
//! `cryptography` signed it with a test key, and `jose` (panva, in tests/sdk) verified it and
//! its body hash against the test JWK, checked by hand.

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::core::scheme::*;
use crate::core::verify::engine::B64URL;
use crate::core::verify::fetch::{check_url, HostRule, KeyRequest};
use crate::core::verify::keys::{verify_jwt, BodyHash, JwtAlg, JwtKey, JwtRules, PublicKey};
use crate::core::verify::{single_header, unix_seconds, Clock, SecretSet, Unverified, VerifyError};

const HEADER: &str = "plaid-verification";
/// Plaid's API hosts, one per environment.
const HOSTS: &[HostRule] = &[
    HostRule::Exact("production.plaid.com"),
    HostRule::Exact("sandbox.plaid.com"),
    HostRule::Exact("development.plaid.com"),
];
const ENVIRONMENTS: [&str; 3] = ["production", "sandbox", "development"];
const PATH: &str = "/webhook_verification_key/get";

pub const SCHEME: Scheme = Scheme {
    name: "plaid",
    title: "Plaid",
    signature: Signature {
        at: &[Loc::Header(HEADER)],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body],
    algorithm: Algorithm::Jwt(JwtRules {
        algorithms: &[JwtAlg::ES256],
        max_age: Some(300),
        body_hash: Some(BodyHash {
            claim: "request_body_sha256",
            hash: Hash::Sha256,
        }),
        ..JwtRules::BASE
    }),
    encoding: Encoding::Raw,
    id: &[Loc::Digest],
    repeats: Repeats::Distinct,
    ty: &[
        TypePart::Required(Loc::Json("webhook_type")),
        TypePart::Required(Loc::Json("webhook_code")),
    ],
    subject: &[Loc::Json("item_id")],
    time: &[TimeLoc::Signed],
    custom: Some(&PlaidJwt),
    evidence: Evidence::Docs(
        "elixir_plaid lib/plaid/webhooks.ex and a Python sample (gist skylarmb/0cecf20afe16ba1959681c838ce9b3a2); vectors signed by Python cryptography, verified by jose",
    ),
    note: "the secret is `<environment>:<client_id>:<secret>` (environment production, sandbox or development), the credentials the key request to <environment>.plaid.com needs; no event id: the id is the body digest and every delivery is queued (identical bodies can be two events)",
    ..Scheme::BASE
};

/// Plaid's JWT and its fetched key.
#[derive(Debug)]
struct PlaidJwt;

/// A configured secret's parts: environment, client id, secret.
fn credentials(secret: &str) -> Option<(&str, &str, &str)> {
    let mut parts = secret.trim().splitn(3, ':');
    let (env, client, key) = (parts.next()?, parts.next()?, parts.next()?);
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ENVIRONMENTS.contains(&env) && plain(client) && plain(key)).then_some((env, client, key))
}

/// The token's `kid`, read from its unverified header (`alg` must be ES256).
fn kid(token: &str) -> Result<String, VerifyError> {
    let malformed = VerifyError::MalformedSignature { header: HEADER };
    let head = token.split('.').next().ok_or(malformed.clone())?;
    let head: Map<String, Value> = B64URL
        .decode(head)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(malformed.clone())?;
    if head.get("alg").and_then(Value::as_str) != Some("ES256") || token.split('.').count() != 3 {
        return Err(malformed);
    }
    head.get("kid")
        .and_then(Value::as_str)
        .filter(|k| {
            !k.is_empty()
                && k.len() <= 100
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .ok_or(malformed)
}

fn token<'h>(req: &Unverified<'h>) -> Result<&'h str, VerifyError> {
    single_header(req.headers, HEADER)?.ok_or(VerifyError::MissingSignature { header: HEADER })
}

impl Custom for PlaidJwt {
    fn fetches_keys(&self) -> bool {
        true
    }

    /// Sandbox credentials, for `inlet serve` and `inlet send` (which sign and verify with the
    /// CLI's development keys, infra/cli/src/devkeys.rs).
    fn dev_secret(&self, _text: &str) -> Option<String> {
        Some("sandbox:inletdevclient:inletdevsecret".into())
    }

    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        Some(match credentials(secret) {
            Some(_) => Ok(secret.trim().as_bytes().to_vec()),
            None => Err("the secret is `<environment>:<client_id>:<secret>`, environment production, sandbox or development".into()),
        })
    }

    fn key_request(
        &self,
        req: &Unverified<'_>,
        secrets: &SecretSet,
    ) -> Option<Result<KeyRequest, VerifyError>> {
        Some((|| {
            let kid = kid(token(req)?)?;
            // The newest credentials ask; any key they get verifies for every secret.
            let secret = secrets.iter().next().map(|s| s.key()).unwrap_or_default();
            let (env, client, key) = std::str::from_utf8(secret)
                .ok()
                .and_then(credentials)
                .ok_or(VerifyError::SignatureMismatch { header: HEADER })?;
            let url = check_url(&format!("https://{env}.plaid.com{PATH}"), HOSTS, |p| {
                p == PATH
            })
            .map_err(|_| VerifyError::SignatureMismatch { header: HEADER })?;
            let body = serde_json::json!({"client_id": client, "secret": key, "key_id": kid});
            Ok(KeyRequest {
                cache_key: format!("plaid:{env}:{client}:{kid}"),
                url,
                body: Some(body.to_string().into_bytes()),
            })
        })())
    }

    fn verify_fetched(
        &self,
        req: &Unverified<'_>,
        _secret: &[u8],
        fetched: &[u8],
        clock: &Clock,
    ) -> Option<Result<Option<i64>, VerifyError>> {
        Some((|| {
            let token = token(req)?;
            let kid = kid(token)?;
            let jwk = serde_json::from_slice::<Value>(fetched)
                .ok()
                .and_then(|v| v.get("key").cloned())
                .filter(|k| k.get("kid").and_then(Value::as_str) == Some(kid.as_str()));
            let Some(key) = jwk.and_then(|k| PublicKey::from_jwk(&k).ok()) else {
                return Ok(None);
            };
            let rules = JwtRules {
                algorithms: &[JwtAlg::ES256],
                max_age: Some(clock.tolerance.as_secs()),
                body_hash: Some(BodyHash {
                    claim: "request_body_sha256",
                    hash: Hash::Sha256,
                }),
                ..JwtRules::BASE
            };
            let now = u64::try_from(unix_seconds(clock.now)).unwrap_or(0);
            match verify_jwt(token, JwtKey::Public(&key), &rules, now, req.body) {
                Ok(claims) => Ok(claims.get("iat").and_then(Value::as_i64).or(Some(0))),
                Err(_) => Ok(None),
            }
        })())
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use base64::Engine as _;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::core::verify::fetch::fixtures::deliver;
    use crate::ports::fetched::MemoryKeys;

    const SECRET: &str = "production:5f2f3b1ac8e5e00012345678:abcdef0123456789abcdef01234567";
    const KID: &str = "bfbd5111-8e33-4643-8ced-b2e642a72f3c";
    const BODY: &[u8] = br#"{"environment":"production","error":null,"item_id":"wz666MBjYWTp2PDzzggYhM6oWWmBb","new_transactions":3,"webhook_code":"DEFAULT_UPDATE","webhook_type":"TRANSACTIONS"}"#;
    const IAT: u64 = 1_560_211_755;
    /// Derived, not published: Python's `cryptography` signed it (ES256, `kid` KID, `iat` IAT,
    /// `request_body_sha256` of BODY) with the test signer's key.
    const TOKEN: &str = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImJmYmQ1MTExLThlMzMtNDY0My04Y2VkLWIyZTY0MmE3MmYzYyIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE1NjAyMTE3NTUsInJlcXVlc3RfYm9keV9zaGEyNTYiOiJhMGI3N2FiODkxNDRhZWJiMTIyYTJkMmQzN2IxZTgyNDc2NWE0NmE4MzE5NzJhZGUxOWUxN2NmOTZlN2YwODgxIn0.0R0cVVjlfFlu_ev7K8IWX_Ct6SIswScuKdQEGCvZU--RXxfgNcsczjVJmwTo0bDQB2DEVzQUcPTB9gmF3nHqrQ";
    const SIGNER_JWK: &str = r#"{"alg": "ES256", "created_at": 1560466150, "crv": "P-256", "expired_at": null, "kid": "bfbd5111-8e33-4643-8ced-b2e642a72f3c", "kty": "EC", "use": "sig", "x": "Esl-UFug3aKAbZkqH6IcLH5cPudyDP8S-zoY1CI3qps", "y": "U1DXiroc2MiuvJHIvqRz8H_wmf48l2Z_98bYcWWAjo8"}"#;
    const SIGNER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgb1rUUdj38iPX12YH\nkNzxDR6HUoXSzy8rRkdo28sc206hRANCAAQSyX5QW6DdooBtmSofohwsflw+53IM\n/xL7OhjUIjeqm1NQ14q6HNjIrryRyL6kc/B/8Jn+PJdmf/fG2HFlgI6P\n-----END PRIVATE KEY-----";
    const FORGER_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgVKN5Bh3JM4PKRMMB\nx4sliOnnx4b+QOSBa974tKZA26ShRANCAASqwlZwHvEa+e1Dvdi12yGoJWGQdXcw\n2nkH5wu97i7MVc0PWJ2N84c8d2y+rq7evc2PSlDUNoe0nsAioeQeax20\n-----END PRIVATE KEY-----";
    const CACHE_KEY: &str =
        "plaid:production:5f2f3b1ac8e5e00012345678:bfbd5111-8e33-4643-8ced-b2e642a72f3c";

    /// A token over `claims` with `header`, signed ES256 by `key`.
    fn jwt(header: &Value, claims: &Value, key: &str) -> String {
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(header), b64(claims));
        let (_, der) = x509_cert::der::pem::decode_vec(key.as_bytes()).expect("PEM");
        let sig = crate::core::verify::keys::sign(
            crate::core::verify::keys::Asym::Ecdsa(Hash::Sha256),
            &der,
            input.as_bytes(),
            true,
        )
        .expect("signs");
        format!(
            "{input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
        )
    }

    fn signed(body: &[u8], iat: u64, key: &str) -> String {
        let header = serde_json::json!({"alg": "ES256", "kid": KID, "typ": "JWT"});
        let claims = serde_json::json!({"iat": iat, "request_body_sha256": hex::encode(Sha256::digest(body))});
        jwt(&header, &claims, key)
    }

    fn run(token: &str, body: &[u8], now: u64) -> (u16, Vec<Value>, Arc<MemoryKeys>) {
        let response = format!(r#"{{"key":{SIGNER_JWK},"request_id":"RZ6Omi1bzzwDaLo"}}"#);
        let keys = Arc::new(MemoryKeys::default().with(CACHE_KEY, response.as_bytes()));
        let headers = [
            ("content-type", "application/json"),
            ("plaid-verification", token),
        ];
        let (reply, queued) = deliver(&SCHEME, &[SECRET], keys.clone(), &headers, body, now);
        (reply.status, queued, keys)
    }

    #[test]
    fn derived_vector_and_normalization() {
        let (status, queued, keys) = run(TOKEN, BODY, IAT + 10);
        assert_eq!(status, 202);
        assert_eq!(keys.asked(), [CACHE_KEY]);
        let e = &queued[0];
        assert_eq!(e["type"], "plaid.transactions.default_update");
        assert_eq!(e["subject"], "wz666MBjYWTp2PDzzggYhM6oWWmBb");
        assert_eq!(e["time"], "2019-06-11T00:09:15.000Z");
        assert!(e["id"].as_str().is_some_and(|id| !id.is_empty()));
    }

    #[test]
    fn the_key_request_goes_to_the_configured_environment() {
        let h = crate::core::verify::testing::headers(&[("plaid-verification", TOKEN)]);
        let secrets = SecretSet::new(vec![crate::core::verify::Secret::new(
            "WEBHOOK_SECRET",
            b"sandbox:client1:secret1".to_vec(),
        )])
        .expect("secrets");
        let r =
            crate::core::verify::fetch::key_request(&SCHEME, &Unverified::post(&h, BODY), &secrets)
                .expect("fetched")
                .expect("a request");
        assert_eq!(
            r.url.url(),
            "https://sandbox.plaid.com/webhook_verification_key/get"
        );
        let sent: Value = serde_json::from_slice(r.body.as_deref().expect("POST")).expect("json");
        assert_eq!(
            sent,
            serde_json::json!({"client_id": "client1", "secret": "secret1", "key_id": KID})
        );
        assert!(!r.cache_key.contains("secret1"));
    }

    #[test]
    fn round_trip_tampering_window_and_forged() {
        let token = signed(BODY, IAT, SIGNER_KEY);
        assert_eq!(run(&token, BODY, IAT).0, 202);
        let mut tampered = BODY.to_vec();
        tampered[20] ^= 1;
        assert_eq!(run(&token, &tampered, IAT).0, 401);
        let (status, queued, _) = run(&signed(BODY, IAT, FORGER_KEY), BODY, IAT);
        assert_eq!((status, queued.len()), (401, 0));
        // iat within 5 minutes, either way.
        assert_eq!(run(&token, BODY, IAT + 300).0, 202);
        assert_eq!(run(&token, BODY, IAT + 301).0, 401);
        assert_eq!(run(&token, BODY, IAT - 301).0, 401);
        // Identical bytes are two events: both queued.
        let (_, first, _) = run(&token, BODY, IAT);
        let (_, second, _) = run(&token, BODY, IAT);
        assert_eq!((first.len(), second.len()), (1, 1));
    }

    #[test]
    fn malformed_missing_duplicate_and_other_algorithms_are_refused() {
        let (status, _, keys) = run("", BODY, IAT);
        assert_eq!(status, 401);
        assert!(keys.asked().is_empty());
        let claims = serde_json::json!({"iat": IAT, "request_body_sha256": hex::encode(Sha256::digest(BODY))});
        for header in [
            serde_json::json!({"alg": "HS256", "kid": KID}),
            serde_json::json!({"alg": "none", "kid": KID}),
            serde_json::json!({"alg": "ES256"}),
            serde_json::json!({"alg": "ES256", "kid": "../../etc/passwd"}),
            serde_json::json!({"alg": "ES256", "kid": "a b"}),
        ] {
            let (status, queued, keys) = run(&jwt(&header, &claims, SIGNER_KEY), BODY, IAT);
            assert_eq!((status, queued.len()), (401, 0), "{header}");
            assert!(keys.asked().is_empty(), "{header}");
        }
        // A kid Plaid does not know: the key request fails, 503.
        let other = serde_json::json!({"alg": "ES256", "kid": "0000"});
        assert_eq!(run(&jwt(&other, &claims, SIGNER_KEY), BODY, IAT).0, 503);
        // Twice.
        let keys = Arc::new(MemoryKeys::default());
        let headers = [("plaid-verification", TOKEN), ("plaid-verification", TOKEN)];
        let (reply, _) = deliver(&SCHEME, &[SECRET], keys.clone(), &headers, BODY, IAT);
        assert_eq!(reply.status, 401);
        assert!(keys.asked().is_empty());
    }

    #[test]
    fn the_secret_is_credentials() {
        let decode = |s: &str| crate::core::verify::engine::decode_secret(&SCHEME, s);
        assert!(decode(SECRET).is_ok());
        assert!(decode(&PlaidJwt.dev_secret("x").expect("dev")).is_ok());
        for bad in [
            "client:secret",
            "staging:c:s",
            "production:c",
            "production::s",
            "production:c:s:x",
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
