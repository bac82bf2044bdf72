//! Property tests: any body a source accepts comes out of the envelope exactly as it went in,
//! through `Envelope::encode` (the SQS-safe JSON that becomes the message body).
//!
//! Each case is signed with the source's own `sign`, verified, normalized and encoded; then the
//! encoded envelope must use only characters SQS accepts and decode to the original payload:
//! JSON as the same value (and as the same text, but for SQS's escapes), other bodies as the
//! exact bytes in `data_base64`, Slack forms as the object of their decoded pairs.
//!
//! `PROPTEST_CASES` changes the number of cases (default 256 per property).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue};
use inlet::core::envelope::{sqs_allows, sqs_safe};
use inlet::core::normalize::Disposition;
use inlet::core::verify::engine::Signing;
use inlet::core::verify::{Clock, Secret, SecretSet, Unverified};
use inlet::Source;

fn named(name: &str) -> &'static Source {
    inlet::catalogue::sources::by_name(name).expect("a catalogue sender")
}
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Running a body through a source
// ---------------------------------------------------------------------------------------------

fn dev_secret(source: &str) -> &'static str {
    match source {
        "stripe" => "whsec_inlet_dev_stripe_secret",
        "slack" => "inlet-dev-slack-signing-secret",
        "standard" => "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
        other => panic!("no secret for {other}"),
    }
}

/// The envelope as a consumer reads it: only the documented fields, each at most once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decoded {
    specversion: String,
    id: String,
    source: String,
    #[serde(rename = "type")]
    ty: String,
    #[allow(dead_code)]
    time: String,
    #[allow(dead_code)]
    subject: Option<String>,
    datacontenttype: String,
    data: Option<Box<RawValue>>,
    data_base64: Option<String>,
    #[allow(dead_code)]
    inletreceivedat: String,
    #[allow(dead_code)]
    inletbodysha256: String,
    #[allow(dead_code)]
    inletverification: String,
    #[allow(dead_code)]
    inletsecret: String,
}

/// What came out of a request: the encoded envelope and its decoding.
struct Out {
    encoded: String,
    env: Decoded,
}

/// Signs `body` as `src`'s sender would at `at`, verifies it, normalizes it and encodes the
/// envelope; fails the case unless the request becomes an envelope whose encoding SQS accepts.
fn run(
    src: &'static Source,
    body: &[u8],
    content_type: Option<&str>,
    id: &str,
    at: i64,
) -> Result<Out, TestCaseError> {
    let key = src
        .decode_secret(dev_secret(src.name()))
        .expect("dev secret");
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(ct).expect("content type"),
        );
    }
    let signing = Signing::post(body, at, id, None);
    for (name, value) in src.sign(&key, &signing).expect("signs") {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(&value).expect("signed header"),
        );
    }
    let secrets = SecretSet::new(vec![Secret::new("WEBHOOK_SECRET", key)]).expect("secrets");
    let now = UNIX_EPOCH + Duration::from_secs(u64::try_from(at).expect("positive"));
    let clock = Clock {
        now,
        tolerance: Duration::from_secs(300),
    };
    let verified = src
        .verify(&secrets, Unverified::post(&headers, body), &clock)
        .map_err(|e| TestCaseError::fail(format!("a signed request did not verify: {e}")))?;
    let received: SystemTime = now;
    let envelope = match src.normalize(&verified, received) {
        Ok(Disposition::Enqueue(envelope)) => envelope,
        Ok(Disposition::Batch(_)) => {
            return Err(TestCaseError::fail("a batch for a sender of single events"))
        }
        Ok(Disposition::Reply(reply)) => {
            return Err(TestCaseError::fail(format!("answered instead: {reply:?}")))
        }
        Err(e) => return Err(TestCaseError::fail(format!("not normalized: {e}"))),
    };
    let encoded = envelope.encode();
    if let Some(c) = encoded.chars().find(|c| !sqs_allows(*c)) {
        return Err(TestCaseError::fail(format!(
            "the encoded envelope has {c:?}, which SQS refuses"
        )));
    }
    let env: Decoded = serde_json::from_str(&encoded)
        .map_err(|e| TestCaseError::fail(format!("not the documented envelope: {e}")))?;
    prop_assert_eq!(&env.specversion, "1.0");
    prop_assert_eq!(&env.source, src.name());
    prop_assert_eq!(&env.id, envelope.id());
    prop_assert_eq!(&env.ty, envelope.event_type());
    Ok(Out { encoded, env })
}

