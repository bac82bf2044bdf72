//! Development key pairs: the local analogue of the development secret for the senders whose
//! verification keys are fetched from the sender (`aws-sns`, `paypal`, `plaid`; see
//! `inlet::ports::fetched`). A deployed function fetches SNS's or PayPal's signing certificate, or
//! Plaid's JWK, from the sender's own hosts; locally there is no SNS to sign a message, so:
//!
//! - `inlet serve` gives those senders' pipelines a [`DevKeys`] key port. A key request reaches
//!   it only after the sender's code has checked the URL against the sender's documented hosts
//!   (that check runs locally, unchanged: a certificate URL off SNS's hosts is still a 401 and
//!   nothing is asked for), and it answers with the development RSA certificate (SNS, PayPal) or
//!   the development P-256 JWK under the `kid` asked for (Plaid). A `SubscribeURL` to visit is
//!   logged (host and path, never its token) and recorded, not visited.
//! - `inlet sign|send|event` signs those senders' deliveries with the development private keys
//!   ([`sign`]): an SNS message in SNS's JSON with a `SigningCertURL` on `sns.<region>.amazonaws.com`,
//!   PayPal's five headers, Plaid's `Plaid-Verification` JWT with a `kid`, using the configured
//!   (or development) secret where the sender's check reads one: SNS's topic ARN, PayPal's
//!   webhook id (Plaid's API credentials are only used to fetch its key).
//!
//! The key pairs are in `infra/cli/dev-keys/`, generated once with Python's `cryptography`
//! (RSA 2048 with a self-signed certificate valid 2020 to 2049; P-256) and published on purpose:
//! DEVELOPMENT KEYS, for this CLI only. They are compiled into the `inlet` CLI and nothing else:
//! the Lambda functions never hold them and fetch the senders' real keys, so a delivery signed
//! here is refused by a deployed function (its certificate URL names no certificate SNS or
//! PayPal serves, its `kid` none Plaid knows: a 503 while it asks, never an accept).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use inlet::core::scheme::{Hash, Unit};
use inlet::core::verify::engine::format_time;
use inlet::core::verify::fetch::{CheckedUrl, KeyRequest};
use inlet::core::verify::keys::Asym;
use inlet::ports::fetched::{FetchError, KeySource};
use inlet::Source;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The development RSA private key (PKCS#8 PEM) that signs SNS and PayPal deliveries.
pub const RSA_KEY: &str = include_str!("../dev-keys/rsa-key.pem");
/// Its self-signed certificate, which [`DevKeys`] serves for every certificate URL.
pub const RSA_CERT: &str = include_str!("../dev-keys/rsa-cert.pem");
/// The development P-256 private key (PKCS#8 PEM) that signs Plaid's JWTs.
pub const P256_KEY: &str = include_str!("../dev-keys/p256-key.pem");
/// Its public point, as the JWK's `x` and `y` (printed by the same Python run).
const P256_X: &str = "2agDJQcVwlzgIenRHwOf8EnfsKchNQ9X0wKwyPCTbQo";
const P256_Y: &str = "WcQer97GYzvugnGF4CfluRfL6Ak6yK5dxcQitQcYssw";
/// The `kid` the CLI's Plaid JWTs name.
pub const KID: &str = "inlet-development-key";
/// Where the CLI's PayPal deliveries say their certificate is (PayPal's sandbox API host).
pub const PAYPAL_CERT_URL: &str =
    "https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-inlet-development-key";

/// A boxed future, as [`KeySource`] returns them.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// `inlet serve`'s key port: the development certificate and JWK for every key request (each
/// one already checked against its sender's hosts), and visits recorded, not made.
#[derive(Debug, Default)]
pub struct DevKeys {
    asked: Mutex<Vec<String>>,
    visited: Mutex<Vec<String>>,
}

impl DevKeys {
    /// The cache keys asked for, in order (tests).
    #[cfg(test)]
    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The URLs that would have been visited, in order (tests).
    #[cfg(test)]
    fn visited(&self) -> Vec<String> {
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The development public key as Plaid's `/webhook_verification_key/get` returns a key.
fn jwk(kid: &str) -> Value {
    json!({
        "alg": "ES256",
        "created_at": 1_577_836_800,
        "crv": "P-256",
        "expired_at": null,
        "kid": kid,
        "kty": "EC",
        "use": "sig",
        "x": P256_X,
        "y": P256_Y,
    })
}

impl KeySource for DevKeys {
    fn fetch<'a>(&'a self, req: &'a KeyRequest) -> Boxed<'a, Result<Arc<[u8]>, FetchError>> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(req.cache_key.clone());
        let answer = match &req.body {
            // A GET of a certificate URL (SNS, PayPal).
            None => Ok(Arc::from(RSA_CERT.as_bytes())),
            // Plaid's key request: `{"client_id","secret","key_id"}`.
            Some(body) => serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|b| b.get("key_id").and_then(Value::as_str).map(jwk))
                .map(|key| {
                    let answer = json!({"key": key, "request_id": "inlet-development"});
                    Arc::from(answer.to_string().into_bytes())
                })
                .ok_or(FetchError::Status(400)),
        };
        tracing::debug!(
            host = req.url.host,
            "key answered with the development key pair"
        );
        Box::pin(async move { answer })
    }

    fn visit<'a>(&'a self, url: &'a CheckedUrl) -> Boxed<'a, Result<(), FetchError>> {
        let path = url.path.split('?').next().unwrap_or_default();
        tracing::info!(
            host = url.host,
            path,
            "not visited: `inlet serve` answers with the development keys (a deployed function visits it)"
        );
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(url.url());
        Box::pin(async { Ok(()) })
    }
}

/// Whether `source`'s sender publishes its keys: `inlet` signs its deliveries here.
pub fn signs(source: &Source) -> bool {
    source.scheme().custom.is_some_and(|c| c.fetches_keys())
}

/// A delivery signed with the development keys: its headers (content type first) and body.
#[derive(Debug)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What to sign: the body (or SNS's `Message`) given or generated, whether it was given, when,
/// the delivery's id and the `--event` asked for.
#[derive(Debug)]
pub struct Request<'a> {
    pub body: &'a [u8],
    pub given: bool,
    pub at: i64,
    pub id: &'a str,
    pub event: &'a str,
}

