//! Amazon SNS (HTTP/S subscriptions): the body is a JSON message whose `Signature` (base64) is
//! RSA PKCS#1 v1.5 over SHA-1 (`SignatureVersion` `1`) or SHA-256 (`2`) of the string to sign:
//! for each of `Message`, `MessageId`, `Subject`, `SubscribeURL`, `Timestamp`, `Token`,
//! `TopicArn`, `Type` present in the message, in that order, `<name>\n<value>\n` (a
//! Notification has no `SubscribeURL` or `Token`; `Subject` only when the publisher gave one).
//! The key is the certificate at `SigningCertURL`, fetched (HTTPS only, cached) from SNS: the URL
//! must be `https://sns.<region>.amazonaws.com/….pem` or `…amazonaws.com.cn` (the partitions
//! the SDK's host pattern names: commercial, GovCloud, China), with no user, no port, checked
//! before any connection; any other URL is a 401 and nothing is fetched. The certificate must be
//! valid now. The configured "secret" is the topic ARN the subscription is for (several topics:
//! several secrets): AWS's docs say to reject any message with an unexpected `TopicArn`, and
//! without it anyone's topic could post here, since any SNS topic's messages are signed by the
//! same certificates. Checked before the certificate is fetched.
//!
//! The `Timestamp` (RFC 3339, signed) is when SNS published the message; SNS retries with the
//! same message, so the window is wide: an hour by default, as I recall the cap on an HTTP/S
//! delivery policy's total retry time ("Amazon SNS message delivery retries"; not re-checked
//! here, so inferred). A longer custom policy needs `WEBHOOK_TOLERANCE_SECONDS` raised to match.
//! id `MessageId` (signed, the same on every retry), type `aws-sns.notification`, subject
//! `TopicArn`, time `Timestamp`; the envelope's data is the whole SNS message (its `Message`,
//! `Subject` and `MessageAttributes` as sent; the attributes are not signed). The
//! `x-amz-sns-message-type` header is unsigned and not read.
//!
//! Handshakes, never queued: a `SubscriptionConfirmation` is answered 200 only after its
//! signature verifies and its `SubscribeURL` (on the same SNS hosts, `Action=ConfirmSubscription`)
//! has been visited through the same HTTPS client; a visit that fails is a 503 so SNS tries
//! again. An `UnsubscribeConfirmation` is logged (its type only) and answered 200. A
//! raw-message-delivery subscription sends the bare message, unsigned: refused (401).
//!
//! Sources: "Verifying the signatures of Amazon SNS messages",
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html> (fields,
//! versions, HTTPS, reject unexpected TopicArn); "Parsing message formats"
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html> (the three
//! message types, SubscribeURL); the AWS SDK for PHP validator,
//! aws/aws-php-sns-message-validator `src/MessageValidator.php` (the string to sign: the eight
//! names in order, each `name\nvalue\n` when set; the host pattern
//! `^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$`; the path ending `.pem`). The vectors
//! below were derived, not published: Python's `cryptography` signed them with a test key; AWS's
//! own JavaScript validator, `sns-validator` 0.3.5 (aws/aws-js-sns-message-validator), accepted
//! both and refused them tampered, checked by hand against the test certificate (not a
//! committed oracle: it would need the package added to tests/sdk).

use std::time::SystemTime;

use serde_json::{Map, Value};
use tracing::info;

use crate::core::normalize::{
    event_type, Disposition, Draft, Envelope, KeyBasis, NormalizeError, Payload, JSON,
};
use crate::core::response::Reply;
use crate::core::scheme::*;
use crate::core::verify::engine::{parse_time, B64};
use crate::core::verify::fetch::{certificate_key, check_url, CheckedUrl, HostRule, KeyRequest};
use crate::core::verify::keys::Asym;
use crate::core::verify::{check_window, Clock, SecretSet, Unverified, Verified, VerifyError};

use base64::Engine as _;

/// The names signed, in the order they are signed.
const SIGNED: [&str; 8] = [
    "Message",
    "MessageId",
    "Subject",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
];
/// SNS's regional endpoints, as the AWS SDK's validator names them.
const HOSTS: &[HostRule] = &[
    HostRule::Label {
        prefix: "sns.",
        suffix: ".amazonaws.com",
    },
    HostRule::Label {
        prefix: "sns.",
        suffix: ".amazonaws.com.cn",
    },
];
const NOTIFICATION: &str = "Notification";
const SUBSCRIBE: &str = "SubscriptionConfirmation";
const UNSUBSCRIBE: &str = "UnsubscribeConfirmation";

pub const SCHEME: Scheme = Scheme {
    name: "aws-sns",
    title: "Amazon SNS",
    signature: Signature {
        at: &[Loc::Json("Signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[
        Part::Json("Message"),
        Part::Json("MessageId"),
        Part::Json("Subject"),
        Part::Json("Timestamp"),
        Part::Json("TopicArn"),
        Part::Json("Type"),
    ],
    // Version 2's; version 1 (SHA-1) is chosen by the message (`inletverification` says
    // `rsa-sha256` for both).
    algorithm: Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha256),
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Json("Timestamp")],
        unit: Unit::Rfc3339,
        tolerance: 3600,
    }),
    id: &[Loc::Json("MessageId")],
    ty: &[TypePart::Lit("notification")],
    subject: &[Loc::Json("TopicArn")],
    time: &[TimeLoc::At(Loc::Json("Timestamp"), Unit::Rfc3339)],
    custom: Some(&Sns),
    evidence: Evidence::Docs(
        "aws/aws-php-sns-message-validator src/MessageValidator.php (string to sign, host pattern); vectors signed by Python cryptography, accepted by AWS's sns-validator 0.3.5",
    ),
    note: "the secret is the topic ARN (one secret per topic); the signing certificate is fetched from sns.<region>.amazonaws.com(.cn) only; SubscriptionConfirmation is confirmed by visiting its SubscribeURL after its signature verifies, UnsubscribeConfirmation logged, neither queued; raw message delivery is unsigned and refused",
    ..Scheme::BASE
};

