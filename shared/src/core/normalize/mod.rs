//! Pure normalization: a `Verified` request becomes a CloudEvents 1.0 envelope (or a handshake reply).
//!
//! [`engine`] reads each sender's scheme to decide the id, type, time and subject; this module
//! owns the body decoding it (and the custom code beside some senders) shares. Errors say where
//! the body is wrong, never what it contains.

pub mod engine;

use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::core::disposition::Disposition;
pub(crate) use crate::core::envelope::{from_unix, Draft, InBatch, KeyBasis, Payload};
pub use crate::core::envelope::{Envelope, NormalizeError, MAX_JSON_DEPTH};
pub(crate) use crate::core::json::{body_kind, BodyKind};

/// `application/json` as a `datacontenttype`.
pub(crate) const JSON: &str = "application/json";

/// Whether `json` nests arrays and objects more than `limit` deep (brackets inside strings do not
/// count). One pass: between strings byte by byte, and within a string straight to its next `"`
/// or `\` (memchr), since most of a webhook's bytes are string contents.
pub(crate) fn nested_deeper_than(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        i += 1;
        match b {
            b'"' => loop {
                match memchr::memchr2(b'"', b'\\', &json[i.min(json.len())..]) {
                    // An escape: skip it and the byte it escapes.
                    Some(at) if json[i + at] == b'\\' => i += at + 2,
                    Some(at) => {
                        i += at + 1;
                        break;
                    }
                    None => return false,
                }
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

pub(crate) fn invalid_json(e: &serde_json::Error) -> NormalizeError {
    NormalizeError::InvalidJson {
        line: e.line(),
        column: e.column(),
    }
}

/// The JSON as sent (kept verbatim for `data`) and the fields a source reads from it.
pub(crate) fn parse_json<T: DeserializeOwned>(
    body: &[u8],
) -> Result<(&RawValue, T), NormalizeError> {
    if nested_deeper_than(body, MAX_JSON_DEPTH) {
        return Err(NormalizeError::JsonTooDeep);
    }
    let raw: &RawValue = serde_json::from_slice(body).map_err(|e| invalid_json(&e))?;
    let fields = serde_json::from_str(raw.get()).map_err(|e| invalid_json(&e))?;
    Ok((raw, fields))
}

/// A form body as a JSON object of strings; a repeated key becomes an array of its values.
pub(crate) fn form_to_json(body: &[u8]) -> Result<Map<String, Value>, NormalizeError> {
    if std::str::from_utf8(body).is_err() {
        return Err(NormalizeError::InvalidForm("the body is not UTF-8"));
    }
    let mut map = Map::new();
    for (key, value) in form_urlencoded::parse(body) {
        let value = Value::String(value.into_owned());
        match map.get_mut(key.as_ref()) {
            None => {
                map.insert(key.into_owned(), value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Ok(map)
}

/// A required header of a verified request, which must appear once (a repeat, or values an
/// HTTP API joined with commas, is refused rather than guessed at).
pub(crate) fn required_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<&'h str, NormalizeError> {
    let mut values = headers.get_all(name).iter();
    let value = values
        .next()
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(NormalizeError::MissingHeader(name))?;
    if values.next().is_some() || value.contains(',') {
        return Err(NormalizeError::DuplicateHeader(name));
    }
    Ok(value)
}

/// `prefix.part.part`, lower-cased, empty parts dropped. Characters that are not printable
/// (controls, U+FFFE, U+FFFF) become `_`, so the type is always a valid SQS message attribute.
pub(crate) fn event_type(prefix: &str, parts: &[Option<&str>]) -> String {
    let mut ty = prefix.to_ascii_lowercase();
    for part in parts.iter().flatten().filter(|p| !p.is_empty()) {
        ty.push('.');
        ty.extend(part.to_lowercase().chars().map(|c| {
            if c.is_control() || !crate::core::envelope::sqs_allows(c) {
                '_'
            } else {
                c
            }
        }));
    }
    ty
}

/// A stable id for deliveries that carry none: the hex SHA-256 of the exact body, identical on retries.
pub(crate) fn body_digest_id(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        let mk = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(http::header::CONTENT_TYPE, v.parse().expect("value"));
            body_kind(&h)
        };
        assert_eq!(body_kind(&HeaderMap::new()), BodyKind::Json);
        assert_eq!(mk("Application/JSON; charset=utf-8"), BodyKind::Json);
        assert_eq!(mk("application/cloudevents+json"), BodyKind::Json);
        assert_eq!(mk("application/x-www-form-urlencoded"), BodyKind::Form);
        assert_eq!(mk("text/plain"), BodyKind::Other("text/plain".into()));
    }

    #[test]
    fn forms_become_json() {
        let map = form_to_json(b"a=1&b=x+y&a=2&c=%2Fcmd").expect("form");
        assert_eq!(
            Value::Object(map),
            serde_json::json!({"a": ["1", "2"], "b": "x y", "c": "/cmd"})
        );
        assert!(form_to_json(&[0xff, b'=', b'1']).is_err());
    }

    #[test]
    fn json_is_kept_verbatim() {
        #[derive(serde::Deserialize)]
        struct F {
            n: serde_json::Number,
        }
        let (raw, f): (&RawValue, F) =
            parse_json(br#"{"n": 123456789012345678901234567890, "s":"\u00e9"}"#).expect("json");
        assert_eq!(
            raw.get(),
            r#"{"n": 123456789012345678901234567890, "s":"\u00e9"}"#
        );
        assert!(f.n.as_f64().is_some());
        assert!(matches!(
            parse_json::<F>(b"{nope"),
            Err(NormalizeError::InvalidJson { line: 1, column: 2 })
        ));
        assert!(matches!(
            parse_json::<F>(&[0xff, 0xfe]),
            Err(NormalizeError::InvalidJson { .. })
        ));
    }

    #[test]
    fn errors_never_quote_the_body() {
        #[derive(Debug, serde::Deserialize)]
        struct F {
            #[allow(dead_code)]
            n: i64,
        }
        let secret_value = "4242424242424242 ada@example.com";
        let body = format!(r#"{{"n": "{secret_value}"}}"#);
        let err = parse_json::<F>(body.as_bytes()).expect_err("a string is not an i64");
        assert!(!err.to_string().contains("4242"), "{err}");
        assert!(!err.to_string().contains("ada@"), "{err}");
    }

    /// The definition, a byte at a time: what the memchr scan must agree with.
    fn nested_deeper_than_bytewise(json: &[u8], limit: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &b in json {
            if in_string {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > limit {
                        return true;
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        false
    }

    proptest::proptest! {
        #[test]
        fn the_depth_scan_agrees_with_its_definition(
            bytes in proptest::collection::vec(proptest::sample::select(b"[]{}\"\\a ".to_vec()), 0..200),
            limit in 0usize..8,
        ) {
            proptest::prop_assert_eq!(
                nested_deeper_than(&bytes, limit),
                nested_deeper_than_bytewise(&bytes, limit)
            );
        }
    }

    #[test]
    fn depth_is_bounded() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(!nested_deeper_than(
            deep(MAX_JSON_DEPTH).as_bytes(),
            MAX_JSON_DEPTH
        ));
        assert!(nested_deeper_than(
            deep(MAX_JSON_DEPTH + 1).as_bytes(),
            MAX_JSON_DEPTH
        ));
        let in_string = format!(r#"{{"a": "{}\"{}"}}"#, "[".repeat(500), "{".repeat(500));
        assert!(!nested_deeper_than(in_string.as_bytes(), MAX_JSON_DEPTH));
        assert_eq!(
            parse_json::<Value>(deep(MAX_JSON_DEPTH + 1).as_bytes()).map(|_| ()),
            Err(NormalizeError::JsonTooDeep)
        );
    }

    #[test]
    fn types_are_lower_case_dotted_and_printable() {
        assert_eq!(
            event_type("github", &[Some("Pull_Request"), None, Some("opened")]),
            "github.pull_request.opened"
        );
        assert_eq!(event_type("stripe", &[Some("")]), "stripe");
        assert_eq!(
            event_type("standard", &[Some("a\u{0}b\u{FFFF}c\u{7f}")]),
            "standard.a_b_c_"
        );
    }

    #[test]
    fn repeated_required_headers_are_refused() {
        let mut h = HeaderMap::new();
        h.append("x-e", "push".parse().expect("v"));
        assert_eq!(required_header(&h, "x-e"), Ok("push"));
        h.append("x-e", "ping".parse().expect("v"));
        assert_eq!(
            required_header(&h, "x-e"),
            Err(NormalizeError::DuplicateHeader("x-e"))
        );
        let mut joined = HeaderMap::new();
        joined.insert("x-e", "push,ping".parse().expect("v"));
        assert_eq!(
            required_header(&joined, "x-e"),
            Err(NormalizeError::DuplicateHeader("x-e"))
        );
    }
}
