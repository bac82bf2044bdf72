//! Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` under the account's auth token (UTF-8),
//! over the full URL Twilio requested followed, for form bodies, by every parameter name and
//! value, names sorted, each name's distinct values sorted (`{url}{name}{value}…`, as
//! twilio-python's `RequestValidator` does, duplicates dropped). A JSON body is signed through
//! its hash: the URL carries `bodySHA256=<hex SHA-256 of the body>`, which must match, and only
//! the URL is signed. No timestamp is signed. The id is the unsigned `I-Twilio-Idempotency-Token`
//! (the body digest keys duplicates); form bodies become JSON with type `twilio.call.<CallStatus>`
//! or `twilio.message.<MessageStatus|SmsStatus>`. Limitation: the SDK also tries the URL with
//! and without the default port (`:443`/`:80`); Inlet signs the URL as configured only. Nor
//! does Inlet take webhooks signed with a SharedKey whose `X-Twilio-Webhooks-Signature-Settings`
//! names `algorithm=HMAC_SHA256` (twilio 9.13.0 verifies those): only the auth token's HMAC-SHA1.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::normalize::{
    body_kind, event_type, form_to_json, required_header, BodyKind, Disposition, Draft, Envelope,
    NormalizeError, Payload, JSON,
};
use crate::scheme::*;
use crate::verify::engine::{encode, query_param, Signing};
use crate::verify::{Unverified, Verified, VerifyError};

const SIGNATURE: &str = "x-twilio-signature";
const IDEMPOTENCY: &str = "i-twilio-idempotency-token";

pub const SCHEME: Scheme = Scheme {
    name: "twilio",
    title: "Twilio",
    signature: Signature {
        at: &[Loc::Header(SIGNATURE)],
        format: Format::Plain,
        all: false,
    },
    // What `UrlAndParams` computes; listed so the scheme reads as what it signs.
    signed: &[Part::Url, Part::Body],
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    id: &[Loc::Header(IDEMPOTENCY), Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("0.type")),
        TypePart::Optional(Loc::Json("type")),
    ],
    subject: &[Loc::Json("0.subject")],
    time: &[TimeLoc::At(Loc::Json("0.time"), Unit::Rfc3339)],
    body: Body::JSON_OR_FORM,
    custom: Some(&UrlAndParams),
    evidence: Evidence::Sdk("twilio 9.13.0 (PyPI)"),
    note: "set PUBLIC_URL to the webhook URL exactly as configured in Twilio (the :443/:80 variants the SDK also tries are not); JSON bodies must carry bodySHA256 in the URL; id is the unsigned I-Twilio-Idempotency-Token (duplicates by body digest)",
    ..Scheme::BASE
};

/// Twilio's signed content (the URL, then the sorted form parameters or nothing), its signer,
/// and its form bodies as envelopes.
#[derive(Debug)]
struct UrlAndParams;

impl Custom for UrlAndParams {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        Some(content(req))
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
        Some(sign(key, s))
    }

    /// The body is covered (its parameters, or its hash), and so is the URL's query.
    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(_) | Loc::Digest | Loc::Query(_))
    }

    fn signs_url(&self) -> bool {
        true
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

/// `{url}` then `{name}{value}` for each name (sorted) and each of its distinct values (sorted).
fn url_and_params(url: &str, body: &[u8]) -> Vec<u8> {
    let mut params: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        params
            .entry(name.into_owned())
            .or_default()
            .insert(value.into_owned());
    }
    let mut content = url.as_bytes().to_vec();
    for (name, values) in &params {
        for value in values {
            content.extend_from_slice(name.as_bytes());
            content.extend_from_slice(value.as_bytes());
        }
    }
    content
}

