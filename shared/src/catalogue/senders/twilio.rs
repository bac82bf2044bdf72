//! Twilio: `X-Twilio-Signature: <base64 HMAC>` over the full URL Twilio requested followed, for
//! form bodies, by every parameter name and value, names sorted, each name's distinct values
//! sorted (`{url}{name}{value}…`, as twilio-python's `RequestValidator` does, duplicates dropped).
//! The HMAC is SHA-1 under the account's auth token, or SHA-256 under a SharedKey secret when
//! `X-Twilio-Webhooks-Signature-Settings: key=<id>,algorithm=HMAC_SHA256` says so; the key is
//! whichever active secret matches (a deployment makes the SharedKey secret its secret, with the
//! auth token beside it while webhooks signed with it still arrive). As the SDK does, the URL is also tried without its port when
//! it names one, else with the default one (`:443`, `:80`) added. A JSON body is signed through
//! its hash: the URL carries `bodySHA256=<hex SHA-256 of the body>`, which must match, and only
//! the URL is signed. No timestamp is signed. The id is the unsigned `I-Twilio-Idempotency-Token`
//! (the body digest keys duplicates); form bodies become JSON with type `twilio.call.<CallStatus>`
//! or `twilio.message.<MessageStatus|SmsStatus>`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::normalize::{
    body_kind, event_type, form_to_json, required_header, BodyKind, Disposition, Draft, Envelope,
    NormalizeError, Payload, JSON,
};
use crate::core::scheme::*;
use crate::core::verify::engine::{encode, hmac, query_param, Signing, B64};
use crate::core::verify::{single_header, Unverified, Verified, VerifyError};

const SIGNATURE: &str = "x-twilio-signature";
const IDEMPOTENCY: &str = "i-twilio-idempotency-token";
/// `key=<SharedKey id>,algorithm=<name>`: which secret and algorithm signed. Not signed itself.
const SETTINGS: &str = "x-twilio-webhooks-signature-settings";
/// The algorithms the settings may name (ASCII case aside), as twilio-python's `_HASH_FUNCTIONS`;
/// without the header or its `algorithm=`, the first.
const ALGORITHMS: &[(&str, Hash)] = &[("HMAC_SHA1", Hash::Sha1), ("HMAC_SHA256", Hash::Sha256)];

pub const SCHEME: Scheme = Scheme {
    name: "twilio",
    title: "Twilio",
    signature: Signature {
        at: &[Loc::Header(SIGNATURE)],
        format: Format::Plain,
        all: false,
    },
    // What `UrlAndParams` signs; listed so the scheme reads as what it signs.
    signed: &[Part::Url, Part::Body],
    // The auth token's; a SharedKey's HMAC-SHA256 is chosen by `UrlAndParams::verify`.
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    // Event Streams post a JSON array of CloudEvents (or one): one envelope per event, its own
    // `id` (signed through bodySHA256). Forms are one request, read by `UrlAndParams`.
    batch: Some(Batch { items: "" }),
    id: &[Loc::Json("id"), Loc::Header(IDEMPOTENCY), Loc::Digest],
    // A caller pressing the same digits again sends the same form: the unsigned idempotency token
    // tells a retry from another request.
    repeats: Repeats::Distinct,
    ty: &[TypePart::Optional(Loc::Json("type"))],
    subject: &[Loc::Json("subject")],
    time: &[TimeLoc::At(Loc::Json("time"), Unit::Rfc3339)],
    body: Body::JSON_OR_FORM,
    custom: Some(&UrlAndParams),
    evidence: Evidence::Sdk("twilio 9.13.0 (PyPI)"),
    note: "set PUBLIC_URL to the webhook URL as configured in Twilio (it is also tried without its port, or with the default one); the secret is the auth token, or the SharedKey secret for webhooks signed with a SharedKey (HMAC-SHA256): make both active secrets while both kinds arrive; JSON bodies must carry bodySHA256 in the URL, and Event Streams' arrays become one envelope per event; a form's id is the unsigned I-Twilio-Idempotency-Token (duplicates by it and the body digest: identical forms can be two requests)",
    ..Scheme::BASE
};

/// Twilio's signature (the URL in two port variants, then the sorted form parameters or
/// nothing, under the algorithm the settings header names), its signer, and its form bodies as
/// envelopes.
#[derive(Debug)]
struct UrlAndParams;