/// `prefix.part` as Inlet writes event types: lower case, unprintable characters as `_`.
fn event_type(prefix: &str, part: &str) -> String {
    let part: String = part
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_control() || !sqs_allows(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("{prefix}.{part}")
}

// ---------------------------------------------------------------------------------------------
// JSON text, written many ways
// ---------------------------------------------------------------------------------------------

/// How a string is written in JSON text.
#[derive(Debug, Clone, Copy)]
enum Escape {
    /// Only what JSON requires (`"`, `\`, controls); everything else literal, U+FFFE included.
    Minimal,
    /// Besides, every non-ASCII character as `\uXXXX` (astral ones as surrogate pairs).
    NonAscii,
    /// Every character as `\uXXXX`.
    All,
}

#[derive(Debug, Clone)]
struct Text {
    value: String,
    escape: Escape,
}

/// A JSON value with the text of its numbers and the escaping of its strings chosen.
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    /// The number's text as sent (integers beyond 64 bits, exponents, fractions).
    Number(String),
    String(Text),
    Array(Vec<Json>),
    Object(Vec<(Text, Json)>),
}

impl Json {
    /// The JSON text; `pretty` breaks lines and indents.
    fn render(&self, pretty: bool) -> String {
        let mut out = String::new();
        self.write(pretty, 0, &mut out);
        out
    }

    fn write(&self, pretty: bool, depth: usize, out: &mut String) {
        let newline = |out: &mut String, depth: usize| {
            if pretty {
                out.push('\n');
                out.push_str(&"  ".repeat(depth));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(t) => write_string(t, out),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    item.write(pretty, depth + 1, out);
                }
                if !items.is_empty() {
                    newline(out, depth);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth + 1);
                    write_string(key, out);
                    out.push_str(if pretty { ": " } else { ":" });
                    value.write(pretty, depth + 1, out);
                }
                if !members.is_empty() {
                    newline(out, depth);
                }
                out.push('}');
            }
        }
    }

    /// The value this text means, built without parsing the text (a later key wins, as in
    /// serde_json; a number is read the way serde_json reads it).
    fn value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => serde_json::from_str(n).expect("a valid number"),
            Json::String(t) => Value::String(t.value.clone()),
            Json::Array(items) => Value::Array(items.iter().map(Json::value).collect()),
            Json::Object(members) => {
                let mut map = Map::new();
                for (key, value) in members {
                    map.insert(key.value.clone(), value.value());
                }
                Value::Object(map)
            }
        }
    }
}

fn write_string(t: &Text, out: &mut String) {
    let escape = |c: char, out: &mut String| {
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            let _ = write!(out, "\\u{unit:04x}");
        }
    };
    out.push('"');
    for c in t.value.chars() {
        match (c, t.escape) {
            (_, Escape::All) => escape(c, out),
            ('"', _) => out.push_str("\\\""),
            ('\\', _) => out.push_str("\\\\"),
            ('\n', _) => out.push_str("\\n"),
            ('\t', _) => out.push_str("\\t"),
            ('\r', _) => out.push_str("\\r"),
            ('\u{8}', _) => out.push_str("\\b"),
            ('\u{c}', _) => out.push_str("\\f"),
            (c, _) if c < ' ' => escape(c, out),
            (c, Escape::NonAscii) if !c.is_ascii() => escape(c, out),
            (c, _) => out.push(c),
        }
    }
    out.push('"');
}

/// Characters that stress the encoding: SQS's refused ones (U+0000, controls, U+FFFE, U+FFFF),
/// JSON's special ones, emoji (surrogate pairs when escaped) and anything else.
fn a_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>(),
        3 => prop::char::range(' ', '~'),
        1 => prop::sample::select(vec!['\u{FFFE}', '\u{FFFF}', '\u{0}', '"', '\\', '/', '\u{7F}', '\u{2028}', '\u{FEFF}']),
        1 => prop::char::range('\u{1}', '\u{1F}'),
        1 => prop::char::range('\u{1F600}', '\u{1F64F}'),
        1 => prop::char::range('\u{E000}', '\u{FFFF}'),
    ]
}

