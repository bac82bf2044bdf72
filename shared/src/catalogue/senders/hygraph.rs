//! Hygraph (formerly GraphCMS; ngrok's `graphcms`): `gcms-signature: sign=<base64>, env=<environment>,
//! t=<unix milliseconds>`, the signature an HMAC-SHA256, keyed with the webhook's secret key (its
//! UTF-8 bytes), of the JSON document `{"Body":<raw body as a JSON string>,"EnvironmentName":<env>,
//! "TimeStamp":<t>}` exactly as JavaScript's `JSON.stringify` writes it.
//!
//! - Header, items, signed document, hash and encoding: Hygraph's own verifier,
//!   hygraph/hygraph-utils `index.js` (`verifyWebhookSignature`: split on `", "`, `JSON.stringify({
//!   Body: rawPayload, EnvironmentName, TimeStamp: parseInt(t) })`, `createHmac("sha256",
//!   secret)…digest("base64")`; `generateWebhookSignature` writes `t` as `Date.now()`,
//!   milliseconds). Hygraph's webhook docs (https://hygraph.com/docs/api-reference/basics/webhooks,
//!   linked from the utils' README) were not read for this file; a webhook without a secret key
//!   is taken to be unsigned (ngrok's Hygraph guide sets one) and is refused here.
//! - The signed document cannot be written as parts (the body is embedded as an escaped JSON
//!   string), so the code below builds it: `serde_json` escapes a string as `JSON.stringify` does
//!   (`\"`, `\\`, `\b \f \n \r \t`, other controls as `\u00xx`, everything else as is).
//! - Window: hygraph-utils checks none; Inlet's default, 300 seconds, on `t`.
//! - Body: `{"operation","data":{"__typename","id","stage","updatedAt",…}}` (the utils' test
//!   fixture and the docs). The type is `data.__typename` then `operation`
//!   (`hygraph.post.publish`), the subject `data.id`, the time `data.updatedAt`, else `t`.
//! - Id: no event id is sent, so the id is the body digest; bodies carry `updatedAt` in
//!   microseconds, so identical bytes are a retry (inferred from the documented bodies).
//! - No batches, no handshake.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::scheme::*;
use crate::core::verify::engine::Signing;
use crate::core::verify::{single_header, Unverified, VerifyError};

const HEADER: &str = "gcms-signature";

