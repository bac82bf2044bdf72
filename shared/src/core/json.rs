//! Reading a few values out of a JSON body by dotted path (`data.object.id`, `events.0.id`)
//! without building the whole document: each step scans one object or array and borrows the
//! value it wants, so a 4 MB body is scanned, not copied.
//!
//! A key repeated in one object reads as its last value, as serde_json's `Value`, Python's
//! `json`, JavaScript's `JSON.parse` and Go's `encoding/json` read it: the envelope's id and type
//! never disagree with what a consumer parsing the same `data` reads.

use std::borrow::Cow;
use std::fmt;

use http::HeaderMap;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A body the scheme reads values from: JSON as sent, the fields of a form, or nothing.
#[derive(Debug, Clone, Copy)]
pub enum Doc<'b> {
    Json(&'b RawValue),
    Fields(&'b Map<String, Value>),
    Empty,
}

impl<'b> Doc<'b> {
    /// The value at `path` as text: a string, or a number as written. Objects, arrays, booleans
    /// and null read as absent, as does an empty string.
    pub fn text(&self, path: &str) -> Option<Cow<'b, str>> {
        let text = match self {
            Self::Json(raw) => text_of(lookup(raw, path)?),
            Self::Fields(map) => {
                let mut segments = path.split('.');
                let first = map.get(segments.next()?)?;
                let value = segments.try_fold(first, |v, seg| match v {
                    Value::Object(m) => m.get(seg),
                    Value::Array(a) => a.get(seg.parse::<usize>().ok()?),
                    _ => None,
                })?;
                match value {
                    Value::String(s) => Some(Cow::Borrowed(s.as_str())),
                    Value::Number(n) => Some(Cow::Owned(n.to_string())),
                    _ => None,
                }
            }
            Self::Empty => None,
        }?;
        (!text.is_empty()).then_some(text)
    }

    /// Whether the JSON body has a member at `path`, of any kind (null included).
    pub fn has(&self, path: &str) -> bool {
        match self {
            Self::Json(raw) => lookup(raw, path).is_some(),
            _ => false,
        }
    }

    /// Whether `path` holds an empty array (Xero's intent-to-receive `events: []`).
    pub fn is_empty_array(&self, path: &str) -> bool {
        match self {
            Self::Json(raw) => lookup(raw, path).is_some_and(|v| {
                serde_json::from_str::<Vec<IgnoredAny>>(v.get()).is_ok_and(|a| a.is_empty())
            }),
            _ => false,
        }
    }
}

/// The JSON value at a dotted path; numeric segments index arrays.
pub fn lookup<'b>(raw: &'b RawValue, path: &str) -> Option<&'b RawValue> {
    path.split('.').try_fold(raw, |value, segment| {
        let mut de = serde_json::Deserializer::from_str(value.get());
        Pick(segment).deserialize(&mut de).ok().flatten()
    })
}

/// A string's contents or a number's text.
fn text_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get().trim();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<Cow<'_, str>>(text).ok(),
        b'-' | b'0'..=b'9' => Some(Cow::Borrowed(text)),
        _ => None,
    }
}

/// Picks one member of an object (by key) or one element of an array (by index), skipping the rest.
struct Pick<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for Pick<'_> {
    type Value = Option<&'de RawValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pick<'_> {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(hit) = map.next_key_seed(KeyIs(self.0))? {
            // The last of repeated keys wins, as in every common JSON parser.
            if hit {
                found = Some(map.next_value::<&'de RawValue>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let wanted = self.0.parse::<usize>().ok();
        let mut found = None;
        let mut index = 0usize;
        loop {
            if Some(index) == wanted {
                match seq.next_element::<&'de RawValue>()? {
                    Some(v) => found = Some(v),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            index += 1;
        }
        Ok(found)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Compares an object key with the wanted one without allocating.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// How a body is encoded, from its `Content-Type` (parameters and case ignored).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// `application/json`, `application/*+json`, or no content type at all.
    Json,
    Form,
    /// Anything else, with the media type as sent.
    Other(String),
}

pub(crate) fn body_kind(headers: &HeaderMap) -> BodyKind {
    let Some(value) = headers.get(http::header::CONTENT_TYPE) else {
        return BodyKind::Json;
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => BodyKind::Json,
        "application/x-www-form-urlencoded" => BodyKind::Form,
        m if m.starts_with("application/") && m.ends_with("+json") => BodyKind::Json,
        _ => BodyKind::Other(raw.trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> Box<RawValue> {
        serde_json::from_str(json).expect("json")
    }

    #[test]
    fn paths_reach_nested_values_and_array_elements() {
        let raw = doc(
            r#"{"id":"evt_1","data":{"object":{"id":"pi_1","n":42,"deep":{"x":"é\"q"}}},
                "events":[{"id":"a"},{"id":"b"}],"flag":true,"empty":"","nul":null}"#,
        );
        let d = Doc::Json(&raw);
        assert_eq!(d.text("id").as_deref(), Some("evt_1"));
        assert_eq!(d.text("data.object.id").as_deref(), Some("pi_1"));
        assert_eq!(d.text("data.object.n").as_deref(), Some("42"));
        assert_eq!(d.text("data.object.deep.x").as_deref(), Some("é\"q"));
        assert_eq!(d.text("events.1.id").as_deref(), Some("b"));
        for absent in [
            "events.2.id",
            "events.x",
            "data",
            "flag",
            "empty",
            "nul",
            "missing",
            "id.x",
            "",
        ] {
            assert_eq!(d.text(absent), None, "{absent}");
        }
    }

    #[test]
    fn escaped_keys_match_and_the_last_of_repeated_keys_wins() {
        let raw = doc(r#"{"a\u0062":"1","ab":"2"}"#);
        assert_eq!(Doc::Json(&raw).text("ab").as_deref(), Some("2"));
        // As serde_json's own Value reads it, at every level of a path.
        let raw = doc(r#"{"d":{"t":"a"},"d":{"t":"b","t":"c"},"n":[1],"n":{"0":"x"}}"#);
        let value: Value = serde_json::from_str(raw.get()).expect("json");
        for path in ["d.t", "n.0"] {
            let pointer = format!("/{}", path.replace('.', "/"));
            assert_eq!(
                Doc::Json(&raw).text(path).as_deref(),
                value.pointer(&pointer).and_then(Value::as_str),
                "{path}"
            );
        }
        assert_eq!(Doc::Json(&raw).text("d.t").as_deref(), Some("c"));
    }

    #[test]
    fn form_fields_are_read_the_same_way() {
        let map = serde_json::json!({"a": "1", "n": {"b": ["x", "y"]}});
        let d = Doc::Fields(map.as_object().expect("object"));
        assert_eq!(d.text("a").as_deref(), Some("1"));
        assert_eq!(d.text("n.b.1").as_deref(), Some("y"));
        assert_eq!(d.text("n"), None);
    }

    #[test]
    fn empty_arrays_are_recognised() {
        let raw = doc(r#"{"events":[],"full":[1]}"#);
        let d = Doc::Json(&raw);
        assert!(d.is_empty_array("events"));
        assert!(!d.is_empty_array("full"));
        assert!(!d.is_empty_array("missing"));
    }
}