/// SNS's message as signed, its certificate, and its handshakes.
#[derive(Debug)]
struct Sns;

/// The message's members, when the body is a JSON object.
fn message(body: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_slice(body).ok()
}

fn text<'m>(m: &'m Map<String, Value>, name: &str) -> Option<&'m str> {
    m.get(name).and_then(Value::as_str)
}

/// The string to sign: `name\nvalue\n` for each signed name the message has.
fn string_to_sign(m: &Map<String, Value>) -> String {
    let mut s = String::new();
    for name in SIGNED {
        if let Some(value) = text(m, name) {
            s.push_str(name);
            s.push('\n');
            s.push_str(value);
            s.push('\n');
        }
    }
    s
}

/// The hash `SignatureVersion` names.
fn version(m: &Map<String, Value>) -> Result<Hash, VerifyError> {
    match text(m, "SignatureVersion") {
        Some("1") => Ok(Hash::Sha1),
        Some("2") => Ok(Hash::Sha256),
        _ => Err(VerifyError::MalformedSignature {
            header: "SignatureVersion",
        }),
    }
}

/// The certificate URL, checked.
fn cert_url(m: &Map<String, Value>) -> Result<CheckedUrl, VerifyError> {
    let url = text(m, "SigningCertURL").ok_or(VerifyError::MissingHeader {
        header: "SigningCertURL",
    })?;
    check_url(url, HOSTS, |path| {
        !path.contains('?') && path.ends_with(".pem")
    })
    .map_err(|_| VerifyError::MalformedSignature {
        header: "SigningCertURL",
    })
}

/// A message that passed [`precheck`]: its members, the hash its version names, its signature.
type Prechecked = (Map<String, Value>, Hash, Vec<u8>);

/// What must hold before anything is fetched: a signed SNS message of a known type, for a
/// configured topic.
fn precheck(req: &Unverified<'_>) -> Result<Prechecked, VerifyError> {
    let missing = VerifyError::MissingSignature {
        header: "Signature",
    };
    // Raw message delivery posts the bare message: no envelope, no signature.
    let m = message(req.body).ok_or(missing.clone())?;
    let sig = text(&m, "Signature").ok_or(missing)?;
    let sig = B64
        .decode(sig)
        .map_err(|_| VerifyError::MalformedSignature {
            header: "Signature",
        })?;
    let hash = version(&m)?;
    match text(&m, "Type") {
        Some(NOTIFICATION | SUBSCRIBE | UNSUBSCRIBE) => {}
        _ => return Err(VerifyError::MissingHeader { header: "Type" }),
    }
    for name in ["MessageId", "Timestamp", "TopicArn", "Message"] {
        if text(&m, name).is_none() {
            return Err(VerifyError::MissingHeader { header: name });
        }
    }
    Ok((m, hash, sig))
}

