#![allow(dead_code)]
//! The crate's shared test harness (compiled for unit tests only): helpers the sender files use
//! (known-answer vectors, round trips through the signer and the verifier, the tampering every
//! scheme must notice, a delivery through the pipeline), and the tests that run over every
//! sender at once ([`repeats`], [`properties`]). It stands above every layer, so that no layer's
//! own code needs to reach up for its tests.

mod properties;
mod repeats;

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::core::scheme::{Loc, Part, Scheme};
use crate::core::verify::engine::{self, Signing};
use crate::core::verify::{Clock, Secret, SecretSet, Unverified, VerifyError};

pub const URL: &str = "https://hooks.example.com/webhooks/test?x=1";
/// A secret that is valid text, hex and base64, and is nobody's.
const OTHER: &[u8] = b"00112233445566778899aabbccddeeff";

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    map
}

fn secrets(scheme: &Scheme, keys: &[&[u8]]) -> SecretSet {
    SecretSet::new(
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                let text = std::str::from_utf8(k).expect("secrets are text");
                let key = engine::decode_secret(scheme, text).expect("secret decodes");
                Secret::new(format!("secret-{i}"), key)
            })
            .collect(),
    )
    .expect("secrets")
}

/// Verifies with the given secrets at `now` (unix seconds, tolerance = the scheme's); the label
/// of the secret that matched.
pub fn check(
    scheme: &'static Scheme,
    keys: &[&[u8]],
    pairs: &[(&str, &str)],
    body: &[u8],
    now: u64,
) -> Result<String, VerifyError> {
    check_request(scheme, keys, pairs, body, now, &Method::POST, "", Some(URL))
}

/// Each `(headers, error)` case is refused with exactly that error.
pub fn refused(
    scheme: &'static Scheme,
    keys: &[&[u8]],
    body: &[u8],
    now: u64,
    cases: &[(&[(&str, &str)], VerifyError)],
) {
    for (pairs, want) in cases {
        let got = check(scheme, keys, pairs, body, now).expect_err("must fail");
        assert_eq!(&got, want, "{pairs:?}");
    }
}

#[allow(clippy::too_many_arguments)]
pub fn check_request(
    scheme: &'static Scheme,
    keys: &[&[u8]],
    pairs: &[(&str, &str)],
    body: &[u8],
    now: u64,
    method: &Method,
    query: &str,
    url: Option<&str>,
) -> Result<String, VerifyError> {
    let h = headers(pairs);
    let clock = Clock {
        now: UNIX_EPOCH + Duration::from_secs(now),
        tolerance: Duration::from_secs(scheme.timestamp.map_or(300, |t| t.tolerance)),
    };
    let req = Unverified {
        method,
        headers: &h,
        body,
        query,
        url,
    };
    engine::verify(scheme, &secrets(scheme, keys), req, &clock).map(|v| v.secret_label().to_owned())
}

/// A published vector verifies (at the timestamp it carries, if any) and fails once the body changes.
pub fn vector(scheme: &'static Scheme, secret: &[u8], body: &[u8], pairs: &[(&str, &str)]) {
    let now = signed_time(scheme, pairs).unwrap_or(0);
    vector_at(scheme, secret, body, pairs, now);
}

/// As [`vector`], checked at `now`.
pub fn vector_at(
    scheme: &'static Scheme,
    secret: &[u8],
    body: &[u8],
    pairs: &[(&str, &str)],
    now: u64,
) {
    check(scheme, &[secret], pairs, body, now).expect("the published vector verifies");
    let mut tampered = body.to_vec();
    match tampered.last_mut() {
        Some(b) => *b ^= 1,
        None => tampered.push(b'x'),
    }
    assert!(
        check(scheme, &[secret], pairs, &tampered, now).is_err(),
        "a changed body must fail"
    );
    assert!(
        scheme.algorithm.public_key() || check(scheme, &[OTHER], pairs, body, now).is_err(),
        "another secret must fail"
    );
}

