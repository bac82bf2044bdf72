//! The one verifier: reads a [`Scheme`] and checks a request against it, and the one signer
//! (its inverse, for the CLI and round-trip tests).
//!
//! Order of checks, the same for every scheme: the signature value(s) are found, then the id
//! and the timestamp the content needs, then the candidates are decoded, then every candidate is
//! compared in constant time against the MAC of every active secret, and only after a match is
//! the timestamp held to the window (so an unauthenticated caller learns only "not verified").

use std::borrow::Cow;

use base64::engine::general_purpose::GeneralPurpose;
use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

pub use crate::core::request::Signing;

use super::keys::{self, PublicKey};
use super::{
    check_window, joined_header, single_header, Clock, SecretSet, Unverified, Verified, VerifyError,
};
use crate::core::json::Doc;
use crate::core::scheme::{
    Algorithm, Curve, Encoding, Format, Hash, KeyDecoding, Loc, Padding, Part, Scheme, Unit,
};

pub use super::{B64, B64URL};
/// Standard base64 as senders write it (padded).
const B64_PADDED: GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL_UNPADDED: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The scheme's name and algorithm, as a [`Verified`] carries them.
pub(crate) fn labels(scheme: &Scheme) -> (&'static str, &'static str) {
    (scheme.name, super::algorithm_label(scheme.algorithm))
}

