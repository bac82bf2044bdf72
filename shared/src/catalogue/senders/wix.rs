//! Wix (app webhooks, self-hosted apps): the whole request body is a JWT (JWS compact form)
//! signed RS256 by Wix with the app's key pair; no signature header. Sources: "About Webhooks"
//! (https://dev.wix.com/docs/build-apps/develop-your-app/api-integrations/events-and-webhooks/about-webhooks.md:
//! "Event data is sent as a JSON web token (JWT) in the body of the webhook request", verified
//! with the app's public key from the app dashboard, "Get Public Key"), "About the Structure of
//! Webhooks" (https://dev.wix.com/docs/api-reference/articles/work-with-wix-apis/platform/about-the-structure-of-webhooks.md
//! and https://dev.wix.com/docs/rest/articles/get-started/webhook-structure: the JWT's `data` holds
//! `eventType`, `instanceId`, `data` "as stringified JSON" and `identity` "as stringified JSON";
//! `data.data` holds `id` "Webhook event ID", `slug`, `entityFqdn`, `entityId`, `eventTime`
//! "ISO-8601 format and UTC time"; each event's reference page says of `id`: "Unique event ID.
//! Allows clients to ignore duplicate webhooks"), and Wix's own verifier, @wix/sdk 1.21.16 (npm)
//! `build/auth/AppStrategy.js` `decodeJWT`: jose `importSPKI(publicKey, 'RS256')` and
//! `jwtVerify(token, key)` with no issuer or audience for webhooks (jose refuses `none` and HMAC
//! for an RSA key, checks `exp` and `nbf` when present and requires neither; Inlet accepts RS256
//! only, the algorithm the key is imported for), then `build/event-handlers-modules.js`
//! `parseJWT`: `decoded.data` must be a string, `JSON.parse(decoded.data)` gives `eventType`,
//! `instanceId`, `identity` (parsed when present) and `data` (parsed: the event).
//!
//! **Secret**: the app's public key as the dashboard gives it (PEM; base64 SPKI DER or a JWK are
//! accepted too). Only RS256 verifies: `alg: none`, HS256 (with the public key as its secret, or
//! any), another key, and a changed byte of the token are refused (401).
//!
//! **Window**: the docs name no claim but `data`; third parties' captures (hookdeck's
//! webhook-skills "wix-webhooks") show `iat` and `exp`. As in the SDK, `exp` and `nbf` are held to
//! the clock when present and nothing is required, so no `iat` window applies (inferred: Wix
//! documents none). What `inlet sign wix` makes carries `iat`, and `exp` five minutes later (the
//! lifetime Wix uses is not documented).
//!
//! **How it is read**: the body is the signature (`Loc::Body`), so the engine's JWT check (with
//! the clock) verifies it and the claims are signed; [`Event`]'s `normalize` then reads the
//! verified token's claims: the `data` string parsed, and its `data` and `identity` strings parsed
//! in turn. The scheme's JSON paths (`data.id`, `eventType`, …) are paths into that decoded event,
//! which is also the envelope's `data` (`application/json`). Id: `data.id`, Wix's signed, unique
//! event id, which a retry repeats (the docs' "Allows clients to ignore duplicate webhooks"); a
//! legacy event without one (the docs: "some legacy webhooks that don't comply with the
//! standardized format", e.g. App Instance Installed's `{appId, originInstanceId}`) falls back to
//! the SHA-256 of the token, whose `iat` makes two events' bytes differ (a retry that Wix re-signs
//! is then queued again: at-least-once, inferred; Wix documents no retry body). Type:
//! `wix.<eventType>`, lower-cased (`wix.wix.contacts.v4.extended-field_created`); subject
//! `data.entityId`, else `instanceId` (the site); time `data.eventTime` (a legacy event without
//! one: the time Inlet received it). Wix posts with a `text/plain` body (its sample handlers read
//! it with `express.text()`: inferred), and Inlet reads the body whatever its content type. No
//! batches, no handshake.
//!
//! The vector below is derived, not published (Wix publishes no signed webhook): Python's
//! `cryptography` signing the docs' "Extended Field Created" example, cross-checked against the
//! SDK's `decodeJWT`/`parseJWT` above.