/// The unix seconds of the timestamp in `pairs`, for schemes with one in a header or kv list.
fn signed_time(scheme: &Scheme, pairs: &[(&str, &str)]) -> Option<u64> {
    let ts = scheme.timestamp?;
    for loc in ts.at {
        let raw = match loc {
            Loc::Header(h) => pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(h))
                .map(|(_, v)| (*v).to_owned()),
            Loc::Kv(k) => pairs.iter().find_map(|(_, v)| {
                v.split([',', ';'])
                    .map(str::trim)
                    .find_map(|i| i.strip_prefix(&format!("{k}=")).map(str::to_owned))
            }),
            _ => None,
        };
        if let Some(raw) = raw {
            return engine::parse_time(&raw, ts.unit).and_then(|s| u64::try_from(s).ok());
        }
    }
    None
}

/// Signs with the engine and checks the verifier accepts it, and rejects: every single-byte
/// change to the body, a changed signed id, another secret, and (for timestamped schemes)
/// times just outside the window on either side.
pub fn round_trip(scheme: &'static Scheme, secret: &[u8], body: &[u8]) {
    round_trip_keys(scheme, secret, secret, body);
}

/// As [`round_trip`] for public-key schemes: sign with `private`, verify with `public`.
pub fn round_trip_keys(scheme: &'static Scheme, private: &[u8], public: &[u8], body: &[u8]) {
    const AT: i64 = 1_700_000_000;
    let signing = Signing::post(body, AT, "msg_2Zq1", Some(URL));
    let private_key = match scheme.algorithm {
        _ if scheme.algorithm.public_key() => private.to_vec(),
        _ => engine::decode_secret(scheme, std::str::from_utf8(private).expect("text"))
            .expect("secret"),
    };
    let signed = engine::sign(scheme, &private_key, &signing).expect("signs");
    let pairs: Vec<(&str, &str)> = signed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let now = AT as u64;
    check(scheme, &[public], &pairs, body, now).expect("what the engine signs verifies");
    for i in 0..body.len().min(64) {
        let mut tampered = body.to_vec();
        tampered[i] ^= 0x01;
        assert!(
            check(scheme, &[public], &pairs, &tampered, now).is_err(),
            "byte {i} changed"
        );
    }
    if scheme.signed.contains(&Part::Id) {
        let id_header = match scheme.id.first() {
            Some(Loc::Header(h)) => *h,
            _ => unreachable!("signed ids are in headers"),
        };
        let changed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| {
                if *n == id_header {
                    (*n, "msg_2Zq2")
                } else {
                    (*n, *v)
                }
            })
            .collect();
        assert!(
            check(scheme, &[public], &changed, body, now).is_err(),
            "changed id"
        );
    }
    if let Some(ts) = scheme.timestamp {
        let off = ts.tolerance + 2;
        assert!(matches!(
            check(scheme, &[public], &pairs, body, now + off),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        assert!(matches!(
            check(scheme, &[public], &pairs, body, now - off),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        check(scheme, &[public], &pairs, body, now + ts.tolerance - 1).expect("inside the window");
    }
    if !scheme.algorithm.public_key() {
        assert!(
            check(scheme, &[OTHER], &pairs, body, now).is_err(),
            "another secret"
        );
        let label = check(scheme, &[OTHER, public], &pairs, body, now)
            .expect("the older of two active secrets still verifies");
        assert_eq!(label, "secret-1");
    }
}

/// The headers `scheme`'s sender adds to sign `body` at `at` (unix seconds) with delivery id `id`,
/// posted to `url` (for public-key schemes `key` is the private key).
pub fn sign_headers(
    scheme: &Scheme,
    key: &[u8],
    body: &[u8],
    at: i64,
    id: &str,
    url: Option<&str>,
) -> Vec<(String, String)> {
    engine::sign(scheme, key, &Signing::post(body, at, id, url)).expect("signs")
}

/// What a POST of `body` signs, at time 0, with no id or URL (senders that sign inside the body).
pub fn posted(body: &[u8]) -> Signing<'_> {
    Signing::post(body, 0, "", None)
}

/// Owned header pairs as a [`Request`] takes them.
pub fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// A request for [`deliver`].
#[derive(Debug, Clone, Copy)]
pub struct Request<'r> {
    pub method: &'r Method,
    pub query: &'r str,
    pub headers: &'r [(&'r str, &'r str)],
    pub body: &'r [u8],
    /// Unix seconds the pipeline takes as now.
    pub now: u64,
}

impl<'r> Request<'r> {
    pub fn post(headers: &'r [(&'r str, &'r str)], body: &'r [u8], now: u64) -> Self {
        Self {
            method: &Method::POST,
            query: "",
            headers,
            body,
            now,
        }
    }

    /// A GET with no body: the handshakes that arrive that way (Meta, Dropbox, Okta, X, Braintree).
    pub fn get(query: &'r str, headers: &'r [(&'r str, &'r str)], now: u64) -> Self {
        Self {
            method: &Method::GET,
            query,
            headers,
            body: b"",
            now,
        }
    }
}

/// What the pipeline answered, and the envelopes it enqueued (as JSON).
#[derive(Debug)]
pub struct Delivered {
    pub reply: crate::Reply,
    pub envelopes: Vec<serde_json::Value>,
}

impl Delivered {
    /// The reply body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.reply.body).into_owned()
    }

    /// The reply body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.reply.body).expect("a JSON reply")
    }
}

