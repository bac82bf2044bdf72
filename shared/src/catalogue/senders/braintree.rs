//! Braintree: a form body `bt_signature=…&bt_payload=…`, where `bt_payload` is the base64 of the
//! notification XML (with line breaks) and `bt_signature` is `public_key|signature` pairs joined
//! by `&`. The signature is the lower-case hex HMAC-SHA1 of the `bt_payload` text as sent, under
//! the key SHA-1(private key). As braintree-python's `WebhookNotificationGateway.parse` does, the
//! first pair whose public key is ours is checked (exactly, hex case included), against the payload
//! and the payload followed by a newline, and a payload with characters outside
//! `[A-Za-z0-9+/=\n]` is refused. When the webhook is created Braintree sends
//! `GET ?bt_challenge=C` (hex), answered `public_key|hex(HMAC-SHA1(SHA-1(private key), C))`.
//!
//! **Secret**: `public_key:private_key`, the API key pair the webhook is signed with (the public
//! key names our pair in `bt_signature` and starts the challenge answer), e.g.
//! `WEBHOOK_SECRET=integration_public_key:integration_private_key`; several, for rotation, as for
//! any sender.
//!
//! **Envelope**: notifications carry no delivery id, so the id is `sha256:<hex SHA-256 of the
//! decoded notification XML>`, the same on every retry of one notification (even if Braintree
//! signs it with other key pairs meanwhile) and covered by the signature; type
//! `braintree.<kind>`, time `<timestamp>`, subject the `<id>` of the subject's first element
//! (`<subscription>`, `<transaction>`, …, when it has one); `data` is the notification XML as text
//! (`datacontenttype: application/xml`), as the SDK parses it. No timestamp is signed: the same
//! notification can be replayed, and is recognised by its id.

use std::time::SystemTime;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use quick_xml::events::Event;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::core::normalize::{
    body_kind, event_type, from_unix, BodyKind, Disposition, Draft, Envelope, KeyBasis,
    NormalizeError, Payload,
};
use crate::core::response::Reply;
use crate::core::scheme::*;
use crate::core::verify::engine::{parse_time, Signing, B64};
use crate::core::verify::{SecretSet, Unverified, Verified, VerifyError};

const SIGNATURE: &str = "bt_signature";
const PAYLOAD: &str = "bt_payload";

pub const SCHEME: Scheme = Scheme {
    name: "braintree",
    title: "Braintree",
    // What `Notification` reads and compares; listed so the scheme reads as what it signs.
    signature: Signature {
        at: &[Loc::Json(SIGNATURE)],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Json(PAYLOAD)],
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Hex,
    // The SHA-256 of the notification XML, and paths into that XML (`read_xml` reads them).
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("notification.kind"))],
    subject: &[Loc::Json("notification.subject.*.id")],
    time: &[TimeLoc::At(Loc::Json("notification.timestamp"), Unit::Rfc3339)],
    body: Body {
        json: false,
        form: Form::Fields,
        other: false,
    },
    handshakes: &[Handshake::BraintreeChallenge],
    custom: Some(&Notification),
    evidence: Evidence::Sdk("braintree 4.48.0 (PyPI)"),
    note: "the secret is `public_key:private_key`; no delivery id is sent: the id is the SHA-256 of the notification XML, which is `data` (application/xml); no timestamp is signed",
    ..Scheme::BASE
};

/// Braintree's key pair, signature pairs, base64 XML payload and challenge, in code.
#[derive(Debug)]
struct Notification;