impl Custom for Sns {
    fn fetches_keys(&self) -> bool {
        true
    }

    /// A topic ARN, for `inlet serve` and `inlet send` (which sign and verify with the CLI's
    /// development keys, infra/cli/src/devkeys.rs).
    fn dev_secret(&self, _text: &str) -> Option<String> {
        Some("arn:aws:sns:us-east-1:000000000000:inlet-dev".into())
    }

    /// The secret is a topic ARN, not a key: `arn:<partition>:sns:<region>:<account>:<topic>`.
    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        let parts: Vec<&str> = secret.trim().split(':').collect();
        Some(match parts.as_slice() {
            ["arn", partition, "sns", region, account, topic]
                if !partition.is_empty()
                    && !region.is_empty()
                    && !account.is_empty()
                    && !topic.is_empty() =>
            {
                Ok(secret.trim().as_bytes().to_vec())
            }
            _ => Err(
                "the secret is the SNS topic's ARN (arn:aws:sns:<region>:<account>:<topic>)".into(),
            ),
        })
    }

    fn key_request(
        &self,
        req: &Unverified<'_>,
        secrets: &SecretSet,
    ) -> Option<Result<KeyRequest, VerifyError>> {
        Some((|| {
            let (m, _, _) = precheck(req)?;
            let topic = text(&m, "TopicArn").unwrap_or_default();
            // Another topic's message is refused before anything is fetched.
            if !secrets.iter().any(|s| s.key() == topic.as_bytes()) {
                return Err(VerifyError::SignatureMismatch {
                    header: "Signature",
                });
            }
            Ok(KeyRequest::get(cert_url(&m)?))
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
            let (m, hash, sig) = precheck(req)?;
            if text(&m, "TopicArn").unwrap_or_default().as_bytes() != secret {
                return Ok(None);
            }
            let Some(key) = certificate_key(fetched, clock.now) else {
                return Ok(None);
            };
            if !key.verify(Asym::RsaPkcs1v15(hash), string_to_sign(&m).as_bytes(), &sig) {
                return Ok(None);
            }
            let at = text(&m, "Timestamp").unwrap_or_default();
            let seconds = parse_time(at, Unit::Rfc3339).ok_or(VerifyError::InvalidTimestamp {
                header: "Timestamp",
            })?;
            check_window(seconds, clock)?;
            Ok(Some(seconds))
        })())
    }

    fn visit(&self, v: &Verified<'_>) -> Option<Result<CheckedUrl, VerifyError>> {
        let m = message(v.body())?;
        (text(&m, "Type") == Some(SUBSCRIBE)).then(|| subscribe_url(&m))
    }

    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        let m = message(v.body())?;
        match text(&m, "Type") {
            Some(UNSUBSCRIBE) => {
                info!(
                    source,
                    message_type = UNSUBSCRIBE,
                    outcome = "handshake",
                    "SNS unsubscribe confirmed"
                );
                Some(Ok(Disposition::Reply(Reply::empty(200))))
            }
            // Visited by the pipeline before it normalizes; never queued whatever happens.
            Some(SUBSCRIBE) => Some(Ok(Disposition::Reply(Reply::empty(200)))),
            // SNS posts `text/plain`: the JSON is read here, whatever the content type says.
            _ => Some(notification(source, v, m, received)),
        }
    }

    fn signs(&self, loc: &Loc) -> bool {
        matches!(loc, Loc::Json(name) if SIGNED.contains(name))
    }
}

