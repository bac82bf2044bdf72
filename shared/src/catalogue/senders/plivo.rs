//! Plivo (voice and messaging callbacks, signature V3): `X-Plivo-Signature-V3: <base64
//! HMAC-SHA256>[,<…>]` (one per active auth token) under the (sub)account's auth token (its
//! UTF-8 bytes), with `X-Plivo-Signature-V3-Nonce: <nonce>`, over `{base}.{nonce}`, where for a
//! POST `base` is the callback URL's scheme, host and path, then — when the URL has a query or the
//! body has parameters — `?` and the query's parameters sorted by name as `name=value` (decoded,
//! joined with `&`; several values of a name sorted), then — when it has both — `.`, then every
//! form parameter sorted by name as `{name}{value}` (several values sorted). Sources: Plivo's
//! "Validating requests" (https://www.plivo.com/docs/voice/concepts/signature-validation) and
//! its Python SDK `plivo/utils/signature_v3.py` (`validate_v3_signature`, `construct_post_url`,
//! `construct_get_url`, `get_signature_v3`), whose `validate_v3_signature` (plivo 4.63.0) accepts
//! the vector below. The URL is `PUBLIC_URL` (the callback URL as configured in Plivo) with the
//! query the request arrived with (without one, the configured URL's own). The nonce is signed
//! but no timestamp is, so no replay window applies. `X-Plivo-Signature-Ma-V3` (the same under the
//! main account's token) is not read: configure the token that signs `X-Plivo-Signature-V3`. GET
//! callbacks are not accepted.
//!
//! Bodies are forms (become JSON objects): a message status (`MessageUUID`, `Status`), an inbound
//! message (`MessageUUID`, `Type`), or a call event (`CallUUID`, `Event`, `CallStatus`). None
//! carries an event id and a message's statuses share its uuid, so the id is the body digest
//! (each status or event differs in its fields; a retry repeats them: inferred). The type is
//! `Event`, `CallStatus`, `Status` and `Type`, those present (`plivo.delivered`, `plivo.sms`,
//! `plivo.hangup.completed`); the subject the message or call uuid. No batches, no handshake.

use std::collections::BTreeMap;

use crate::core::scheme::*;
use crate::core::verify::engine::{encode, hmac, Signing};
use crate::core::verify::{single_header, Unverified, VerifyError};

const SIGNATURE: &str = "x-plivo-signature-v3";
const NONCE: &str = "x-plivo-signature-v3-nonce";

pub const SCHEME: Scheme = Scheme {
    name: "plivo",
    title: "Plivo",
    signature: Signature {
        at: &[Loc::Header(SIGNATURE)],
        format: Format::List { prefix: "" },
        all: false,
    },
    // What `UrlParamsNonce` signs; listed so the scheme reads as what it signs.
    signed: &[Part::Url, Part::Body, Part::Header(NONCE)],
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("Event")),
        TypePart::Optional(Loc::Json("CallStatus")),
        TypePart::Optional(Loc::Json("Status")),
        TypePart::Optional(Loc::Json("Type")),
    ],
    subject: &[Loc::Json("MessageUUID"), Loc::Json("CallUUID")],
    body: Body::JSON_OR_FORM,
    custom: Some(&UrlParamsNonce),
    evidence: Evidence::Sdk("plivo 4.63.0 (PyPI)"),
    note: "set PUBLIC_URL to the callback URL as configured in Plivo; the secret is the auth token that signs X-Plivo-Signature-V3; no timestamp is signed, so no replay window applies",
    ..Scheme::BASE
};