impl Custom for Notification {
    /// `GET ?bt_challenge=C`, answered under the newest secret.
    fn answer_challenge(
        &self,
        challenge: &str,
        _req: &Unverified<'_>,
        secrets: &SecretSet,
    ) -> Option<Result<Reply, VerifyError>> {
        let newest = secrets.iter().next()?;
        Some(Ok(Reply::text(
            200,
            challenge_answer(newest.key(), challenge)?,
        )))
    }

    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        Some(key_pair(secret.trim()).map(|_| secret.trim().as_bytes().to_vec()))
    }

    fn dev_secret(&self, text: &str) -> Option<String> {
        Some(format!("inlet_dev_public_key:{text}"))
    }

    fn verify(&self, req: &Unverified<'_>, key: &[u8]) -> Option<Result<bool, VerifyError>> {
        Some(verify(req, key))
    }

    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        Some(normalize(source, v, received))
    }

    /// The signature is in the body: only the content type to add.
    fn sign(&self, _key: &[u8], _s: &Signing<'_>) -> Option<Result<Vec<(String, String)>, String>> {
        Some(Ok(Vec::new()))
    }

    fn sign_body(&self, key: &[u8], s: &Signing<'_>) -> Option<Result<Vec<u8>, String>> {
        Some(sign_body(key, s))
    }

    /// The payload is signed, and with it everything read from the notification it carries.
    fn signs(&self, loc: &Loc) -> bool {
        match loc {
            Loc::Digest => true,
            Loc::Json(path) => *path != SIGNATURE,
            _ => false,
        }
    }
}

/// `(public key, private key)` from `public_key:private_key`.
fn key_pair(secret: &str) -> Result<(&str, &str), String> {
    const SHAPE: &str = "the secret must be `public_key:private_key` (Braintree's API key pair)";
    let (public, private) = secret.split_once(':').ok_or(SHAPE)?;
    let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !plain(public) || public.contains(['|', '&']) || !plain(private) {
        return Err(SHAPE.into());
    }
    Ok((public, private))
}

/// Lower-case hex HMAC-SHA1 of `content` under SHA-1(`private`), as `Crypto.sha1_hmac_hash`.
fn sha1_hmac_hex(private: &str, content: &[u8]) -> String {
    let key = Sha1::digest(private.as_bytes());
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(content);
    hex::encode(mac.finalize().into_bytes())
}

/// The one value of form field `name`; `Ok(None)` when absent, `Err` when repeated (which value
/// a framework would pick is anyone's guess).
fn field(body: &[u8], name: &'static str) -> Result<Option<String>, VerifyError> {
    let mut values = form_urlencoded::parse(body).filter(|(k, _)| k == name);
    let first = values.next().map(|(_, v)| v.into_owned());
    if values.next().is_some() {
        return Err(VerifyError::DuplicateHeader { header: name });
    }
    Ok(first)
}

fn verify(req: &Unverified<'_>, key: &[u8]) -> Result<bool, VerifyError> {
    let signature = field(req.body, SIGNATURE)?
        .filter(|s| !s.is_empty())
        .ok_or(VerifyError::MissingSignature { header: SIGNATURE })?;
    let payload = field(req.body, PAYLOAD)?
        .filter(|p| !p.is_empty())
        .ok_or(VerifyError::MissingHeader { header: PAYLOAD })?;
    if !payload
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+=/\n".contains(&b))
        || !is_base64_xml(&payload)
    {
        return Err(VerifyError::MalformedSignature { header: PAYLOAD });
    }
    let Some((public, private)) = std::str::from_utf8(key).ok().and_then(|k| key_pair(k).ok())
    else {
        return Ok(false);
    };
    // The first `public_key|signature` pair that is ours; a malformed pair before it is refused.
    let mut ours = None;
    for pair in signature.split('&').filter(|p| p.contains('|')) {
        let mut parts = pair.split('|');
        let (Some(k), Some(sig), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(VerifyError::MalformedSignature { header: SIGNATURE });
        };
        if k == public {
            ours = Some(sig);
            break;
        }
    }
    let Some(given) = ours.filter(|s| !s.is_empty()) else {
        return Ok(false);
    };
    let with_newline = format!("{payload}\n");
    Ok([payload.as_bytes(), with_newline.as_bytes()]
        .iter()
        .fold(false, |found, content| {
            let expected = sha1_hmac_hex(private, content);
            found
                | (expected.len() == given.len()
                    && bool::from(expected.as_bytes().ct_eq(given.as_bytes())))
        }))
}

/// Whether a payload is what Braintree sends: base64 of XML, whose first character (after any
/// whitespace or byte-order mark) is `<`. Checked before any MAC is computed: the challenge
/// answer is the same MAC over hex digits, which are base64 too but never decode to XML, so no
/// answer can stand for a delivery's signature.
fn is_base64_xml(payload: &str) -> bool {
    let compact: String = payload.chars().filter(|c| *c != '\n').collect();
    B64.decode(compact).is_ok_and(|xml| {
        let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&xml);
        xml.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
    })
}