/// Checks `req` against `scheme` with every active secret.
pub fn verify<'a>(
    scheme: &'static Scheme,
    secrets: &SecretSet,
    req: Unverified<'a>,
    clock: &Clock,
) -> Result<Verified<'a>, VerifyError> {
    // A signature only the sender's code can find and compare (Braintree's), under every secret.
    if let Some(custom) = scheme.custom {
        let mut tried = false;
        for secret in secrets.iter() {
            let Some(matched) = custom.verify(&req, secret.key()) else {
                break;
            };
            tried = true;
            if matched? {
                return Ok(Verified::new(req, labels(scheme), secret, None));
            }
        }
        if tried {
            let header = scheme.signature.at.first().map_or("signature", label);
            return Err(VerifyError::SignatureMismatch { header });
        }
    }

    let doc_raw = needs_json(scheme).then(|| serde_json::from_slice::<&RawValue>(req.body).ok());
    let doc = match doc_raw.flatten() {
        Some(raw) => Doc::Json(raw),
        None => Doc::Empty,
    };

    // 1. The signature value(s).
    let mut values: Vec<(&'static str, Cow<'a, str>)> = Vec::new();
    let listed = matches!(
        scheme.signature.format,
        Format::Kv { .. } | Format::List { .. } | Format::TimestampFirst
    );
    let mut family = None;
    for (i, loc) in scheme.signature.at.iter().enumerate() {
        if let Some(v) = read(loc, &req, &doc, listed)? {
            values.push((label(loc), v));
            family.get_or_insert(i);
            if !scheme.signature.all {
                break;
            }
        }
    }
    // Id and timestamp alternatives that pair with the signature's by position.
    let paired = |alternatives: &'static [Loc]| -> &'static [Loc] {
        match family {
            Some(i)
                if alternatives.len() > 1 && alternatives.len() == scheme.signature.at.len() =>
            {
                &alternatives[i..=i]
            }
            _ => alternatives,
        }
    };
    let header = match (values.first(), scheme.signature.at.first()) {
        (Some((h, _)), _) => *h,
        (None, Some(first)) => {
            return Err(VerifyError::MissingSignature {
                header: label(first),
            })
        }
        (None, None) => {
            return Err(VerifyError::MissingSignature {
                header: "signature",
            })
        }
    };
    let malformed = VerifyError::MalformedSignature { header };

    // 2. A key=value list holds both the signatures and (usually) the timestamp.
    let mut kv: Vec<(String, String)> = Vec::new();
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    if let Format::Kv { sep, key } = scheme.signature.format {
        let sep = sep.trim().chars().next().unwrap_or(',');
        for (_, value) in &values {
            // Spaces separate whole lists too: Persona sends `t=…,v1=… t=…,v1=…` while a secret
            // rotates (a value itself never holds one).
            for item in value
                .split([sep, ',', ' '])
                .map(str::trim)
                .filter(|i| !i.is_empty())
            {
                let (k, v) = item.split_once('=').ok_or(malformed.clone())?;
                if k == key {
                    // An undecodable one (Paddle's SDK sends `h1=dummy` beside the real one)
                    // is no candidate, as in the other list formats.
                    candidates.extend(decode(scheme.encoding, v));
                } else if let Some((_, seen)) = kv.iter().find(|(seen_k, _)| seen_k == k) {
                    if seen != v {
                        return Err(VerifyError::DuplicateHeader { header });
                    }
                } else {
                    kv.push((k.to_owned(), v.to_owned()));
                }
            }
        }
    }

    // A timestamp, then the signatures: the timestamp is `kv:t`, the same in every value.
    if let Format::TimestampFirst = scheme.signature.format {
        for (_, value) in &values {
            let mut items = value.split(',').map(str::trim);
            // A timestamp and at least one signature, or the value is malformed.
            let ts = items
                .next()
                .filter(|t| !t.is_empty() && value.contains(','))
                .ok_or(malformed.clone())?;
            match kv.first() {
                Some((_, seen)) if seen != ts => {
                    return Err(VerifyError::DuplicateHeader { header })
                }
                Some(_) => {}
                None => kv.push(("t".to_owned(), ts.to_owned())),
            }
            candidates.extend(
                items
                    .filter(|sig| !sig.is_empty())
                    .filter_map(|sig| decode(scheme.encoding, sig)),
            );
        }
    }

    // 3. The id and timestamp the content needs.
    let id = if scheme.signed.contains(&Part::Id) {
        let locs = paired(scheme.id);
        let mut found = None;
        for loc in locs {
            if let Some(v) = read(loc, &req, &doc, false)?.filter(|v| !v.is_empty()) {
                found = Some(v);
                break;
            }
        }
        let first = locs.first().map_or("id", label);
        Some(found.ok_or(VerifyError::MissingHeader { header: first })?)
    } else {
        None
    };
    let timestamp = match scheme.timestamp {
        None => None,
        Some(ts) => {
            let locs = paired(ts.at);
            let at = locs.first().map_or("timestamp", label);
            let mut raw: Option<Cow<'_, str>> = None;
            for loc in locs {
                raw = match loc {
                    Loc::Kv(k) => kv
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| Cow::Owned(v.clone())),
                    loc => read(loc, &req, &doc, false).map_err(|e| match e {
                        VerifyError::MalformedSignature { header } => {
                            VerifyError::InvalidTimestamp { header }
                        }
                        other => other,
                    })?,
                };
                if raw.is_some() {
                    break;
                }
            }
            let raw = match (raw, locs.first()) {
                (Some(raw), _) => raw,
                (None, Some(Loc::Kv(_))) => return Err(malformed),
                (None, _) => return Err(VerifyError::MissingHeader { header: at }),
            };
            let seconds =
                parse_time(&raw, ts.unit).ok_or(VerifyError::InvalidTimestamp { header: at })?;
            Some((raw, seconds))
        }
    };

    // 4. The candidates.
    match scheme.signature.format {
        Format::Kv { .. } => {
            if candidates.is_empty() {
                return Err(VerifyError::SignatureMismatch { header });
            }
        }
        Format::TimestampFirst => {
            if candidates.is_empty() {
                return Err(malformed);
            }
        }
        Format::Plain | Format::Prefix(_) => {
            for (_, value) in &values {
                let sig = match scheme.signature.format {
                    Format::Prefix(p) if scheme.algorithm == Algorithm::Basic => {
                        auth_scheme(value, p).ok_or(malformed.clone())?
                    }
                    Format::Prefix(p) => value.strip_prefix(p).ok_or(malformed.clone())?,
                    _ => value.as_ref(),
                };
                candidates.push(decode(scheme.encoding, sig).ok_or(malformed.clone())?);
            }
        }
        Format::Versioned { version } => {
            for (_, value) in &values {
                for token in value.split_ascii_whitespace() {
                    // Base64 has no commas, so values API Gateway joined with commas pair up too.
                    let parts: Vec<&str> = token.split(',').filter(|p| !p.is_empty()).collect();
                    for pair in parts.chunks(2) {
                        if let [v, sig] = pair {
                            if *v == version {
                                candidates.extend(decode(scheme.encoding, sig));
                            }
                        }
                    }
                }
            }
            if candidates.is_empty() {
                return Err(malformed);
            }
        }
        Format::List { prefix } => {
            for (_, value) in &values {
                for item in value.split(',').map(str::trim) {
                    if let Some(sig) = item.strip_prefix(prefix) {
                        candidates.extend(decode(scheme.encoding, sig));
                    }
                }
            }
            if candidates.is_empty() {
                return Err(malformed);
            }
        }
    }

    // 5. The signed content, then every secret against every candidate.
    let content = match scheme.custom.and_then(|c| c.signed_content(&req)) {
        Some(content) => vec![Piece::Owned(content?)],
        None => {
            let mut pieces = Vec::with_capacity(scheme.signed.len());
            for part in scheme.signed {
                pieces.push(match part {
                    Part::Body => Piece::Borrowed(req.body),
                    Part::Timestamp => Piece::Owned(
                        timestamp
                            .as_ref()
                            .map(|(raw, _)| raw.as_bytes().to_vec())
                            .unwrap_or_default(),
                    ),
                    Part::Id => Piece::Owned(
                        id.as_deref()
                            .map(|i| i.as_bytes().to_vec())
                            .unwrap_or_default(),
                    ),
                    Part::Header(h) => Piece::Owned(
                        single_header(req.headers, h)?
                            .ok_or(VerifyError::MissingHeader { header: h })?
                            .as_bytes()
                            .to_vec(),
                    ),
                    Part::Json(p) => Piece::Owned(
                        doc.text(p)
                            .ok_or(VerifyError::MissingHeader { header: p })?
                            .as_bytes()
                            .to_vec(),
                    ),
                    Part::Url => Piece::Owned(
                        req.url
                            .ok_or(VerifyError::MissingHeader { header: "host" })?
                            .as_bytes()
                            .to_vec(),
                    ),
                    Part::Method => Piece::Owned(req.method.as_str().as_bytes().to_vec()),
                    Part::Lit(l) => Piece::Borrowed(l.as_bytes()),
                    Part::Secret => Piece::Secret,
                });
            }
            pieces
        }
    };
    let secret = secrets
        .iter()
        .find(|s| matches(scheme.algorithm, s.key(), &content, &candidates, clock))
        .ok_or(VerifyError::SignatureMismatch { header })?;

    // 6. Only a signed timestamp is held to the window.
    if let Some((_, seconds)) = timestamp {
        check_window(seconds, clock)?;
    }
    let mut verified = Verified::new(req, labels(scheme), secret, timestamp.map(|(_, s)| s));
    if let Some(id) = id {
        verified = verified.with_signed_id(id.into_owned());
    }
    Ok(verified)
}

