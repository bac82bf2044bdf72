//! Standard Webhooks signatures on what Inlet sends: `v1` (HMAC-SHA256 with a `whsec_` secret)
//! and `v1a` (Ed25519 with a `whsk_` key pair, checked with its `whpk_` public key), over
//! `"{webhook-id}.{webhook-timestamp}.{raw body}"`, one space-separated entry per key so that a
//! receiver still holding the previous secret keeps verifying during a rotation.
//!
//! Pure: the time and the message id are arguments; only [`Secret::generate`] and
//! [`KeyPair::generate`] touch the operating system (for random bytes). No `Debug` here shows
//! key material.

use std::fmt;

use base64::Engine;
use ed25519_dalek::Signer as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::verify::engine::B64;

/// The header carrying the message id, which is signed (and the receiver's idempotency key).
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the unix seconds the message was signed at.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the space-separated signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// Fewest bytes a `whsec_` secret may hold (the spec: 192 bits).
pub const MIN_SECRET_BYTES: usize = 24;
/// Most bytes a `whsec_` secret may hold (the spec: 512 bits).
pub const MAX_SECRET_BYTES: usize = 64;
/// Bytes [`Secret::generate`] draws.
pub const GENERATED_SECRET_BYTES: usize = 32;

const SECRET_PREFIX: &str = "whsec_";
const KEY_PAIR_PREFIX: &str = "whsk_";
const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// Why a key could not be read or made. The messages never quote the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a {kind} starts with `{prefix}`")]
    Prefix {
        kind: &'static str,
        prefix: &'static str,
    },
    #[error("a {kind} is `{prefix}` followed by standard base64, and this is not base64")]
    Base64 {
        kind: &'static str,
        prefix: &'static str,
    },
    #[error("a {kind} holds {expected}, and this one holds {got} bytes")]
    Length {
        kind: &'static str,
        expected: &'static str,
        got: usize,
    },
    #[error("the public half of this `whsk_` key does not belong to its private half")]
    MismatchedKeyPair,
    #[error("this `whpk_` key is not an Ed25519 public key")]
    NotAPublicKey,
    #[error("the operating system gave no random bytes to make a key from: {0}")]
    Random(String),
}

/// Reads `{prefix}{base64}` into bytes (standard alphabet, padding optional).
fn decode(text: &str, kind: &'static str, prefix: &'static str) -> Result<Vec<u8>, KeyError> {
    let b64 = text
        .trim()
        .strip_prefix(prefix)
        .ok_or(KeyError::Prefix { kind, prefix })?;
    B64.decode(b64)
        .map_err(|_| KeyError::Base64 { kind, prefix })
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(bytes)
}

/// What every signature covers: `"{msg_id}.{timestamp}.{body}"`.
fn signed_content(msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let prefix = format!("{msg_id}.{timestamp}.");
    let mut content = Vec::with_capacity(prefix.len() + body.len());
    content.extend_from_slice(prefix.as_bytes());
    content.extend_from_slice(body);
    content
}

/// A symmetric `whsec_` secret (`v1`, HMAC-SHA256): 24 to 64 random bytes, shared with the
/// endpoint's owner. `Debug` shows no key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A new secret of [`GENERATED_SECRET_BYTES`] random bytes.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self(random::<GENERATED_SECRET_BYTES>()?.to_vec()))
    }

    /// Reads `whsec_` followed by the base64 of 24 to 64 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const KIND: &str = "`whsec_` secret";
        let key = decode(text, KIND, SECRET_PREFIX)?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&key.len()) {
            return Err(KeyError::Length {
                kind: KIND,
                expected: "24 to 64 bytes",
                got: key.len(),
            });
        }
        Ok(Self(key))
    }

    /// The `whsec_…` text: to store encrypted, and to show the endpoint's owner once.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", B64.encode(&self.0))
    }

    /// `v1,<base64 HMAC-SHA256>` of `content`.
    fn sign(&self, content: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(content);
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<redacted {} bytes>)", self.0.len())
    }
}