/// The answer to `GET ?bt_challenge=C` under `key` (`public_key:private_key`), as
/// `WebhookNotificationGateway.verify`; `None` when C is not 20 to 32 lower-case hex digits.
pub(crate) fn challenge_answer(key: &[u8], challenge: &str) -> Option<String> {
    let (public, private) = key_pair(std::str::from_utf8(key).ok()?).ok()?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    ((20..=32).contains(&challenge.len()) && challenge.bytes().all(hex))
        .then(|| format!("{public}|{}", sha1_hmac_hex(private, challenge.as_bytes())))
}

/// The form with `bt_signature` set to `public_key|signature` of its `bt_payload`, as Braintree
/// sends it (`inlet sign`, `send` and `event`).
fn sign_body(key: &[u8], s: &Signing<'_>) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(key).map_err(|_| "braintree: the secret is not text")?;
    let (public, private) = key_pair(text)?;
    let payload = field(s.body, PAYLOAD).ok().flatten().ok_or(
        "braintree signs inside the form body: give bt_payload=<base64 of the notification XML>",
    )?;
    let value = format!("{public}|{}", sha1_hmac_hex(private, payload.as_bytes()));
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair(SIGNATURE, &value);
    for (name, v) in form_urlencoded::parse(s.body).filter(|(n, _)| n != SIGNATURE) {
        form.append_pair(&name, &v);
    }
    Ok(form.finish().into_bytes())
}

/// What the envelope takes from the notification XML.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fields {
    kind: Option<String>,
    timestamp: Option<String>,
    subject: Option<String>,
}

/// Reads `notification/kind`, `notification/timestamp` and the `id` of the first element in
/// `notification/subject`, with a real XML reader (entities, CDATA and comments as XML has them).
fn read_xml(xml: &str) -> Result<Fields, quick_xml::Error> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut fields = Fields::default();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut subject_children = 0usize;
    loop {
        match reader.read_event()? {
            Event::Start(e) => {
                if path == ["notification", "subject"] {
                    subject_children += 1;
                }
                path.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                text.clear();
            }
            Event::Empty(_) if path == ["notification", "subject"] => subject_children += 1,
            Event::Text(t) => text.push_str(&t.xml10_content()?),
            Event::CData(c) => text.push_str(&c.decode()?),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref()? {
                    text.push(c);
                } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.decode()?) {
                    text.push_str(s);
                }
            }
            Event::End(_) => {
                let value = Some(text.trim().to_owned()).filter(|v| !v.is_empty());
                let p: Vec<&str> = path.iter().map(String::as_str).collect();
                match p.as_slice() {
                    ["notification", "kind"] => fields.kind = value,
                    ["notification", "timestamp"] => fields.timestamp = value,
                    ["notification", "subject", _, "id"] if subject_children == 1 => {
                        fields.subject = fields.subject.take().or(value)
                    }
                    _ => {}
                }
                path.pop();
                text.clear();
            }
            Event::Eof => return Ok(fields),
            _ => {}
        }
    }
}

