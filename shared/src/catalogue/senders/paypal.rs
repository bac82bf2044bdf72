//! PayPal (REST webhooks): `PAYPAL-TRANSMISSION-SIG` is base64 RSA PKCS#1 v1.5 with SHA-256
//! (`PAYPAL-AUTH-ALGO: SHA256withRSA`, the only algorithm accepted) over
//! `<PAYPAL-TRANSMISSION-ID>|<PAYPAL-TRANSMISSION-TIME>|<webhook id>|<CRC-32 of the raw body, as
//! an unsigned decimal>`. The configured "secret" is the webhook's id (as the developer portal
//! shows it: letters and digits, up to 50). The key is the first certificate of the PEM at
//! `PAYPAL-CERT-URL`, fetched (HTTPS only, cached): the URL must be
//! `https://{api,api-m}[.sandbox].paypal.com/v1/notifications/certs/…` with no user and no port,
//! checked before any connection; any other URL is a 401 and nothing is fetched. The certificate
//! must be valid now; its issuer is not checked beyond the TLS chain of the host it came from.
//!
//! The body is covered only through its CRC-32, which is not collision resistant: whoever holds
//! one genuine delivery can make another body with the same CRC and send it with the same
//! headers. The transmission time's window (300 s by default, either way) is what bounds that;
//! PayPal's own SDKs have no window at all. I take a retry to be a new transmission, with its own
//! id, time and signature (inferred: the Webhooks API lists an event's transmissions, and nothing
//! I read says so outright); were it not, retries older than the window would be refused (400),
//! and `WEBHOOK_TOLERANCE_SECONDS` widens it.
//!
//! id the event's `id` (`WH-…`, the same on every retry), type `paypal.<event_type>` lower-cased
//! (`paypal.payment.capture.completed`), subject `resource.id`, time `create_time`. No batches,
//! no handshake.
//!
//! Sources: "Integrate webhooks", <https://developer.paypal.com/api/rest/webhooks/rest/> (the
//! Webhook ID, retries up to 25 times over 3 days; I read that page only in part: its
//! self-verification sample, which builds `transmissionId|transmissionTime|webhookId|crc32` with
//! `buffer-crc32`'s unsigned decimal value and fetches `paypal-cert-url`, I know from secondary
//! descriptions of it); "Verify webhook signature",
//! <https://developer.paypal.com/api/webhooks/v1/#verify-webhook-signature_post> (the five
//! headers, `auth_algo`, `webhook_id` `^[a-zA-Z0-9]+$` up to 50); paypal/PayPal-Java-SDK
//! `rest-api-sdk/src/test/java/com/paypal/base/ValidateCertTest.java` (a real delivery's headers:
//! the cert URL `https://api.sandbox.paypal.com/v1/notifications/certs/CERT-…`, `SHA256withRSA`).
//! The host list (`api`, `api-m`, each with `.sandbox`) and the path prefix are my reading of
//! the cert URLs PayPal's SDK tests and docs show; PayPal documents no host list. The vector
//! below was derived, not published: Python's `zlib.crc32` and `cryptography` made it with a
//! test key.

use crate::core::scheme::*;
use crate::core::verify::engine::{parse_time, B64};
use crate::core::verify::fetch::{certificate_key, check_url, HostRule, KeyRequest};
use crate::core::verify::keys::Asym;
use crate::core::verify::{check_window, single_header, Clock, SecretSet, Unverified, VerifyError};

use base64::Engine as _;

const ID: &str = "paypal-transmission-id";
const TIME: &str = "paypal-transmission-time";
const SIG: &str = "paypal-transmission-sig";
const CERT_URL: &str = "paypal-cert-url";
const ALGO: &str = "paypal-auth-algo";
/// PayPal's API hosts, live and sandbox.
const HOSTS: &[HostRule] = &[
    HostRule::Exact("api.paypal.com"),
    HostRule::Exact("api-m.paypal.com"),
    HostRule::Exact("api.sandbox.paypal.com"),
    HostRule::Exact("api-m.sandbox.paypal.com"),
];

