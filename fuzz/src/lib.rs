//! The harnesses behind the fuzz targets in `fuzz_targets/`, and the input format they share.
//!
//! # Input format
//!
//! Every target but `event_decode` reads its input as a small, text-like request that seeds are
//! easy to write for (see `fuzz/make-seeds`) and that libFuzzer mutates well:
//!
//! ```text
//! @ts: 1763800000            <- knobs of the harness: names starting with `@`
//! Content-Type: text/plain   <- header lines `name: value` (value: any bytes but a newline)
//! #4: t=1,v1=00              <- `#N`: the N-th name of HEADER_NAMES (the schemes' real headers)
//!                            <- a blank line
//! the body: every byte after the blank line, exactly
//! ```
//!
//! Without a blank line the whole input is the body. Lines without a colon are ignored; a header
//! whose name or value HTTP cannot carry is left out (API Gateway would not deliver it either).
//!
//! Every target asserts properties, not only the absence of panics; a failed assertion is a
//! crash that libFuzzer saves under `fuzz/artifacts/<target>/`.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use inlet::core::envelope::{sqs_allows, sqs_safe};
use inlet::core::normalize::Disposition;
use inlet::core::verify::{Clock, Secret, SecretSet, Unverified};
use inlet::Source;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// Header names the fuzzer can name by index (`#N`): every scheme's real headers and a few more.
pub const HEADER_NAMES: [&str; 16] = [
    "content-type",
    "x-hub-signature-256",
    "x-github-event",
    "x-github-delivery",
    "stripe-signature",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "cookie",
    "content-length",
    "user-agent",
];

/// A key that appears in no input and no seed: nothing the fuzzer makes may verify with it.
const UNKNOWN_KEY: [u8; 32] = [
    0x77, 0xbe, 0x14, 0xd7, 0x6a, 0x97, 0x5c, 0xa9, 0x1d, 0x82, 0xb9, 0x0a, 0x38, 0x0f, 0xad, 0xf1,
    0x5d, 0xdb, 0x80, 0x9c, 0x5a, 0x54, 0x9d, 0xed, 0xb3, 0x35, 0xf9, 0xfb, 0xee, 0x4a, 0x1f, 0x36,
];

/// The label of the development secret in the harnesses' secret sets.
const DEV_LABEL: &str = "WEBHOOK_SECRET";

/// The time the repository's fixtures were signed at: the default clock.
pub const DEFAULT_NOW: u64 = 1_763_800_000;

/// Replay window of the harnesses' clocks (the pipeline's default).
const TOLERANCE: Duration = Duration::from_secs(300);

/// The development secret of each source (the one the fixtures and samples are signed with).
pub fn dev_secret(source: &str) -> &'static str {
    match source {
        "github" => "inlet-dev-github-secret",
        "stripe" => "whsec_inlet_dev_stripe_secret",
        "slack" => "inlet-dev-slack-signing-secret",
        "standard" => "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
        other => panic!("no development secret for {other}"),
    }
}

fn dev_key(src: &Source) -> Vec<u8> {
    src.decode_secret(dev_secret(src.name()))
        .expect("the development secret decodes")
}

// ---------------------------------------------------------------------------------------------
// The input format
// ---------------------------------------------------------------------------------------------

