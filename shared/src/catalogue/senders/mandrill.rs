//! Mandrill (Mailchimp Transactional) webhooks: `X-Mandrill-Signature: <base64 HMAC-SHA1>` under
//! the webhook's key (its UTF-8 bytes) over the webhook URL exactly as registered followed by
//! every POST parameter, sorted by name, as `{name}{value}` (values form-decoded). Sources:
//! Mailchimp's "Authenticating webhook requests"
//! (https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests,
//! its PHP `generateSignature`: `$signed_data = $url; ksort($params); foreach … $signed_data .=
//! $key; $signed_data .= $value;` then `base64_encode(hash_hmac('sha1', …, true))`), cross-checked
//! against django-anymail's `anymail/webhooks/mandrill.py` (`MandrillSignatureMixin`), which
//! signs the same way. Set `PUBLIC_URL` to the URL as registered with Mandrill. No timestamp is
//! signed, so no replay window applies. A repeated parameter counts once, its last value (PHP's
//! `$_POST`).
//!
//! The body is the form `mandrill_events=<JSON array of events>` (each with `event`, `_id` the
//! message, `ts`); Mandrill retries a failed batch with the same bytes (inferred) and sends
//! `mandrill_events=[]` as its test. The engine does not split a batch held inside a form field,
//! so one delivery is one envelope of type `mandrill.events` whose data is the array, its id the
//! body digest. Adding a webhook sends a `HEAD` to the URL, answered 200.

use std::collections::BTreeMap;

use crate::core::scheme::*;
use crate::core::verify::engine::{encode, hmac, Signing};
use crate::core::verify::{Unverified, VerifyError};

const HEADER: &str = "x-mandrill-signature";

pub const SCHEME: Scheme = Scheme {
    name: "mandrill",
    title: "Mandrill (Mailchimp Transactional)",
    signature: Signature {
        at: &[Loc::Header(HEADER)],
        format: Format::Plain,
        all: false,
    },
    // What `UrlAndParams` signs; listed so the scheme reads as what it signs.
    signed: &[Part::Url, Part::Body],
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Lit("events")],
    body: Body {
        json: false,
        form: Form::JsonIn("mandrill_events"),
        other: false,
    },
    handshakes: &[Handshake::TrelloHead],
    custom: Some(&UrlAndParams),
    evidence: Evidence::Docs("django-anymail anymail/webhooks/mandrill.py"),
    note: "set PUBLIC_URL to the webhook URL as registered with Mandrill; no timestamp is signed, so no replay window applies; one envelope per delivery, its data the array of events",
    ..Scheme::BASE
};

/// The URL, then each form parameter sorted by name.
#[derive(Debug)]
struct UrlAndParams;

fn content(url: &str, body: &[u8]) -> Vec<u8> {
    let params: BTreeMap<String, String> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut signed = url.as_bytes().to_vec();
    for (name, value) in params {
        signed.extend_from_slice(name.as_bytes());
        signed.extend_from_slice(value.as_bytes());
    }
    signed
}

impl Custom for UrlAndParams {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        Some(
            req.url
                .map(|url| content(url, req.body))
                .ok_or(VerifyError::MissingHeader { header: "host" }),
        )
    }

    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        let Some(url) = s.url else {
            return Some(Err("mandrill signs the URL: give --url".into()));
        };
        let mac = hmac(Hash::Sha1, key, &[&content(url, s.body)]);
        Some(Ok(vec![(
            HEADER.to_owned(),
            encode(Encoding::Base64, &mac),
        )]))
    }

    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(_) | Loc::Digest)
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

    const KEY: &str = "KfFuThPttL_KoUyDndHW3A";
    const HOOK: &str = "https://hooks.example.com/mandrill";
    /// A `send` event, shortened from Mailchimp's "Event webhook format" example, form-encoded.
    const BODY: &[u8] = b"mandrill_events=%5B%7B%22event%22%3A%22send%22%2C%22_id%22%3A%22exampleaaaaaaaaaaaaaaaaaaaaaaaaa%22%2C%22ts%22%3A1700000000%2C%22msg%22%3A%7B%22email%22%3A%22example.webhook%40mandrillapp.com%22%7D%7D%5D";
    /// Derived, not published: Python's hmac/base64 over HOOK + "mandrill_events" + the decoded
    /// array, with KEY (Mailchimp's PHP `generateSignature`).
    const SIG: &str = "wLy6bOq4ZmWS5VqLWX/I9cR2qT8=";
    const NOW: u64 = 1_700_000_000;
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

    fn at(url: &str, pairs: &[(&str, &str)], body: &[u8]) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[KEY.as_bytes()],
            pairs,
            body,
            NOW,
            &Method::POST,
            "",
            Some(url),
        )
    }

    #[test]
    fn derived_vector() {
        at(HOOK, &[(HEADER_NAME, SIG)], BODY).expect("verifies");
        assert!(at(
            "https://hooks.example.com/other",
            &[(HEADER_NAME, SIG)],
            BODY
        )
        .is_err());
        assert!(at(HOOK, &[(HEADER_NAME, SIG)], &BODY[..BODY.len() - 3]).is_err());
        assert!(check_request(
            &SCHEME,
            &[b"another"],
            &[(HEADER_NAME, SIG)],
            BODY,
            NOW,
            &Method::POST,
            "",
            Some(HOOK)
        )
        .is_err());
    }

    const HEADER_NAME: &str = "x-mandrill-signature";

    #[test]
    fn parameters_are_sorted_and_decoded() {
        // b=2&a=1 signs as URL + "a1" + "b2".
        use base64::Engine;
        let mac = crate::core::verify::engine::hmac(
            crate::core::scheme::Hash::Sha1,
            KEY.as_bytes(),
            &[format!("{HOOK}a1 xb2").as_bytes()],
        );
        let sig = crate::core::verify::engine::B64.encode(mac);
        at(HOOK, &[(HEADER_NAME, &sig)], b"b=2&a=1+x").expect("sorted, decoded");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, KEY.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER_NAME;
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "not base64!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "AAAA")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(at(HOOK, pairs, BODY).as_ref(), Err(want), "{pairs:?}");
        }
    }

    #[test]
    fn normalization() {
        let source = || Source::new("mandrill", &SCHEME).with_public_url(HOOK);
        let e = assert_envelope(
            source(),
            KEY,
            Request::post(&[FORM, (HEADER_NAME, SIG)], BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "mandrill.events",
                subject: None,
                // No time is read: the receipt's.
                time: "2023-11-14T22:13:20.000Z",
            },
        );
        assert_eq!(e["data"][0]["event"], "send");
        let head = deliver(
            source(),
            KEY,
            Request {
                method: &Method::HEAD,
                query: "",
                headers: &[],
                body: b"",
                now: NOW,
            },
        );
        assert_eq!(head.reply.status, 200);
        assert!(head.envelopes.is_empty());
    }
}