pub const SCHEME: Scheme = Scheme {
    name: "paypal",
    title: "PayPal",
    signature: Signature {
        at: &[Loc::Header(SIG)],
        format: Format::Plain,
        all: false,
    },
    // With the webhook id and the body's CRC-32, by `CertSigned`.
    signed: &[Part::Header(ID), Part::Header(TIME), Part::Body],
    algorithm: Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha256),
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header(TIME)],
        unit: Unit::Rfc3339,
        tolerance: 300,
    }),
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    type_chars: "_-.",
    subject: &[Loc::Json("resource.id")],
    time: &[TimeLoc::At(Loc::Json("create_time"), Unit::Rfc3339)],
    custom: Some(&CertSigned),
    evidence: Evidence::Docs(
        "paypal/PayPal-Java-SDK ValidateCertTest.java (headers, cert URL, SHA256withRSA); vectors from Python zlib.crc32 + cryptography",
    ),
    note: "the secret is the webhook's id; the signing certificate is fetched from PayPal's API hosts only (api, api-m, and their sandbox); the body is covered only by its CRC-32, so the transmission time's window (300 s) bounds a replayed delivery with an altered body",
    ..Scheme::BASE
};

/// PayPal's signed string, and its certificate.
#[derive(Debug)]
struct CertSigned;

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A header that must be there once.
fn required<'h>(req: &Unverified<'h>, name: &'static str) -> Result<&'h str, VerifyError> {
    single_header(req.headers, name)?.ok_or(VerifyError::MissingHeader { header: name })
}

/// The signature, the transmission id and time (raw and in seconds), checked before anything is
/// fetched.
fn precheck<'h>(req: &Unverified<'h>) -> Result<(Vec<u8>, &'h str, &'h str, i64), VerifyError> {
    let sig =
        single_header(req.headers, SIG)?.ok_or(VerifyError::MissingSignature { header: SIG })?;
    let sig = B64
        .decode(sig)
        .map_err(|_| VerifyError::MalformedSignature { header: SIG })?;
    if !required(req, ALGO)?.eq_ignore_ascii_case("SHA256withRSA") {
        return Err(VerifyError::MalformedSignature { header: ALGO });
    }
    let id = required(req, ID)?;
    let time = required(req, TIME)?;
    let seconds =
        parse_time(time, Unit::Rfc3339).ok_or(VerifyError::InvalidTimestamp { header: TIME })?;
    Ok((sig, id, time, seconds))
}

impl Custom for CertSigned {
    fn fetches_keys(&self) -> bool {
        true
    }

    /// A webhook id, for `inlet serve` and `inlet send` (which sign and verify with the CLI's
    /// development keys, infra/cli/src/devkeys.rs).
    fn dev_secret(&self, _text: &str) -> Option<String> {
        Some("INLETDEVWEBHOOK".into())
    }