/// A verified Notification as an envelope: id `MessageId`, type `<source>.notification`, subject
/// `TopicArn`, time `Timestamp` (all signed), data the whole message.
fn notification<'b>(
    source: &str,
    v: &Verified<'b>,
    m: Map<String, Value>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    let id = text(&m, "MessageId")
        .ok_or(NormalizeError::MissingField("MessageId"))?
        .to_owned();
    let time = text(&m, "Timestamp").and_then(|t| {
        let parsed =
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()?;
        let millis = u64::from(parsed.millisecond());
        crate::core::normalize::from_unix(parsed.unix_timestamp())?
            .checked_add(std::time::Duration::from_millis(millis))
    });
    let draft = Draft {
        id,
        ty: event_type(source, &[Some("notification")]),
        time,
        subject: text(&m, "TopicArn").map(str::to_owned),
        content_type: JSON.into(),
        payload: Payload::Built(Value::Object(m)),
        key: KeyBasis::Id,
        event: None,
    };
    Ok(Disposition::Enqueue(Box::new(Envelope::new(
        source, v, received, draft,
    )?)))
}

/// The `SubscribeURL` to visit: on SNS's hosts, and a `ConfirmSubscription` call.
fn subscribe_url(m: &Map<String, Value>) -> Result<CheckedUrl, VerifyError> {
    let refused = VerifyError::MalformedSignature {
        header: "SubscribeURL",
    };
    let url = text(m, "SubscribeURL").ok_or(refused.clone())?;
    check_url(url, HOSTS, |path| {
        let query = path.split_once('?').map_or("", |(_, q)| q);
        crate::core::verify::engine::query_param(query, "Action").as_deref()
            == Some("ConfirmSubscription")
    })
    .map_err(|_| refused)
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::json;

    use super::*;
    use crate::core::verify::fetch::fixtures::*;
    use crate::core::verify::Secret;
    use crate::ports::fetched::MemoryKeys;

    const TOPIC: &str = "arn:aws:sns:us-west-2:123456789012:MyTopic";
    const CERT_URL: &str =
        "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem";
    /// 2012-05-02T00:54:06Z, the docs' example message's time.
    const AT: u64 = 1_335_920_046;

    /// The docs' example Notification, signed by Python's `cryptography` with the test signer's
    /// key (derived, not published: AWS's example signature is a placeholder).
    fn docs_example(version: &str, signature: &str) -> Vec<u8> {
        json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": TOPIC,
            "Subject": "My First Message",
            "Message": "Hello world!",
            "Timestamp": "2012-05-02T00:54:06.655Z",
            "SignatureVersion": version,
            "Signature": signature,
            "SigningCertURL": CERT_URL,
            "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0-26c4-47ec-8998-413945fb5a96"
        })
        .to_string()
        .into_bytes()
    }
    const V1: &str = "RNdebC2tV+R5yeYzWY0iNAj53NruNYeG7T8krut+KV4GvAwvDWzMD16grLJx2aVoCxZKnOc2+DCCBMNS2Ppk6PIG1klVnSCr5Jwvs99wtg8DVT32Eyw48Lqf76JU7omXymZUrX34sAR2ylRo3eP33XQiks810b8C/8sDrUujNzPJ3vOL/f5MTgwgJS5GTEw0PwFYfGd3x+VHKoywzFMj3jzce7nJ81kptyBQ/MLqq9vMTWhc2yPopKDISL1nODaLWHI1Z7XB0v+zC6jD3y/YehWfV6yAieVOcDjvOouNTzK7BHFZy838G953vl8+a5Xvp+hZbvYHkeGhq9nnHkixsA==";
    const V2: &str = "U2+msgqwGuOczZ30Jkw/MaQgy3shUyi+NDKxLxWdzucwmQLYC9hIHjx75PYNLB4aPs3S41V6a+zqHQLYio8LSr1UsMUx+fm98X0wwgFoYOrmxOvAksBKrP8lZn8EekqSm7PErtRTyuJ4Z3yKUvJxhOdslApBYis7RnIwCO8P4/pZPMi5yI9DaBJqjr9b3v5OVv2nI5cT32g67FS4c3R7DsjIsCYRak+Pw3g+D/v0bMsGUWmpi/x05Lg7mRnQRIQmR/7NcNI3lL3a1+1qePm3Rc0c/Ba6E+ZEJEW2jM5KS2tV9zXBL0rfNGpp2VwBAw+Om4is86UNiqS9o8VMcMzi6Q==";

    /// A message of `ty` with `extra` members, signed (version 2) by `key`.
    fn signed(ty: &str, extra: Value, key: &str) -> Vec<u8> {
        let mut m = json!({
            "Type": ty,
            "MessageId": "7c1c5bd5-0000-4000-8000-000000000001",
            "TopicArn": TOPIC,
            "Message": "{\"order\":42}",
            "Timestamp": "2012-05-02T00:54:06.655Z",
            "SignatureVersion": "2",
            "SigningCertURL": CERT_URL,
        });
        let obj = m.as_object_mut().expect("object");
        if let Value::Object(extra) = extra {
            obj.extend(extra);
        }
        let sig = rsa_sign(key, Hash::Sha256, string_to_sign(obj).as_bytes());
        obj.insert("Signature".into(), Value::String(sig));
        m.to_string().into_bytes()
    }

    fn secrets(topics: &[&str]) -> SecretSet {
        SecretSet::new(
            topics
                .iter()
                .enumerate()
                .map(|(i, t)| Secret::new(format!("WEBHOOK_SECRET_{i}"), t.as_bytes().to_vec()))
                .collect(),
        )
        .expect("secrets")
    }

    fn check(body: &[u8], topics: &[&str], cert: &str, now: u64) -> Result<(), VerifyError> {
        let h =
            crate::core::verify::testing::headers(&[("content-type", "text/plain; charset=UTF-8")]);
        let req = Unverified::post(&h, body);
        let secrets = secrets(topics);
        let request =
            crate::core::verify::fetch::key_request(&SCHEME, &req, &secrets).expect("fetched")?;
        assert_eq!(request.url.url(), CERT_URL);
        let clock = Clock {
            now: UNIX_EPOCH + Duration::from_secs(now),
            tolerance: Duration::from_secs(3600),
        };
        crate::core::verify::fetch::verify(&SCHEME, &secrets, req, &clock, cert.as_bytes())
            .map(|_| ())
    }

    const MISMATCH: Result<(), VerifyError> = Err(VerifyError::SignatureMismatch {
        header: "Signature",
    });

    #[test]
    fn the_secret_is_a_topic_arn() {
        let decode = |s: &str| crate::core::verify::engine::decode_secret(&SCHEME, s);
        assert_eq!(decode(TOPIC), Ok(TOPIC.as_bytes().to_vec()));
        assert!(decode("arn:aws-cn:sns:cn-north-1:123456789012:T").is_ok());
        assert!(decode(&Sns.dev_secret("x").expect("dev")).is_ok());
        for bad in [
            "MyTopic",
            "arn:aws:sqs:us-east-1:1:q",
            "arn:aws:sns:us-east-1:1",
            "-----BEGIN PUBLIC KEY-----",
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn derived_vectors_both_versions() {
        // Derived, not published: signed by Python's cryptography with the test key.
        assert_eq!(
            check(&docs_example("1", V1), &[TOPIC], SIGNER_CERT, AT),
            Ok(())
        );
        assert_eq!(
            check(&docs_example("2", V2), &[TOPIC], SIGNER_CERT, AT),
            Ok(())
        );
        // Each version's hash is its own.
        assert_eq!(
            check(&docs_example("2", V1), &[TOPIC], SIGNER_CERT, AT),
            MISMATCH
        );
        assert_eq!(
            check(&docs_example("1", V2), &[TOPIC], SIGNER_CERT, AT),
            MISMATCH
        );
        let m = message(&docs_example("1", V1)).expect("json");
        assert_eq!(
            string_to_sign(&m),
            "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\nSubject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"
        );
    }

    #[test]
    fn round_trip_tampering_window_and_topics() {
        let body = signed(NOTIFICATION, json!({"Subject": "s"}), SIGNER_KEY);
        assert_eq!(check(&body, &[TOPIC], SIGNER_CERT, AT), Ok(()));
        // A second topic (secret) beside the first.
        assert_eq!(
            check(
                &body,
                &["arn:aws:sns:us-east-1:1:Other", TOPIC],
                SIGNER_CERT,
                AT
            ),
            Ok(())
        );
        // Another topic's message is refused before anything is fetched.
        let h = crate::core::verify::testing::headers(&[]);
        let refused = crate::core::verify::fetch::key_request(
            &SCHEME,
            &Unverified::post(&h, &body),
            &secrets(&["arn:aws:sns:us-east-1:1:Other"]),
        );
        assert_eq!(refused.map(|r| r.map(|_| ())), Some(MISMATCH));
        // Any signed member changed.
        for (from, to) in [("\\\"order\\\":42", "\\\"order\\\":43"), ("\"s\"", "\"t\"")] {
            let text = String::from_utf8(body.clone()).expect("utf8");
            assert!(text.contains(from), "{from}");
            let tampered = text.replacen(from, to, 1);
            assert_eq!(
                check(tampered.as_bytes(), &[TOPIC], SIGNER_CERT, AT),
                MISMATCH
            );
        }
        // The forger's key, or the right message against the forger's certificate.
        let forged = signed(NOTIFICATION, json!({}), FORGER_KEY);
        assert_eq!(check(&forged, &[TOPIC], SIGNER_CERT, AT), MISMATCH);
        assert_eq!(check(&body, &[TOPIC], FORGER_CERT, AT), MISMATCH);
        assert_eq!(check(&body, &[TOPIC], "not a certificate", AT), MISMATCH);
        // The window: an hour either way.
        assert_eq!(check(&body, &[TOPIC], SIGNER_CERT, AT + 3600), Ok(()));
        assert!(matches!(
            check(&body, &[TOPIC], SIGNER_CERT, AT + 3601),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn malformed_missing_and_foreign_certificates_are_refused() {
        let h = crate::core::verify::testing::headers(&[]);
        let ask = |body: &[u8]| {
            crate::core::verify::fetch::key_request(
                &SCHEME,
                &Unverified::post(&h, body),
                &secrets(&[TOPIC]),
            )
            .expect("fetched")
            .map(|_| ())
        };
        let good: Value =
            serde_json::from_slice(&signed(NOTIFICATION, json!({}), SIGNER_KEY)).expect("json");
        let with = |name: &str, value: Value| {
            let mut m = good.clone();
            m[name] = value;
            m.to_string().into_bytes()
        };
        let without = |name: &str| {
            let mut m = good.clone();
            m.as_object_mut().expect("object").remove(name);
            m.to_string().into_bytes()
        };
        // Raw message delivery: the bare message.
        assert_eq!(
            ask(br#"{"order":42}"#),
            Err(VerifyError::MissingSignature {
                header: "Signature"
            })
        );
        assert_eq!(
            ask(b"plain text"),
            Err(VerifyError::MissingSignature {
                header: "Signature"
            })
        );
        assert_eq!(
            ask(&without("Signature")),
            Err(VerifyError::MissingSignature {
                header: "Signature"
            })
        );
        assert_eq!(
            ask(&with("Signature", json!("%%%"))),
            Err(VerifyError::MalformedSignature {
                header: "Signature"
            })
        );
        for v in [json!("3"), json!(2), Value::Null] {
            assert_eq!(
                ask(&with("SignatureVersion", v)),
                Err(VerifyError::MalformedSignature {
                    header: "SignatureVersion"
                })
            );
        }
        assert_eq!(
            ask(&with("Type", json!("Other"))),
            Err(VerifyError::MissingHeader { header: "Type" })
        );
        assert_eq!(
            ask(&without("MessageId")),
            Err(VerifyError::MissingHeader {
                header: "MessageId"
            })
        );
        assert_eq!(
            ask(&without("SigningCertURL")),
            Err(VerifyError::MissingHeader {
                header: "SigningCertURL"
            })
        );
        for url in [
            "http://sns.us-west-2.amazonaws.com/a.pem",
            "https://sns.us-west-2.amazonaws.com.evil.com/a.pem",
            "https://sns.us-west-2.amazonaws.com@evil.com/a.pem",
            "https://sns.us-west-2.amazonaws.com:444/a.pem",
            "https://54.239.0.1/a.pem",
            "https://s3.amazonaws.com/bucket/a.pem",
            "https://sns.us-west-2.amazonaws.com/a.pem?x=1",
            "https://sns.us-west-2.amazonaws.com/a.txt",
        ] {
            assert_eq!(
                ask(&with("SigningCertURL", json!(url))),
                Err(VerifyError::MalformedSignature {
                    header: "SigningCertURL"
                }),
                "{url}"
            );
        }
        assert!(ask(&with(
            "SigningCertURL",
            json!("https://sns.cn-north-1.amazonaws.com.cn/a.pem")
        ))
        .is_ok());
    }

    /// A pipeline for aws-sns whose key port serves the signer's certificate at `CERT_URL`.
    fn deliver(body: &[u8]) -> (crate::Reply, Vec<Value>, Arc<MemoryKeys>) {
        let keys = Arc::new(MemoryKeys::default().with(CERT_URL, SIGNER_CERT.as_bytes()));
        let headers = [
            ("content-type", "text/plain; charset=UTF-8"),
            ("x-amz-sns-message-type", "Notification"),
        ];
        let (reply, queued) = crate::core::verify::fetch::fixtures::deliver(
            &SCHEME,
            &[TOPIC],
            keys.clone(),
            &headers,
            body,
            AT,
        );
        (reply, queued, keys)
    }

    #[test]
    fn deliver_notification_and_forged() {
        let (reply, queued, keys) =
            deliver(&signed(NOTIFICATION, json!({"Subject": "hi"}), SIGNER_KEY));
        assert_eq!(
            reply.status,
            202,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(keys.asked(), [CERT_URL]);
        let e = &queued[0];
        assert_eq!(e["id"], "7c1c5bd5-0000-4000-8000-000000000001");
        assert_eq!(e["type"], "aws-sns.notification");
        assert_eq!(e["subject"], TOPIC);
        assert_eq!(e["time"], "2012-05-02T00:54:06.655Z");
        assert_eq!(e["data"]["Message"], "{\"order\":42}");
        let (reply, queued, _) = deliver(&signed(NOTIFICATION, json!({}), FORGER_KEY));
        assert_eq!((reply.status, queued.len()), (401, 0));
        // A certificate URL off SNS's hosts: 401, and nothing is fetched.
        let mut m: Value =
            serde_json::from_slice(&signed(NOTIFICATION, json!({}), SIGNER_KEY)).expect("json");
        m["SigningCertURL"] = json!("https://sns.us-west-2.amazonaws.com.evil.com/x.pem");
        let (reply, queued, keys) = deliver(m.to_string().as_bytes());
        assert_eq!((reply.status, queued.len()), (401, 0));
        assert!(keys.asked().is_empty() && keys.visited().is_empty());
        // A certificate that cannot be fetched: 503 + Retry-After, never an accept.
        m["SigningCertURL"] = json!("https://sns.eu-west-1.amazonaws.com/missing.pem");
        let (reply, queued, _) = deliver(m.to_string().as_bytes());
        assert_eq!(
            (reply.status, reply.header("retry-after"), queued.len()),
            (503, Some("30"), 0)
        );
    }

    #[test]
    fn subscription_confirmation_is_visited_only_when_verified_and_on_sns() {
        let confirm = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37";
        let extra = |url: &str| json!({"SubscribeURL": url, "Token": "2336412f37"});
        let (reply, queued, keys) = deliver(&signed(SUBSCRIBE, extra(confirm), SIGNER_KEY));
        assert_eq!((reply.status, queued.len()), (200, 0));
        assert_eq!(keys.visited(), [confirm]);
        // Forged: never visited.
        let (reply, queued, keys) = deliver(&signed(SUBSCRIBE, extra(confirm), FORGER_KEY));
        assert_eq!((reply.status, queued.len()), (401, 0));
        assert!(keys.visited().is_empty());
        // Signed, but a SubscribeURL off SNS's hosts or not a confirmation: never visited.
        for url in [
            "https://evil.example/?Action=ConfirmSubscription",
            "https://sns.us-west-2.amazonaws.com@evil.example/?Action=ConfirmSubscription",
            "http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
            "https://sns.us-west-2.amazonaws.com/?Action=Publish&Message=x",
        ] {
            let (reply, queued, keys) = deliver(&signed(SUBSCRIBE, extra(url), SIGNER_KEY));
            assert_eq!((reply.status, queued.len()), (401, 0), "{url}");
            assert!(keys.visited().is_empty(), "{url}");
        }
        // Unsubscribe: logged, answered, never queued or visited.
        let (reply, queued, keys) = deliver(&signed(UNSUBSCRIBE, extra(confirm), SIGNER_KEY));
        assert_eq!((reply.status, queued.len()), (200, 0));
        assert!(keys.visited().is_empty());
    }
}