use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::core::normalize::engine::instant;
use crate::core::normalize::{
    body_digest_id, event_type, Disposition, Draft, Envelope, KeyBasis, NormalizeError, Payload,
};
use crate::core::scheme::*;
use crate::core::verify::engine::{Signing, B64URL};
use crate::core::verify::keys::{sign_jwt, JwtAlg, JwtRules};
use crate::core::verify::Verified;

/// The event id, then the token's digest for legacy events that have none.
const ID: &[Loc] = &[Loc::Json("data.id"), Loc::Digest];

pub const SCHEME: Scheme = Scheme {
    name: "wix",
    title: "Wix",
    signature: Signature {
        at: &[Loc::Body],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body],
    algorithm: Algorithm::Jwt(JwtRules {
        algorithms: &[JwtAlg::RS256],
        ..JwtRules::BASE
    }),
    encoding: Encoding::Raw,
    // Paths into the decoded event (`Event` reads them).
    id: ID,
    ty: &[TypePart::Required(Loc::Json("eventType"))],
    subject: &[Loc::Json("data.entityId"), Loc::Json("instanceId")],
    time: &[TimeLoc::At(Loc::Json("data.eventTime"), Unit::Rfc3339)],
    body: Body::ANY,
    custom: Some(&Event),
    evidence: Evidence::Docs("@wix/sdk 1.21.16 AppStrategy.decodeJWT and parseJWT (npm)"),
    note: "the body is the JWT and the secret the app's public key (PEM); the envelope's data is the decoded event; legacy events without an event id are recognised by the token's digest",
    ..Scheme::BASE
};

/// Wix's token-as-body: signing it, and reading the event out of its verified claims.
#[derive(Debug)]
struct Event;

impl Custom for Event {
    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        Some(normalize(source, v, received))
    }

    /// The signature is the body: no header to add.
    fn sign(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(Ok(Vec::new()))
    }

    fn sign_body(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<u8>, String>> {
        Some(sign_body(key, s))
    }

    /// The token is the body: everything read from its claims is signed.
    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(_) | Loc::Digest)
    }
}

/// The token Wix would send for `s.body`, the decoded event (`eventType`, `instanceId`, `data`
/// and `identity` as objects or as the strings Wix sends), under the RSA private key `key`.
fn sign_body(key: &[u8], s: &Signing<'_>) -> Result<Vec<u8>, String> {
    let mut event: Map<String, Value> = serde_json::from_slice(s.body)
        .map_err(|_| "wix: the body to sign is the event, a JSON object".to_owned())?;
    for member in ["data", "identity"] {
        if let Some(value) = event.get_mut(member).filter(|v| !v.is_string()) {
            *value = Value::String(value.to_string());
        }
    }
    let claims = serde_json::json!({
        "data": Value::Object(event).to_string(),
        "iat": s.at,
        "exp": s.at + 300,
    });
    sign_jwt(JwtAlg::RS256, key, &claims).map(String::into_bytes)
}

/// The event in a verified token: its `data` claim parsed, with that object's `data` and
/// `identity` strings parsed too (as the SDK's `parseJWT`).
fn decoded(token: &[u8]) -> Result<Map<String, Value>, NormalizeError> {
    let invalid = |reason| NormalizeError::InvalidField {
        field: "data",
        reason,
    };
    let claims = token
        .split(|b| *b == b'.')
        .nth(1)
        .and_then(|c| B64URL.decode(c).ok())
        .and_then(|c| serde_json::from_slice::<Map<String, Value>>(&c).ok())
        .ok_or(invalid("the token's claims must be a JSON object"))?;
    let data = claims
        .get("data")
        .ok_or(NormalizeError::MissingField("data"))?
        .as_str()
        .ok_or(invalid("it must be a string"))?;
    let mut event: Map<String, Value> =
        serde_json::from_str(data).map_err(|_| invalid("it must hold a JSON object"))?;
    for (member, required) in [("data", true), ("identity", false)] {
        if let Some(Value::String(text)) = event.get(member) {
            match serde_json::from_str::<Value>(text) {
                Ok(parsed) => {
                    event.insert(member.into(), parsed);
                }
                Err(_) if required => return Err(invalid("its `data` must hold JSON")),
                Err(_) => {}
            }
        }
    }
    Ok(event)
}