/// The credentials after an HTTP authentication scheme (`Basic `), whose name is
/// case-insensitive and which one or more spaces follow (RFC 7235, RFC 7617): `basic`, `BASIC`
/// and `Basic  ` all introduce them.
fn auth_scheme<'v>(value: &'v str, prefix: &str) -> Option<&'v str> {
    let name = prefix.trim_end_matches(' ');
    let rest = value
        .get(..name.len())
        .filter(|head| head.eq_ignore_ascii_case(name))
        .map(|_| &value[name.len()..])?;
    let credentials = rest.trim_start_matches(' ');
    (name.len() == prefix.len() || credentials.len() < rest.len()).then_some(credentials)
}

/// Whether the scheme reads anything from a JSON body before verifying.
fn needs_json(scheme: &Scheme) -> bool {
    scheme
        .signature
        .at
        .iter()
        .chain(scheme.timestamp.iter().flat_map(|t| t.at))
        .any(|l| matches!(l, Loc::Json(_)))
        || scheme.signed.iter().any(|p| matches!(p, Part::Json(_)))
}

/// The name a location goes by in errors and logs.
pub fn label(loc: &Loc) -> &'static str {
    match loc {
        Loc::Header(h) | Loc::Json(h) | Loc::Kv(h) | Loc::Query(h) => h,
        Loc::Digest | Loc::DigestWithout(_) | Loc::Body => "body",
    }
}