pub const SCHEME: Scheme = Scheme {
    name: "hygraph",
    title: "Hygraph (GraphCMS)",
    signature: Signature {
        at: &[Loc::Header(HEADER)],
        format: Format::Kv {
            sep: ", ",
            key: "sign",
        },
        all: false,
    },
    // What the document below covers; the code writes it.
    signed: &[Part::Body, Part::Timestamp],
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("data.__typename")),
        TypePart::Required(Loc::Json("operation")),
    ],
    subject: &[Loc::Json("data.id")],
    time: &[
        TimeLoc::At(Loc::Json("data.updatedAt"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    custom: Some(&SignedDocument),
    evidence: Evidence::Docs("hygraph/hygraph-utils index.js (run under Node against the vectors)"),
    note: "signs a JSON document embedding the body, the environment and t (ms); no event id is sent: the id is the body digest",
    repeats: Repeats::Retry,
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

/// Builds the JSON document Hygraph signs.
#[derive(Debug)]
struct SignedDocument;

/// `{"Body":…,"EnvironmentName":…,"TimeStamp":…}` as `JSON.stringify` writes it; `None` when the
/// body is not UTF-8 or `t` not a number.
fn document(body: &[u8], env: &str, t: &str) -> Option<Vec<u8>> {
    let body = std::str::from_utf8(body).ok()?;
    // `parseInt`, then written back as a JSON number.
    let t: u64 = t.parse().ok()?;
    let body = serde_json::to_string(body).ok()?;
    let env = serde_json::to_string(env).ok()?;
    Some(format!(r#"{{"Body":{body},"EnvironmentName":{env},"TimeStamp":{t}}}"#).into_bytes())
}

/// The value of `key` in the header's `k=v` items.
fn item<'v>(value: &'v str, key: &str) -> Option<&'v str> {
    value
        .split(',')
        .map(str::trim)
        .find_map(|i| i.strip_prefix(key)?.strip_prefix('='))
}

/// The document a request signs, read from its body and `gcms-signature` header.
fn signed_document(req: &Unverified<'_>) -> Result<Vec<u8>, VerifyError> {
    let malformed = VerifyError::MalformedSignature { header: HEADER };
    let value = single_header(req.headers, HEADER)?.ok_or(malformed.clone())?;
    let env = item(value, "env").ok_or(malformed)?;
    let t = item(value, "t").ok_or(VerifyError::InvalidTimestamp { header: "t" })?;
    // A body that is not UTF-8 is not what Hygraph signs.
    document(req.body, env, t).ok_or(VerifyError::SignatureMismatch { header: HEADER })
}

/// The header Hygraph sends for `s` in the `master` environment, as `generateWebhookSignature`
/// writes it.
fn signature(key: &[u8], s: &Signing<'_>) -> Result<Vec<(String, String)>, String> {
    let t = (s.at * 1000).to_string();
    let doc = document(s.body, "master", &t).ok_or("hygraph: the body must be UTF-8")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
    mac.update(&doc);
    let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(vec![(
        HEADER.to_owned(),
        format!("sign={sign}, env=master, t={t}"),
    )])
}

impl Custom for SignedDocument {
    fn signed_content(&self, req: &Unverified<'_>) -> Option<Result<Vec<u8>, VerifyError>> {
        Some(signed_document(req))
    }

    fn sign(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(signature(key, s))
    }
}

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// The secret of hygraph-utils' README and tests.
    const SECRET: &str = "rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx";
    /// A publish event with escapes and non-ASCII text in a string.
    const BODY: &[u8] = r#"{"operation":"publish","data":{"__typename":"Post","id":"ckwl0t4nc0b8m0b50hrhg9k8w","title":"Café \"naïve\" — 1\n2","stage":"PUBLISHED","updatedAt":"2021-11-29T18:21:57.652216+00:00"}}"#.as_bytes();
    /// Pretty-printed: raw newlines, which the document escapes.
    const PRETTY: &[u8] = b"{\n  \"operation\": \"update\",\n  \"data\": {\n    \"__typename\": \"Post\",\n    \"id\": \"ckwl0t4nc0b8m0b50hrhg9k8w\"\n  }\n}";
    /// Derived, not published: computed with Python's hmac and json, and accepted by
    /// hygraph-utils' own `verifyWebhookSignature` (index.js, run under Node 20) with `rawPayload`.
    const SIG: &str =
        "sign=HBA53jF5eMsGKdp7cgI5HXDbsnSx8v3lI1R73yCILmE=, env=master, t=1638210117652";
    const PRETTY_SIG: &str =
        "sign=vPdkIu17/awEL3qTfP9wuLrclXrToegWjFUH/uXhz7w=, env=master, t=1638210117652";
    const AT: u64 = 1_638_210_117;

    #[test]
    fn derived_vectors() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("gcms-signature", SIG)]);
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            PRETTY,
            &[("gcms-signature", PRETTY_SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "gcms-signature";
        assert_missing_and_duplicate(&SCHEME, SECRET, BODY, AT, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // The environment is signed: another one does not match.
            (
                &[(header, &SIG.replace("env=master", "env=staging"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &SIG.replace(", env=master", ""))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &SIG.replace("t=1638210117652", "t=soon"))],
                VerifyError::InvalidTimestamp { header: "t" },
            ),
            (
                &[(header, &SIG.replace("1638210117652", "1638210117653"))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &SIG.replace("sign=", "sig="))],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (header, &SIG.replace("master", "dev"))],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, AT, cases);
        // A body that is not UTF-8 is not Hygraph's.
        assert_eq!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(header, SIG)],
                b"{\"a\":\"\xff\"}",
                AT
            ),
            Err(VerifyError::SignatureMismatch { header })
        );
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("gcms-signature", SIG),
        ];
        assert_envelope_forged(
            Source::new("hygraph", &SCHEME),
            SECRET,
            "another-secret-key-of-32-characters",
            Request::post(&headers, BODY, AT),
            Want {
                id: Id::Digest,
                ty: "hygraph.post.publish",
                subject: Some("ckwl0t4nc0b8m0b50hrhg9k8w"),
                time: "2021-11-29T18:21:57.652Z",
            },
        );
    }

    #[test]
    fn identical_bytes_are_a_retry() {
        assert_identical_bytes_are_a_retry(
            Source::new("hygraph", &SCHEME),
            SECRET,
            Request::post(&[("gcms-signature", SIG)], BODY, AT),
        );
    }
}
