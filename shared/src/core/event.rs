//! Pure decoding of the events Lambda hands a function behind API Gateway: REST API (payload
//! 1.0), HTTP API (payload 2.0) and function URLs, into the request as the sender sent it; and
//! the proxy-integration response that all three accept.
//!
//! Nothing an event carries may panic or be silently lost here: `isBase64Encoded` is undone
//! exactly once (invalid base64 is an error, not a panic), a REST API's `multiValueHeaders` keeps
//! every value of a repeated header, and an HTTP API's `cookies` become the `cookie` header again.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A request as the sender sent it: method, every header value, the exact body bytes, the
/// query string, and the URL rebuilt from the event.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The raw query string without `?`. An HTTP API or function URL passes it as sent; a REST
    /// API passes decoded parameters, which are re-encoded here (in name order).
    pub query: String,
    /// `https://<Host header or domain name><path>[?<query>]`, the path including the stage
    /// (or a custom domain's base path) as the sender called it. Schemes that sign the URL use
    /// `PUBLIC_URL` instead when it is set.
    pub url: Option<String>,
}

/// Why an event is not a usable API Gateway or function URL event. A caller on the internet
/// cannot cause these (API Gateway builds the event); they mean a misconfigured integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the event is not an API Gateway or function URL event (it has no HTTP method)")]
    NoMethod,
    #[error("the event's HTTP method is not a valid method token")]
    InvalidMethod,
    #[error("the event says its body is base64-encoded, but the body is not valid base64")]
    InvalidBase64,
    #[error("the event is not valid JSON of the API Gateway or function URL shape")]
    Malformed,
}

/// An event as Lambda hands it over: a JSON object (an array is refused, although serde would
/// read a struct's fields from one by position).
#[derive(Debug, Default)]
pub struct ApiEvent(Fields);

impl<'de> Deserialize<'de> for ApiEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> serde::de::Visitor<'de> for Object {
            type Value = ApiEvent;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an API Gateway or function URL event object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<ApiEvent, A::Error> {
                Fields::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(ApiEvent)
            }
        }
        d.deserialize_map(Object)
    }
}

/// The fields Inlet reads from all three event shapes. Unknown fields are ignored, and every
/// field is optional so that a shape mismatch becomes an [`EventError`], never a panic.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Fields {
    /// REST API (1.0).
    http_method: Option<String>,
    request_context: Option<RequestContext>,
    /// Single values (REST API: the last of repeated values; HTTP API: repeats joined with commas).
    headers: Option<BTreeMap<String, Option<String>>>,
    /// REST API: every value of every header, when the integration sends it.
    multi_value_headers: Option<BTreeMap<String, Option<Vec<Option<String>>>>>,
    /// HTTP API and function URLs move `Cookie` out of the headers.
    cookies: Option<Vec<String>>,
    body: Option<String>,
    is_base64_encoded: Option<bool>,
    /// REST API: the resource path (without the stage).
    path: Option<String>,
    /// HTTP API and function URLs: the path as requested.
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    query_string_parameters: Option<BTreeMap<String, Option<String>>>,
    multi_value_query_string_parameters: Option<BTreeMap<String, Option<Vec<Option<String>>>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RequestContext {
    http: Option<HttpContext>,
    domain_name: Option<String>,
    /// REST API: the path as requested, stage or base path included.
    path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HttpContext {
    method: Option<String>,
}

/// Decodes the JSON of an event.
pub fn decode(event: &[u8]) -> Result<HttpRequest, EventError> {
    serde_json::from_slice::<ApiEvent>(event)
        .map_err(|_| EventError::Malformed)?
        .into_request()
}

impl ApiEvent {
    /// The request the event describes.
    pub fn into_request(self) -> Result<HttpRequest, EventError> {
        let Self(fields) = self;
        fields.into_request()
    }
}

impl Fields {
    fn into_request(self) -> Result<HttpRequest, EventError> {
        let (context_method, domain, context_path) = match self.request_context {
            Some(c) => (c.http.and_then(|h| h.method), c.domain_name, c.path),
            None => (None, None, None),
        };
        let method = self
            .http_method
            .or(context_method)
            .ok_or(EventError::NoMethod)?;
        let query = match (
            self.raw_query_string,
            self.multi_value_query_string_parameters,
        ) {
            (Some(raw), _) => raw,
            (None, Some(multi)) if !multi.is_empty() => {
                let mut q = form_urlencoded::Serializer::new(String::new());
                for (name, values) in &multi {
                    for value in values.iter().flatten().flatten() {
                        q.append_pair(name, value);
                    }
                }
                q.finish()
            }
            _ => {
                let mut q = form_urlencoded::Serializer::new(String::new());
                for (name, value) in self.query_string_parameters.iter().flatten() {
                    if let Some(value) = value {
                        q.append_pair(name, value);
                    }
                }
                q.finish()
            }
        };
        let path = self.raw_path.or(context_path).or(self.path);
        let method =
            Method::from_bytes(method.as_bytes()).map_err(|_| EventError::InvalidMethod)?;
        let mut headers = HeaderMap::new();
        match self.multi_value_headers.filter(|m| !m.is_empty()) {
            Some(multi) => {
                for (name, values) in multi {
                    for value in values.into_iter().flatten().flatten() {
                        append(&mut headers, &name, &value);
                    }
                }
            }
            None => {
                for (name, value) in self.headers.into_iter().flatten() {
                    if let Some(value) = value {
                        append(&mut headers, &name, &value);
                    }
                }
            }
        }
        if let Some(cookies) = self.cookies.filter(|c| !c.is_empty()) {
            append(&mut headers, "cookie", &cookies.join("; "));
        }
        let body = match (self.body, self.is_base64_encoded.unwrap_or(false)) {
            (None, _) => Vec::new(),
            (Some(text), false) => text.into_bytes(),
            (Some(text), true) => B64
                .decode(text.as_bytes())
                .map_err(|_| EventError::InvalidBase64)?,
        };
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or(domain);
        let url = match (host, path) {
            (Some(host), Some(path)) if !host.is_empty() => Some(if query.is_empty() {
                format!("https://{host}{path}")
            } else {
                format!("https://{host}{path}?{query}")
            }),
            _ => None,
        };
        Ok(HttpRequest {
            method,
            headers,
            body,
            query,
            url,
        })
    }
}

/// Adds one header value. A name or value that HTTP cannot carry (API Gateway passes what it
/// received) is left out: it cannot be a header any sender signs.
fn append(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_bytes(value.as_bytes()),
    ) {
        headers.append(name, value);
    }
}