impl Custom for UrlAndParams {
    fn verify(&self, req: &Unverified<'_>, key: &[u8]) -> Option<Result<bool, VerifyError>> {
        Some(verify(req, key))
    }

    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        (body_kind(v.headers()) == BodyKind::Form).then(|| form(source, v, received))
    }

    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(sign(key, s, &[]))
    }

    /// With `X-Twilio-Webhooks-Signature-Settings` given, signed as a SharedKey under the
    /// algorithm it names.
    fn sign_with_headers(
        &self,
        key: &[u8],
        s: &Signing<'_>,
        given: &[(String, String)],
    ) -> Option<Result<Vec<(String, String)>, String>> {
        Some(sign(key, s, given))
    }

    /// The body is covered (its parameters, or its hash), and so is the URL's query.
    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(_) | Loc::Digest | Loc::Query(_))
    }

    fn signs_url(&self) -> bool {
        true
    }
}

/// The hash a settings header names, as twilio-python's `get_signature_algorithm` reads it (the
/// first `algorithm=` item with a value, spaces trimmed; HMAC-SHA1 without one) and `validate`
/// takes it (in any case); `Err` with the name when it is none of [`ALGORITHMS`].
fn algorithm(settings: Option<&str>) -> Result<Hash, &str> {
    let named = settings.unwrap_or("").split(',').find_map(|item| {
        let (name, value) = item.split_once('=')?;
        (name.trim() == "algorithm" && !value.trim().is_empty()).then(|| value.trim())
    });
    let Some(named) = named else {
        return Ok(ALGORITHMS[0].1);
    };
    ALGORITHMS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(named))
        .map(|(_, hash)| *hash)
        .ok_or(named)
}

/// The URL as twilio-python's `validate` also signs it: without its port when it names one
/// (`remove_port`: the authority up to its first `:`, so any port goes, and with it whatever
/// followed a `user:`), else with `:443` added for https and `:80` for anything else
/// (`add_port`). `None` when the port is not a number up to 65535 (the SDK raises).
fn other_port(url: &str) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some(url.to_owned());
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // Python's `port`: after the user info, the text after the first `:` (after `]` for IPv6).
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let port = match host.split_once('[') {
        Some((_, bracketed)) => bracketed
            .split_once(']')
            .and_then(|(_, after)| after.split_once(':'))
            .map_or("", |(_, p)| p),
        None => host.split_once(':').map_or("", |(_, p)| p),
    };
    // Python takes port 0 for none; a port that is not a number up to 65535 makes it raise.
    let port = match port {
        "" => 0,
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => {
            u16::try_from(digits.parse::<u64>().ok()?).ok()?
        }
        _ => return None,
    };
    if port == 0 {
        let default = if scheme == "https" { 443 } else { 80 };
        Some(format!("{scheme}://{authority}:{default}{tail}"))
    } else {
        let bare = authority.split(':').next().unwrap_or(authority);
        Some(format!("{scheme}://{bare}{tail}"))
    }
}

/// The URL Twilio requested: the configured one, with the query string as received when there
/// is one (Twilio adds `bodySHA256` to it for JSON bodies).
fn requested_url(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_owned();
    }
    let (before, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let base = before.split_once('?').map_or(before, |(b, _)| b);
    match fragment {
        Some(f) => format!("{base}?{query}#{f}"),
        None => format!("{base}?{query}"),
    }
}

/// The `bodySHA256` parameter of a URL's query, if any.
fn body_hash(url: &str) -> Option<String> {
    let before = url.split('#').next().unwrap_or(url);
    let query = before.split_once('?').map_or("", |(_, q)| q);
    query_param(query, "bodySHA256")
}

/// `{name}{value}` for each name (sorted) and each of its distinct values (sorted): what follows
/// the URL in the signed content.
fn params(body: &[u8]) -> Vec<u8> {
    let mut params: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        params
            .entry(name.into_owned())
            .or_default()
            .insert(value.into_owned());
    }
    let mut content = Vec::new();
    for (name, values) in &params {
        for value in values {
            content.extend_from_slice(name.as_bytes());
            content.extend_from_slice(value.as_bytes());
        }
    }
    content
}

