//! API Gateway (REST v1, HTTP API v2) and Lambda function URL events wrapping a signed request,
//! as `sam local invoke -e` and the tests feed them to the functions.

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::signing::Signed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    RestV1,
    HttpV2,
    FunctionUrl,
}

impl Format {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "v1" | "rest" => Ok(Self::RestV1),
            "v2" | "http" => Ok(Self::HttpV2),
            "url" | "function-url" => Ok(Self::FunctionUrl),
            other => Err(format!("--format takes v1, v2 or url, got {other:?}")),
        }
    }
}

const API_DOMAIN: &str = "1234567890.execute-api.us-east-1.amazonaws.com";
const URL_DOMAIN: &str = "abcdefghijklmnopqrstuvwxyz123456.lambda-url.us-east-1.on.aws";

/// The URL a sender calls for an event of `format` at `path`, as the function rebuilds it
/// (the REST API's stage is `prod`).
pub fn url(format: Format, path: &str) -> String {
    match format {
        Format::RestV1 => format!("https://{API_DOMAIN}/prod{path}"),
        Format::HttpV2 => format!("https://{API_DOMAIN}{path}"),
        Format::FunctionUrl => format!("https://{URL_DOMAIN}{path}"),
    }
}

/// The event for `signed` sent to `path` with `method`, with the query its sender adds to the URL
/// (`Signed::url`); the body is base64-encoded when asked (or when it is not UTF-8), as API
/// Gateway does for binary and form bodies.
pub fn event(
    format: Format,
    method: &str,
    path: &str,
    signed: &Signed,
    base64: bool,
    epoch_ms: u64,
) -> Value {
    // The query the sender adds to the URL (Twilio's bodySHA256), as API Gateway passes it on.
    let query = signed
        .url
        .as_deref()
        .and_then(|u| u.split('#').next())
        .and_then(|u| u.split_once('?'))
        .map_or("", |(_, q)| q);
    // REST APIs give each name's last value and every value; HTTP APIs join repeats with commas.
    let mut params = Map::new();
    let mut multi_params = Map::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let joined = match params.get(name.as_ref()).and_then(Value::as_str) {
            Some(prev) if format != Format::RestV1 => format!("{prev},{value}"),
            _ => value.clone().into_owned(),
        };
        params.insert(name.clone().into_owned(), json!(joined));
        if let Some(values) = multi_params
            .entry(name.into_owned())
            .or_insert_with(|| json!([]))
            .as_array_mut()
        {
            values.push(json!(value));
        }
    }
    let (params, multi_params) = if query.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (Value::Object(params), Value::Object(multi_params))
    };
    let text = std::str::from_utf8(&signed.body).ok();
    let (body, encoded) = match text {
        Some(t) if !base64 => (t.to_owned(), false),
        _ => (
            base64::engine::general_purpose::STANDARD.encode(&signed.body),
            true,
        ),
    };
    match format {
        Format::RestV1 => {
            // REST APIs keep header case and list repeats in multiValueHeaders.
            let mut headers = Map::new();
            let mut multi = Map::new();
            for (k, v) in &signed.headers {
                let name = title_case(k);
                headers.insert(name.clone(), json!(v));
                if let Some(values) = multi
                    .entry(name)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                {
                    values.push(json!(v));
                }
            }
            json!({
                "resource": path,
                "path": path,
                "httpMethod": method,
                "headers": headers,
                "multiValueHeaders": multi,
                "queryStringParameters": params,
                "multiValueQueryStringParameters": multi_params,
                "pathParameters": null,
                "stageVariables": null,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "1234567890",
                    "domainName": API_DOMAIN,
                    "domainPrefix": "1234567890",
                    "extendedRequestId": "LgLpnGc6IAMFvQw=",
                    "httpMethod": method,
                    "identity": { "sourceIp": "192.0.2.10", "userAgent": "inlet-cli" },
                    "path": format!("/prod{path}"),
                    "protocol": "HTTP/1.1",
                    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                    "requestTime": "22/Nov/2026:10:15:00 +0000",
                    "requestTimeEpoch": epoch_ms,
                    "resourceId": "123456",
                    "resourcePath": path,
                    "stage": "prod"
                },
                "body": body,
                "isBase64Encoded": encoded
            })
        }
        Format::HttpV2 | Format::FunctionUrl => {
            // HTTP APIs and function URLs lower-case names and join repeats with commas.
            let mut headers = Map::new();
            for (k, v) in &signed.headers {
                let name = k.to_ascii_lowercase();
                let joined = match headers.get(&name).and_then(Value::as_str) {
                    Some(prev) => format!("{prev},{v}"),
                    None => v.clone(),
                };
                headers.insert(name, json!(joined));
            }
            let (route, domain) = if format == Format::HttpV2 {
                (format!("{method} {path}"), API_DOMAIN)
            } else {
                ("$default".to_owned(), URL_DOMAIN)
            };
            let mut event = json!({
                "version": "2.0",
                "routeKey": route,
                "rawPath": path,
                "rawQueryString": query,
                "headers": headers,
                "requestContext": {
                    "accountId": "123456789012",
                    "apiId": "1234567890",
                    "domainName": domain,
                    "domainPrefix": domain.split('.').next().unwrap_or_default(),
                    "http": {
                        "method": method,
                        "path": path,
                        "protocol": "HTTP/1.1",
                        "sourceIp": "192.0.2.10",
                        "userAgent": "inlet-cli"
                    },
                    "requestId": "JKJaXmPLvHcESHA=",
                    "routeKey": route,
                    "stage": "$default",
                    "time": "22/Nov/2026:10:15:00 +0000",
                    "timeEpoch": epoch_ms
                },
                "body": body,
                "isBase64Encoded": encoded
            });
            if !query.is_empty() {
                event["queryStringParameters"] = params;
            }
            event
        }
    }
}

/// `x-hub-signature-256` -> `X-Hub-Signature-256`, as senders write them.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}