    /// The webhook id, as the developer portal shows it.
    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        let id = secret.trim();
        Some(
            if !id.is_empty() && id.len() <= 50 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                Ok(id.as_bytes().to_vec())
            } else {
                Err("the secret is the PayPal webhook's id (letters and digits, up to 50)".into())
            },
        )
    }

    fn key_request(
        &self,
        req: &Unverified<'_>,
        _secrets: &SecretSet,
    ) -> Option<Result<KeyRequest, VerifyError>> {
        Some((|| {
            precheck(req)?;
            let url = check_url(required(req, CERT_URL)?, HOSTS, |path| {
                path.starts_with("/v1/notifications/certs/") && !path.contains('?')
            })
            .map_err(|_| VerifyError::MalformedSignature { header: CERT_URL })?;
            Ok(KeyRequest::get(url))
        })())
    }

    fn verify_fetched(
        &self,
        req: &Unverified<'_>,
        secret: &[u8],
        fetched: &[u8],
        clock: &Clock,
    ) -> Option<Result<Option<i64>, VerifyError>> {
        Some((|| {
            let (sig, id, time, seconds) = precheck(req)?;
            let Some(key) = certificate_key(fetched, clock.now) else {
                return Ok(None);
            };
            let mut signed = format!("{id}|{time}|").into_bytes();
            signed.extend_from_slice(secret);
            signed.extend_from_slice(format!("|{}", crc32(req.body)).as_bytes());
            if !key.verify(Asym::RsaPkcs1v15(Hash::Sha256), &signed, &sig) {
                return Ok(None);
            }
            check_window(seconds, clock)?;
            Ok(Some(seconds))
        })())
    }

    fn signs(&self, loc: &Loc) -> bool {
        matches!(
            loc,
            Loc::Json(_) | Loc::Digest | Loc::Header(ID) | Loc::Header(TIME)
        )
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::core::verify::fetch::fixtures::*;
    use crate::ports::fetched::MemoryKeys;

    const WEBHOOK_ID: &str = "9XL90610J3647323C";
    const URL: &str =
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77";
    const TID: &str = "d938e770-8046-11e6-8103-6b62a8a99ac4";
    const WHEN: &str = "2016-09-21T22:00:46Z";
    const AT: u64 = 1_474_495_246;
    const BODY: &[u8] = br#"{"id":"WH-9UG43882HX7271132-6E0871324L7949614","event_version":"1.0","create_time":"2016-09-21T22:00:45Z","resource_type":"sale","event_type":"PAYMENT.SALE.COMPLETED","summary":"Payment completed for $ 21.0 USD","resource":{"id":"80F85758S3080410K","state":"completed","amount":{"total":"21.00","currency":"USD"}}}"#;
    /// Derived, not published: Python's `cryptography` signed
    /// `TID|WHEN|WEBHOOK_ID|1367957013` (`zlib.crc32(BODY)`) with the test signer's key.
    const SIGNATURE: &str = "JaAdYJBNP72zfE+xicixolAoUJX4uk15eXN7OtXeeuB8glShfZ4MoS565lnu2ql9iRFwp3Udnd5Wnug0yZFm5CHLCcb7Qht/alX9yCclwsmPrSzfLjJ01ArNxPZS4h1utozO8zOkjg1FdMcVIY/IYI75pWC4zW0QIy7ytfn0wxo1V9zrV38NxAQAz4ChKGgS0yvAZXXTcFJUgJDl3j3EQwhS+t0g/IacpE2NULZ7WTQd+9S0vZqkmqCZNc6NXGZLkqbfvQQU6QCkP+xmelss0BIENmsTNU10pRXgKK2McnCQJP4z1/Ggf4KuKPC661X2SncsYNAB+7hHy/Fbq8tO3g==";

    fn headers<'a>(sig: &'a str, time: &'a str, url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("content-type", "application/json"),
            ("paypal-transmission-id", TID),
            ("paypal-transmission-time", time),
            ("paypal-transmission-sig", sig),
            ("paypal-cert-url", url),
            ("paypal-auth-algo", "SHA256withRSA"),
        ]
    }

    fn sign(key: &str, time: &str, body: &[u8]) -> String {
        let msg = format!("{TID}|{time}|{WEBHOOK_ID}|{}", crc32(body));
        rsa_sign(key, Hash::Sha256, msg.as_bytes())
    }

    fn keys() -> Arc<MemoryKeys> {
        Arc::new(MemoryKeys::default().with(URL, SIGNER_CERT.as_bytes()))
    }

    fn run(
        secrets: &[&str],
        headers: &[(&str, &str)],
        body: &[u8],
        now: u64,
    ) -> (u16, Vec<serde_json::Value>, Arc<MemoryKeys>) {
        let keys = keys();
        let (reply, queued) = deliver(&SCHEME, secrets, keys.clone(), headers, body, now);
        (reply.status, queued, keys)
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(BODY), 1_367_957_013);
    }

    #[test]
    fn derived_vector_and_normalization() {
        let (status, queued, keys) = run(&[WEBHOOK_ID], &headers(SIGNATURE, WHEN, URL), BODY, AT);
        assert_eq!(status, 202);
        assert_eq!(keys.asked(), [URL]);
        let e = &queued[0];
        assert_eq!(e["id"], "WH-9UG43882HX7271132-6E0871324L7949614");
        assert_eq!(e["type"], "paypal.payment.sale.completed");
        assert_eq!(e["subject"], "80F85758S3080410K");
        assert_eq!(e["time"], "2016-09-21T22:00:45.000Z");
    }

    #[test]
    fn round_trip_tampering_window_and_second_secret() {
        let sig = sign(SIGNER_KEY, WHEN, BODY);
        assert_eq!(sig, SIGNATURE, "RSA PKCS#1 v1.5 is deterministic");
        // A second webhook id beside the first.
        assert_eq!(
            run(&["OTHER1", WEBHOOK_ID], &headers(&sig, WHEN, URL), BODY, AT).0,
            202
        );
        // Another webhook's id, a changed body, a changed time, the forger's key.
        assert_eq!(run(&["OTHER1"], &headers(&sig, WHEN, URL), BODY, AT).0, 401);
        let mut tampered = BODY.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            run(&[WEBHOOK_ID], &headers(&sig, WHEN, URL), &tampered, AT).0,
            401
        );
        assert_eq!(
            run(
                &[WEBHOOK_ID],
                &headers(&sig, "2016-09-21T22:00:47Z", URL),
                BODY,
                AT
            )
            .0,
            401
        );
        let forged = sign(FORGER_KEY, WHEN, BODY);
        let (status, queued, _) = run(&[WEBHOOK_ID], &headers(&forged, WHEN, URL), BODY, AT);
        assert_eq!((status, queued.len()), (401, 0));
        // The window: 300 s either way.
        assert_eq!(
            run(&[WEBHOOK_ID], &headers(&sig, WHEN, URL), BODY, AT + 300).0,
            202
        );
        assert_eq!(
            run(&[WEBHOOK_ID], &headers(&sig, WHEN, URL), BODY, AT + 301).0,
            400
        );
        assert_eq!(
            run(&[WEBHOOK_ID], &headers(&sig, WHEN, URL), BODY, AT - 301).0,
            400
        );
    }

    #[test]
    fn malformed_missing_duplicate_and_foreign_certificates_are_refused() {
        let good = headers(SIGNATURE, WHEN, URL);
        let without = |name: &str| -> Vec<(&str, &str)> {
            good.iter().copied().filter(|(n, _)| *n != name).collect()
        };
        let with = |name: &'static str, value: &'static str| -> Vec<(&str, &str)> {
            good.iter()
                .map(|&(n, v)| if n == name { (n, value) } else { (n, v) })
                .collect()
        };
        for name in [SIG, ID, TIME, CERT_URL, ALGO] {
            let (status, queued, keys) = run(&[WEBHOOK_ID], &without(name), BODY, AT);
            assert_eq!((status, queued.len()), (401, 0), "{name}");
            assert!(keys.asked().is_empty(), "{name}");
            let mut twice = good.clone();
            twice.push(*good.iter().find(|(n, _)| *n == name).expect("header"));
            assert_eq!(run(&[WEBHOOK_ID], &twice, BODY, AT).0, 401, "{name} twice");
        }
        for (name, value) in [
            (SIG, "%%%"),
            (ALGO, "SHA1withRSA"),
            (TIME, "yesterday"),
            (
                CERT_URL,
                "http://api.sandbox.paypal.com/v1/notifications/certs/C",
            ),
            (
                CERT_URL,
                "https://api.sandbox.paypal.com.evil.com/v1/notifications/certs/C",
            ),
            (
                CERT_URL,
                "https://api.paypal.com@evil.com/v1/notifications/certs/C",
            ),
            (
                CERT_URL,
                "https://api.paypal.com:8443/v1/notifications/certs/C",
            ),
            (CERT_URL, "https://www.paypal.com/v1/notifications/certs/C"),
            (CERT_URL, "https://api.paypal.com/v1/oauth2/token"),
            (CERT_URL, "https://64.4.250.36/v1/notifications/certs/C"),
        ] {
            let (status, queued, keys) = run(&[WEBHOOK_ID], &with(name, value), BODY, AT);
            assert_eq!((status, queued.len()), (401, 0), "{name}: {value}");
            assert!(keys.asked().is_empty(), "{name}: {value} was fetched");
        }
        // A certificate that cannot be fetched: 503, never an accept.
        let (status, queued, keys) = run(
            &[WEBHOOK_ID],
            &with(
                CERT_URL,
                "https://api-m.paypal.com/v1/notifications/certs/CERT-missing",
            ),
            BODY,
            AT,
        );
        assert_eq!((status, queued.len()), (503, 0));
        assert_eq!(keys.asked().len(), 1);
    }

    #[test]
    fn the_secret_is_a_webhook_id() {
        let decode = |s: &str| crate::core::verify::engine::decode_secret(&SCHEME, s);
        assert_eq!(decode(WEBHOOK_ID), Ok(WEBHOOK_ID.as_bytes().to_vec()));
        assert!(decode(&CertSigned.dev_secret("x").expect("dev")).is_ok());
        for bad in ["", "has space", "semi;colon", &"A".repeat(51)] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }
}