/// The proxy-integration response, the shape REST APIs, HTTP APIs and function URLs all accept.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ApiResponse {
    pub status_code: u16,
    pub headers: BTreeMap<&'static str, String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoded(event: serde_json::Value) -> Result<HttpRequest, EventError> {
        decode(event.to_string().as_bytes())
    }

    #[test]
    fn urls_are_rebuilt_with_the_stage_and_query_as_called() {
        let v2 = decoded(json!({
            "version": "2.0", "rawPath": "/prod/webhooks/twilio", "rawQueryString": "a=1&b=%20",
            "headers": {"host": "hooks.example.com"},
            "requestContext": {"http": {"method": "POST"}, "domainName": "abc.execute-api.eu-west-1.amazonaws.com"}
        }))
        .expect("decodes");
        assert_eq!(v2.query, "a=1&b=%20");
        assert_eq!(
            v2.url.as_deref(),
            Some("https://hooks.example.com/prod/webhooks/twilio?a=1&b=%20")
        );
        let v1 = decoded(json!({
            "httpMethod": "POST", "path": "/webhooks/square",
            "multiValueQueryStringParameters": {"b": ["x y"], "a": ["1", "2"]},
            "requestContext": {"path": "/prod/webhooks/square", "domainName": "abc.execute-api.eu-west-1.amazonaws.com"}
        }))
        .expect("decodes");
        assert_eq!(v1.query, "a=1&a=2&b=x+y");
        assert_eq!(
            v1.url.as_deref(),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com/prod/webhooks/square?a=1&a=2&b=x+y")
        );
        let bare = decoded(json!({"httpMethod": "POST"})).expect("decodes");
        assert_eq!((bare.query.as_str(), bare.url), ("", None));
    }

    #[test]
    fn rest_api_keeps_every_value_of_a_repeated_header() {
        let req = decoded(json!({
            "httpMethod": "POST",
            "headers": {"X-Hub-Signature-256": "sha256=bb"},
            "multiValueHeaders": {"X-Hub-Signature-256": ["sha256=aa", "sha256=bb"]},
            "body": "{}",
            "isBase64Encoded": false
        }))
        .expect("decodes");
        let values: Vec<_> = req.headers.get_all("x-hub-signature-256").iter().collect();
        assert_eq!(values, ["sha256=aa", "sha256=bb"]);
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.body, b"{}");
    }

    #[test]
    fn rest_api_without_multi_value_headers_uses_headers() {
        let req = decoded(json!({
            "httpMethod": "PUT", "headers": {"a": "1", "b": null}, "multiValueHeaders": null
        }))
        .expect("decodes");
        assert_eq!(req.headers.get("a").map(|v| v.as_bytes()), Some(&b"1"[..]));
        assert!(req.headers.get("b").is_none());
        assert_eq!(req.method, Method::PUT);
        assert!(req.body.is_empty());
    }

    #[test]
    fn http_api_body_is_base64_decoded_exactly_once() {
        let inner = B64.encode(b"\xff\x00raw");
        let req = decoded(json!({
            "version": "2.0",
            "requestContext": {"http": {"method": "POST"}},
            "headers": {"content-type": "application/octet-stream"},
            "cookies": ["a=1", "b=2"],
            "body": B64.encode(inner.as_bytes()),
            "isBase64Encoded": true
        }))
        .expect("decodes");
        assert_eq!(req.body, inner.as_bytes(), "decoded once, not twice");
        assert_eq!(
            req.headers.get("cookie").map(|v| v.as_bytes()),
            Some(&b"a=1; b=2"[..])
        );
    }

    #[test]
    fn bad_events_are_errors_not_panics() {
        let cases = [
            (
                json!({"httpMethod": "POST", "body": "***", "isBase64Encoded": true}),
                EventError::InvalidBase64,
            ),
            (json!({"body": "{}"}), EventError::NoMethod),
            (json!({"httpMethod": "PO ST"}), EventError::InvalidMethod),
            (json!({"httpMethod": 5}), EventError::Malformed),
            (json!([1, 2]), EventError::Malformed),
            (json!(["POST"]), EventError::Malformed),
        ];
        for (event, want) in cases {
            assert_eq!(decoded(event.clone()).expect_err("bad"), want, "{event}");
        }
        assert_eq!(decode(b"\xff").expect_err("bad"), EventError::Malformed);
    }

    #[test]
    fn headers_http_cannot_carry_are_left_out() {
        let req = decoded(json!({
            "httpMethod": "POST",
            "headers": {"ok": "1", "bad name": "x", "bad-value": "a\nb"}
        }))
        .expect("decodes");
        assert_eq!(req.headers.len(), 1);
    }
}