/// `source`'s delivery of `req` signed with the development keys, `secret` being what the
/// function is configured with; `None` when `source`'s keys are not fetched.
pub fn sign(source: &Source, secret: &str, req: &Request<'_>) -> Option<Result<Delivery, String>> {
    if !signs(source) {
        return None;
    }
    Some((|| {
        let secret = source
            .decode_secret(secret)
            .map_err(|e| format!("the secret for {}: {e}", source.name()))?;
        let secret = String::from_utf8(secret)
            .map_err(|_| format!("the secret for {} is not text", source.name()))?;
        match source.scheme().name {
            "aws-sns" => sns(&secret, req),
            "paypal" => paypal(&secret, req),
            "plaid" => Ok(plaid(req)),
            other => Err(format!("{other}'s deliveries cannot be signed locally yet")),
        }
    })())
}

/// A PEM key's DER.
fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("the development keys are PEM")
}

/// `msg` signed by the development RSA key, PKCS#1 v1.5 with `hash`, in base64.
fn rsa_sign(hash: Hash, msg: &[u8]) -> Result<String, String> {
    let sig = inlet::core::verify::keys::sign(Asym::RsaPkcs1v15(hash), &der(RSA_KEY), msg, false)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sig))
}

/// The SNS message types, by the `--event` that asks for them (any other is a Notification).
fn sns_type(event: &str) -> &'static str {
    let word: String = event
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    match word.as_str() {
        "subscriptionconfirmation" => "SubscriptionConfirmation",
        "unsubscribeconfirmation" => "UnsubscribeConfirmation",
        _ => "Notification",
    }
}