fn content(req: &Unverified<'_>) -> Result<Vec<u8>, VerifyError> {
    let configured = req
        .url
        .ok_or(VerifyError::MissingHeader { header: "host" })?;
    let url = requested_url(configured, req.query);
    if let Some(hash) = body_hash(&url) {
        let matches = hex::decode(hash.trim()).is_ok_and(|h| h == Sha256::digest(req.body)[..]);
        if !matches {
            return Err(VerifyError::SignatureMismatch { header: SIGNATURE });
        }
        return Ok(url.into_bytes());
    }
    // Without a body hash only the form parameters can cover the body.
    let is_form = !req.headers.contains_key(http::header::CONTENT_TYPE)
        || body_kind(req.headers) == BodyKind::Form;
    if !req.body.is_empty() && !is_form {
        return Err(VerifyError::MissingHeader {
            header: "bodySHA256",
        });
    }
    Ok(url_and_params(&url, req.body))
}

fn sign(key: &[u8], s: &Signing<'_>) -> Result<Vec<(String, String)>, String> {
    let url = s
        .url
        .ok_or_else(|| "twilio signs the URL: give --url".to_owned())?;
    let hash = hex::encode(Sha256::digest(s.body));
    let content = match body_hash(url) {
        Some(given) if given.eq_ignore_ascii_case(&hash) => url.as_bytes().to_vec(),
        Some(_) => {
            return Err(format!(
                "twilio: bodySHA256 in --url is not the body's SHA-256 ({hash})"
            ))
        }
        None if serde_json::from_slice::<serde::de::IgnoredAny>(s.body).is_ok()
            && matches!(s.body.first(), Some(b'{' | b'[')) =>
        {
            return Err(format!(
                "twilio: a JSON body is signed through its hash: add bodySHA256={hash} to the --url query"
            ))
        }
        None => url_and_params(url, s.body),
    };
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
        .map_err(|_| "an HMAC key of any length is accepted".to_owned())?;
    mac.update(&content);
    let mut headers = vec![(
        SIGNATURE.to_owned(),
        encode(Encoding::Base64, &mac.finalize().into_bytes()),
    )];
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
            if !crate::normalize::engine::plain(token) {
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
    let (id, key) = crate::normalize::engine::unsigned_id(&SCHEME, token, v.body());
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
    use crate::senders::testing::*;
    use crate::verify::VerifyError;
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

    #[test]
    fn the_default_port_variants_are_a_documented_limitation() {
        // twilio-python also accepts these (`add_port`): Inlet signs the URL as configured.
        let with_443 = "kvajT1Ptam85bY51eRf/AJRuM3w=";
        assert_eq!(run(URL, "", FORM.1, PARAMS, with_443), MISMATCH);
        run(
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            "",
            FORM.1,
            PARAMS,
            with_443,
        )
        .expect("configured with the port, it verifies");
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
        use crate::verify::engine::{sign, Signing};
        fn at(url: &str) -> Signing<'_> {
            Signing {
                body: JSON_BODY,
                at: 0,
                id: "",
                url: Some(url),
                method: "POST",
            }
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
            let signed = crate::verify::engine::sign(
                &SCHEME,
                b"twilio-auth-token",
                &crate::verify::engine::Signing {
                    body,
                    at: 1_700_000_000,
                    id: "RE5d0a2ad3a2f4c2b3b1e2d3c4b5a6f7e8",
                    url: Some(url),
                    method: "POST",
                },
            )
            .expect("signs");
            let mut pairs: Vec<(&str, &str)> = signed
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            pairs.push(FORM);
            let source = crate::sources::Source::new("twilio", &SCHEME).with_public_url(url);
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
        let signed = crate::verify::engine::sign(
            &SCHEME,
            b"twilio-auth-token",
            &crate::verify::engine::Signing {
                body,
                at: 0,
                id: "",
                url: Some(&signed_url),
                method: "POST",
            },
        )
        .expect("signs");
        let mut pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        pairs.push(("content-type", "application/json"));
        let source = crate::sources::Source::new("twilio", &SCHEME).with_public_url(registered);
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
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::normalize::body_digest_id(body));
        assert_eq!(e["type"], "twilio.com.twilio.messaging.message.delivered");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
    }
}