fn a_string(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(a_char(), 0..=max).prop_map(|cs| cs.into_iter().collect())
}

fn an_escape() -> impl Strategy<Value = Escape> {
    prop_oneof![
        3 => Just(Escape::Minimal),
        1 => Just(Escape::NonAscii),
        1 => Just(Escape::All),
    ]
}

fn a_text(max: usize) -> impl Strategy<Value = Text> {
    (a_string(max), an_escape()).prop_map(|(value, escape)| Text { value, escape })
}

/// Number texts serde_json reads as finite numbers: i64, u64, integers beyond 64 bits (read as
/// f64), fractions and exponents.
fn a_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{19,40}",
        "-?(0|[1-9][0-9]{0,8})\\.[0-9]{1,17}",
        "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,4})?[eE][+-]?[0-9]{1,2}",
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
    ]
}

/// Any JSON value, nested at most 8 deep.
fn a_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        a_number().prop_map(Json::Number),
        a_text(24).prop_map(Json::String),
    ];
    leaf.prop_recursive(8, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        a_text(8),
                        "[a-c]".prop_map(|value| Text {
                            value,
                            escape: Escape::Minimal
                        })
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(Json::Object),
        ]
    })
}

fn a_json_content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("application/json; charset=utf-8"),
        Some("Application/JSON"),
        Some("application/cloudevents+json"),
    ])
}

/// A non-empty event type of any characters.
fn a_type() -> impl Strategy<Value = String> {
    prop::collection::vec(a_char(), 1..16).prop_map(|cs| cs.into_iter().collect())
}

fn a_time() -> impl Strategy<Value = i64> {
    1_000_000_000i64..4_000_000_000
}