/// An input split into its header lines and body.
#[derive(Debug)]
pub struct Input<'a> {
    fields: Vec<(&'a [u8], &'a [u8])>,
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn parse(data: &'a [u8]) -> Self {
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (&data[..0], data),
        };
        let fields = head
            .split(|b| *b == b'\n')
            .filter_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|b| *b == b':')?;
                let name = line[..colon].trim_ascii();
                let value = &line[colon + 1..];
                Some((name, value.strip_prefix(b" ").unwrap_or(value)))
            })
            .collect();
        Self { fields, body }
    }

    /// The first value of a knob (`@name`).
    pub fn knob(&self, name: &str) -> Option<&'a [u8]> {
        self.knobs(name).next()
    }

    /// Every value of a knob, in order.
    pub fn knobs<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.fields
            .iter()
            .filter(move |(n, _)| n.strip_prefix(b"@") == Some(name.as_bytes()))
            .map(|(_, v)| *v)
    }

    /// A knob as a number (leading digits; `None` when there are none).
    pub fn number(&self, name: &str) -> Option<u64> {
        let digits: Vec<u8> = self
            .knob(name)?
            .trim_ascii()
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .take(19)
            .collect();
        std::str::from_utf8(&digits).ok()?.parse().ok()
    }

    /// The header lines (not knobs), `#N` names resolved, as raw bytes.
    pub fn header_lines(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + '_ {
        self.fields
            .iter()
            .filter(|(n, _)| !n.starts_with(b"@"))
            .map(|(name, value)| (resolve_name(name), *value))
    }

    /// The header lines HTTP can carry, in order.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        self.header_lines()
            .filter_map(|(n, v)| {
                Some((
                    HeaderName::from_bytes(n).ok()?,
                    HeaderValue::from_bytes(v).ok()?,
                ))
            })
            .collect()
    }
}

fn resolve_name(name: &[u8]) -> &[u8] {
    match name.strip_prefix(b"#").map(std::str::from_utf8) {
        Some(Ok(index)) => match index.parse::<usize>() {
            Ok(i) => HEADER_NAMES[i % HEADER_NAMES.len()].as_bytes(),
            Err(_) => name,
        },
        _ => name,
    }
}

/// With `INLET_FUZZ_TRACE` set (e.g. when running one input: `fuzz/target/…/normalize_slack
/// file`), what a harness made of the input, on stderr.
fn trace(message: impl FnOnce() -> String) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("INLET_FUZZ_TRACE").is_some()) {
        eprintln!("{}", message());
    }
}

fn clock_at(unix: u64) -> Clock {
    Clock {
        now: UNIX_EPOCH + Duration::from_secs(unix),
        tolerance: TOLERANCE,
    }
}

// ---------------------------------------------------------------------------------------------
// verify_<source>
// ---------------------------------------------------------------------------------------------