/// The value at `loc`. Headers must appear once unless `listed` (list-valued headers are joined
/// with commas, as HTTP joins repeats).
fn read<'a>(
    loc: &Loc,
    req: &Unverified<'a>,
    doc: &Doc<'_>,
    listed: bool,
) -> Result<Option<Cow<'a, str>>, VerifyError> {
    Ok(match loc {
        Loc::Header(h) if listed => joined_header(req.headers, h).map(Cow::Owned),
        Loc::Header(h) => single_header(req.headers, h)?.map(Cow::Borrowed),
        Loc::Json(p) => doc.text(p).map(|t| Cow::Owned(t.into_owned())),
        Loc::Query(q) => query_param(req.query, q).map(Cow::Owned),
        // A body that is not text is no token (malformed); an empty one is no signature.
        Loc::Body => match std::str::from_utf8(req.body) {
            Ok(text) => Some(Cow::Borrowed(text.trim())).filter(|t| !t.is_empty()),
            Err(_) => return Err(VerifyError::MalformedSignature { header: "body" }),
        },
        Loc::Kv(_) | Loc::Digest | Loc::DigestWithout(_) => None,
    })
}

/// The first value of a query-string parameter, percent-decoded.
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Signature bytes as the encoding writes them; `None` when they are not valid.
fn decode(encoding: Encoding, text: &str) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Hex => hex::decode(text).ok(),
        Encoding::Base64 => B64.decode(text).ok(),
        Encoding::Base64Url => B64URL.decode(text).ok(),
        Encoding::Raw => Some(text.as_bytes().to_vec()),
    }
}

/// Writes signature bytes as the sender does.
pub fn encode(encoding: Encoding, bytes: &[u8]) -> String {
    match encoding {
        Encoding::Hex => hex::encode(bytes),
        Encoding::Base64 => B64_PADDED.encode(bytes),
        Encoding::Base64Url => B64URL_UNPADDED.encode(bytes),
        Encoding::Raw => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Seconds since the epoch from a timestamp in `unit`.
pub(crate) fn parse_time(raw: &str, unit: Unit) -> Option<i64> {
    let digits = |max: usize| {
        (!raw.is_empty() && raw.len() <= max && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| raw.parse::<i64>().ok())
            .flatten()
    };
    match unit {
        Unit::Seconds => digits(12),
        Unit::Millis => digits(15).map(|ms| ms.div_euclid(1000)),
        Unit::Rfc3339 => {
            time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|t| t.unix_timestamp())
        }
    }
}

/// One piece of signed content.
enum Piece<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
    /// The key being tried.
    Secret,
}

impl Piece<'_> {
    fn bytes<'k>(&'k self, key: &'k [u8]) -> &'k [u8] {
        match self {
            Self::Borrowed(b) => b,
            Self::Owned(b) => b,
            Self::Secret => key,
        }
    }
}