/// Runs `req` through the whole pipeline (handshakes, verification, normalization, an
/// in-memory queue) for `source` with one secret, as the functions do.
pub fn deliver(
    source: crate::catalogue::sources::Source,
    secret: &str,
    req: Request<'_>,
) -> Delivered {
    deliver_to(source, &[secret], req)
}

/// [`deliver`] with several active secrets, newest first (labelled `WEBHOOK_SECRET`,
/// `WEBHOOK_SECRET_2`, …).
pub fn deliver_to(
    source: crate::catalogue::sources::Source,
    secrets: &[&str],
    req: Request<'_>,
) -> Delivered {
    deliver_all(source, secrets, &[req], false)
        .pop()
        .expect("one delivery")
}

/// Runs each request in turn through one pipeline with an idempotency store (in memory), as a
/// sender's retries or a second event reach one function; what each came to (the envelopes
/// queued by that request alone).
pub fn deliver_again(
    source: crate::catalogue::sources::Source,
    secret: &str,
    requests: &[Request<'_>],
) -> Vec<Delivered> {
    deliver_all(source, &[secret], requests, true)
}

/// How many envelopes each delivery queued.
pub fn counts(delivered: &[Delivered]) -> Vec<usize> {
    delivered.iter().map(|d| d.envelopes.len()).collect()
}

fn deliver_all(
    source: crate::catalogue::sources::Source,
    secrets: &[&str],
    requests: &[Request<'_>],
    idempotent: bool,
) -> Vec<Delivered> {
    let source: &'static crate::catalogue::sources::Source = Box::leak(Box::new(source));
    let secrets = SecretSet::new(
        secrets
            .iter()
            .enumerate()
            .map(|(i, secret)| {
                let key = source.decode_secret(secret).expect("secret");
                let label = match i {
                    0 => "WEBHOOK_SECRET".to_owned(),
                    n => format!("WEBHOOK_SECRET_{}", n + 1),
                };
                Secret::new(label, key)
            })
            .collect(),
    )
    .expect("secrets");
    let queue = crate::ports::queue::MemoryQueue::default();
    let mut pipeline =
        crate::Pipeline::new(source, secrets, crate::config::Settings::default(), queue);
    if idempotent {
        pipeline = pipeline.with_idempotency(crate::adapters::IdempotencyStore::Memory(
            crate::ports::idempotency::MemoryStore::default(),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let url = source.public_url().map(str::to_owned);
    let mut seen = 0;
    let mut out = Vec::new();
    for req in requests {
        let h = headers(req.headers);
        let inbound = crate::Inbound {
            method: req.method,
            headers: &h,
            body: req.body,
            query: req.query,
            url: url.as_deref(),
        };
        let now = UNIX_EPOCH + Duration::from_secs(req.now);
        let reply = runtime.block_on(pipeline.handle(
            inbound,
            now,
            tokio::time::Instant::now() + Duration::from_secs(5),
        ));
        let messages = pipeline.queue().messages();
        let envelopes = messages[seen..]
            .iter()
            .map(|m| serde_json::from_str(&m.body).expect("envelope JSON"))
            .collect();
        seen = messages.len();
        out.push(Delivered { reply, envelopes });
    }
    out
}

/// The envelope ids a delivery queued.
fn ids(d: &Delivered) -> Vec<String> {
    d.envelopes
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The same signed bytes delivered twice are one event: the second is answered 202 and queues
/// nothing (issue 16: what a sender whose id is the body digest must say of its repeats).
pub fn assert_identical_bytes_are_a_retry(
    source: crate::catalogue::sources::Source,
    secret: &str,
    req: Request<'_>,
) {
    assert_eq!(source.scheme().repeats, crate::core::scheme::Repeats::Retry);
    let d = deliver_again(source, secret, &[req, req]);
    assert_eq!(
        d[0].reply.status,
        d[0].reply.status.clamp(200, 202),
        "{}",
        d[0].text()
    );
    assert!(!d[0].envelopes.is_empty(), "{}", d[0].text());
    assert_eq!(d[1].reply.status, d[0].reply.status, "{}", d[1].text());
    assert!(d[1].envelopes.is_empty(), "a retry is not queued again");
}

/// The same signed bytes delivered twice are two events: both are queued, under ids of their
/// own (at-least-once), since nothing tells them from a retry.
pub fn assert_identical_bytes_are_two_events(
    source: crate::catalogue::sources::Source,
    secret: &str,
    req: Request<'_>,
) {
    assert_eq!(
        source.scheme().repeats,
        crate::core::scheme::Repeats::Distinct
    );
    let d = deliver_again(source, secret, &[req, req]);
    assert_eq!(counts(&d), [d[0].envelopes.len(); 2], "{}", d[1].text());
    assert!(!d[0].envelopes.is_empty(), "{}", d[0].text());
    for (a, b) in ids(&d[0]).iter().zip(ids(&d[1])) {
        assert_ne!(*a, b, "two deliveries, two ids");
        assert!(!a.starts_with("sha256:"), "{a}: not the body digest");
    }
}

/// Identical bytes under another (unsigned) delivery id are another event; under the same one,
/// the sender's retry.
pub fn assert_told_apart_by_delivery_id(
    source: crate::catalogue::sources::Source,
    secret: &str,
    first: Request<'_>,
    other_id: Request<'_>,
) {
    assert_eq!(
        source.scheme().repeats,
        crate::core::scheme::Repeats::Distinct
    );
    assert_eq!(first.body, other_id.body, "the same bytes");
    let d = deliver_again(source, secret, &[first, first, other_id]);
    let n = d[0].envelopes.len();
    assert!(n > 0, "{}", d[0].text());
    assert_eq!(counts(&d), [n, 0, n], "{}", d[2].text());
    assert_ne!(ids(&d[0]), ids(&d[2]));
}

/// What a delivered envelope's id must be.
#[derive(Debug, Clone, Copy)]
pub enum Id<'w> {
    /// Exactly this.
    Is(&'w str),
    /// The body digest (`sha256:…`): the sender signs no id of its own.
    Digest,
    /// An id of the sender's (or the delivery's): present and not the body digest.
    NotDigest,
}

/// The fields [`assert_envelope`] checks.
#[derive(Debug, Clone, Copy)]
pub struct Want<'w> {
    pub id: Id<'w>,
    pub ty: &'w str,
    /// `None`: the envelope has no subject.
    pub subject: Option<&'w str>,
    pub time: &'w str,
}

/// Delivers `req` under `secret`: it is accepted (202) and queues one envelope with `want`'s id,
/// type, subject and time. Then delivers the same request under another secret: 401, nothing
/// queued. The envelope, for the sender's own further checks.
pub fn assert_envelope(
    source: crate::catalogue::sources::Source,
    secret: &str,
    req: Request<'_>,
    want: Want<'_>,
) -> serde_json::Value {
    let other = std::str::from_utf8(OTHER).expect("text");
    assert_envelope_forged(source, secret, other, req, want)
}

/// As [`assert_envelope`], the forgery made with `forged` (another public key, or a secret of
/// the scheme's own shape).
pub fn assert_envelope_forged(
    source: crate::catalogue::sources::Source,
    secret: &str,
    forged: &str,
    req: Request<'_>,
    want: Want<'_>,
) -> serde_json::Value {
    assert_ne!(secret, forged, "a forgery needs another secret");
    let d = deliver(source.clone(), secret, req);
    assert_eq!(d.reply.status, 202, "{}", d.text());
    assert_eq!(
        d.envelopes.len(),
        1,
        "one event, one envelope: {}",
        d.text()
    );
    let e = d.envelopes[0].clone();
    let id = e["id"].as_str().expect("id");
    match want.id {
        Id::Is(want) => assert_eq!(id, want, "{e}"),
        Id::Digest => assert!(id.starts_with("sha256:"), "{e}: the body digest"),
        Id::NotDigest => assert!(
            !id.is_empty() && !id.starts_with("sha256:"),
            "{e}: not the body digest"
        ),
    }
    assert_eq!(e["type"], want.ty, "{e}");
    match want.subject {
        Some(subject) => assert_eq!(e["subject"], subject, "{e}"),
        None => assert!(e["subject"].is_null(), "{e}: no subject"),
    }
    assert_eq!(e["time"], want.time, "{e}");
    assert_forged(source, forged, req);
    e
}

/// `req` delivered under `forged` (a secret that did not sign it) is answered 401 and queues
/// nothing.
pub fn assert_forged(source: crate::catalogue::sources::Source, forged: &str, req: Request<'_>) {
    let d = deliver(source, forged, req);
    assert_eq!(d.reply.status, 401, "{}", d.text());
    assert!(d.envelopes.is_empty(), "a forgery is not queued");
}

/// The header `scheme` reads its signature from first.
fn signature_header(scheme: &Scheme) -> &'static str {
    match scheme.signature.at.first() {
        Some(Loc::Header(h)) => h,
        other => panic!("the signature is not in a header: {other:?}"),
    }
}

/// The refusals every scheme whose signature is in a header shares, around a request `pairs`
/// that verifies with `secret`: without the signature header, MissingSignature; with its value
/// twice, DuplicateHeader; with a value no encoding reads, MalformedSignature. Sender-specific
/// malformed values stay in the sender's own [`refused`] table.
pub fn assert_header_refusals(
    scheme: &'static Scheme,
    secret: &str,
    body: &[u8],
    now: u64,
    pairs: &[(&str, &str)],
) {
    assert_missing_and_duplicate(scheme, secret, body, now, pairs);
    let header = signature_header(scheme);
    let mut garbage = without(pairs, header);
    garbage.push((header, "%% not a signature! %%"));
    let cases: &[(&[(&str, &str)], VerifyError)] =
        &[(&garbage, VerifyError::MalformedSignature { header })];
    refused(scheme, &[secret.as_bytes()], body, now, cases);
}

/// [`assert_header_refusals`] for schemes where any value is well formed (a token compared
/// whole, a JWT judged by its claims): only the missing and the duplicated header.
///
/// Only for a signature header that holds one value: a `key=value` list (Stripe-like `t=…,v1=…`)
/// accepts a repeat that agrees with the first (the engine reads the repeats as one list), and
/// its senders' tables say what a disagreeing repeat comes to.
pub fn assert_missing_and_duplicate(
    scheme: &'static Scheme,
    secret: &str,
    body: &[u8],
    now: u64,
    pairs: &[(&str, &str)],
) {
    let keys: &[&[u8]] = &[secret.as_bytes()];
    check(scheme, keys, pairs, body, now).expect("the request the refusals start from verifies");
    let header = signature_header(scheme);
    let good = pairs
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(header))
        .map(|(_, v)| *v)
        .expect("the signature header is among the pairs");
    let missing = without(pairs, header);
    let mut twice = missing.clone();
    twice.extend([(header, good), (header, good)]);
    let cases: &[(&[(&str, &str)], VerifyError)] = &[
        (&missing, VerifyError::MissingSignature { header }),
        (&twice, VerifyError::DuplicateHeader { header }),
    ];
    refused(scheme, keys, body, now, cases);
}

/// `pairs` without `header`.
fn without<'p>(pairs: &[(&'p str, &'p str)], header: &str) -> Vec<(&'p str, &'p str)> {
    pairs
        .iter()
        .copied()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(header))
        .collect()
}