/// Whether `req` is signed under `key`, as twilio-python's `validate` with the algorithm
/// `get_signature_algorithm` reads from the settings header.
///
/// The settings header is unsigned, so a caller picks the algorithm; that buys nothing: each
/// one is an HMAC under the same active secrets (whichever of them is the auth token or the
/// SharedKey secret), neither is forgeable without one of those secrets, and their lengths differ
/// (20 and 32 bytes), so no signature made under one passes as the other.
fn verify(req: &Unverified<'_>, key: &[u8]) -> Result<bool, VerifyError> {
    let given = single_header(req.headers, SIGNATURE)?
        .ok_or(VerifyError::MissingSignature { header: SIGNATURE })?;
    let given = B64
        .decode(given)
        .map_err(|_| VerifyError::MalformedSignature { header: SIGNATURE })?;
    let hash = algorithm(single_header(req.headers, SETTINGS)?)
        .map_err(|_| VerifyError::MalformedSignature { header: SETTINGS })?;
    let configured = req
        .url
        .ok_or(VerifyError::MissingHeader { header: "host" })?;
    let url = requested_url(configured, req.query);
    let hashed = body_hash(&url);
    // Without a body hash only the form parameters can cover the body.
    let params = match hashed {
        Some(_) => Vec::new(),
        None => {
            let is_form = !req.headers.contains_key(http::header::CONTENT_TYPE)
                || body_kind(req.headers) == BodyKind::Form;
            if !req.body.is_empty() && !is_form {
                return Err(VerifyError::MissingHeader {
                    header: "bodySHA256",
                });
            }
            params(req.body)
        }
    };
    let other = other_port(&url).ok_or(VerifyError::MalformedSignature { header: "host" })?;
    let signed = [url.as_str(), other.as_str()]
        .iter()
        .fold(false, |found, url| {
            let expected = hmac(hash, key, &[url.as_bytes(), &params]);
            found | (expected.len() == given.len() && bool::from(expected.ct_eq(&given)))
        });
    // The body is hashed only for a key whose signature matched.
    Ok(signed
        && hashed
            .is_none_or(|h| hex::decode(h.trim()).is_ok_and(|h| h == Sha256::digest(req.body)[..])))
}

/// The headers Twilio adds: the signature under the auth token, or with a settings header among
/// `given`, under a SharedKey secret and the algorithm it names (the header itself is the
/// caller's to send).
fn sign(
    key: &[u8],
    s: &Signing<'_>,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    let url = s
        .url
        .ok_or_else(|| "twilio signs the URL: give --url".to_owned())?;
    let mut settings = given
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(SETTINGS))
        .map(|(_, value)| value.as_str());
    let hash = match (settings.next(), settings.next()) {
        (_, Some(_)) => return Err(format!("twilio: give {SETTINGS} once")),
        (one, None) => algorithm(one).map_err(|name| {
            format!("twilio: {SETTINGS} names {name}; Twilio signs with HMAC_SHA1 or HMAC_SHA256")
        })?,
    };
    let hash_hex = hex::encode(Sha256::digest(s.body));
    let params = match body_hash(url) {
        Some(in_url) if in_url.eq_ignore_ascii_case(&hash_hex) => Vec::new(),
        Some(_) => {
            return Err(format!(
                "twilio: bodySHA256 in --url is not the body's SHA-256 ({hash_hex})"
            ))
        }
        None if serde_json::from_slice::<serde::de::IgnoredAny>(s.body).is_ok()
            && matches!(s.body.first(), Some(b'{' | b'[')) =>
        {
            return Err(format!(
                "twilio: a JSON body is signed through its hash: add bodySHA256={hash_hex} to the --url query"
            ))
        }
        None => params(s.body),
    };
    let mac = hmac(hash, key, &[url.as_bytes(), &params]);
    let mut headers = vec![(SIGNATURE.to_owned(), encode(Encoding::Base64, &mac))];
    if !s.id.is_empty() {
        headers.push((IDEMPOTENCY.to_owned(), s.id.to_owned()));
    }
    Ok(headers)
}