/// Whether one candidate is the signature of `content` under `key`. MACs and tokens are
/// compared in constant time against every candidate.
fn matches(
    algorithm: Algorithm,
    key: &[u8],
    content: &[Piece<'_>],
    candidates: &[Vec<u8>],
    clock: &Clock,
) -> bool {
    let any_equal = |expected: &[u8]| {
        candidates.iter().fold(false, |found, c| {
            found | (expected.len() == c.len() && bool::from(expected.ct_eq(c)))
        })
    };
    match algorithm {
        Algorithm::Hmac(hash) => any_equal(&mac(hash, key, content)),
        Algorithm::Digest(hash) => any_equal(&digest(hash, key, content)),
        Algorithm::Token | Algorithm::Basic => {
            // Hashing both sides first keeps the comparison constant-time in the secret's length too.
            let expected = Sha256::digest(key);
            candidates.iter().fold(false, |found, c| {
                found | bool::from(Sha256::digest(c).ct_eq(&expected))
            })
        }
        Algorithm::Ed25519 => {
            let message = concat(key, content);
            let Ok(key) = <[u8; 32]>::try_from(key) else {
                return false;
            };
            let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
                return false;
            };
            candidates.iter().any(|c| {
                ed25519_dalek::Signature::from_slice(c)
                    .is_ok_and(|sig| vk.verify_strict(&message, &sig).is_ok())
            })
        }
        Algorithm::EcdsaP256 => {
            use p256::ecdsa::signature::Verifier;
            let message = concat(key, content);
            let Some(vk) = p256_key(key) else {
                return false;
            };
            candidates.iter().any(|c| {
                p256::ecdsa::Signature::from_der(c)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(c))
                    .is_ok_and(|sig| vk.verify(&message, &sig).is_ok())
            })
        }
        Algorithm::Rsa(..) | Algorithm::Ecdsa(..) => {
            let (Some(asym), Ok(public)) = (asym(algorithm), PublicKey::from_spki_der(key)) else {
                return false;
            };
            let message = concat(key, content);
            candidates.iter().any(|c| public.verify(asym, &message, c))
        }
        Algorithm::Jwt(rules) => {
            let message = concat(key, content);
            let now = u64::try_from(super::unix_seconds(clock.now)).unwrap_or(0);
            let rules = keys::JwtRules {
                max_age: rules
                    .max_age
                    .map(|m| m.min(clock.tolerance.as_secs().max(1))),
                ..rules
            };
            let public = if algorithm.public_key() {
                match PublicKey::from_spki_der(key) {
                    Ok(public) => Some(public),
                    Err(_) => return false,
                }
            } else {
                None
            };
            let jwt_key = match &public {
                Some(public) => keys::JwtKey::Public(public),
                None => keys::JwtKey::Hmac(key),
            };
            candidates.iter().any(|c| {
                std::str::from_utf8(c)
                    .is_ok_and(|t| keys::verify_jwt(t, jwt_key, &rules, now, &message).is_ok())
            })
        }
    }
}

/// The public-key algorithm of an RSA or ECDSA scheme.
fn asym(algorithm: Algorithm) -> Option<keys::Asym> {
    match algorithm {
        Algorithm::Rsa(Padding::Pkcs1v15, hash) => Some(keys::Asym::RsaPkcs1v15(hash)),
        Algorithm::Rsa(Padding::Pss, hash) => Some(keys::Asym::RsaPss(hash)),
        Algorithm::Ecdsa(_, hash) => Some(keys::Asym::Ecdsa(hash)),
        _ => None,
    }
}

/// A configured public key (PEM, a JWK, base64 DER) as SPKI DER, when it fits the algorithm.
fn public_key_secret(algorithm: Algorithm, secret: &str) -> Result<Vec<u8>, String> {
    let key = PublicKey::parse(secret).map_err(|e| format!("the sender's public key: {e}"))?;
    let fits = match (algorithm, &key) {
        (Algorithm::Rsa(..), PublicKey::Rsa(_))
        | (Algorithm::Ecdsa(Curve::P256, _), PublicKey::P256(_))
        | (Algorithm::Ecdsa(Curve::P384, _), PublicKey::P384(_)) => true,
        (Algorithm::Jwt(rules), key) => rules.algorithms.iter().any(|a| {
            matches!(
                (a.asym(), key),
                (
                    Some(keys::Asym::RsaPkcs1v15(_) | keys::Asym::RsaPss(_)),
                    PublicKey::Rsa(_)
                ) | (Some(keys::Asym::Ed25519), PublicKey::Ed25519(_))
            ) || (*a == keys::JwtAlg::ES256 && matches!(key, PublicKey::P256(_)))
                || (*a == keys::JwtAlg::ES384 && matches!(key, PublicKey::P384(_)))
        }),
        _ => false,
    };
    if !fits {
        return Err(format!(
            "the sender's public key is {key:?}, which {} does not sign with",
            super::algorithm_label(algorithm)
        ));
    }
    Ok(key.to_spki_der())
}