fn normalize<'b>(
    source: &str,
    v: &Verified<'b>,
    received: SystemTime,
) -> Result<Disposition<'b>, NormalizeError> {
    if body_kind(v.headers()) != BodyKind::Form {
        return Err(NormalizeError::UnsupportedMediaType(
            "application/x-www-form-urlencoded",
        ));
    }
    let invalid = |reason| NormalizeError::InvalidField {
        field: PAYLOAD,
        reason,
    };
    let payload = field(v.body(), PAYLOAD)
        .ok()
        .flatten()
        .ok_or(NormalizeError::MissingField(PAYLOAD))?;
    let compact: String = payload.chars().filter(|c| *c != '\n').collect();
    let xml = B64
        .decode(compact)
        .map_err(|_| invalid("it must be base64"))?;
    let xml = String::from_utf8(xml).map_err(|_| invalid("it must be UTF-8 XML"))?;
    let fields = read_xml(&xml).map_err(|_| invalid("it must be well-formed XML"))?;
    let kind = fields
        .kind
        .ok_or(NormalizeError::MissingField("notification.kind"))?;
    let draft = Draft {
        id: format!("sha256:{}", hex::encode(Sha256::digest(xml.as_bytes()))),
        ty: event_type(source, &[Some(&kind)]),
        time: fields
            .timestamp
            .and_then(|t| parse_time(&t, Unit::Rfc3339))
            .and_then(from_unix),
        subject: fields.subject,
        content_type: "application/xml".into(),
        payload: Payload::Built(Value::String(xml)),
        key: KeyBasis::Id,
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
    use super::*;
    use crate::tests::*;
    use http::Method;

    const SECRET: &str = "integration_public_key:integration_private_key";
    const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
    /// braintree 4.48.0 `WebhookTestingGateway.sample_notification("subscription_went_past_due",
    /// "sub_7hb2kq")` with the clock at 2023-11-14T22:13:20Z, under the SDK tests' key pair.
    const PAST_DUE: &str = "CiAgICAgICAgICAgIDxub3RpZmljYXRpb24+CiAgICAgICAgICAgICAgICA8dGltZXN0YW1wIHR5\ncGU9ImRhdGV0aW1lIj4yMDIzLTExLTE0VDIyOjEzOjIwWjwvdGltZXN0YW1wPgogICAgICAgICAg\nICAgICAgPGtpbmQ+c3Vic2NyaXB0aW9uX3dlbnRfcGFzdF9kdWU8L2tpbmQ+CiAgICAgICAgICAg\nICAgICAKICAgICAgICAgICAgICAgIDxzdWJqZWN0PgogICAgICAgICAgICA8c3Vic2NyaXB0aW9u\nPgogICAgICAgICAgICAgICAgPGlkPnN1Yl83aGIya3E8L2lkPgogICAgICAgICAgICAgICAgPHRy\nYW5zYWN0aW9ucyB0eXBlPSJhcnJheSI+PC90cmFuc2FjdGlvbnM+CiAgICAgICAgICAgICAgICA8\nYWRkX29ucyB0eXBlPSJhcnJheSI+PC9hZGRfb25zPgogICAgICAgICAgICAgICAgPGRpc2NvdW50\ncyB0eXBlPSJhcnJheSI+PC9kaXNjb3VudHM+CiAgICAgICAgICAgIDwvc3Vic2NyaXB0aW9uPgog\nICAgICAgIDwvc3ViamVjdD4KICAgICAgICAgICAgPC9ub3RpZmljYXRpb24+CiAgICAgICAg\n";
    const PAST_DUE_SIG: &str = "integration_public_key|b0973e229c64a85b723d89c98889567e17ef6025";
    /// SHA-256 of the XML `PAST_DUE` decodes to (Python's hashlib).
    const PAST_DUE_ID: &str =
        "sha256:6b067ee8e7ff5d356f332ce2d6f19a3adafe21fa8bce066d25c21da6e29d78fa";
    /// The same for kind `check`, whose subject has no id.
    const CHECK: &str = "CiAgICAgICAgICAgIDxub3RpZmljYXRpb24+CiAgICAgICAgICAgICAgICA8dGltZXN0YW1wIHR5\ncGU9ImRhdGV0aW1lIj4yMDIzLTExLTE0VDIyOjEzOjIwWjwvdGltZXN0YW1wPgogICAgICAgICAg\nICAgICAgPGtpbmQ+Y2hlY2s8L2tpbmQ+CiAgICAgICAgICAgICAgICAKICAgICAgICAgICAgICAg\nIDxzdWJqZWN0PgogICAgICAgICAgICA8Y2hlY2sgdHlwZT0iYm9vbGVhbiI+CiAgICAgICAgICAg\nICAgdHJ1ZQogICAgICAgICAgICA8L2NoZWNrPgogICAgICAgIDwvc3ViamVjdD4KICAgICAgICAg\nICAgPC9ub3RpZmljYXRpb24+CiAgICAgICAg\n";
    const CHECK_SIG: &str = "integration_public_key|76342407989056f2280caeb9681da322b3e71d5a";
    const AT: u64 = 1_700_000_000;

    fn form(signature: &str, payload: &str) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair(SIGNATURE, signature)
            .append_pair(PAYLOAD, payload)
            .finish()
            .into_bytes()
    }

    fn run(secrets: &[&str], body: &[u8]) -> Result<String, VerifyError> {
        let keys: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).collect();
        check(&SCHEME, &keys, &[FORM], body, AT)
    }

    const MISMATCH: Result<String, VerifyError> =
        Err(VerifyError::SignatureMismatch { header: SIGNATURE });

    fn get(query: &str) -> Delivered {
        deliver(
            crate::catalogue::sources::Source::new("braintree", &SCHEME),
            SECRET,
            Request::get(query, &[], AT),
        )
    }

    #[test]
    fn published_challenge_vector() {
        // CATALOGUE §6 #12, braintree_python tests/unit/test_webhooks.py.
        let d = get("bt_challenge=20f9f8ed05f77439fe955c977e4c8a53");
        assert_eq!(d.reply.status, 200);
        assert_eq!(
            d.text(),
            "integration_public_key|d9b899556c966b3f06945ec21311865d35df3ce4"
        );
        assert_eq!(
            d.reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(d.envelopes.is_empty());
        // The SDK refuses anything but 20 to 32 lower-case hex digits; so does Inlet.
        for bad in [
            "bt_challenge=20F9F8ED05F77439FE955C977E4C8A53",
            "bt_challenge=20f9f8ed05f77439fe9",
            "bt_challenge=20f9f8ed05f77439fe955c977e4c8a53a",
            "bt_challenge=not-a-challenge-at-all-no",
            "challenge=20f9f8ed05f77439fe955c977e4c8a53",
        ] {
            let d = get(bad);
            assert_eq!(d.reply.status, 401, "{bad}");
            assert!(d.envelopes.is_empty());
        }
    }

    /// An unsigned challenge gets a MAC under the key that verifies deliveries; it must never
    /// verify one: its bytes (hex digits) are no Braintree payload.
    #[test]
    fn a_challenge_answer_never_verifies_a_delivery() {
        for challenge in [
            "20f9f8ed05f77439fe955c977e4c8a53",
            "0123456789abcdef0123",
            "ffffffffffffffffffffffffffffffff",
        ] {
            let answer = get(&format!("bt_challenge={challenge}")).text();
            assert!(answer.starts_with("integration_public_key|"), "{answer}");
            for payload in [challenge.to_owned(), format!("{challenge}\n")] {
                let body = form(&answer, &payload);
                assert_eq!(
                    run(&[SECRET], &body),
                    Err(VerifyError::MalformedSignature { header: PAYLOAD }),
                    "{challenge}"
                );
                let d = deliver(
                    crate::catalogue::sources::Source::new("braintree", &SCHEME),
                    SECRET,
                    Request::post(&[FORM], &body, AT),
                );
                assert_eq!(d.reply.status, 401, "{}", d.text());
                assert!(d.envelopes.is_empty());
            }
        }
    }

    /// A notification's XML carries its kind, subject and timestamp: identical bytes are
    /// Braintree's retry, recognised by their digest.
    #[test]
    fn identical_bytes_are_a_retry() {
        let body = form(PAST_DUE_SIG, PAST_DUE);
        assert_identical_bytes_are_a_retry(
            crate::catalogue::sources::Source::new("braintree", &SCHEME),
            SECRET,
            Request::post(&[FORM], &body, AT),
        );
    }

    #[test]
    fn sdk_made_vectors() {
        assert_eq!(
            run(&[SECRET], &form(PAST_DUE_SIG, PAST_DUE)),
            Ok("secret-0".into())
        );
        assert_eq!(
            run(&[SECRET], &form(CHECK_SIG, CHECK)),
            Ok("secret-0".into())
        );
        // The SDK also takes the signature of the payload followed by a newline.
        let trimmed = PAST_DUE.trim_end_matches('\n');
        assert_eq!(
            run(&[SECRET], &form(PAST_DUE_SIG, trimmed)),
            Ok("secret-0".into())
        );
        // Another private key, or another public key, or another payload: refused.
        assert_eq!(
            run(
                &["integration_public_key:other_private_key"],
                &form(PAST_DUE_SIG, PAST_DUE)
            ),
            MISMATCH
        );
        assert_eq!(
            run(
                &["other_public_key:integration_private_key"],
                &form(PAST_DUE_SIG, PAST_DUE)
            ),
            MISMATCH
        );
        assert_eq!(run(&[SECRET], &form(PAST_DUE_SIG, CHECK)), MISMATCH);
        // One byte of the XML changed (the fourth base64 group of the second line).
        let changed = PAST_DUE.replacen("\ncGU9", "\ncGU8", 1);
        assert_eq!(run(&[SECRET], &form(PAST_DUE_SIG, &changed)), MISMATCH);
        // The SDK compares the hex as text: upper case is not its signature.
        let upper = format!(
            "integration_public_key|{}",
            "B0973E229C64A85B723D89C98889567E17EF6025"
        );
        assert_eq!(run(&[SECRET], &form(&upper, PAST_DUE)), MISMATCH);
    }

    #[test]
    fn our_pair_is_picked_out_of_several() {
        let other = "other_public_key|0000000000000000000000000000000000000000";
        let both = format!("{other}&{PAST_DUE_SIG}");
        assert_eq!(
            run(&[SECRET], &form(&both, PAST_DUE)),
            Ok("secret-0".into())
        );
        // Only the first pair of our public key counts, as in the SDK.
        let wrong_first = format!(
            "integration_public_key|0000000000000000000000000000000000000000&{PAST_DUE_SIG}"
        );
        assert_eq!(run(&[SECRET], &form(&wrong_first, PAST_DUE)), MISMATCH);
        // Rotation: each secret's public key picks its own pair.
        let rotated = format!("new_public_key|{}&{PAST_DUE_SIG}", "1".repeat(40));
        assert_eq!(
            run(
                &["new_public_key:new_private_key", SECRET],
                &form(&rotated, PAST_DUE)
            ),
            Ok("secret-1".into())
        );
    }

    #[test]
    fn malformed_deliveries_are_refused() {
        let body = |pairs: &[(&str, &str)]| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                s.append_pair(k, v);
            }
            s.finish().into_bytes()
        };
        assert_eq!(
            run(&[SECRET], &body(&[(PAYLOAD, PAST_DUE)])),
            Err(VerifyError::MissingSignature { header: SIGNATURE })
        );
        assert_eq!(
            run(&[SECRET], &body(&[(SIGNATURE, PAST_DUE_SIG)])),
            Err(VerifyError::MissingHeader { header: PAYLOAD })
        );
        assert_eq!(
            run(&[SECRET], &form(PAST_DUE_SIG, &format!("{PAST_DUE}!"))),
            Err(VerifyError::MalformedSignature { header: PAYLOAD })
        );
        assert_eq!(
            run(
                &[SECRET],
                &body(&[
                    (SIGNATURE, PAST_DUE_SIG),
                    (PAYLOAD, PAST_DUE),
                    (PAYLOAD, CHECK)
                ])
            ),
            Err(VerifyError::DuplicateHeader { header: PAYLOAD })
        );
        assert_eq!(
            run(&[SECRET], &form(&format!("a|b|c&{PAST_DUE_SIG}"), PAST_DUE)),
            Err(VerifyError::MalformedSignature { header: SIGNATURE })
        );
        assert_eq!(run(&[SECRET], &form("no pairs here", PAST_DUE)), MISMATCH);
    }

    #[test]
    fn the_secret_is_a_key_pair() {
        use crate::core::verify::engine::decode_secret;
        assert_eq!(
            decode_secret(&SCHEME, " pk:sk \n"),
            Ok(b"pk:sk".to_vec()),
            "trimmed"
        );
        for bad in [
            "integration_private_key",
            ":sk",
            "pk:",
            "p|k:sk",
            "p&k:sk",
            "p k:sk",
        ] {
            let err = decode_secret(&SCHEME, bad).expect_err(bad);
            assert!(err.contains("public_key:private_key"), "{err}");
        }
        // A private key may itself contain a colon.
        assert_eq!(key_pair("pk:s:k"), Ok(("pk", "s:k")));
        let dev = Notification
            .dev_secret("inlet-dev-braintree-secret")
            .expect("a dev secret");
        decode_secret(&SCHEME, &dev).expect("the development secret decodes");
    }

    #[test]
    fn signing_writes_the_signature_into_the_form() {
        use crate::core::verify::engine::sign_body;
        let at = |body: &[u8]| sign_body(&SCHEME, SECRET.as_bytes(), &posted(body));
        let unsigned = form_urlencoded::Serializer::new(String::new())
            .append_pair(PAYLOAD, PAST_DUE)
            .finish();
        for body in [
            unsigned.into_bytes(),
            form("integration_public_key|0bad", PAST_DUE),
        ] {
            let written = at(&body).expect("signs").expect("a body");
            let sig = field(&written, SIGNATURE)
                .expect("a form")
                .expect("bt_signature");
            assert_eq!(sig, PAST_DUE_SIG);
            assert_eq!(
                field(&written, PAYLOAD).expect("a form").as_deref(),
                Some(PAST_DUE)
            );
            check(&SCHEME, &[SECRET.as_bytes()], &[FORM], &written, AT).expect("verifies");
        }
        assert!(at(b"<notification/>").is_err());
    }

    #[test]
    fn notifications_become_envelopes() {
        let source = || crate::catalogue::sources::Source::new("braintree", &SCHEME);
        let body = form(PAST_DUE_SIG, PAST_DUE);
        let got = deliver(source(), SECRET, Request::post(&[FORM], &body, AT));
        assert_eq!(got.reply.status, 202, "{}", got.text());
        let e = &got.envelopes[0];
        assert_eq!(e["id"], PAST_DUE_ID);
        assert_eq!(e["type"], "braintree.subscription_went_past_due");
        assert_eq!(e["subject"], "sub_7hb2kq");
        assert_eq!(e["time"], "2023-11-14T22:13:20.000Z");
        assert_eq!(e["datacontenttype"], "application/xml");
        let xml = e["data"].as_str().expect("the XML as text");
        assert!(
            xml.contains("<kind>subscription_went_past_due</kind>"),
            "{xml}"
        );
        assert_eq!(e["inletverification"], "braintree-hmac-sha1");

        // A notification without a subject id; and the same XML re-encoded keeps its id.
        let body = form(CHECK_SIG, CHECK);
        let got = deliver(source(), SECRET, Request::post(&[FORM], &body, AT));
        let e = &got.envelopes[0];
        assert_eq!(e["type"], "braintree.check");
        assert_eq!(e.get("subject"), None);
        let unwrapped = PAST_DUE.replace('\n', "");
        let body = form(
            &format!(
                "integration_public_key|{}",
                sha1_hmac_hex("integration_private_key", unwrapped.as_bytes())
            ),
            &unwrapped,
        );
        let got = deliver(source(), SECRET, Request::post(&[FORM], &body, AT));
        assert_eq!(got.envelopes[0]["id"], PAST_DUE_ID);

        // A form is what Braintree sends.
        let got = deliver(
            source(),
            SECRET,
            Request::post(
                &[("content-type", "application/json")],
                &form(PAST_DUE_SIG, PAST_DUE),
                AT,
            ),
        );
        assert_eq!(got.reply.status, 415);
        assert!(got.envelopes.is_empty());
    }

    #[test]
    fn the_xml_is_read_as_xml() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
            <notification>
              <!-- <kind>not_this</kind> -->
              <timestamp type="datetime">2024-02-29T12:00:00Z</timestamp>
              <kind><![CDATA[dispute_opened]]></kind>
              <subject>
                <dispute>
                  <transaction><id>txn_not_this</id></transaction>
                  <id>dp_&#x61;&amp;1</id>
                </dispute>
                <other><id>not_this_either</id></other>
              </subject>
            </notification>"#;
        assert_eq!(
            read_xml(xml).expect("well-formed"),
            Fields {
                kind: Some("dispute_opened".into()),
                timestamp: Some("2024-02-29T12:00:00Z".into()),
                subject: Some("dp_a&1".into()),
            }
        );
        assert!(read_xml("<notification><kind>x</notification>").is_err());
    }

    #[test]
    fn the_payload_is_what_is_signed() {
        assert!(SCHEME.signs(&Loc::Digest));
        assert!(SCHEME.signs(&Loc::Json("notification.kind")));
        assert!(!SCHEME.signs(&Loc::Json(SIGNATURE)));
        assert_eq!(SCHEME.methods(), vec![Method::POST, Method::GET]);
    }
}