/// Checks that `data` is `body` as sent (but for SQS's escapes) and means `want`.
fn assert_data(out: &Out, body: &str, want: &Value) -> Result<(), TestCaseError> {
    let data = out
        .env
        .data
        .as_ref()
        .ok_or_else(|| TestCaseError::fail("no data"))?;
    prop_assert_eq!(&out.env.datacontenttype, "application/json");
    prop_assert!(out.env.data_base64.is_none());
    prop_assert_eq!(data.get(), sqs_safe(body.trim().to_owned()), "not verbatim");
    let got: Value = serde_json::from_str(data.get()).expect("data is JSON");
    prop_assert_eq!(&got, want, "data is not the value sent");
    let sent: Value = serde_json::from_str(body).expect("the body is JSON");
    prop_assert_eq!(&got, &sent, "data and the body read differently");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

proptest! {
    /// Standard Webhooks: any JSON value, under `data` of a body with a `type`.
    #[test]
    fn standard_json_round_trips(
        value in a_json(),
        ty in a_text(16).prop_filter("a type", |t| !t.value.is_empty()),
        type_first in any::<bool>(),
        pretty in any::<bool>(),
        content_type in a_json_content_type(),
        id in "[!-~]{1,40}",
        at in a_time(),
    ) {
        let mut members = vec![(Text { value: "data".into(), escape: Escape::Minimal }, value)];
        let ty_member = (Text { value: "type".into(), escape: Escape::Minimal }, Json::String(ty.clone()));
        if type_first { members.insert(0, ty_member) } else { members.push(ty_member) }
        let json = Json::Object(members);
        let body = json.render(pretty);
        let out = run(named("standard"), body.as_bytes(), content_type, &id, at)?;
        prop_assert_eq!(&out.env.id, &id);
        prop_assert_eq!(&out.env.ty, &event_type("standard", &ty.value));
        assert_data(&out, &body, &json.value())?;
    }

    /// Stripe: any JSON value, under `data` of an event with an `id` and a `type`.
    #[test]
    fn stripe_json_round_trips(
        value in a_json(),
        id in a_string(40).prop_filter("an id", |s| !s.is_empty()),
        ty in a_type(),
        escape in an_escape(),
        pretty in any::<bool>(),
        content_type in a_json_content_type(),
        at in a_time(),
    ) {
        let text = |value: &str| Text { value: value.into(), escape };
        let json = Json::Object(vec![
            (text("id"), Json::String(text(&id))),
            (text("object"), Json::String(text("event"))),
            (text("type"), Json::String(text(&ty))),
            (text("data"), value),
        ]);
        let body = json.render(pretty);
        let out = run(named("stripe"), body.as_bytes(), content_type, "unused", at)?;
        prop_assert_eq!(&out.env.id, &id);
        prop_assert_eq!(&out.env.ty, &event_type("stripe", &ty));
        assert_data(&out, &body, &json.value())?;
    }

    /// Standard Webhooks: any bytes in any content type but JSON and forms are `data_base64`.
    #[test]
    fn standard_bytes_round_trip(
        body in prop::collection::vec(any::<u8>(), 0..2048),
        content_type in prop::sample::select(vec![
            "application/octet-stream",
            "text/plain; charset=utf-8",
            "image/png",
            "application/xml",
            "multipart/form-data; boundary=x",
        ]),
        id in "[!-~]{1,40}",
        at in a_time(),
    ) {
        let out = run(named("standard"), &body, Some(content_type), &id, at)?;
        prop_assert!(out.env.data.is_none());
        let b64 = out.env.data_base64.as_deref().ok_or_else(|| TestCaseError::fail("no data_base64"))?;
        prop_assert_eq!(B64.decode(b64).expect("base64"), body);
        prop_assert_eq!(&out.env.datacontenttype, content_type);
        prop_assert_eq!(&out.env.ty, "standard.raw");
    }

    /// Slack: a form (slash commands) becomes the object of its decoded pairs, a repeated key
    /// the array of its values in order.
    #[test]
    fn slack_form_round_trips(
        pairs in prop::collection::vec(
            (prop_oneof![a_string(12), "[a-c]", Just("command".to_owned()), Just("trigger_id".to_owned())], a_string(24)),
            0..12,
        ).prop_filter("not an interactivity payload nor an SSL check", |pairs| {
            pairs.iter().all(|(k, v)| k != "payload" && !(k == "ssl_check" && v == "1"))
        }),
        content_type in prop::sample::select(vec![
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
        ]),
        at in a_time(),
    ) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        let mut grouped: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (key, value) in &pairs {
            grouped.entry(key).or_default().push(value);
        }
        let want: Map<String, Value> = grouped
            .into_iter()
            .map(|(key, values)| {
                let value = match values.as_slice() {
                    [one] => Value::from(*one),
                    many => Value::from(many.to_vec()),
                };
                (key.to_owned(), value)
            })
            .collect();
        let out = run(named("slack"), body.as_bytes(), Some(content_type), "unused", at)?;
        let data = out.env.data.as_ref().ok_or_else(|| TestCaseError::fail("no data"))?;
        let got: Value = serde_json::from_str(data.get()).expect("data is JSON");
        prop_assert_eq!(got, Value::Object(want));
        let is_command = pairs.iter().any(|(k, _)| k == "command");
        prop_assert_eq!(&out.env.ty, if is_command { "slack.slash_command" } else { "slack.form" });
        prop_assert!(out.encoded.chars().all(sqs_allows));
    }
}

/// A body with raw U+FFFE and U+FFFF inside JSON strings (valid JSON, refused by SQS): the
/// encoded envelope carries none, yet decodes to the same `data`.
#[test]
fn raw_noncharacters_are_escaped_but_kept() {
    let body = "{\"type\":\"order.\u{FFFE}created\",\"note\":\"a\u{FFFE}b\u{FFFF}c \u{1F600}\",\"k\u{FFFE}\":[\"\u{FFFF}\"]}";
    let out = run(
        named("standard"),
        body.as_bytes(),
        Some("application/json"),
        "msg_1",
        1_763_800_000,
    )
    .expect("an envelope");
    assert!(!out.encoded.contains('\u{FFFE}'), "{}", out.encoded);
    assert!(!out.encoded.contains('\u{FFFF}'), "{}", out.encoded);
    assert!(out.encoded.contains("\\ufffe"), "{}", out.encoded);
    assert!(
        out.encoded.contains('\u{1F600}'),
        "SQS accepts emoji as they are"
    );
    let data = out.env.data.as_ref().expect("data");
    let got: Value = serde_json::from_str(data.get()).expect("json");
    let want: Value = serde_json::from_str(body).expect("json");
    assert_eq!(got, want);
    assert_eq!(got["note"], "a\u{FFFE}b\u{FFFF}c \u{1F600}");
    assert_eq!(out.env.ty, "standard.order._created");
}