/// An asymmetric `whsk_` key pair (`v1a`, Ed25519): the base64 of the 32-byte private seed
/// followed by the 32-byte public key, as Svix's server writes it (the spec says only "base64,
/// prefixed with `whsk_`"). `Debug` shows only the public key.
#[derive(Clone)]
pub struct KeyPair(ed25519_dalek::SigningKey);

impl KeyPair {
    /// A new key pair from 32 random bytes.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self(
            ed25519_dalek::SigningKey::from_bytes(&random::<32>()?),
        ))
    }

    /// Reads `whsk_` followed by the base64 of 64 bytes: seed, then the public key it makes.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const KIND: &str = "`whsk_` key";
        let bytes = decode(text, KIND, KEY_PAIR_PREFIX)?;
        let pair = <[u8; 64]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length {
            kind: KIND,
            expected: "64 bytes (the private seed, then the public key)",
            got: bytes.len(),
        })?;
        ed25519_dalek::SigningKey::from_keypair_bytes(&pair)
            .map(Self)
            .map_err(|_| KeyError::MismatchedKeyPair)
    }

    /// The `whsk_…` text: to store encrypted.
    pub fn expose(&self) -> String {
        format!("{KEY_PAIR_PREFIX}{}", B64.encode(self.0.to_keypair_bytes()))
    }

    /// The public key that checks this pair's signatures, for the endpoint's owner.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// `v1a,<base64 Ed25519 signature>` of `content`.
    fn sign(&self, content: &[u8]) -> String {
        format!("v1a,{}", B64.encode(self.0.sign(content).to_bytes()))
    }
}

impl PartialEq for KeyPair {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_keypair_bytes() == other.0.to_keypair_bytes()
    }
}

impl Eq for KeyPair {}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public_key().to_string())
            .field("private", &"<redacted>")
            .finish()
    }
}

/// A `whpk_` Ed25519 public key: the base64 of 32 bytes. Not secret; `Display` writes it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Reads `whpk_` followed by the base64 of a 32-byte Ed25519 public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        const KIND: &str = "`whpk_` key";
        let bytes = decode(text, KIND, PUBLIC_KEY_PREFIX)?;
        let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::Length {
            kind: KIND,
            expected: "32 bytes",
            got: bytes.len(),
        })?;
        ed25519_dalek::VerifyingKey::from_bytes(&key)
            .map(Self)
            .map_err(|_| KeyError::NotAPublicKey)
    }

    /// Whether any `v1a` entry of a `webhook-signature` value is this key's signature of the
    /// message (what a receiver does; the timestamp's age is the caller's to check).
    pub fn verify(&self, msg_id: &str, timestamp: i64, body: &[u8], signatures: &str) -> bool {
        let content = signed_content(msg_id, timestamp, body);
        signatures
            .split_ascii_whitespace()
            .filter_map(|entry| entry.strip_prefix("v1a,"))
            .filter_map(|b64| B64.decode(b64).ok())
            .filter_map(|sig| ed25519_dalek::Signature::from_slice(&sig).ok())
            .any(|sig| self.0.verify_strict(&content, &sig).is_ok())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", B64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

/// The keys one endpoint's messages are signed with now: its current `whsec_` secret, any
/// previous ones still honoured during a rotation (newest first), and any Ed25519 key pairs.
/// Never without a secret, by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    secrets: Vec<Secret>,
    key_pairs: Vec<KeyPair>,
}

impl Signer {
    /// Signs with `current` alone.
    pub fn new(current: Secret) -> Self {
        Self {
            secrets: vec![current],
            key_pairs: Vec::new(),
        }
    }

    /// Also signs with `previous`, after the secrets already given: the receiver may still hold
    /// it while the endpoint's owner rolls the new one out.
    pub fn with_previous(mut self, previous: Secret) -> Self {
        self.secrets.push(previous);
        self
    }