/// A non-empty string at `path` (dotted) in `event`.
fn text<'e>(event: &'e Map<String, Value>, path: &str) -> Option<&'e str> {
    let mut parts = path.split('.');
    let mut value = event.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    value.as_str().filter(|s| !s.is_empty())
}

fn normalize<'b>(
    source: &str,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    let event = decoded(v.body())?;
    // How duplicates are recognised follows the location the id came from.
    let (id, at) = match text(&event, "data.id") {
        Some(id) => (id.to_owned(), &ID[0]),
        None => (body_digest_id(v.body()), &ID[1]),
    };
    let kind = text(&event, "eventType").ok_or(NormalizeError::MissingField("eventType"))?;
    let ty = event_type(source, &[Some(kind)]);
    let time = text(&event, "data.eventTime").and_then(|t| instant(t, Unit::Rfc3339));
    let subject = text(&event, "data.entityId")
        .or_else(|| text(&event, "instanceId"))
        .map(str::to_owned);
    let draft = Draft {
        id,
        ty,
        time,
        subject,
        content_type: "application/json".into(),
        payload: Payload::Built(Value::Object(event)),
        key: KeyBasis::from(SCHEME.retries_at(at)),
        event: None,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::sources::Source;
    use crate::core::verify::engine::B64;
    use crate::core::verify::keys::tests::{RSA_PRIVATE, RSA_PUBLIC_SPKI};
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// Derived, not published: Python's `cryptography` (RS256: PKCS#1 v1.5, SHA-256) under
    /// `RSA_PRIVATE`, header `{"alg":"RS256","typ":"JWT"}`, claims `iat` 1603092808, `exp` 300 s
    /// later and `data`: the docs' "Extended Field Created" event (its `data` and `eventType` as
    /// the reference page shows them), `instanceId` and `identity` (a `WIX_USER`) of ours.
    const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJkYXRhIjoie1wiZXZlbnRUeXBlXCI6XCJ3aXguY29udGFjdHMudjQuZXh0ZW5kZWQtZmllbGRfY3JlYXRlZFwiLFwiaW5zdGFuY2VJZFwiOlwiYzBmZmVlMDAtMTExMS00MjIyLTgzMzMtNDQ0NDU1NTU2NjY2XCIsXCJkYXRhXCI6XCJ7XFxcImlkXFxcIjpcXFwiNWUwZTZhMjYtZWIyNS00OWViLWI1ZmUtYTY4MGQ0NjM3NjRlXFxcIixcXFwiZW50aXR5RnFkblxcXCI6XFxcIndpeC5jb250YWN0cy52NC5leHRlbmRlZF9maWVsZFxcXCIsXFxcInNsdWdcXFwiOlxcXCJjcmVhdGVkXFxcIixcXFwiZW50aXR5SWRcXFwiOlxcXCJjdXN0b20uZXhhbXBsZVxcXCIsXFxcImNyZWF0ZWRFdmVudFxcXCI6e1xcXCJlbnRpdHlcXFwiOntcXFwibmFtZXNwYWNlXFxcIjpcXFwiY3VzdG9tXFxcIixcXFwia2V5XFxcIjpcXFwiY3VzdG9tLmV4YW1wbGVcXFwiLFxcXCJkaXNwbGF5TmFtZVxcXCI6XFxcImV4YW1wbGVcXFwiLFxcXCJkYXRhVHlwZVxcXCI6XFxcIlRFWFRcXFwiLFxcXCJmaWVsZFR5cGVcXFwiOlxcXCJVU0VSX0RFRklORURcXFwiLFxcXCJjcmVhdGVkRGF0ZVxcXCI6XFxcIjIwMjAtMTAtMTlUMDc6MzM6MjguMDcxWlxcXCIsXFxcInVwZGF0ZWREYXRlXFxcIjpcXFwiMjAyMC0xMC0xOVQwNzozMzoyOC4wNzFaXFxcIixcXFwibGVnYWN5SWRcXFwiOlxcXCJjYzE3YzRmYi0wN2QxLTRlYjEtYTY3Yy0wOTM3NWJiMDU1OTVcXFwifX0sXFxcImV2ZW50VGltZVxcXCI6XFxcIjIwMjAtMTAtMTlUMDc6MzM6MjguNjgzMDA5WlxcXCIsXFxcInRyaWdnZXJlZEJ5QW5vbnltaXplUmVxdWVzdFxcXCI6ZmFsc2V9XCIsXCJpZGVudGl0eVwiOlwie1xcXCJpZGVudGl0eVR5cGVcXFwiOlxcXCJXSVhfVVNFUlxcXCIsXFxcIndpeFVzZXJJZFxcXCI6XFxcIjBiN2ExYzVlLTJmNDQtNGE4ZS05ZDFiLTZjM2YyZThhOWIxMFxcXCJ9XCJ9IiwiaWF0IjoxNjAzMDkyODA4LCJleHAiOjE2MDMwOTMxMDh9.R5amTAzug-ADY6MXdARfP8_cuwKVz3H4aCXpFt386ifXcvO0QOI9Cm5VDEm7s5m9ed1wvmrFbnBWjnHHAHIj0ZiuC8xFDLkoYVmuF8m6PU2-3uKISxapH32GBGNhQX2-GmedHuF0RnHvW1mkFOVeOZlf8cdh_YVNaz2YygqX1x9x5A5JCxkOajDsc_PrCgtpRc_1X5VU0vV_lDDu_9fqOb1oasLdUk2d9DcNKZsXfHiZwwsbSg9CHuOIboCKShyq45tM28av9xM4a9jC7yKbfW3N-re-PcRlSH2OJrTPKZEZb_PMGvoImfyDIK0ZHBs0PYNAVfpmC0-n6AvLbubOJA";
    const IAT: u64 = 1_603_092_808;
    /// Another RSA key's public half (Python's `cryptography`), which signed nothing here.
    const OTHER_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAusNm8wakKCvbReVSeVKq
uf5CmtbztEtJ6gts+y+AGYOq+H0YNi/XBOKcY/eQVmVRwjFehvjZbUbEWpuJPIJv
KNDop5GhQBIvKkkbmvZsNXbm+Dvno6v6F3LMxS5Y6OLq+1gAwDtVfy1Qj5yDEprO
lxNdWwu80gE/tnfi4YFEdHrSPQoBbOlW4pbZ6KyugOTbQNd9il9tMh4/oUeMr76W
+aZehJZ6g1NGwuD3mJldI7Om/YmXMlIpf2Sf14XdZ9oJFdjtA3x84oWorASBf9Yk
RBMkVg0aJ5NmiZ3SbShNfQEOghB+ctwk++eXs3w3yudN616kTv2qgV+xUXwPHWX5
wQIDAQAB
-----END PUBLIC KEY-----";
    const TEXT: (&str, &str) = ("content-type", "text/plain");
    const BODY: &str = "body";

    /// The public key as the Wix dashboard gives it: PEM.
    fn pem() -> String {
        let lines: Vec<&str> = RSA_PUBLIC_SPKI
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64"))
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----",
            lines.join("\n")
        )
    }

    fn private() -> Vec<u8> {
        B64.decode(RSA_PRIVATE).expect("base64")
    }

    /// Verifies `token` with the configured `key` (text, as a deployment gives it).
    fn run(key: &str, token: &[u8], now: u64) -> Result<String, VerifyError> {
        check(&SCHEME, &[key.as_bytes()], &[TEXT], token, now)
    }

    fn token(alg: JwtAlg, key: &[u8], claims: Value) -> Vec<u8> {
        sign_jwt(alg, key, &claims).expect("sign").into_bytes()
    }

    /// The claims of TOKEN.
    fn claims() -> Value {
        let middle = TOKEN.split('.').nth(1).expect("claims");
        serde_json::from_slice(&B64URL.decode(middle).expect("b64")).expect("json")
    }

    fn delivered(body: &[u8]) -> Delivered {
        deliver(
            Source::new("wix", &SCHEME),
            &pem(),
            Request::post(&[TEXT], body, IAT),
        )
    }

    #[test]
    fn derived_vector_and_expiry() {
        let key = pem();
        assert_eq!(run(&key, TOKEN.as_bytes(), IAT), Ok("secret-0".into()));
        // Surrounding white space is no part of the token.
        run(&key, format!("{TOKEN}\n").as_bytes(), IAT).expect("trailing newline");
        // Every byte counts: header, claims and signature.
        for i in [0, 40, 100, TOKEN.len() / 2, TOKEN.len() - 2] {
            let mut tampered = TOKEN.as_bytes().to_vec();
            tampered[i] ^= 0x01;
            assert!(run(&key, &tampered, IAT).is_err(), "byte {i}");
        }
        // `exp` (IAT + 300) is held to the clock; before it, the token is good.
        run(&key, TOKEN.as_bytes(), IAT + 299).expect("before exp");
        assert_eq!(
            run(&key, TOKEN.as_bytes(), IAT + 300),
            Err(VerifyError::SignatureMismatch { header: BODY })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        // What Inlet signs (the CLI's `inlet sign wix`) verifies, under this key only.
        let event = br#"{"eventType":"wix.ecom.v1.order_created","instanceId":"i-1","data":{"id":"e-1","entityId":"o-1","eventTime":"2023-11-14T22:13:20Z"}}"#;
        let signing = Signing::post(event, IAT as i64, "unused", None);
        let body = crate::core::verify::engine::sign_body(&SCHEME, &private(), &signing)
            .expect("signs")
            .expect("a body");
        assert!(
            crate::core::verify::engine::sign(&SCHEME, &private(), &signing)
                .expect("no headers")
                .is_empty()
        );
        run(&pem(), &body, IAT).expect("what Inlet signs verifies");
        assert!(run(OTHER_KEY, &body, IAT).is_err(), "another key");
        let label = check(
            &SCHEME,
            &[OTHER_KEY.as_bytes(), pem().as_bytes()],
            &[TEXT],
            &body,
            IAT,
        )
        .expect("the older of two active keys still verifies");
        assert_eq!(label, "secret-1");
        for i in 0..body.len().min(64) {
            let mut tampered = body.clone();
            tampered[i] ^= 0x01;
            assert!(run(&pem(), &tampered, IAT).is_err(), "byte {i}");
        }
        // The data member became a string, as Wix sends it.
        let d = delivered(&body);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes[0]["id"], "e-1");
        assert_eq!(d.envelopes[0]["type"], "wix.wix.ecom.v1.order_created");
    }

    #[test]
    fn malformed_and_forged_tokens_are_refused() {
        let key = pem();
        let mut claims = claims();
        // The same claims under `alg: none`, under HS256 keyed with the public key (as PEM and
        // as DER), and with the claims changed but the signature kept.
        let none = {
            let header = B64URL.encode(br#"{"alg":"none","typ":"JWT"}"#);
            let middle = TOKEN.split('.').nth(1).expect("claims");
            format!("{header}.{middle}.").into_bytes()
        };
        let hs_pem = token(JwtAlg::HS256, pem().as_bytes(), claims.clone());
        let der = B64.decode(RSA_PUBLIC_SPKI).expect("base64");
        let hs_der = token(JwtAlg::HS256, &der, claims.clone());
        let swapped = {
            claims["iat"] = (IAT + 1).into();
            let [header, _, sig]: [&str; 3] = TOKEN
                .split('.')
                .collect::<Vec<_>>()
                .try_into()
                .expect("3 parts");
            format!("{header}.{}.{sig}", B64URL.encode(claims.to_string())).into_bytes()
        };
        let expired = token(
            JwtAlg::RS256,
            &private(),
            serde_json::json!({"data": claims["data"].clone(), "iat": IAT - 600, "exp": IAT - 300}),
        );
        let mismatch = Err(VerifyError::SignatureMismatch { header: BODY });
        for forged in [&none, &hs_pem, &hs_der, &swapped, &expired] {
            assert_eq!(run(&key, forged, IAT), mismatch);
        }
        for bad in [&b"not a token"[..], b"a.b.c", &[0xff, 0xfe]] {
            assert!(run(&key, bad, IAT).is_err());
        }
        assert_eq!(
            run(&key, b"", IAT),
            Err(VerifyError::MissingSignature { header: BODY })
        );
        assert_eq!(
            run(&key, &[0xff, 0xfe], IAT),
            Err(VerifyError::MalformedSignature { header: BODY })
        );
        // Forged deliveries queue nothing.
        for forged in [&none, &hs_pem, &expired] {
            let d = delivered(forged);
            assert_eq!(d.reply.status, 401, "{}", d.text());
            assert!(d.envelopes.is_empty());
        }
    }

    #[test]
    fn normalization() {
        let e = assert_envelope_forged(
            Source::new("wix", &SCHEME),
            &pem(),
            OTHER_KEY,
            Request::post(&[TEXT], TOKEN.as_bytes(), IAT),
            Want {
                id: Id::Is("5e0e6a26-eb25-49eb-b5fe-a680d463764e"),
                ty: "wix.wix.contacts.v4.extended-field_created",
                subject: Some("custom.example"),
                time: "2020-10-19T07:33:28.683Z",
            },
        );
        // `data` is the decoded event, its stringified members parsed.
        assert_eq!(e["data"]["data"]["slug"], "created");
        assert_eq!(e["data"]["identity"]["identityType"], "WIX_USER");
        assert_eq!(
            e["data"]["instanceId"],
            "c0ffee00-1111-4222-8333-444455556666"
        );
        assert_eq!(SCHEME.retries(), Retries::StableId);
    }

    #[test]
    fn a_legacy_event_without_an_id_is_keyed_by_the_token_digest() {
        // A constructed legacy-shaped event (no `data.id`, no `entityId`): the id is the token's
        // digest, the subject the instance.
        let event = br#"{"eventType":"AppInstalled","instanceId":"i-2","data":{"appId":"a-1","originInstanceId":""}}"#;
        let signing = Signing::post(event, IAT as i64, "unused", None);
        let body = crate::core::verify::engine::sign_body(&SCHEME, &private(), &signing)
            .expect("signs")
            .expect("a body");
        let d = delivered(&body);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], body_digest_id(&body));
        assert_eq!(e["type"], "wix.appinstalled");
        assert_eq!(e["subject"], "i-2");
        assert_identical_bytes_are_a_retry(
            Source::new("wix", &SCHEME),
            &pem(),
            Request::post(&[TEXT], &body, IAT),
        );
        // A token whose `data` is no string, or lacks an event type, is signed but unusable.
        for claims in [
            serde_json::json!({"data": {"eventType": "x"}, "iat": IAT}),
            serde_json::json!({"data": r#"{"instanceId":"i-3","data":"{}"}"#, "iat": IAT}),
        ] {
            let d = delivered(&token(JwtAlg::RS256, &private(), claims));
            assert_eq!(d.reply.status, 400, "{}", d.text());
            assert!(d.envelopes.is_empty());
        }
    }
}