/// `verify` on the headers and body of the input, at `@now` (default [`DEFAULT_NOW`]).
///
/// * It never panics.
/// * With a key the fuzzer cannot know, nothing verifies, and every rejection is one of an
///   unauthenticated caller (a stale timestamp is only reported after a signature matched).
/// * With the development key (the seeds carry real signatures made with it): when a request
///   verifies, it is the development secret that matched, the body is the one given, the signed
///   timestamp is within the window, Standard Webhooks report the id they signed, and the same
///   request with its body changed by one byte does not verify.
pub fn verify_target(src: &'static Source, data: &[u8]) {
    let input = Input::parse(data);
    let now = input.number("now").unwrap_or(DEFAULT_NOW) % 1_000_000_000_000;
    let clock = clock_at(now);
    let mut headers = HeaderMap::new();
    for (name, value) in input.headers() {
        headers.append(name, value);
    }
    let body = input.body;
    let req = Unverified::post(&headers, body);

    let unknown =
        SecretSet::new(vec![Secret::new("unknown", UNKNOWN_KEY.to_vec())]).expect("one secret");
    match src.verify(&unknown, req, &clock) {
        Ok(v) => panic!("verified with a key the fuzzer cannot know: {v:?}"),
        Err(e) => assert!(
            e.is_unauthenticated(),
            "no signature can match, yet the rejection is `{e}`"
        ),
    }

    let dev = SecretSet::new(vec![
        Secret::new("unknown", UNKNOWN_KEY.to_vec()),
        Secret::new(DEV_LABEL, dev_key(src)),
    ])
    .expect("two secrets");
    let v = match src.verify(&dev, req, &clock) {
        Ok(v) => v,
        Err(e) => {
            trace(|| format!("{}: not verified: {e}", src.name()));
            return;
        }
    };
    trace(|| format!("{}: verified ({})", src.name(), v.verification()));
    assert_eq!(v.secret_label(), DEV_LABEL);
    assert_eq!(v.body(), body);
    assert!(
        v.verification().starts_with(src.name()),
        "scheme {} of {}",
        v.verification(),
        src.name()
    );
    if let Some(t) = v.timestamp() {
        let skew = i64::try_from(now).expect("small") - t;
        assert!(skew.unsigned_abs() <= TOLERANCE.as_secs(), "skew {skew}");
    }
    if src.name() == "standard" {
        let id = v.signed_id().expect("Standard Webhooks sign an id");
        assert!(!id.is_empty());
        let sent = ["webhook-id", "svix-id"].iter().any(|name| {
            headers
                .get_all(*name)
                .iter()
                .any(|h| h.to_str().ok().map(str::trim) == Some(id))
        });
        assert!(
            sent,
            "the signed id {id:?} is not a header the request carries"
        );
    }
    let mut changed = body.to_vec();
    match changed.last_mut() {
        Some(last) => *last ^= 1,
        None => changed.push(b' '),
    }
    let tampered = Unverified::post(&headers, &changed);
    if let Ok(v) = src.verify(&dev, tampered, &clock) {
        panic!("a body changed after signing still verifies: {v:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// normalize_<source>
// ---------------------------------------------------------------------------------------------

/// The content type the `@ct` knob names: a digit picks a common one, anything else is sent
/// as it is; no `@ct` (or `@ct: 4`) sends none.
fn content_type(knob: Option<&[u8]>) -> Option<Vec<u8>> {
    let raw = knob?;
    let chosen: &[u8] = match raw.trim_ascii() {
        b"0" => b"application/json",
        b"1" => b"application/x-www-form-urlencoded",
        b"2" => b"text/plain",
        b"3" => b"application/octet-stream",
        b"4" => return None,
        b"5" => b"application/json; charset=utf-8",
        b"6" => b"application/cloudevents+json",
        b"7" => b"Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        _ => raw,
    };
    Some(chosen.to_vec())
}

/// How Inlet reads a body of this content type (what `normalize::body_kind` documents: JSON for
/// `application/json`, `application/*+json` and no content type; parameters and case ignored).
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Form,
    Other,
}

fn kind_of(content_type: Option<&HeaderValue>) -> Kind {
    let Some(value) = content_type else {
        return Kind::Json;
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"))
    {
        Kind::Json
    } else if media == "application/x-www-form-urlencoded" {
        Kind::Form
    } else {
        Kind::Other
    }
}

/// A delivery id as a sender can send it in a header: visible ASCII, no surrounding blanks.
fn delivery_id(knob: Option<&[u8]>) -> String {
    let id: String = knob
        .unwrap_or(b"")
        .iter()
        .filter(|b| (0x20..0x7f).contains(*b))
        .map(|b| char::from(*b))
        .collect();
    let id = id.trim();
    if id.is_empty() {
        "msg_fuzz".to_owned()
    } else {
        id.to_owned()
    }
}

/// The envelope as a consumer reads it. Unknown or repeated fields are errors, so this also
/// checks the envelope has exactly the fields CloudEvents and Inlet document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decoded<'a> {
    specversion: String,
    id: String,
    source: String,
    #[serde(rename = "type")]
    ty: String,
    time: String,
    subject: Option<String>,
    datacontenttype: String,
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
    data_base64: Option<String>,
    dataref: Option<String>,
    inletreceivedat: String,
    inletbodysha256: String,
    inletverification: String,
    inletsecret: String,
}

/// A field that is there, even as `null`, is `Some`.
fn present<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'a RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// A form body as JSON: an object of strings, a repeated key an array of its values in order.
fn form_object(body: &[u8]) -> Value {
    let mut pairs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        pairs
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, mut vs)| {
                let v = if vs.len() == 1 {
                    Value::String(vs.remove(0))
                } else {
                    Value::Array(vs.into_iter().map(Value::String).collect())
                };
                (k, v)
            })
            .collect::<Map<_, _>>(),
    )
}