/// SNS's JSON message (HTTP/S subscription, not raw): `Message` is the body given (or a sample),
/// `MessageId` the delivery id, signed (version 2: RSA SHA-256) over SNS's string to sign, with a
/// `SigningCertURL` on the topic's region's SNS host.
fn sns(topic: &str, req: &Request<'_>) -> Result<Delivery, String> {
    let message = if req.given {
        String::from_utf8(req.body.to_vec()).map_err(|_| "an SNS message is text".to_owned())?
    } else {
        json!({"inlet_sample": true, "message": "Hello from Inlet"}).to_string()
    };
    let mut arn = topic.split(':');
    let (partition, region) = (
        arn.nth(1).unwrap_or("aws"),
        arn.nth(1).unwrap_or("us-east-1"),
    );
    let domain = if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let host = format!("sns.{region}.{domain}");
    let ty = sns_type(req.event);
    let token = hex::encode(Sha256::digest(format!("inlet-dev-token-{}", req.id)));
    let confirm =
        format!("https://{host}/?Action=ConfirmSubscription&TopicArn={topic}&Token={token}");
    // Every member SNS sends, in its order; the signed ones are signed in SIGNED's order.
    let mut members: Vec<(&str, String)> =
        vec![("Type", ty.to_owned()), ("MessageId", req.id.to_owned())];
    if ty != "Notification" {
        members.push(("Token", token.clone()));
    }
    members.push(("TopicArn", topic.to_owned()));
    if ty == "Notification" {
        members.push(("Subject", "Inlet development message".to_owned()));
        members.push(("Message", message));
    } else {
        members.push((
            "Message",
            format!("You have chosen to subscribe to the topic {topic}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
        ));
        members.push(("SubscribeURL", confirm));
    }
    members.push(("Timestamp", format_time(req.at, Unit::Rfc3339)));
    const SIGNED: [&str; 8] = [
        "Message",
        "MessageId",
        "Subject",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ];
    let mut string_to_sign = String::new();
    for name in SIGNED {
        if let Some((_, value)) = members.iter().find(|(n, _)| *n == name) {
            string_to_sign.push_str(&format!("{name}\n{value}\n"));
        }
    }
    members.push(("SignatureVersion", "2".to_owned()));
    members.push((
        "Signature",
        rsa_sign(Hash::Sha256, string_to_sign.as_bytes())?,
    ));
    members.push((
        "SigningCertURL",
        format!("https://{host}/SimpleNotificationService-inlet-development-key.pem"),
    ));
    if ty == "Notification" {
        members.push((
            "UnsubscribeURL",
            format!("https://{host}/?Action=Unsubscribe&SubscriptionArn={topic}:inlet-development"),
        ));
    }
    let body = format!(
        "{{{}}}",
        members
            .iter()
            .map(|(k, v)| format!("{}:{}", json!(k), json!(v)))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut headers = vec![
        (
            "content-type".to_owned(),
            "text/plain; charset=UTF-8".to_owned(),
        ),
        ("x-amz-sns-message-type".to_owned(), ty.to_owned()),
        ("x-amz-sns-message-id".to_owned(), req.id.to_owned()),
        ("x-amz-sns-topic-arn".to_owned(), topic.to_owned()),
    ];
    if ty == "Notification" {
        headers.push((
            "x-amz-sns-subscription-arn".to_owned(),
            format!("{topic}:inlet-development"),
        ));
    }
    Ok(Delivery {
        headers,
        body: body.into_bytes(),
    })
}

/// CRC-32 (IEEE 802.3, reflected: zlib's `crc32`, `buffer-crc32`'s), as PayPal signs the body.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// PayPal's headers: a fresh transmission id, the time, the certificate URL, the algorithm and
/// the signature over `<transmission id>|<time>|<webhook id>|<CRC-32 of the body>`.
fn paypal(webhook_id: &str, req: &Request<'_>) -> Result<Delivery, String> {
    let transmission = inlet::core::normalize::engine::unique_id();
    let time = format_time(req.at, Unit::Rfc3339);
    let signed = format!("{transmission}|{time}|{webhook_id}|{}", crc32(req.body));
    let sig = rsa_sign(Hash::Sha256, signed.as_bytes())?;
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("paypal-transmission-id", transmission),
        ("paypal-transmission-time", time),
        ("paypal-cert-url", PAYPAL_CERT_URL.to_owned()),
        ("paypal-auth-algo", "SHA256withRSA".to_owned()),
        ("paypal-transmission-sig", sig),
    ];
    Ok(Delivery {
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        body: req.body.to_vec(),
    })
}

/// Plaid's `Plaid-Verification`: an ES256 JWT naming [`KID`], with `iat` and the body's
/// SHA-256 in hex.
fn plaid(req: &Request<'_>) -> Delivery {
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!(
        "{}.{}",
        b64(json!({"alg": "ES256", "kid": KID, "typ": "JWT"})),
        b64(json!({"iat": req.at, "request_body_sha256": hex::encode(Sha256::digest(req.body))}))
    );
    let sig = inlet::core::verify::keys::sign(
        Asym::Ecdsa(Hash::Sha256),
        &der(P256_KEY),
        input.as_bytes(),
        true,
    )
    .expect("the development P-256 key signs");
    let token = format!(
        "{input}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
    );
    Delivery {
        headers: vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("plaid-verification".to_owned(), token),
        ],
        body: req.body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use inlet::core::verify::{Secret, SecretSet};
    use inlet::ports::queue::MemoryQueue;

    use super::*;

    fn source(name: &str) -> &'static Source {
        inlet::catalogue::sources::by_name(name).expect("a sender")
    }

    /// `delivery` through `source`'s pipeline with `secret`, the key port `keys`, at `at`: the
    /// status and the envelopes queued.
    fn serve(
        source: &'static Source,
        secret: &str,
        keys: &Arc<DevKeys>,
        delivery: &Delivery,
        at: i64,
    ) -> (u16, Vec<Value>) {
        let key = source.decode_secret(secret).expect("secret");
        let set = SecretSet::new(vec![Secret::new("WEBHOOK_SECRET", key)]).expect("set");
        let pipeline = inlet::Pipeline::new(
            source,
            set,
            inlet::config::Settings::default(),
            MemoryQueue::default(),
        )
        .with_keys(keys.clone());
        let mut headers = http::HeaderMap::new();
        for (k, v) in &delivery.headers {
            headers.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                http::HeaderValue::from_str(v).expect("value"),
            );
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let now = UNIX_EPOCH + Duration::from_secs(at as u64);
        let reply = runtime.block_on(pipeline.handle(
            inlet::Inbound::post(&headers, &delivery.body),
            now,
            tokio::time::Instant::now() + Duration::from_secs(5),
        ));
        let queued = pipeline
            .queue()
            .messages()
            .iter()
            .map(|m| serde_json::from_str(&m.body).expect("envelope"))
            .collect();
        (reply.status, queued)
    }

    fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("now")
            .as_secs() as i64
    }

    fn dev_secret(source: &Source) -> String {
        crate::dev::defaults(source).secret
    }

    #[test]
    fn crc32_is_zlibs() {
        // The CRC-32 check value (`zlib.crc32(b"123456789")`), and the empty input.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn the_jwk_is_the_private_keys_public_half() {
        let key = inlet::core::verify::keys::PublicKey::from_jwk(&jwk(KID)).expect("a P-256 JWK");
        let sig =
            inlet::core::verify::keys::sign(Asym::Ecdsa(Hash::Sha256), &der(P256_KEY), b"m", false)
                .expect("signs");
        assert!(key.verify(Asym::Ecdsa(Hash::Sha256), b"m", &sig));
        assert!(!key.verify(Asym::Ecdsa(Hash::Sha256), b"n", &sig));
    }

    #[test]
    fn every_fetched_key_sender_is_signed_and_served_locally() {
        let at = now();
        for name in ["aws-sns", "paypal", "plaid"] {
            let source = source(name);
            let secret = dev_secret(source);
            let body = crate::dev::sample(source, "evt_1", "test.event", at);
            let req = Request {
                body: body.as_bytes(),
                given: false,
                at,
                id: "a5c8e2f0-0000-4000-8000-000000000001",
                event: "test.event",
            };
            let delivery = sign(source, &secret, &req)
                .expect("signed here")
                .expect("signs");
            let keys = Arc::new(DevKeys::default());
            let (status, queued) = serve(source, &secret, &keys, &delivery, at);
            assert_eq!((name, status, queued.len()), (name, 202, 1));
            assert_eq!(keys.asked().len(), 1, "{name}");
            let e = &queued[0];
            assert!(
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(&format!("{name}."))),
                "{e}"
            );
            // Tampered: refused, nothing queued.
            let mut tampered = Delivery {
                headers: delivery.headers.clone(),
                body: delivery.body.clone(),
            };
            let text = String::from_utf8(tampered.body).expect("utf8");
            let changed = text.replacen("inlet_sample", "inlet_sampled", 1);
            assert_ne!(text, changed, "{name}");
            tampered.body = changed.into_bytes();
            let (status, queued) = serve(source, &secret, &keys, &tampered, at);
            assert_eq!((name, status, queued.len()), (name, 401, 0));
            // Another configured secret (topic, webhook id): refused.
            let other = match name {
                "aws-sns" => "arn:aws:sns:us-east-1:000000000000:another",
                "paypal" => "ANOTHERWEBHOOK",
                _ => continue,
            };
            let (status, queued) = serve(source, other, &keys, &delivery, at);
            assert_eq!((name, status, queued.len()), (name, 401, 0));
        }
        // Not a fetched-key sender: signed the usual way.
        assert!(sign(
            source("github"),
            "x",
            &Request {
                body: b"{}",
                given: true,
                at,
                id: "1",
                event: "push"
            }
        )
        .is_none());
    }

    #[test]
    fn sns_envelope_and_the_host_check_still_run() {
        let at = now();
        let sns = source("aws-sns");
        let topic = dev_secret(sns);
        let req = Request {
            body: br#"{"order":42}"#,
            given: true,
            at,
            id: "7c1c5bd5-0000-4000-8000-000000000001",
            event: "",
        };
        let delivery = sign(sns, &topic, &req).expect("sns").expect("signs");
        let m: Value = serde_json::from_slice(&delivery.body).expect("json");
        assert_eq!(m["Message"], r#"{"order":42}"#);
        assert_eq!(
            m["SigningCertURL"],
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-inlet-development-key.pem"
        );
        let keys = Arc::new(DevKeys::default());
        let (status, queued) = serve(sns, &topic, &keys, &delivery, at);
        assert_eq!(status, 202);
        assert_eq!(queued[0]["id"], req.id);
        assert_eq!(queued[0]["type"], "aws-sns.notification");
        assert_eq!(queued[0]["subject"], topic.as_str());
        let time = format_time(at, Unit::Rfc3339);
        assert!(queued[0]["time"]
            .as_str()
            .is_some_and(|t| t.starts_with(&time[..19])));
        // A certificate URL off SNS's hosts: 401, and the development keys are never asked.
        let mut m = m;
        m["SigningCertURL"] = json!("https://sns.us-east-1.amazonaws.com.evil.example/x.pem");
        let forged = Delivery {
            headers: delivery.headers.clone(),
            body: m.to_string().into_bytes(),
        };
        let keys = Arc::new(DevKeys::default());
        let (status, queued) = serve(sns, &topic, &keys, &forged, at);
        assert_eq!((status, queued.len()), (401, 0));
        assert!(keys.asked().is_empty());
    }

    #[test]
    fn an_sns_subscription_is_confirmed_without_visiting() {
        let at = now();
        let sns = source("aws-sns");
        let topic = dev_secret(sns);
        let req = Request {
            body: b"",
            given: false,
            at,
            id: "7c1c5bd5-0000-4000-8000-000000000002",
            event: "subscription-confirmation",
        };
        let delivery = sign(sns, &topic, &req).expect("sns").expect("signs");
        let keys = Arc::new(DevKeys::default());
        let (status, queued) = serve(sns, &topic, &keys, &delivery, at);
        assert_eq!((status, queued.len()), (200, 0));
        let visited = keys.visited();
        assert_eq!(visited.len(), 1);
        assert!(visited[0]
            .starts_with("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&"));
    }

    #[test]
    fn a_plaid_key_is_answered_for_the_kid_asked() {
        let keys = DevKeys::default();
        let url = inlet::core::verify::fetch::check_url(
            "https://sandbox.plaid.com/webhook_verification_key/get",
            &[inlet::core::verify::fetch::HostRule::Exact(
                "sandbox.plaid.com",
            )],
            |_| true,
        )
        .expect("url");
        let ask = |body: &str| KeyRequest {
            body: Some(body.as_bytes().to_vec()),
            cache_key: "k".into(),
            url: url.clone(),
        };
        let run = |req: &KeyRequest| futures_now(keys.fetch(req));
        let answer =
            run(&ask(r#"{"client_id":"c","secret":"s","key_id":"abc-1"}"#)).expect("a key");
        let v: Value = serde_json::from_slice(&answer).expect("json");
        assert_eq!(v["key"]["kid"], "abc-1");
        assert_eq!(run(&ask("{}")), Err(FetchError::Status(400)));
    }

    /// A ready future's output.
    fn futures_now<T>(f: Boxed<'_, T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }
}