    /// Also signs with an Ed25519 key pair (`v1a`).
    pub fn with_key_pair(mut self, key_pair: KeyPair) -> Self {
        self.key_pairs.push(key_pair);
        self
    }

    /// The `webhook-signature` value for `body` sent as message `msg_id` at `timestamp` (unix
    /// seconds): `v1,<…>` per secret, in order, then `v1a,<…>` per key pair, space-separated.
    ///
    /// `msg_id` is Inlet's own and holds no `.` (the spec: a `.` in it would let one signed
    /// content pose as another's).
    pub fn signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        debug_assert!(!msg_id.contains('.'), "message ids never hold a `.`");
        let content = signed_content(msg_id, timestamp, body);
        let v1 = self.secrets.iter().map(|s| s.sign(&content));
        let v1a = self.key_pairs.iter().map(|k| k.sign(&content));
        v1.chain(v1a).collect::<Vec<_>>().join(" ")
    }

    /// The three headers a signed message carries: `webhook-id`, `webhook-timestamp` and
    /// `webhook-signature`, in that order.
    pub fn headers(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> [(&'static str, String); 3] {
        [
            (ID_HEADER, msg_id.to_owned()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, self.signature(msg_id, timestamp, body)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::senders::standard::SCHEME as STANDARD;
    use crate::core::scheme::{Algorithm, Format, Scheme, Signature};
    use crate::core::verify::VerifyError;
    use crate::tests::check;

    struct Vector {
        secret: &'static str,
        id: &'static str,
        ts: i64,
        body: &'static [u8],
        sig: &'static str,
    }

    /// `v1`: standard-webhooks `libraries/javascript/src/webhook.test.ts` and
    /// `libraries/go/webhook_test.go` ("test sign function"), then `libraries/rust/src/lib.rs`
    /// (`test_sign`); the first is also svix-webhooks' `worker.rs`
    /// `test_generate_msg_headers_with_signing_key`.
    const V1: [Vector; 2] = [
        Vector {
            secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            ts: 1_614_265_330,
            body: br#"{"test": 2432232314}"#,
            sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        },
        Vector {
            secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            id: "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            ts: 1_649_367_553,
            body: br#"{"email":"test@example.com","username":"test_user"}"#,
            sig: "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
        },
    ];

    /// `v1a`: svix-webhooks `server/svix-server/src/worker.rs` `test_asymmetric_key_signing`
    /// (the key pair and public key are its README's `asymmetric-key generate` example); the
    /// Standard Webhooks spec's example header carries the same signature.
    const V1A: Vector = Vector {
        secret: "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==",
        id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
        ts: 1_614_265_330,
        body: br#"{"test": 2432232314}"#,
        sig: "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
    };
    const V1A_PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";

    /// Inlet's receiving side for `v1a`: the `standard` scheme with Ed25519 in place of HMAC.
    const STANDARD_V1A: Scheme = Scheme {
        name: "standard-v1a",
        signature: Signature {
            format: Format::Versioned { version: "v1a" },
            ..STANDARD.signature
        },
        algorithm: Algorithm::Ed25519,
        ..STANDARD
    };

    fn secret(text: &str) -> Secret {
        Secret::parse(text).expect("a valid secret")
    }

    /// The base64 of a `whsec_`/`whpk_` text, which the receiving side's key decoding takes.
    fn bare(text: &str) -> &str {
        text.split_once('_').expect("a prefix").1
    }

    /// Inlet's own receiver (the `standard` scheme through the verify engine), knowing `keys`,
    /// checking `headers` at the moment they were signed; the label of the key that matched.
    fn receive(
        scheme: &'static Scheme,
        keys: &[&str],
        headers: &[(&'static str, String)],
        body: &[u8],
        now: i64,
    ) -> Result<String, VerifyError> {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        check(scheme, &keys, &pairs, body, now as u64)
    }

    #[test]
    fn v1_known_answers() {
        for v in &V1 {
            let signer = Signer::new(secret(v.secret));
            assert_eq!(signer.signature(v.id, v.ts, v.body), v.sig, "{}", v.id);
        }
    }

    #[test]
    fn v1a_known_answer_and_key_formats() {
        let pair = KeyPair::parse(V1A.secret).expect("svix's key pair");
        assert_eq!(pair.expose(), V1A.secret);
        assert_eq!(pair.public_key().to_string(), V1A_PUBLIC);
        assert_eq!(PublicKey::parse(V1A_PUBLIC), Ok(pair.public_key()));

        // Ed25519 is deterministic, so the signature is a known answer too.
        let signer = Signer::new(secret(V1[0].secret)).with_key_pair(pair.clone());
        let value = signer.signature(V1A.id, V1A.ts, V1A.body);
        assert_eq!(value, format!("{} {}", V1[0].sig, V1A.sig));

        let public = pair.public_key();
        assert!(public.verify(V1A.id, V1A.ts, V1A.body, &value));
        assert!(!public.verify(V1A.id, V1A.ts, b"{\"test\": 2432232315}", &value));
        assert!(!public.verify(V1A.id, V1A.ts + 1, V1A.body, &value));
        assert!(
            !public.verify(V1A.id, V1A.ts, V1A.body, V1[0].sig),
            "no v1a entry"
        );
        let other = KeyPair::generate().expect("random").public_key();
        assert!(!other.verify(V1A.id, V1A.ts, V1A.body, &value));
    }

    #[test]
    fn headers_are_the_three_standard_ones() {
        let v = &V1[0];
        let signer = Signer::new(secret(v.secret));
        assert_eq!(
            signer.headers(v.id, v.ts, v.body),
            [
                ("webhook-id", v.id.to_owned()),
                ("webhook-timestamp", "1614265330".to_owned()),
                ("webhook-signature", v.sig.to_owned()),
            ]
        );
    }

    #[test]
    fn rotation_signs_with_each_secret_in_order() {
        let (current, previous) = (&V1[1], &V1[0]);
        let signer = Signer::new(secret(current.secret)).with_previous(secret(previous.secret));
        let value = signer.signature(previous.id, previous.ts, previous.body);
        let entries: Vec<&str> = value.split(' ').collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1], previous.sig,
            "the previous secret's, on its own"
        );
        assert_eq!(
            entries[0],
            Signer::new(secret(current.secret)).signature(previous.id, previous.ts, previous.body),
            "the current secret's, on its own, first"
        );
        assert_ne!(entries[0], entries[1]);
    }

    #[test]
    fn inlets_receiver_accepts_what_the_signer_signs() {
        let current = Secret::generate().expect("random");
        let previous = Secret::generate().expect("random");
        let stranger = Secret::generate().expect("random");
        let (id, ts, body) = ("msg_2Zq1", 1_700_000_000, br#"{"type":"invoice.paid"}"#);

        let alone = Signer::new(current.clone()).headers(id, ts, body);
        assert_eq!(
            receive(&STANDARD, &[&current.expose()], &alone, body, ts).as_deref(),
            Ok("secret-0")
        );

        let rotating = Signer::new(current.clone())
            .with_previous(previous.clone())
            .headers(id, ts, body);
        // A receiver that has not yet taken the new secret still verifies.
        assert_eq!(
            receive(&STANDARD, &[&previous.expose()], &rotating, body, ts).as_deref(),
            Ok("secret-0")
        );
        assert_eq!(
            receive(&STANDARD, &[&current.expose()], &rotating, body, ts).as_deref(),
            Ok("secret-0")
        );
        assert_eq!(
            receive(&STANDARD, &[&stranger.expose()], &rotating, body, ts),
            Err(VerifyError::SignatureMismatch {
                header: SIGNATURE_HEADER
            })
        );
        assert!(receive(&STANDARD, &[&current.expose()], &rotating, b"{}", ts).is_err());
        assert!(matches!(
            receive(&STANDARD, &[&current.expose()], &rotating, body, ts + 301),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
    }

    #[test]
    fn inlets_receiver_accepts_v1a_beside_v1() {
        let pair = KeyPair::generate().expect("random");
        let current = Secret::generate().expect("random");
        let (id, ts, body) = ("msg_2Zq1", 1_700_000_000, b"not json at all".as_slice());
        let headers = Signer::new(current.clone())
            .with_key_pair(pair.clone())
            .headers(id, ts, body);
        let public = pair.public_key().to_string();
        receive(&STANDARD_V1A, &[bare(&public)], &headers, body, ts).expect("v1a verifies");
        receive(&STANDARD, &[&current.expose()], &headers, body, ts).expect("v1 still verifies");
        let other = KeyPair::generate()
            .expect("random")
            .public_key()
            .to_string();
        assert!(receive(&STANDARD_V1A, &[bare(&other)], &headers, body, ts).is_err());

        // Without a key pair there is no v1a entry for a v1a-only receiver to find.
        let v1_only = Signer::new(current).headers(id, ts, body);
        assert_eq!(
            receive(&STANDARD_V1A, &[bare(&public)], &v1_only, body, ts),
            Err(VerifyError::MalformedSignature {
                header: SIGNATURE_HEADER
            })
        );
    }

    #[test]
    fn generated_keys_round_trip_through_their_text() {
        let s = Secret::generate().expect("random");
        assert_eq!(Secret::parse(&s.expose()), Ok(s.clone()));
        assert_eq!(B64.decode(bare(&s.expose())).expect("b64").len(), 32);
        assert_ne!(s, Secret::generate().expect("random"), "random, not fixed");

        let k = KeyPair::generate().expect("random");
        assert_eq!(KeyPair::parse(&k.expose()), Ok(k.clone()));
        let p = k.public_key();
        assert_eq!(PublicKey::parse(&p.to_string()), Ok(p));
    }

    #[test]
    fn secret_lengths_at_the_bounds() {
        for n in [24, 32, 64] {
            let text = format!("whsec_{}", B64.encode(vec![7u8; n]));
            assert!(Secret::parse(&text).is_ok(), "{n} bytes");
        }
        // Unpadded base64, as some dashboards print it, and stray whitespace around a pasted value.
        assert!(Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").is_ok());
        let unpadded = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode([7u8; 32])
        );
        assert_eq!(
            Secret::parse(&unpadded).map(|s| s.expose()),
            Ok(format!("whsec_{}", B64.encode([7u8; 32])))
        );
    }

    #[test]
    fn parse_refusals() {
        let b64 = |n: usize| B64.encode(vec![7u8; n]);
        let secret = "`whsec_` secret";
        let pair = "`whsk_` key";
        let public = "`whpk_` key";
        let secret_cases: &[(String, KeyError)] = &[
            (
                b64(32),
                KeyError::Prefix {
                    kind: secret,
                    prefix: "whsec_",
                },
            ),
            (
                format!("whsk_{}", b64(32)),
                KeyError::Prefix {
                    kind: secret,
                    prefix: "whsec_",
                },
            ),
            (
                format!("WHSEC_{}", b64(32)),
                KeyError::Prefix {
                    kind: secret,
                    prefix: "whsec_",
                },
            ),
            (
                format!("whsec_{}", b64(23)),
                KeyError::Length {
                    kind: secret,
                    expected: "24 to 64 bytes",
                    got: 23,
                },
            ),
            (
                format!("whsec_{}", b64(65)),
                KeyError::Length {
                    kind: secret,
                    expected: "24 to 64 bytes",
                    got: 65,
                },
            ),
            (
                "whsec_".to_owned(),
                KeyError::Length {
                    kind: secret,
                    expected: "24 to 64 bytes",
                    got: 0,
                },
            ),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!".to_owned(),
                KeyError::Base64 {
                    kind: secret,
                    prefix: "whsec_",
                },
            ),
            (
                // URL-safe base64 is another alphabet.
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-_w==".to_owned(),
                KeyError::Base64 {
                    kind: secret,
                    prefix: "whsec_",
                },
            ),
            (
                "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw".to_owned(),
                KeyError::Base64 {
                    kind: secret,
                    prefix: "whsec_",
                },
            ),
        ];
        for (text, want) in secret_cases {
            assert_eq!(Secret::parse(text).as_ref(), Err(want), "{text}");
        }

        let good_pair = V1A.secret;
        let mut tampered = B64.decode(bare(good_pair)).expect("b64");
        tampered[40] ^= 1;
        let pair_cases: &[(String, KeyError)] = &[
            (
                V1A_PUBLIC.to_owned(),
                KeyError::Prefix {
                    kind: pair,
                    prefix: "whsk_",
                },
            ),
            (
                format!("whsk_{}", b64(32)),
                KeyError::Length {
                    kind: pair,
                    expected: "64 bytes (the private seed, then the public key)",
                    got: 32,
                },
            ),
            (
                format!("whsk_{}", b64(63)),
                KeyError::Length {
                    kind: pair,
                    expected: "64 bytes (the private seed, then the public key)",
                    got: 63,
                },
            ),
            (
                // svix-webhooks' "Bad SK": cut off mid-symbol, so not even base64.
                "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kv".to_owned(),
                KeyError::Base64 {
                    kind: pair,
                    prefix: "whsk_",
                },
            ),
            (
                format!("whsk_{}", B64.encode(&tampered)),
                KeyError::MismatchedKeyPair,
            ),
            (
                "whsk_%%%".to_owned(),
                KeyError::Base64 {
                    kind: pair,
                    prefix: "whsk_",
                },
            ),
        ];
        for (text, want) in pair_cases {
            assert_eq!(KeyPair::parse(text).as_ref().err(), Some(want), "{text}");
        }

        let public_cases: &[(String, KeyError)] = &[
            (
                good_pair.to_owned(),
                KeyError::Prefix {
                    kind: public,
                    prefix: "whpk_",
                },
            ),
            (
                format!("whpk_{}", b64(31)),
                KeyError::Length {
                    kind: public,
                    expected: "32 bytes",
                    got: 31,
                },
            ),
            (
                "whpk_???".to_owned(),
                KeyError::Base64 {
                    kind: public,
                    prefix: "whpk_",
                },
            ),
        ];
        for (text, want) in public_cases {
            assert_eq!(PublicKey::parse(text).as_ref().err(), Some(want), "{text}");
        }
    }

    #[test]
    fn errors_never_quote_the_key() {
        let texts = [
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!",
            "whsec_MfKQ9r8GKYqrTwjU",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ];
        for text in texts {
            let message = Secret::parse(text).expect_err("refused").to_string();
            assert!(!message.contains("MfKQ9r8G"), "{message}");
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let s = secret(V1[0].secret);
        let pair = KeyPair::parse(V1A.secret).expect("key pair");
        let signer = Signer::new(s.clone())
            .with_previous(secret(V1[1].secret))
            .with_key_pair(pair.clone());
        let printed = format!("{s:?} {pair:?} {signer:?} {signer:#?}");
        let seed_b64 = B64.encode(&B64.decode(bare(V1A.secret)).expect("b64")[..32]);
        for material in [
            bare(V1[0].secret),
            bare(V1[1].secret),
            bare(V1A.secret),
            seed_b64.as_str(),
            &seed_b64[..12],
            &V1[0].secret[6..18],
        ] {
            assert!(!printed.contains(material), "{material} in {printed}");
        }
        // The public key is not secret, and says which pair it is.
        assert!(printed.contains(V1A_PUBLIC), "{printed}");
        assert!(printed.contains("redacted"), "{printed}");
    }
}