/// Decoded `name → sorted values`.
fn params(text: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(text) {
        map.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    for values in map.values_mut() {
        values.sort();
    }
    map
}

/// `{base}.{nonce}` for a POST to `url` (whose query is `query`) with form body `body`.
fn content(url: &str, query: &str, body: &[u8], form: bool, nonce: &str) -> Vec<u8> {
    let before = url.split('#').next().unwrap_or(url);
    let base = before.split('?').next().unwrap_or(before);
    let post = if form { params(body) } else { BTreeMap::new() };
    let query: Vec<String> = params(query.as_bytes())
        .into_iter()
        .map(|(k, vs)| {
            vs.iter()
                .map(|v| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        })
        .collect();
    let query = query.join("&");
    let mut out = base.to_owned();
    if !query.is_empty() || !post.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !query.is_empty() && !post.is_empty() {
        out.push('.');
    }
    for (k, vs) in &post {
        for v in vs {
            out.push_str(k);
            out.push_str(v);
        }
    }
    out.push('.');
    out.push_str(nonce);
    out.into_bytes()
}

/// The query of a URL, without its fragment (`""` when it has none).
fn url_query(url: &str) -> &str {
    let before = url.split('#').next().unwrap_or(url);
    before.split_once('?').map_or("", |(_, q)| q)
}

/// Whether the request's body holds signed parameters: anything but JSON (Plivo posts forms).
fn is_form(headers: &http::HeaderMap) -> bool {
    !headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

#[derive(Debug)]
struct UrlParamsNonce;

impl Custom for UrlParamsNonce {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        Some((|| {
            let url = req
                .url
                .ok_or(VerifyError::MissingHeader { header: "host" })?;
            let nonce = single_header(req.headers, NONCE)?
                .ok_or(VerifyError::MissingHeader { header: NONCE })?;
            let query = if req.query.is_empty() {
                url_query(url)
            } else {
                req.query
            };
            Ok(content(url, query, req.body, is_form(req.headers), nonce))
        })())
    }

    /// Signs a form body (a JSON body signs no parameters) with the delivery id as the nonce.
    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        let Some(url) = s.url else {
            return Some(Err("plivo signs the URL: give --url".into()));
        };
        let form = !matches!(s.body.first(), Some(b'{' | b'['));
        let nonce = if s.id.is_empty() { "0" } else { s.id };
        let mac = hmac(
            Hash::Sha256,
            key,
            &[&content(url, url_query(url), s.body, form, nonce)],
        );
        Some(Ok(vec![
            (SIGNATURE.to_owned(), encode(Encoding::Base64, &mac)),
            (NONCE.to_owned(), nonce.to_owned()),
        ]))
    }

    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(_) | Loc::Digest | Loc::Query(_)) || *loc == Loc::Header(NONCE)
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

    const TOKEN: &str = "MAODUYMWFKNTU3ZWI4ZGZJOT";
    const HOOK: &str = "https://hooks.example.com/plivo/status";
    const QUERY: &str = "source=sms";
    const NONCE: &str = "05429567804466091622";
    const BODY: &[u8] = b"From=14155551234&MessageUUID=2d55096e-f1f4-11e4-a1a1-22000ac5040c&Status=delivered&To=14155555678&TotalAmount=0.0065&Units=1";
    /// Derived, not published: Python's hmac/base64 by the SDK's rules, accepted by plivo 4.63.0's
    /// `validate_v3_signature("POST", HOOK + "?source=sms", NONCE, TOKEN, SIG, params)`.
    const SIG: &str = "daYZz1EC9rgjwjsKmxb5n5MMGcHv3GPohMPckAMhVzo=";
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    const NOW: u64 = 1_700_000_000;

    fn at(pairs: &[(&str, &str)], body: &[u8], query: &str) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[TOKEN.as_bytes()],
            pairs,
            body,
            NOW,
            &Method::POST,
            query,
            Some(HOOK),
        )
    }

    #[test]
    fn derived_vector() {
        let pairs = [
            FORM,
            ("x-plivo-signature-v3", SIG),
            ("x-plivo-signature-v3-nonce", NONCE),
        ];
        at(&pairs, BODY, QUERY).expect("verifies");
        // Beside another token's signature.
        let both = format!("dGhlIG90aGVyIHRva2Vu,{SIG}");
        at(
            &[
                FORM,
                ("x-plivo-signature-v3", &both),
                ("x-plivo-signature-v3-nonce", NONCE),
            ],
            BODY,
            QUERY,
        )
        .expect("either signature");
        // The nonce, the query and the parameters are signed.
        assert!(at(
            &[
                FORM,
                ("x-plivo-signature-v3", SIG),
                ("x-plivo-signature-v3-nonce", "1")
            ],
            BODY,
            QUERY
        )
        .is_err());
        assert!(at(&pairs, BODY, "source=voice").is_err());
        assert!(at(&pairs, b"From=14155551234", QUERY).is_err());
        assert!(check_request(
            &SCHEME,
            &[b"another"],
            &pairs,
            BODY,
            NOW,
            &Method::POST,
            QUERY,
            Some(HOOK)
        )
        .is_err());
    }

    #[test]
    fn base_url_shapes() {
        let c = |url, query, body: &[u8], form| {
            String::from_utf8(super::content(url, query, body, form, "n")).expect("utf8")
        };
        assert_eq!(
            c("https://a.example/p", "", b"", true),
            "https://a.example/p.n"
        );
        assert_eq!(
            c("https://a.example/p", "b=2&a=1", b"", true),
            "https://a.example/p?a=1&b=2.n"
        );
        assert_eq!(
            c("https://a.example/p", "", b"B=2&A=1+x", true),
            "https://a.example/p?A1 xB2.n"
        );
        assert_eq!(
            c("https://a.example/p?q=1", "q=1", b"A=1", true),
            "https://a.example/p?q=1.A1.n"
        );
        assert_eq!(
            c("https://a.example/p", "", b"{\"A\":1}", false),
            "https://a.example/p.n"
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, TOKEN.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_headers_are_refused() {
        let header = "x-plivo-signature-v3";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[FORM, (NONCE_H, NONCE)],
                VerifyError::MissingSignature { header },
            ),
            (
                &[FORM, (header, SIG)],
                VerifyError::MissingHeader { header: NONCE_H },
            ),
            (
                &[FORM, (header, "not base64!"), (NONCE_H, NONCE)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[FORM, (header, SIG), (NONCE_H, NONCE), (NONCE_H, NONCE)],
                VerifyError::DuplicateHeader { header: NONCE_H },
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(at(pairs, BODY, QUERY).as_ref(), Err(want), "{pairs:?}");
        }
    }

    const NONCE_H: &str = "x-plivo-signature-v3-nonce";

    #[test]
    fn normalization() {
        let pairs = [FORM, ("x-plivo-signature-v3", SIG), (NONCE_H, NONCE)];
        let req = Request {
            method: &Method::POST,
            query: QUERY,
            headers: &pairs,
            body: BODY,
            now: NOW,
        };
        let e = assert_envelope(
            Source::new("plivo", &SCHEME).with_public_url(HOOK),
            TOKEN,
            req,
            Want {
                id: Id::Digest,
                ty: "plivo.delivered",
                subject: Some("2d55096e-f1f4-11e4-a1a1-22000ac5040c"),
                // No time is read: the receipt's.
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        assert_eq!(e["data"]["Units"], "1");
    }
}