fn field(obj: &Map<String, Value>, k: &str) -> Option<String> {
    obj.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A form body (voice and messaging webhooks and status callbacks) as a JSON envelope.
fn form<'b>(
    source: &str,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    let fields = form_to_json(v.body())?;
    let (kind, status, subject) = if let Some(call) = field(&fields, "CallSid") {
        ("call", field(&fields, "CallStatus"), Some(call))
    } else if let Some(message) = field(&fields, "MessageSid").or_else(|| field(&fields, "SmsSid"))
    {
        let status = field(&fields, "MessageStatus").or_else(|| field(&fields, "SmsStatus"));
        ("message", status, Some(message))
    } else {
        ("form", None, None)
    };
    let token = match v.headers().get(IDEMPOTENCY) {
        Some(_) => {
            let token = required_header(v.headers(), IDEMPOTENCY)?;
            if !crate::core::normalize::engine::plain(token) {
                return Err(NormalizeError::InvalidField {
                    field: IDEMPOTENCY,
                    reason: "an unsigned header used as an id must be 1 to 200 letters, digits or `-_.:/@+=`",
                });
            }
            Some(token.to_owned())
        }
        None => None,
    };
    // A voice or messaging form can repeat byte for byte (a caller pressing the same digits in a
    // loop): the unsigned idempotency token tells a retry from another request.
    let (id, key) =
        crate::core::normalize::engine::unsigned_id(&SCHEME, IDEMPOTENCY, token, v.body());
    let draft = Draft {
        id,
        ty: event_type(source, &[Some(kind), status.as_deref()]),
        time: None,
        subject,
        content_type: JSON.into(),
        payload: Payload::Built(Value::Object(fields)),
        key,
        event: None,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;
    use http::Method;

    /// twilio-python `tests/unit/test_request_validator.py`.
    const TOKEN: &[u8] = b"12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const PARAMS: &[u8] =
        b"CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&To=%2B18005551212&Caller=%2B14158675309";
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    const JSON_BODY: &[u8] = br#"{"property": "value", "boolean": true}"#;
    const BODY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

    fn run(
        url: &str,
        query: &str,
        content_type: &str,
        body: &[u8],
        sig: &str,
    ) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[TOKEN],
            &[("x-twilio-signature", sig), ("content-type", content_type)],
            body,
            0,
            &Method::POST,
            query,
            Some(url),
        )
    }

    const MISMATCH: Result<String, VerifyError> = Err(VerifyError::SignatureMismatch {
        header: "x-twilio-signature",
    });

    #[test]
    fn published_form_vectors() {
        let form = FORM.1;
        run(URL, "", form, PARAMS, "RSOYDt4T1cUTdK1PDd93/VVr8B8=").expect("params sorted by name");
        // Parameter order on the wire does not matter.
        let shuffled =
            b"To=%2B18005551212&Caller=%2B14158675309&From=%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE";
        run(URL, "", form, shuffled, "RSOYDt4T1cUTdK1PDd93/VVr8B8=").expect("any order");
        // Repeated names: values sorted, the duplicate 1234 dropped (as the Python SDK does).
        run(
            URL,
            "",
            form,
            b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
        )
        .expect("sorted, deduplicated values");
        // A non-default port is part of the URL.
        run(
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            "",
            form,
            PARAMS,
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        )
        .expect("port kept");
        // Tampering.
        assert_eq!(
            run(
                URL,
                "",
                form,
                b"CallSid=CA1234567890ABCDE&Digits=1235",
                "RSOYDt4T1cUTdK1PDd93/VVr8B8="
            ),
            MISMATCH
        );
        assert_eq!(
            run(
                "https://mycompany.com/myapp.php?foo=1&bar=3",
                "",
                form,
                PARAMS,
                "RSOYDt4T1cUTdK1PDd93/VVr8B8="
            ),
            MISMATCH
        );
    }

    #[test]
    fn published_json_vector_signs_the_body_hash_in_the_url() {
        let signed_url = format!("{URL}&bodySHA256={BODY_HASH}");
        let json = "application/json";
        run(
            &signed_url,
            "",
            json,
            JSON_BODY,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
        )
        .expect("the URL with the body's hash verifies");
        // With PUBLIC_URL set to the registered URL, the hash arrives in the query string.
        run(
            URL,
            &format!("foo=1&bar=2&bodySHA256={BODY_HASH}"),
            json,
            JSON_BODY,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
        )
        .expect("the query as received completes the URL");
        // A changed body no longer has that hash.
        assert_eq!(
            run(
                &signed_url,
                "",
                json,
                br#"{"property": "value", "boolean": false}"#,
                "a9nBmqA0ju/hNViExpshrM61xv4="
            ),
            MISMATCH
        );
        // A JSON body without a hash is not covered at all.
        assert_eq!(
            run(URL, "", json, JSON_BODY, "a9nBmqA0ju/hNViExpshrM61xv4="),
            Err(VerifyError::MissingHeader {
                header: "bodySHA256"
            })
        );
    }

    /// `(configured, signed, accepted, [HMAC-SHA1, HMAC-SHA256])`: the published request to
    /// `{configured}/myapp.php?foo=1&bar=2`, signed over `{signed}/myapp.php?foo=1&bar=2` under
    /// the published token, and whether twilio 9.13.0's `validate` accepts it. Every signature
    /// and verdict is the SDK's own (`RequestValidator("12345").compute_signature(url, params,
    /// algorithm)`, then `.validate(…)`, run with the pinned twilio from the test requirements).
    #[rustfmt::skip]
    const PORTS: &[(&str, &str, bool, [&str; 2])] = &[
        // The default port added (`add_port`)...
        ("https://mycompany.com", "https://mycompany.com:443", true,
            ["kvajT1Ptam85bY51eRf/AJRuM3w=", "grxRoa/VNtXxd524NGLxIdev83nh23xhrRUVm50Umq4="]),
        ("http://mycompany.com", "http://mycompany.com:80", true,
            ["0ZXoZLH/DfblKGATFgpif+LLRf4=", "ODeP/nQxuJxUFE1ZQI8xHKjbKi73mCWdY4em0wBbj/k="]),
        // ... or removed (`remove_port`): any port, and with it whatever followed a `user:`.
        ("https://mycompany.com:443", "https://mycompany.com", true,
            ["RSOYDt4T1cUTdK1PDd93/VVr8B8=", "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s="]),
        ("https://mycompany.com:1234", "https://mycompany.com", true,
            ["RSOYDt4T1cUTdK1PDd93/VVr8B8=", "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s="]),
        ("https://user:pw@mycompany.com:8443", "https://user", true,
            ["lE3np3n7YhU55apYYOujyir43Qk=", "zhRyq65AJ+FveDWEwaWumqAjlKeqgUm1mPGX6Nmtx6k="]),
        // Port 0 is no port to Python: `add_port` adds one after it.
        ("https://mycompany.com:0", "https://mycompany.com:0:443", true,
            ["idtp8Sym4KTO0LIWnyxqzd65y48=", "83JsXFRTVpPNEh4byzzPlZGvPl/lYrbk6sOHBQ5e7TQ="]),
        // The URL as configured, port or not.
        ("https://mycompany.com", "https://mycompany.com", true,
            ["RSOYDt4T1cUTdK1PDd93/VVr8B8=", "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s="]),
        ("https://mycompany.com:1234", "https://mycompany.com:1234", true,
            ["CYn1h0gLBdNxDGkKJg6hYohgeD8=", "OZ8Co32nso/7neQ/V0E7jFKT7JwYqCz09zAErfGrCtw="]),
        // Only the scheme's default port is added, and only a configured one removed.
        ("http://mycompany.com", "http://mycompany.com:443", false,
            ["fbd3mZLChjntlj2PMwOUrmrhx7I=", "ML3CL1l8jXo7ESU2KwtGiNoA4l/d3KEUZePyHXM+g8U="]),
        ("https://mycompany.com", "https://mycompany.com:1234", false,
            ["CYn1h0gLBdNxDGkKJg6hYohgeD8=", "OZ8Co32nso/7neQ/V0E7jFKT7JwYqCz09zAErfGrCtw="]),
        ("https://mycompany.com:1234", "https://mycompany.com:443", false,
            ["kvajT1Ptam85bY51eRf/AJRuM3w=", "grxRoa/VNtXxd524NGLxIdev83nh23xhrRUVm50Umq4="]),
        // A port that is no number up to 65535 makes the SDK raise: nothing verifies.
        ("https://mycompany.com:99999", "https://mycompany.com:99999", false,
            ["tyzGgDGS+lWQLgs1wsNZt+jwZ14=", "Urk3H+TqAXeaO7+/stzvzrrnZ/u7pToGgAWhNd5tPcM="]),
        ("https://mycompany.com:99999", "https://mycompany.com", false,
            ["RSOYDt4T1cUTdK1PDd93/VVr8B8=", "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s="]),
        ("https://mycompany.com:44x", "https://mycompany.com:44x", false,
            ["txvO5BCNpHx7uIG1GmaHNFLi538=", "U2laKiJZOS8WIKDQis0XgBRafBHcDz1gaBLv9NlO5Ok="]),
    ];

    const SETTINGS: &str = "x-twilio-webhooks-signature-settings";
    const SHA256: &str =
        "key=webhooks_sharedkey_5f3c1e9a7b2d4c6e8f0a1b3c5d7e9f2a,algorithm=HMAC_SHA256";
    /// The published request signed with the published token: HMAC-SHA1 (published) and
    /// HMAC-SHA256 (`compute_signature(URL, params, "HMAC_SHA256")`, twilio 9.13.0).
    const BY_TOKEN: [&str; 2] = [
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "033hgUJA9M/hXIZsYjwkerEP/DBm35nEri5FhCYjA5s=",
    ];
    /// The same under a SharedKey secret `sharedkey-secret` (twilio 9.13.0).
    const BY_SHAREDKEY: [&str; 2] = [
        "Tx9mCutmW6it2WteVTp+C1cKNyQ=",
        "qFd+xgwjWi4lqZFeNG7JZEIoR2jvhvM5IJILBlG1zD4=",
    ];

    /// `body` with these headers, posted to `url` with `query`, under `keys`.
    fn post(
        keys: &[&[u8]],
        url: &str,
        query: &str,
        pairs: &[(&str, &str)],
        body: &[u8],
    ) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            keys,
            pairs,
            body,
            0,
            &Method::POST,
            query,
            Some(url),
        )
    }

    /// The published form posted to `url` with `sig` and these extra headers, under `keys`.
    fn form_with(
        keys: &[&[u8]],
        url: &str,
        sig: &str,
        extra: &[(&str, &str)],
    ) -> Result<String, VerifyError> {
        let pairs = [&[("x-twilio-signature", sig), FORM], extra].concat();
        post(keys, url, "", &pairs, PARAMS)
    }

    #[test]
    fn the_url_verifies_with_and_without_its_port_as_the_sdk_tries_it() {
        for (configured, signed, accepted, [sha1, sha256]) in PORTS {
            let url = format!("{configured}/myapp.php?foo=1&bar=2");
            for (sig, extra) in [(sha1, vec![]), (sha256, vec![(SETTINGS, SHA256)])] {
                let got = form_with(&[TOKEN], &url, sig, &extra);
                let verdict = format!("{url} signed as {signed} {extra:?}: {got:?}");
                assert_eq!(got.is_ok(), *accepted, "{verdict}");
            }
        }
    }

    #[test]
    fn the_settings_header_chooses_hmac_sha256_as_the_sdk_reads_it() {
        // `(header, SHA-1 accepted, SHA-256 accepted)`, as twilio 9.13.0's
        // `validate(URL, params, sig, get_signature_algorithm(header))` answered.
        let cases: &[(Option<&str>, bool, bool)] = &[
            (None, true, false),
            (Some(""), true, false),
            (Some("key=abc"), true, false),
            (Some("key=abc,algorithm=HMAC_SHA1"), true, false),
            (Some("key=abc,algorithm=HMAC_SHA256"), false, true),
            (Some("key=abc, algorithm = hmac_sha256"), false, true),
            (Some("algorithm=,algorithm=HMAC_SHA256"), false, true),
            (Some("Algorithm=HMAC_SHA256"), true, false),
            (Some("algorithm:HMAC_SHA256"), true, false),
            (Some("key=abc,algorithm=HMAC_SHA512"), false, false),
        ];
        let [sha1, sha256] = BY_TOKEN;
        for (settings, sha1_accepted, sha256_accepted) in cases {
            let extra: Vec<(&str, &str)> = settings.iter().map(|v| (SETTINGS, *v)).collect();
            for (sig, accepted) in [(sha1, sha1_accepted), (sha256, sha256_accepted)] {
                let got = form_with(&[TOKEN], URL, sig, &extra);
                assert_eq!(got.is_ok(), *accepted, "{settings:?} {sig}: {got:?}");
            }
        }
        // An unknown algorithm is refused whatever the key (and no secret is re-read for it).
        let unknown = [(SETTINGS, "algorithm=HMAC_SHA512")];
        assert_eq!(
            form_with(&[TOKEN], URL, sha1, &unknown),
            Err(VerifyError::MalformedSignature { header: SETTINGS })
        );
        let twice = [(SETTINGS, SHA256), (SETTINGS, SHA256)];
        assert_eq!(
            form_with(&[TOKEN], URL, sha256, &twice),
            Err(VerifyError::DuplicateHeader { header: SETTINGS })
        );
        // Tampering; and the URL with :443 (`grxR…`, twilio 9.13.0) under SHA-256 too.
        let pairs = [("x-twilio-signature", sha256), FORM, (SETTINGS, SHA256)];
        let changed = String::from_utf8_lossy(PARAMS).replace("Digits=1234", "Digits=1235");
        assert_eq!(
            post(&[TOKEN], URL, "", &pairs, changed.as_bytes()),
            MISMATCH
        );
        let with_443 = "grxRoa/VNtXxd524NGLxIdev83nh23xhrRUVm50Umq4=";
        let pairs = [("x-twilio-signature", with_443), FORM, (SETTINGS, SHA256)];
        post(&[TOKEN], URL, "", &pairs, PARAMS).expect("the URL with :443");
    }

    #[test]
    fn a_sharedkey_signs_a_json_body_through_its_hash_too() {
        // twilio 9.13.0: `compute_signature(f"{URL}&bodySHA256={BODY_HASH}", {}, algorithm)`,
        // HMAC-SHA256 over the URL as is and with :443, then HMAC-SHA1 with :443.
        let query = format!("foo=1&bar=2&bodySHA256={BODY_HASH}");
        let cases = [
            ("+UOCWf84gdgo/5Hpg4m5/EgKnJA2/TbOw5sPNVr3bPk=", Some(SHA256)),
            ("cJads/k7RaZcya6o/7OnsQE1rXJhg/y9IbxHCXKD5Pg=", Some(SHA256)),
            ("uzN7O1319XdYoYMfTT2eUM1PJT0=", None),
        ];
        for (sig, settings) in cases {
            let mut pairs = vec![
                ("x-twilio-signature", sig),
                ("content-type", "application/json"),
            ];
            pairs.extend(settings.map(|v| (SETTINGS, v)));
            post(&[TOKEN], URL, &query, &pairs, JSON_BODY).expect("the body's hash in the URL");
            let changed = br#"{"property": "value", "boolean": false}"#;
            assert_eq!(post(&[TOKEN], URL, &query, &pairs, changed), MISMATCH);
        }
    }

    #[test]
    fn the_auth_token_and_the_sharedkey_secret_may_both_be_active() {
        // Each algorithm is tried with every active secret, as the SDK checks whichever token
        // the app gives it: the header picks the hash, never the secret.
        let keys: &[&[u8]] = &[b"sharedkey-secret", TOKEN];
        let sha256 = [(SETTINGS, SHA256)];
        let cases = [
            (BY_SHAREDKEY[1], &sha256[..], Ok("secret-0".to_owned())),
            (BY_TOKEN[0], &[], Ok("secret-1".to_owned())),
            (BY_SHAREDKEY[0], &[], Ok("secret-0".to_owned())),
            (BY_TOKEN[1], &sha256[..], Ok("secret-1".to_owned())),
            // A SharedKey signature without its settings is taken for HMAC-SHA1, and fails.
            (BY_SHAREDKEY[1], &[], MISMATCH),
            (BY_TOKEN[0], &sha256[..], MISMATCH),
        ];
        for (sig, extra, want) in cases {
            assert_eq!(form_with(keys, URL, sig, extra), want, "{sig} {extra:?}");
        }
    }

    #[test]
    fn inlet_sign_signs_as_a_sharedkey_when_given_the_settings() {
        use crate::core::verify::engine::{sign_with_headers, Signing};
        let s = Signing::post(PARAMS, 0, "", Some(URL));
        let given = |v: &str| vec![(SETTINGS.to_owned(), v.to_owned())];
        let signature = |given: &[(String, String)]| {
            sign_with_headers(&SCHEME, TOKEN, &s, given).map(|h| h[0].1.clone())
        };
        // The SDK's signatures; the settings header is the caller's to send.
        assert_eq!(signature(&given(SHA256)), Ok(BY_TOKEN[1].to_owned()));
        assert_eq!(signature(&[]), Ok(BY_TOKEN[0].to_owned()));
        assert_eq!(signature(&given("key=abc")), Ok(BY_TOKEN[0].to_owned()));
        let err = signature(&given("algorithm=HMAC_SHA512")).expect_err("unknown");
        assert!(err.contains("HMAC_SHA512"), "{err}");
        assert!(signature(&[given(SHA256), given(SHA256)].concat()).is_err());
    }

    #[test]
    fn the_public_url_is_required() {
        assert_eq!(
            check_request(
                &SCHEME,
                &[TOKEN],
                &[("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8="), FORM],
                PARAMS,
                0,
                &Method::POST,
                "",
                None,
            ),
            Err(VerifyError::MissingHeader { header: "host" })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(
            &SCHEME,
            TOKEN,
            b"CallSid=CA1&CallStatus=ringing&From=%2B14158675309",
        );
    }

    #[test]
    fn signing_a_json_body_needs_its_hash_in_the_url() {
        use crate::core::verify::engine::{sign, Signing};
        fn at(url: &str) -> Signing<'_> {
            Signing::post(JSON_BODY, 0, "", Some(url))
        }
        let err = sign(&SCHEME, TOKEN, &at(URL)).expect_err("no hash in the URL");
        assert!(err.contains(BODY_HASH), "{err}");
        let signed_url = format!("{URL}&bodySHA256={BODY_HASH}");
        let headers = sign(&SCHEME, TOKEN, &at(&signed_url)).expect("signs");
        assert_eq!(
            headers,
            vec![(
                "x-twilio-signature".to_owned(),
                "a9nBmqA0ju/hNViExpshrM61xv4=".to_owned()
            )]
        );
        let wrong = format!("{URL}&bodySHA256={}", "0".repeat(64));
        assert!(sign(&SCHEME, TOKEN, &at(&wrong)).is_err());
    }

    #[test]
    fn normalization_of_forms() {
        let url = "https://hooks.example.com/webhooks/twilio";
        let cases: &[(&[u8], &str, &str)] = &[
            (
                b"ToCountry=US&SmsMessageSid=SM5ef8732a3c49700934481addd5ce1659&NumMedia=0&SmsSid=SM5ef8732a3c49700934481addd5ce1659&SmsStatus=received&Body=Hello&To=%2B15005550006&MessageSid=SM5ef8732a3c49700934481addd5ce1659&AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&From=%2B14158675309&ApiVersion=2010-04-01",
                "twilio.message.received",
                "SM5ef8732a3c49700934481addd5ce1659",
            ),
            (
                b"SmsSid=SM5ef8732a3c49700934481addd5ce1659&SmsStatus=delivered&MessageStatus=delivered&To=%2B15005550006&MessageSid=SM5ef8732a3c49700934481addd5ce1659&AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&From=%2B14158675309&ApiVersion=2010-04-01",
                "twilio.message.delivered",
                "SM5ef8732a3c49700934481addd5ce1659",
            ),
            (
                b"CallSid=CA1234567890ABCDE&AccountSid=ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX&From=%2B14158675309&To=%2B18005551212&CallStatus=ringing&Direction=inbound&ApiVersion=2010-04-01",
                "twilio.call.ringing",
                "CA1234567890ABCDE",
            ),
        ];
        for (body, ty, subject) in cases {
            let signed = crate::core::verify::engine::sign(
                &SCHEME,
                b"twilio-auth-token",
                &crate::core::verify::engine::Signing::post(
                    body,
                    1_700_000_000,
                    "RE5d0a2ad3a2f4c2b3b1e2d3c4b5a6f7e8",
                    Some(url),
                ),
            )
            .expect("signs");
            let mut pairs: Vec<(&str, &str)> = signed
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            pairs.push(FORM);
            let source =
                crate::catalogue::sources::Source::new("twilio", &SCHEME).with_public_url(url);
            let got = deliver(
                source,
                "twilio-auth-token",
                Request::post(&pairs, body, 1_700_000_000),
            );
            assert_eq!(got.reply.status, 202, "{ty}");
            let e = &got.envelopes[0];
            assert_eq!(e["id"], "RE5d0a2ad3a2f4c2b3b1e2d3c4b5a6f7e8");
            assert_eq!(e["type"], *ty);
            assert_eq!(e["subject"], *subject);
            assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
            assert_eq!(e["data"]["From"], "+14158675309");
        }
    }

    #[test]
    fn normalization_of_json() {
        let body = br#"[{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","source":"/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/SM5ef8732a3c49700934481addd5ce1659.json","id":"EZ5ef8732a3c49700934481addd5ce1659","dataschema":"https://events-schemas.twilio.com/Messaging.MessageStatus/1","datacontenttype":"application/json","time":"2023-11-14T22:13:20.000Z","data":{"messageSid":"SM5ef8732a3c49700934481addd5ce1659","messageStatus":"DELIVERED"}}]"#;
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body));
        let registered = "https://hooks.example.com/webhooks/twilio";
        let signed_url = format!("{registered}?bodySHA256={hash}");
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            b"twilio-auth-token",
            &crate::core::verify::engine::Signing::post(body, 0, "", Some(&signed_url)),
        )
        .expect("signs");
        let mut pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push(("content-type", "application/json"));
        let source =
            crate::catalogue::sources::Source::new("twilio", &SCHEME).with_public_url(registered);
        let query = format!("bodySHA256={hash}");
        let got = deliver(
            source,
            "twilio-auth-token",
            Request {
                query: &query,
                ..Request::post(&pairs, body, 1_700_000_000)
            },
        );
        assert_eq!(got.reply.status, 202);
        assert_eq!(
            got.envelopes.len(),
            1,
            "one envelope per CloudEvent of the array"
        );
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "EZ5ef8732a3c49700934481addd5ce1659");
        assert_eq!(e["type"], "twilio.com.twilio.messaging.message.delivered");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(e["data"]["data"]["messageStatus"], "DELIVERED");
    }
}
