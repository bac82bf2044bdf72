//! Contentful (webhooks with a signing secret, and app events): `x-contentful-signature: <hex
//! HMAC-SHA256>` under the 64-character signing secret (its UTF-8 bytes) over the canonical
//! request `{method}\n{path}\n{headers}\n{body}`, where `path` is the request path with its query
//! (query percent-escaped as Node's `querystring.escape`, then the whole through `encodeURI`),
//! `headers` the headers named in `x-contentful-signed-headers` (names lower-case, values
//! trimmed) plus `x-contentful-signed-headers` and `x-contentful-timestamp` themselves, sorted by
//! name, written `name:value` and joined with `;`, and `x-contentful-timestamp` the signing time
//! in Unix milliseconds. The SDK refuses a request more than 30 s old (`verifyRequest`'s default
//! time to live; it accepts any future time): Inlet holds 30 s either way. Sources: Contentful's
//! "Request verification" (https://www.contentful.com/developers/docs/webhooks/request-verification/)
//! and its `@contentful/node-apps-toolkit` (`src/requests/sign-request.ts`, `verify-request.ts`,
//! `utils.ts` `getNormalizedEncodedURI`); the vector below was made with that package's
//! `signRequest` (3.16.1) and recomputed with Python's hmac. The path is the one of `PUBLIC_URL`
//! (set it to the webhook URL as configured) with the query the request arrived with (without
//! one, the configured URL's own).
//!
//! The body is the entity (`sys.id`, `sys.type`, `sys.updatedAt`); the topic is
//! `X-Contentful-Topic` (`ContentManagement.Entry.publish`), the type
//! `contentful.contentmanagement.entry.publish`, read as an unsigned header unless the sender
//! lists it among the signed ones. An entry saved and then published posts the same entity under
//! two topics, so identical bytes can be two events: nothing is suppressed (at-least-once), each
//! delivery queued under an id of its own. The subject is `sys.id`, the time `sys.updatedAt`. No
//! batches, no handshake.

use crate::core::scheme::*;
use crate::core::verify::engine::{encode, hmac, Signing};
use crate::core::verify::{single_header, Unverified, VerifyError};

const SIGNATURE: &str = "x-contentful-signature";
const SIGNED_HEADERS: &str = "x-contentful-signed-headers";
const TIMESTAMP: &str = "x-contentful-timestamp";