fn concat(key: &[u8], content: &[Piece<'_>]) -> Vec<u8> {
    content.iter().flat_map(|p| p.bytes(key)).copied().collect()
}

/// A P-256 public key from SubjectPublicKeyInfo DER or a SEC1 point.
fn p256_key(bytes: &[u8]) -> Option<p256::ecdsa::VerifyingKey> {
    use p256::pkcs8::DecodePublicKey;
    p256::ecdsa::VerifyingKey::from_public_key_der(bytes)
        .or_else(|_| p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes))
        .ok()
}

fn mac(hash: Hash, key: &[u8], content: &[Piece<'_>]) -> Vec<u8> {
    fn run<M: Mac + KeyInit>(key: &[u8], content: &[Piece<'_>]) -> Vec<u8> {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
        for piece in content {
            mac.update(piece.bytes(key));
        }
        mac.finalize().into_bytes().to_vec()
    }
    match hash {
        Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, content),
        Hash::Sha256 => run::<Hmac<Sha256>>(key, content),
        Hash::Sha384 => run::<Hmac<sha2::Sha384>>(key, content),
        Hash::Sha512 => run::<Hmac<Sha512>>(key, content),
    }
}

fn digest(hash: Hash, key: &[u8], content: &[Piece<'_>]) -> Vec<u8> {
    fn run<D: Digest>(key: &[u8], content: &[Piece<'_>]) -> Vec<u8> {
        let mut d = D::new();
        for piece in content {
            d.update(piece.bytes(key));
        }
        d.finalize().to_vec()
    }
    match hash {
        Hash::Sha1 => run::<sha1::Sha1>(key, content),
        Hash::Sha256 => run::<Sha256>(key, content),
        Hash::Sha384 => run::<sha2::Sha384>(key, content),
        Hash::Sha512 => run::<Sha512>(key, content),
    }
}

/// Turns a configured secret into the key the scheme uses. Public-key schemes take the sender's
/// public key here (hex or base64 as the sender publishes it) and check it is one.
pub fn decode_secret(scheme: &Scheme, secret: &str) -> Result<Vec<u8>, String> {
    if secret.is_empty() {
        return Err("the secret is empty".into());
    }
    if let Some(key) = scheme.custom.and_then(|c| c.decode_secret(secret)) {
        return key;
    }
    if scheme.algorithm.public_key()
        && matches!(
            scheme.algorithm,
            Algorithm::Rsa(..) | Algorithm::Ecdsa(..) | Algorithm::Jwt(_)
        )
    {
        return public_key_secret(scheme.algorithm, secret);
    }
    let key = match scheme.key {
        KeyDecoding::Utf8 => secret.as_bytes().to_vec(),
        KeyDecoding::Base64 => B64
            .decode(secret.trim())
            .map_err(|_| "the secret must be base64".to_owned())?,
        KeyDecoding::Hex => {
            hex::decode(secret.trim()).map_err(|_| "the secret must be hexadecimal".to_owned())?
        }
        KeyDecoding::Whsec => {
            let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
            B64.decode(b64.trim())
                .map_err(|_| "the secret must be `whsec_` followed by base64".to_owned())?
        }
    };
    if key.is_empty() {
        return Err("the secret decodes to an empty key".into());
    }
    match scheme.algorithm {
        Algorithm::Ed25519 => <[u8; 32]>::try_from(key.as_slice())
            .ok()
            .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
            .map(|_| key)
            .ok_or_else(|| "the secret must be the sender's Ed25519 public key (32 bytes)".into()),
        Algorithm::EcdsaP256 => p256_key(&key).map(|_| key).ok_or_else(|| {
            "the secret must be the sender's P-256 public key (base64 SubjectPublicKeyInfo)".into()
        }),
        _ => Ok(key),
    }
}

/// The body with the signature written in, for schemes that sign inside the body; `None` for
/// the others, whose body is sent as it is.
pub fn sign_body(scheme: &Scheme, key: &[u8], s: &Signing<'_>) -> Result<Option<Vec<u8>>, String> {
    scheme.custom.and_then(|c| c.sign_body(key, s)).transpose()
}

/// The headers (name, value) a sender of `scheme` adds to sign `s` with `key` (for public-key
/// schemes, the private key: 32 Ed25519 seed bytes, or a P-256 scalar / PKCS#8 DER).
/// Schemes whose signature is inside the body cannot be signed this way.
pub fn sign(scheme: &Scheme, key: &[u8], s: &Signing<'_>) -> Result<Vec<(String, String)>, String> {
    let ts = scheme.timestamp.map(|t| format_time(s.at, t.unit));
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut content: Vec<u8> = Vec::new();
    if let Some(signed) = scheme.custom.and_then(|c| c.sign(key, s)) {
        return signed;
    }
    for part in scheme.signed {
        match part {
            Part::Body => content.extend_from_slice(s.body),
            Part::Timestamp => content.extend_from_slice(ts.as_deref().unwrap_or("").as_bytes()),
            Part::Id => content.extend_from_slice(s.id.as_bytes()),
            Part::Header(h) => {
                return Err(format!(
                    "{}: the signed header {h} must be given",
                    scheme.name
                ))
            }
            Part::Json(p) => {
                let raw: &RawValue = serde_json::from_slice(s.body)
                    .map_err(|_| format!("{}: the body must be JSON", scheme.name))?;
                let text = Doc::Json(raw)
                    .text(p)
                    .ok_or_else(|| format!("{}: the body has no `{p}`", scheme.name))?;
                content.extend_from_slice(text.as_bytes());
            }
            Part::Url => content.extend_from_slice(
                s.url
                    .ok_or_else(|| format!("{} signs the URL: give --url", scheme.name))?
                    .as_bytes(),
            ),
            Part::Method => content.extend_from_slice(s.method.as_bytes()),
            Part::Lit(l) => content.extend_from_slice(l.as_bytes()),
            Part::Secret => content.extend_from_slice(key),
        }
    }
    let sig: Vec<u8> = match scheme.algorithm {
        Algorithm::Hmac(hash) => mac(hash, key, &[Piece::Borrowed(&content)]),
        Algorithm::Digest(hash) => digest(hash, key, &[Piece::Borrowed(&content)]),
        Algorithm::Token => key.to_vec(),
        Algorithm::Basic => B64_PADDED.encode(key).into_bytes(),
        Algorithm::Ed25519 => {
            use ed25519_dalek::Signer;
            let seed = <[u8; 32]>::try_from(key)
                .map_err(|_| "an Ed25519 private key is 32 bytes".to_owned())?;
            ed25519_dalek::SigningKey::from_bytes(&seed)
                .sign(&content)
                .to_bytes()
                .to_vec()
        }
        Algorithm::EcdsaP256 => {
            use p256::ecdsa::signature::Signer;
            use p256::pkcs8::DecodePrivateKey;
            let sk = p256::ecdsa::SigningKey::from_pkcs8_der(key)
                .or_else(|_| p256::ecdsa::SigningKey::from_slice(key))
                .map_err(|_| "a P-256 private key is PKCS#8 DER or 32 bytes".to_owned())?;
            let sig: p256::ecdsa::Signature = sk.sign(&content);
            sig.to_der().as_bytes().to_vec()
        }
        Algorithm::Rsa(..) | Algorithm::Ecdsa(..) => {
            let asym = asym(scheme.algorithm).ok_or("no such algorithm")?;
            keys::sign(asym, key, &content, false)?
        }
        Algorithm::Jwt(rules) => jwt_for(&rules, key, &content, s)?.into_bytes(),
    };
    let encoded = match scheme.algorithm {
        Algorithm::Token | Algorithm::Basic | Algorithm::Jwt(_) => {
            String::from_utf8_lossy(&sig).into_owned()
        }
        _ => encode(scheme.encoding, &sig),
    };
    let value = match scheme.signature.format {
        Format::Plain => encoded,
        Format::Prefix(p) => format!("{p}{encoded}"),
        Format::Kv { sep, key } => match (scheme.timestamp.and_then(|t| t.at.first()), &ts) {
            (Some(Loc::Kv(k)), Some(ts)) => format!("{k}={ts}{sep}{key}={encoded}"),
            _ => format!("{key}={encoded}"),
        },
        Format::Versioned { version } => format!("{version},{encoded}"),
        Format::List { prefix } => format!("{prefix}{encoded}"),
        Format::TimestampFirst => format!("{},{encoded}", ts.as_deref().unwrap_or_default()),
    };
    match scheme.signature.at.first() {
        Some(Loc::Header(h)) => headers.push(((*h).to_owned(), value)),
        _ => return Err(format!("{}: the signature is not in a header", scheme.name)),
    }
    if let (Some(t), Some(ts)) = (scheme.timestamp, ts) {
        if let Some(Loc::Header(h)) = t.at.first() {
            headers.push(((*h).to_owned(), ts));
        }
    }
    if let Some(Loc::Header(h)) = scheme.id.first() {
        headers.push(((*h).to_owned(), s.id.to_owned()));
    }
    Ok(headers)
}

/// The JWT a sender of `rules` sends with `s`: issued at `s.at`, expiring five minutes later,
/// with the rules' issuer, audience and body hash of `content`, and `jti` the delivery id.
fn jwt_for(
    rules: &keys::JwtRules,
    key: &[u8],
    content: &[u8],
    s: &Signing<'_>,
) -> Result<String, String> {
    let mut claims = serde_json::Map::new();
    claims.insert("iat".into(), s.at.into());
    claims.insert("exp".into(), (s.at + 300).into());
    claims.insert("jti".into(), s.id.into());
    if let Some(iss) = rules.issuer {
        claims.insert("iss".into(), iss.into());
    }
    if let Some(aud) = rules.audience {
        claims.insert("aud".into(), aud.into());
    }
    if let Some(rule) = rules.body_hash {
        claims.insert(
            rule.claim.into(),
            hex::encode(keys::digest(rule.hash, content)).into(),
        );
    }
    let alg = *rules.algorithms.first().ok_or("no JWT algorithm")?;
    keys::sign_jwt(alg, key, &serde_json::Value::Object(claims))
}

/// As [`sign`], for a request that will also carry `given` headers (the CLI's `--header`), which
/// a sender may read to choose how it signs (Twilio's signature settings); they are not returned.
pub fn sign_with_headers(
    scheme: &Scheme,
    key: &[u8],
    s: &Signing<'_>,
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    match scheme
        .custom
        .and_then(|c| c.sign_with_headers(key, s, given))
    {
        Some(signed) => signed,
        None => sign(scheme, key, s),
    }
}

/// A unix time written in `unit`.
pub fn format_time(at: i64, unit: Unit) -> String {
    match unit {
        Unit::Seconds => at.to_string(),
        Unit::Millis => (at * 1000).to_string(),
        Unit::Rfc3339 => time::OffsetDateTime::from_unix_timestamp(at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default(),
    }
}

/// HMAC-SHA256 of `data` under `key`, for handshakes that answer with a MAC (Zoom, X).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac(Hash::Sha256, key, &[data])
}

/// The HMAC of `parts`, one after another, under `key`, for the code beside a sender that
/// computes its own (Twilio's URL and parameters).
pub(crate) fn hmac(hash: Hash, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let pieces: Vec<Piece<'_>> = parts.iter().map(|p| Piece::Borrowed(p)).collect();
    mac(hash, key, &pieces)
}