/// The only value of `key` in a form body.
fn form_single(body: &[u8], key: &str) -> Option<String> {
    let mut values = form_urlencoded::parse(body).filter(|(k, _)| k == key);
    let (_, value) = values.next()?;
    values.next().is_none().then(|| value.into_owned())
}

/// Asserts `data` is `expected` as a JSON value. Both are read by serde_json the same way; a
/// text serde_json cannot read as a `Value` (a number beyond f64, say) must be so on both sides.
fn assert_same_json(data: &RawValue, expected: &[u8], what: &str) {
    let got = serde_json::from_str::<Value>(data.get());
    let want = serde_json::from_slice::<Value>(expected);
    match (got, want) {
        (Ok(got), Ok(want)) => assert_eq!(got, want, "`data` differs from {what}"),
        (Err(_), Err(_)) => {}
        (got, want) => panic!("`data` and {what} read differently: {got:?} vs {want:?}"),
    }
}

/// A validly signed request of the fuzzer's choosing through `verify` and `normalize`.
///
/// The knobs: `@ts` the signing time (also the clock), `@id` the delivery id, `@ct` the content
/// type (see [`content_type`]), `@event` GitHub's event name (default `push`); the header lines
/// are extra headers (except the signed ones, which are the harness's); the body is signed
/// with the development key by the source's own `sign`.
///
/// * Verification passes (the harness signed the request as the sender would).
/// * `normalize` never panics; a reply is only Slack's handshakes.
/// * An envelope is JSON that SQS accepts and a consumer can read: every character passes
///   `sqs_allows`, only the documented fields, `id`/`type`/`source` strings, `type` is
///   `<source>` or `<source>.…` of printable characters, the id the one signed or sent.
/// * `data` is the body as sent (verbatim but for the SQS escapes, and equal as a JSON value);
///   for forms, the form as JSON or its `payload`; `data_base64` is exactly the body bytes.
pub fn normalize_target(src: &'static Source, data: &[u8]) {
    let input = Input::parse(data);
    let name = src.name();
    let body = input.body;
    let ts = input.number("ts").unwrap_or(DEFAULT_NOW) % 1_000_000_000_000;
    let id = delivery_id(input.knob("id"));
    let key = dev_key(src);

    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type(input.knob("ct")) {
        if let Ok(value) = HeaderValue::from_bytes(&ct) {
            headers.insert(CONTENT_TYPE, value);
        }
    }
    let signing = inlet::core::verify::engine::Signing {
        body,
        at: i64::try_from(ts).expect("small"),
        id: &id,
        url: None,
        method: "POST",
    };
    let signed = src
        .sign(&key, &signing)
        .expect("the scheme signs in headers");
    for (n, v) in &signed {
        let value = HeaderValue::from_str(v).expect("sign writes valid header values");
        let name = http::HeaderName::from_bytes(n.as_bytes()).expect("a header name");
        headers.append(name, value);
    }
    let event = input.knob("event").unwrap_or(b"push");
    if let Some(h) = src.event_header() {
        if let Ok(value) = HeaderValue::from_str(&String::from_utf8_lossy(event)) {
            headers.append(h, value);
        }
    }
    for (n, v) in input.headers() {
        // A second content type may follow ours (Inlet reads the first); the signed headers
        // are the harness's alone, so that the request verifies.
        let ours = signed.iter().any(|(s, _)| n.as_str() == s);
        if !ours {
            headers.append(n, v);
        }
    }

    let secrets = SecretSet::new(vec![Secret::new(DEV_LABEL, key)]).expect("one secret");
    let clock = clock_at(ts);
    let req = Unverified::post(&headers, body);
    let verified = match src.verify(&secrets, req, &clock) {
        Ok(v) => v,
        Err(e) => panic!("a request signed by `sign` does not verify: {e}\n{headers:?}"),
    };
    let received = clock.now;
    let disposition = match src.normalize(&verified, received) {
        Ok(d) => d,
        Err(e) => {
            trace(|| format!("{name}: not normalized: {e}"));
            return;
        }
    };
    let envelope = match disposition {
        Disposition::Reply(reply) => {
            trace(|| format!("{name}: replied {reply:?}"));
            assert_eq!(
                name, "slack",
                "only Slack's handshakes are answered directly"
            );
            assert_eq!(reply.status, 200);
            return;
        }
        Disposition::Enqueue(envelope) => envelope,
        Disposition::Batch(_) => panic!("{name} posts one event per delivery"),
    };

    let text = envelope.encode();
    trace(|| format!("{name}: enqueued {text}"));
    if let Some(c) = text.chars().find(|c| !sqs_allows(*c)) {
        panic!("the envelope has {c:?}, which SQS refuses");
    }
    let env: Decoded = match serde_json::from_str(&text) {
        Ok(env) => env,
        Err(e) => panic!("the envelope is not the documented JSON: {e}\n{text}"),
    };
    assert_eq!(env.specversion, "1.0");
    assert_eq!(env.source, name);
    assert_eq!(env.source, envelope.source());
    assert_eq!(env.id, envelope.id());
    assert_eq!(env.ty, envelope.event_type());
    assert!(
        env.ty == name || env.ty.starts_with(&format!("{name}.")),
        "type {:?} of {name}",
        env.ty
    );
    assert!(
        env.ty.chars().all(|c| !c.is_control() && sqs_allows(c)),
        "type {:?} is not printable",
        env.ty
    );
    assert!(!env.id.is_empty() && env.id.len() <= inlet::core::envelope::MAX_ID_BYTES);
    assert!(envelope.key().is_some_and(|k| !k.is_empty()));
    assert_eq!(env.subject.as_deref(), envelope.subject());
    assert!(!env.time.is_empty() && !env.inletreceivedat.is_empty());
    assert_eq!(env.inletbodysha256, hex::encode(Sha256::digest(body)));
    assert_eq!(env.inletbodysha256, envelope.body_sha256());
    assert_eq!(env.inletverification, verified.verification());
    assert_eq!(env.inletsecret, DEV_LABEL);
    assert!(env.dataref.is_none(), "normalize never claim-checks");
    match name {
        "standard" => assert_eq!(env.id, id, "the id is the one the signature covered"),
        "github" => assert_eq!(env.id, id, "the id is X-GitHub-Delivery"),
        _ => {}
    }

    let kind = kind_of(headers.get(CONTENT_TYPE));
    match (env.data, env.data_base64) {
        (Some(data), None) => {
            assert_eq!(env.datacontenttype, "application/json");
            match (kind, name) {
                (Kind::Json, _) => {
                    // Kept as sent: the body's text, but for SQS's escapes.
                    let sent = std::str::from_utf8(body).expect("JSON that parsed is UTF-8");
                    let sent = sent.trim_matches([' ', '\t', '\n', '\r']);
                    assert_eq!(
                        data.get(),
                        sqs_safe(sent.to_owned()),
                        "data is not verbatim"
                    );
                    assert_same_json(data, body, "the body");
                }
                (Kind::Form, "github") => {
                    let payload = form_single(body, "payload").expect("one payload field");
                    assert_same_json(data, payload.as_bytes(), "the form's payload");
                }
                (Kind::Form, "slack") => match form_single(body, "payload") {
                    Some(payload) => assert_same_json(data, payload.as_bytes(), "the payload"),
                    None => {
                        let want = form_object(body);
                        let got: Value = serde_json::from_str(data.get()).expect("a built value");
                        assert_eq!(got, want, "`data` is not the form as JSON");
                    }
                },
                (kind, _) => panic!("{name} made `data` of a {kind:?} body"),
            }
        }
        (None, Some(b64)) => {
            assert_eq!(name, "standard", "only Standard Webhooks keep raw bodies");
            assert_ne!(kind, Kind::Json, "a JSON body became data_base64");
            let bytes = B64.decode(&b64).expect("data_base64 is base64");
            assert_eq!(bytes, body, "data_base64 is not the body");
            let want = match kind {
                Kind::Form => "application/x-www-form-urlencoded".to_owned(),
                _ => String::from_utf8_lossy(headers[CONTENT_TYPE].as_bytes())
                    .trim()
                    .to_owned(),
            };
            assert_eq!(env.datacontenttype, want);
        }
        (data, b64) => panic!("expected exactly one of data or data_base64: {data:?} {b64:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// event_decode and event_roundtrip
// ---------------------------------------------------------------------------------------------

/// Arbitrary bytes as a Lambda event: `decode` never panics, and what it decodes agrees with the
/// event's JSON: the method is `httpMethod` (else `requestContext.http.method`), the body is the
/// `body` string's bytes, or their base64 decoding when `isBase64Encoded` is true.
pub fn event_decode_target(data: &[u8]) {
    let Ok(req) = inlet::core::event::decode(data) else {
        return;
    };
    // serde_json reads some events as the struct that it cannot read as a `Value` (numbers
    // beyond f64 in ignored fields): nothing to compare with then.
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // serde also reads a struct from an array, its fields by position (httpMethod,
    // requestContext, headers, multiValueHeaders, cookies, body, isBase64Encoded); API Gateway
    // never sends one, but `decode` accepts it, so it is checked the same way.
    let field = |name: &str, position: usize| match &event {
        Value::Array(items) => items.get(position),
        other => other.get(name),
    };
    let method = field("httpMethod", 0)
        .and_then(Value::as_str)
        .or_else(|| {
            field("requestContext", 1)?
                .pointer("/http/method")?
                .as_str()
        })
        .expect("a decoded event has a method");
    assert_eq!(req.method.as_str(), method);
    let body = field("body", 5).and_then(Value::as_str);
    let base64 = field("isBase64Encoded", 6).and_then(Value::as_bool) == Some(true);
    match (body, base64) {
        (None, _) => assert!(req.body.is_empty()),
        (Some(text), false) => assert_eq!(req.body, text.as_bytes()),
        (Some(text), true) => assert_eq!(Some(req.body), B64.decode(text).ok()),
    }
    for (name, value) in &req.headers {
        assert!(!name.as_str().is_empty());
        assert!(value.as_bytes().iter().all(|b| *b != b'\n' && *b != b'\r'));
    }
}

/// A request of the fuzzer's choosing, written as an event the way API Gateway writes each
/// shape, then decoded: the method, every header value and the exact body bytes come back.
///
/// Knobs: `@method` (default POST), `@shape` 0 REST API without multiValueHeaders, 1 REST API
/// with them, 2 HTTP API (2.0), 3 function URL (2.0 without an empty body); `@b64: 1` sends the
/// body base64-encoded (a body that is not UTF-8 always is); `@cookie` lines are the 2.0
/// `cookies` (in 1.0 a cookie is a header like any other).
pub fn event_roundtrip_target(data: &[u8]) {
    let input = Input::parse(data);
    let method = String::from_utf8_lossy(input.knob("method").unwrap_or(b"POST")).into_owned();
    let shape = input.number("shape").unwrap_or(0) % 4;
    let body = input.body;
    let text_body = std::str::from_utf8(body).ok();
    let base64 = input.number("b64") == Some(1) || text_body.is_none();
    let body_json = match (base64, text_body) {
        (false, Some(text)) => Value::String(text.to_owned()),
        _ => Value::String(B64.encode(body)),
    };
    // The header values as the event carries them, by the name as the event writes it.
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in input.header_lines() {
        let (Ok(name), Ok(value)) = (std::str::from_utf8(name), std::str::from_utf8(value)) else {
            continue;
        };
        let name = if shape >= 2 {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        };
        by_name.entry(name).or_default().push(value.to_owned());
    }
    let cookies: Vec<String> = input
        .knobs("cookie")
        .filter_map(|c| std::str::from_utf8(c).ok().map(str::to_owned))
        .collect();

    // Header values by (lower-case) name, as bytes.
    let mut expected: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut expect = |name: &str, value: &str| {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            expected
                .entry(n.as_str().to_owned())
                .or_default()
                .push(v.as_bytes().to_vec());
        }
    };
    let last: Map<String, Value> = by_name
        .iter()
        .map(|(n, vs)| {
            (
                n.clone(),
                Value::String(vs.last().cloned().unwrap_or_default()),
            )
        })
        .collect();
    let event = match shape {
        0 | 1 => {
            let multi: Map<String, Value> = by_name
                .iter()
                .map(|(n, vs)| (n.clone(), json!(vs)))
                .collect();
            for (n, vs) in &by_name {
                if shape == 0 {
                    expect(n, vs.last().expect("one value at least"));
                } else {
                    vs.iter().for_each(|v| expect(n, v));
                }
            }
            json!({
                "resource": "/webhooks/{source}",
                "httpMethod": method,
                "headers": last,
                "multiValueHeaders": if shape == 1 { Value::Object(multi) } else { Value::Null },
                "requestContext": {"httpMethod": method, "stage": "prod"},
                "body": if body.is_empty() && shape == 0 { Value::Null } else { body_json },
                "isBase64Encoded": base64,
            })
        }
        _ => {
            let joined: Map<String, Value> = by_name
                .iter()
                .map(|(n, vs)| (n.clone(), Value::String(vs.join(","))))
                .collect();
            for (n, vs) in &by_name {
                expect(n, &vs.join(","));
            }
            if !cookies.is_empty() {
                expect("cookie", &cookies.join("; "));
            }
            let mut event = json!({
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": "/webhooks/standard",
                "headers": joined,
                "requestContext": {"http": {"method": method, "path": "/"}},
                "isBase64Encoded": base64,
            });
            if !cookies.is_empty() {
                event["cookies"] = json!(cookies);
            }
            if !(body.is_empty() && shape == 3) {
                event["body"] = body_json;
            }
            event
        }
    };
    let bytes = serde_json::to_vec(&event).expect("a Value serializes");
    let decoded = inlet::core::event::decode(&bytes);
    let req = match (Method::from_bytes(method.as_bytes()), decoded) {
        (Ok(m), Ok(req)) => {
            assert_eq!(req.method, m);
            req
        }
        (Err(_), Err(inlet::core::event::EventError::InvalidMethod)) => return,
        (m, got) => panic!("method {method:?} ({m:?}) decoded as {got:?}"),
    };
    assert_eq!(req.body, body, "the body did not come back exactly");
    let mut got: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    for (n, v) in &req.headers {
        got.entry(n.as_str().to_owned())
            .or_default()
            .push(v.as_bytes().to_vec());
    }
    if shape == 1 {
        // Every value of a repeated header, in the order sent, for each name as sent.
        for (n, vs) in &by_name {
            let Ok(name) = HeaderName::from_bytes(n.as_bytes()) else {
                continue;
            };
            let sent: Vec<&str> = vs
                .iter()
                .filter(|v| HeaderValue::from_str(v).is_ok())
                .map(String::as_str)
                .collect();
            let have: Vec<&[u8]> = got
                .get(name.as_str())
                .map_or(Vec::new(), |g| g.iter().map(Vec::as_slice).collect());
            let mut i = 0;
            for v in &have {
                if i < sent.len() && *v == sent[i].as_bytes() {
                    i += 1;
                }
            }
            assert_eq!(i, sent.len(), "{n}: {sent:?} not in order in {have:?}");
        }
    }
    for values in got.values_mut().chain(expected.values_mut()) {
        values.sort();
    }
    assert_eq!(got, expected, "the headers did not come back");
}