pub const SCHEME: Scheme = Scheme {
    name: "contentful",
    title: "Contentful",
    signature: Signature {
        at: &[Loc::Header(SIGNATURE)],
        format: Format::Plain,
        all: false,
    },
    // What `CanonicalRequest` signs; listed so the scheme reads as what it signs.
    signed: &[Part::Method, Part::Url, Part::Timestamp, Part::Body],
    encoding: Encoding::Hex,
    timestamp: Some(Timestamp {
        at: &[Loc::Header(TIMESTAMP)],
        unit: Unit::Millis,
        tolerance: 30,
    }),
    id: &[Loc::Digest],
    repeats: Repeats::Distinct,
    ty: &[TypePart::Required(Loc::Header("x-contentful-topic"))],
    type_chars: "._",
    subject: &[Loc::Json("sys.id")],
    time: &[
        TimeLoc::At(Loc::Json("sys.updatedAt"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    body: Body {
        json: true,
        form: Form::No,
        other: true,
    },
    custom: Some(&CanonicalRequest),
    evidence: Evidence::Sdk("@contentful/node-apps-toolkit 3.16.1 (npm)"),
    note: "set PUBLIC_URL to the webhook URL as configured in Contentful; 30 s window; an entry saved and published posts the same bytes twice, so nothing is suppressed (at-least-once)",
    ..Scheme::BASE
};

/// Node's `querystring.escape` (as `encodeURIComponent`): all but `A-Za-z0-9-_.!~*'()`.
fn escape_component(text: &str) -> String {
    percent(text, b"-_.!~*'()")
}

/// Node's `encodeURI`: all but `A-Za-z0-9;,/?:@&=+$-_.!~*'()#`.
fn encode_uri(text: &str) -> String {
    percent(text, b";,/?:@&=+$-_.!~*'()#")
}

fn percent(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The toolkit's `getNormalizedEncodedURI` of `path?query` (only the text up to a second `?`
/// counts, as its `split('?')` does).
fn normalized_path(path: &str, query: &str) -> String {
    let query = query.split('?').next().unwrap_or("");
    if query.is_empty() {
        encode_uri(path)
    } else {
        encode_uri(&format!("{path}?{}", escape_component(query)))
    }
}

/// The path of a URL (`/` when it has none), without its query or fragment.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// The query of a URL, without its fragment (`""` when it has none).
fn url_query(url: &str) -> &str {
    let before = url.split('#').next().unwrap_or(url);
    before.split_once('?').map_or("", |(_, q)| q)
}

/// The canonical request: method, path, the signed headers (with the list and the timestamp,
/// sorted), body.
fn canonical(
    method: &str,
    path: &str,
    mut headers: Vec<(String, String)>,
    timestamp: &str,
    body: &[u8],
) -> Vec<u8> {
    headers.retain(|(k, _)| k != SIGNED_HEADERS && k != TIMESTAMP);
    headers.push((TIMESTAMP.to_owned(), timestamp.to_owned()));
    let mut names: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
    names.push(SIGNED_HEADERS.to_owned());
    names.sort();
    headers.push((SIGNED_HEADERS.to_owned(), names.join(",")));
    headers.sort();
    let joined: Vec<String> = headers.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    let mut out = format!("{method}\n{path}\n{}\n", joined.join(";")).into_bytes();
    out.extend_from_slice(body);
    out
}

#[derive(Debug)]
struct CanonicalRequest;

impl Custom for CanonicalRequest {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        Some((|| {
            let url = req
                .url
                .ok_or(VerifyError::MissingHeader { header: "host" })?;
            let list =
                single_header(req.headers, SIGNED_HEADERS)?.ok_or(VerifyError::MissingHeader {
                    header: SIGNED_HEADERS,
                })?;
            let raw_ts = single_header(req.headers, TIMESTAMP)?
                .ok_or(VerifyError::MissingHeader { header: TIMESTAMP })?;
            let ts: u64 = raw_ts
                .trim()
                .parse()
                .map_err(|_| VerifyError::InvalidTimestamp { header: TIMESTAMP })?;
            let mut headers = Vec::new();
            for name in list.split(',') {
                let values: Vec<&str> = req
                    .headers
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                if !values.is_empty() && !headers.iter().any(|(k, _)| k == name) {
                    headers.push((name.to_owned(), values.join(", ").trim().to_owned()));
                }
            }
            // The query as received; without one, the configured URL's own.
            let query = if req.query.is_empty() {
                url_query(url)
            } else {
                req.query
            };
            let path = normalized_path(url_path(url), query);
            Ok(canonical(
                req.method.as_str(),
                &path,
                headers,
                &ts.to_string(),
                req.body,
            ))
        })())
    }

    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        let Some(url) = s.url else {
            return Some(Err("contentful signs the path: give --url".into()));
        };
        let query = url_query(url);
        let ts = (s.at * 1000).to_string();
        let content = canonical(
            s.method,
            &normalized_path(url_path(url), query),
            Vec::new(),
            &ts,
            s.body,
        );
        let mac = hmac(Hash::Sha256, key, &[&content]);
        Some(Ok(vec![
            (SIGNATURE.to_owned(), encode(Encoding::Hex, &mac)),
            (
                SIGNED_HEADERS.to_owned(),
                format!("{SIGNED_HEADERS},{TIMESTAMP}"),
            ),
            (TIMESTAMP.to_owned(), ts),
        ]))
    }

    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(_) | Loc::Digest | Loc::Query(_))
    }

    fn signs_url(&self) -> bool {
        true
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;
    use http::Method;

    const SECRET: &str = "cfsecret0123456789abcdef0123456789abcdef0123456789abcdef01234567";
    const HOOK: &str = "https://hooks.example.com/webhooks/contentful";
    const QUERY: &str = "env=prod&x=1";
    const BODY: &[u8] = br#"{"sys":{"type":"Entry","id":"5KsDBWseXY6QegucYAoacS","space":{"sys":{"type":"Link","linkType":"Space","id":"yadj1kx9rmg0"}},"revision":1,"createdAt":"2023-11-14T22:13:19.000Z","updatedAt":"2023-11-14T22:13:19.000Z"},"fields":{"title":{"en-US":"Hello"}}}"#;
    /// Made with `@contentful/node-apps-toolkit` 3.16.1 `signRequest(SECRET, {method: "POST",
    /// path: "/webhooks/contentful?env=prod&x=1", headers: {X-Contentful-Topic, Content-Type},
    /// body}, 1700000000123)`, recomputed with Python's hmac; not published by Contentful.
    const SIG: &str = "51a3a56108a56faeeb416be422854928617ac7202a65f71c1a02b10f277392bb";
    const SIGNED: &str =
        "content-type,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic";
    const TS: &str = "1700000000123";
    const TOPIC: &str = "ContentManagement.Entry.publish";
    const CT: &str = "application/vnd.contentful.management.v1+json";
    const NOW: u64 = 1_700_000_000;

    fn pairs_with<'a>(sig: &'a str, topic: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("content-type", CT),
            ("x-contentful-topic", topic),
            ("x-contentful-signature", sig),
            ("x-contentful-signed-headers", SIGNED),
            ("x-contentful-timestamp", TS),
        ]
    }

    fn at(
        pairs: &[(&str, &str)],
        body: &[u8],
        query: &str,
        now: u64,
    ) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[SECRET.as_bytes()],
            pairs,
            body,
            now,
            &Method::POST,
            query,
            Some(HOOK),
        )
    }

    #[test]
    fn sdk_vector() {
        at(&pairs_with(SIG, TOPIC), BODY, QUERY, NOW).expect("verifies");
        // The topic is signed here, and so are the query, the body and the path.
        assert!(at(
            &pairs_with(SIG, "ContentManagement.Entry.delete"),
            BODY,
            QUERY,
            NOW
        )
        .is_err());
        assert!(at(&pairs_with(SIG, TOPIC), BODY, "env=dev&x=1", NOW).is_err());
        assert!(at(&pairs_with(SIG, TOPIC), b"{}", QUERY, NOW).is_err());
        assert!(check_request(
            &SCHEME,
            &[SECRET.as_bytes()],
            &pairs_with(SIG, TOPIC),
            BODY,
            NOW,
            &Method::POST,
            QUERY,
            Some("https://hooks.example.com/other")
        )
        .is_err());
        // 30 s either way.
        assert!(matches!(
            at(&pairs_with(SIG, TOPIC), BODY, QUERY, NOW + 31),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        at(&pairs_with(SIG, TOPIC), BODY, QUERY, NOW + 29).expect("inside the window");
    }

    #[test]
    fn path_encoding_is_the_toolkits() {
        assert_eq!(
            super::normalized_path("/webhooks/contentful", QUERY),
            "/webhooks/contentful?env%253Dprod%2526x%253D1"
        );
        assert_eq!(super::normalized_path("/a b/é", ""), "/a%20b/%C3%A9");
        assert_eq!(super::url_path("https://h.example"), "/");
        assert_eq!(super::url_path("https://h.example/p/q?x=1"), "/p/q");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_headers_are_refused() {
        let header = "x-contentful-signature";
        let mut no_list = pairs_with(SIG, TOPIC);
        no_list.retain(|(k, _)| *k != "x-contentful-signed-headers");
        let mut no_ts = pairs_with(SIG, TOPIC);
        no_ts.retain(|(k, _)| *k != "x-contentful-timestamp");
        let mut twice = pairs_with(SIG, TOPIC);
        twice.push((header, SIG));
        let mut no_sig = pairs_with(SIG, TOPIC);
        no_sig.retain(|(k, _)| *k != header);
        let cases: Vec<(Vec<(&str, &str)>, VerifyError)> = vec![
            (no_sig, VerifyError::MissingSignature { header }),
            (
                pairs_with("zz", TOPIC),
                VerifyError::MalformedSignature { header },
            ),
            (
                no_list,
                VerifyError::MissingHeader {
                    header: "x-contentful-signed-headers",
                },
            ),
            (
                no_ts,
                VerifyError::MissingHeader {
                    header: "x-contentful-timestamp",
                },
            ),
            (twice, VerifyError::DuplicateHeader { header }),
        ];
        for (pairs, want) in cases {
            assert_eq!(at(&pairs, BODY, QUERY, NOW), Err(want), "{pairs:?}");
        }
    }

    #[test]
    fn normalization() {
        let source = || Source::new("contentful", &SCHEME).with_public_url(HOOK);
        let pairs = pairs_with(SIG, TOPIC);
        let req = Request {
            method: &Method::POST,
            query: QUERY,
            headers: &pairs,
            body: BODY,
            now: NOW,
        };
        // Identical bytes are two events (saved, then published): both queued.
        assert_identical_bytes_are_two_events(source(), SECRET, req);
        assert_envelope_forged(
            source(),
            SECRET,
            &SECRET.replace('c', "d"),
            req,
            Want {
                id: Id::NotDigest,
                ty: "contentful.contentmanagement.entry.publish",
                subject: Some("5KsDBWseXY6QegucYAoacS"),
                time: "2023-11-14T22:13:19.000Z",
            },
        );
    }
}
