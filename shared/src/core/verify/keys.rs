//! Public keys and the asymmetric signatures and JWS/JWT tokens made with them: RSA (PKCS#1 v1.5
//! and PSS), ECDSA P-256 and P-384, Ed25519, and HMAC for JWTs signed with a shared secret.
//!
//! A key is read from PEM (SubjectPublicKeyInfo `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`, or an X.509
//! `CERTIFICATE`, whose key is taken and nothing else about it checked: whether the certificate is
//! to be trusted is the caller's decision), from SPKI DER, from a certificate's DER, or from a JWK
//! (RFC 7517: RSA `n`/`e`, EC P-256/P-384 `x`/`y`, OKP Ed25519 `x`). RSA keys under 2048 bits are
//! refused. The verifiers are RustCrypto's (`rsa`, `p256`, `p384`, `ed25519-dalek`); JWS compact
//! serialization (RFC 7515) and the JWT claims (RFC 7519) are read here on top of them.
//!
//! ECDSA signatures are accepted as DER or as the fixed-size `r || s` (JWS, RFC 7518 §3.4, uses
//! the fixed form; most senders that sign a body with ECDSA send DER): [`PublicKey::verify`]
//! takes either, and a JWT's ES256/ES384 signature must be the fixed form.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, Mac};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use x509_cert::der::{Decode, Encode};

pub use crate::core::scheme::{BodyHash, Hash, JwtAlg, JwtRules};

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";
/// The DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 bytes (RFC 8410).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The DER SubjectPublicKeyInfo of an uncompressed P-256 point, before the point (RFC 5480).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// The same for P-384.
const P384_SPKI_PREFIX: [u8; 23] = [
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
    0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
];

const B64URL: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not PEM: {0}")]
    Pem(String),
    #[error("PEM label `{0}` is not PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE")]
    PemLabel(String),
    #[error("not a DER public key: {0}")]
    Der(String),
    #[error("not a DER X.509 certificate: {0}")]
    Certificate(String),
    #[error("unsupported key algorithm {0} (RSA, EC P-256/P-384 and Ed25519 are)")]
    Unsupported(String),
    #[error("an RSA key of {0} bits is too short (at least 2048)")]
    RsaTooShort(usize),
    #[error("not a usable JWK: {0}")]
    Jwk(&'static str),
    #[error("neither PEM, a JWK nor base64 DER")]
    Format,
}

/// A sender's public key.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                write!(f, "PublicKey::Rsa({} bits)", k.n().bits())
            }
            Self::P256(_) => f.write_str("PublicKey::P256"),
            Self::P384(_) => f.write_str("PublicKey::P384"),
            Self::Ed25519(_) => f.write_str("PublicKey::Ed25519"),
        }
    }
}

/// An asymmetric signature algorithm: the padding or curve family and the message digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asym {
    RsaPkcs1v15(Hash),
    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash (RFC 7518 §3.5).
    RsaPss(Hash),
    /// ECDSA on the key's curve (P-256 or P-384) over this hash of the message.
    Ecdsa(Hash),
    Ed25519,
}

impl PublicKey {
    /// A key from PEM: `PUBLIC KEY` (SPKI), `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (its SPKI).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let (label, der) = match x509_cert::der::pem::decode_vec(pem.trim().as_bytes()) {
            Ok((label, der)) => (label.to_owned(), der),
            // RFC 7468's lax form: lines of any length, as keys pasted into settings often are.
            Err(strict) => lax_pem(pem).ok_or_else(|| KeyError::Pem(strict.to_string()))?,
        };
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "RSA PUBLIC KEY" => rsa::RsaPublicKey::from_pkcs1_der(&der)
                .map_err(|e| KeyError::Der(e.to_string()))
                .and_then(Self::rsa),
            "CERTIFICATE" => Self::from_certificate_der(&der),
            other => Err(KeyError::PemLabel(other.to_owned())),
        }
    }

    /// A key from DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| KeyError::Der(e.to_string()))?;
        let der_err = |e: x509_cert::spki::Error| KeyError::Der(e.to_string());
        match spki.algorithm.oid.to_string().as_str() {
            OID_RSA => rsa::RsaPublicKey::from_public_key_der(der)
                .map_err(der_err)
                .and_then(Self::rsa),
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters_oid()
                    .map_err(der_err)?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(Self::P256)
                        .map_err(der_err),
                    OID_P384 => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(Self::P384)
                        .map_err(der_err),
                    other => Err(KeyError::Unsupported(format!("EC curve {other}"))),
                }
            }
            OID_ED25519 => {
                let bytes = spki
                    .subject_public_key
                    .as_bytes()
                    .ok_or(KeyError::Der("unaligned key bits".into()))?;
                Self::ed25519(bytes)
            }
            other => Err(KeyError::Unsupported(other.to_owned())),
        }
    }

    /// The key of a DER X.509 certificate (its validity and issuer are not checked here).
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, KeyError> {
        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|e| KeyError::Certificate(e.to_string()))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| KeyError::Certificate(e.to_string()))?;
        Self::from_spki_der(&spki)
    }

    /// A key from a JWK (RFC 7517/7518/8037): RSA `n`/`e`, EC P-256/P-384 `x`/`y`, OKP Ed25519 `x`.
    /// Private members, if any, are ignored.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let field = |name: &'static str| -> Result<Vec<u8>, KeyError> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or(KeyError::Jwk("a member is missing or not a string"))?;
            B64URL
                .decode(text.trim_end_matches('='))
                .map_err(|_| KeyError::Jwk("a member is not base64url"))
        };
        let crv = jwk.get("crv").and_then(Value::as_str);
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let n = rsa::BigUint::from_bytes_be(&field("n")?);
                let e = rsa::BigUint::from_bytes_be(&field("e")?);
                rsa::RsaPublicKey::new(n, e)
                    .map_err(|_| KeyError::Jwk("not a valid RSA key"))
                    .and_then(Self::rsa)
            }
            Some("EC") => {
                let (x, y) = (field("x")?, field("y")?);
                let size = match crv {
                    Some("P-256") => 32,
                    Some("P-384") => 48,
                    _ => return Err(KeyError::Jwk("crv must be P-256 or P-384")),
                };
                if x.len() != size || y.len() != size {
                    return Err(KeyError::Jwk("x and y must be the curve's size"));
                }
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let bad = |_| KeyError::Jwk("x, y is not a point on the curve");
                if size == 32 {
                    p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map(Self::P256)
                        .map_err(bad)
                } else {
                    p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                        .map(Self::P384)
                        .map_err(bad)
                }
            }
            Some("OKP") if crv == Some("Ed25519") => Self::ed25519(&field("x")?),
            Some("OKP") => Err(KeyError::Jwk("only the Ed25519 OKP curve is supported")),
            _ => Err(KeyError::Jwk("kty must be RSA, EC or OKP")),
        }
    }

    /// A key as a sender's settings may give it: PEM, a JWK (JSON), or base64 of SPKI or
    /// certificate DER (or of a raw 32-byte Ed25519 key).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return Self::from_pem(text);
        }
        if text.starts_with('{') {
            let jwk: Value = serde_json::from_str(text).map_err(|_| KeyError::Jwk("not JSON"))?;
            return Self::from_jwk(&jwk);
        }
        let der = super::B64
            .decode(text)
            .or_else(|_| super::B64URL.decode(text))
            .map_err(|_| KeyError::Format)?;
        if der.len() == 32 {
            return Self::ed25519(&der);
        }
        Self::from_spki_der(&der).or_else(|e| Self::from_certificate_der(&der).map_err(|_| e))
    }

    /// The public half of a private key as [`sign`] takes it: PKCS#8 DER of any family, PKCS#1
    /// DER for RSA, or a 32-byte P-256 / 48-byte P-384 scalar.
    pub fn from_private(private: &[u8]) -> Result<Self, KeyError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_der(private)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(private))
        {
            return Self::rsa(k.to_public_key());
        }
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(private)
            .or_else(|_| p256::ecdsa::SigningKey::from_slice(private))
        {
            return Ok(Self::P256(*k.verifying_key()));
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_der(private)
            .or_else(|_| p384::ecdsa::SigningKey::from_slice(private))
        {
            return Ok(Self::P384(*k.verifying_key()));
        }
        Err(KeyError::Der("not an RSA or EC private key".into()))
    }

    /// The key as DER SubjectPublicKeyInfo.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let der = match self {
            Self::Rsa(k) => k.to_public_key_der().map(|d| d.into_vec()),
            Self::P256(k) => {
                let mut der = P256_SPKI_PREFIX.to_vec();
                der.extend_from_slice(k.to_encoded_point(false).as_bytes());
                return der;
            }
            Self::P384(k) => {
                let mut der = P384_SPKI_PREFIX.to_vec();
                der.extend_from_slice(k.to_encoded_point(false).as_bytes());
                return der;
            }
            Self::Ed25519(k) => {
                let mut der = ED25519_SPKI_PREFIX.to_vec();
                der.extend_from_slice(k.as_bytes());
                return der;
            }
        };
        der.unwrap_or_default()
    }

    fn rsa(key: rsa::RsaPublicKey) -> Result<Self, KeyError> {
        use rsa::traits::PublicKeyParts;
        let bits = key.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(KeyError::RsaTooShort(bits));
        }
        Ok(Self::Rsa(key))
    }

    fn ed25519(bytes: &[u8]) -> Result<Self, KeyError> {
        <[u8; 32]>::try_from(bytes)
            .ok()
            .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
            .map(Self::Ed25519)
            .ok_or(KeyError::Der("an Ed25519 key is 32 bytes, a point".into()))
    }

    /// Whether `sig` is this key's signature of `msg` under `alg`. A key of another family than
    /// `alg`'s (an RSA key for ECDSA) never verifies.
    pub fn verify(&self, alg: Asym, msg: &[u8], sig: &[u8]) -> bool {
        match (self, alg) {
            (Self::Rsa(key), Asym::RsaPkcs1v15(hash)) => {
                let hashed = digest(hash, msg);
                let scheme = match hash {
                    Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                    Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                    Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                    Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
                };
                key.verify(scheme, &hashed, sig).is_ok()
            }
            (Self::Rsa(key), Asym::RsaPss(hash)) => {
                let hashed = digest(hash, msg);
                let scheme = match hash {
                    Hash::Sha1 => rsa::Pss::new::<sha1::Sha1>(),
                    Hash::Sha256 => rsa::Pss::new::<Sha256>(),
                    Hash::Sha384 => rsa::Pss::new::<Sha384>(),
                    Hash::Sha512 => rsa::Pss::new::<Sha512>(),
                };
                key.verify(scheme, &hashed, sig).is_ok()
            }
            (Self::P256(key), Asym::Ecdsa(hash)) => {
                use p256::ecdsa::signature::hazmat::PrehashVerifier;
                p256::ecdsa::Signature::from_der(sig)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
                    .is_ok_and(|s| key.verify_prehash(&digest(hash, msg), &s).is_ok())
            }
            (Self::P384(key), Asym::Ecdsa(hash)) => {
                use p384::ecdsa::signature::hazmat::PrehashVerifier;
                p384::ecdsa::Signature::from_der(sig)
                    .or_else(|_| p384::ecdsa::Signature::from_slice(sig))
                    .is_ok_and(|s| key.verify_prehash(&digest(hash, msg), &s).is_ok())
            }
            (Self::Ed25519(key), Asym::Ed25519) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| key.verify_strict(msg, &s).is_ok()),
            _ => false,
        }
    }
}

/// The label and bytes of a PEM block whose base64 is wrapped at any width (or not at all).
fn lax_pem(pem: &str) -> Option<(String, Vec<u8>)> {
    let rest = pem.trim().strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let (body, end) = rest.split_once("-----END ")?;
    if end.trim_end() != format!("{label}-----") {
        return None;
    }
    let b64: String = body.split_ascii_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    Some((label.to_owned(), der))
}

/// The digest of `msg` under `hash`.
pub fn digest(hash: Hash, msg: &[u8]) -> Vec<u8> {
    match hash {
        Hash::Sha1 => sha1::Sha1::digest(msg).to_vec(),
        Hash::Sha256 => Sha256::digest(msg).to_vec(),
        Hash::Sha384 => Sha384::digest(msg).to_vec(),
        Hash::Sha512 => Sha512::digest(msg).to_vec(),
    }
}

fn hmac(hash: Hash, key: &[u8], msg: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .expect("HMAC takes keys of any length");
        mac.update(msg);
        mac.finalize().into_bytes().to_vec()
    }
    match hash {
        Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, msg),
        Hash::Sha256 => run::<Hmac<Sha256>>(key, msg),
        Hash::Sha384 => run::<Hmac<Sha384>>(key, msg),
        Hash::Sha512 => run::<Hmac<Sha512>>(key, msg),
    }
}

/// The operating system's entropy as a `rand_core` generator, for RSA-PSS salts and blinding.
struct OsRng;

impl rsa::rand_core::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        getrandom::fill(dest).expect("the OS has entropy");
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for OsRng {}

/// The signature of `msg` under a private key (the CLI's and the tests' side): PKCS#8 DER for
/// every family, or PKCS#1 DER for RSA, a 32/48-byte scalar for P-256/P-384, a 32-byte seed for
/// Ed25519. ECDSA signatures are DER unless `fixed` (JWS's `r || s`).
pub fn sign(alg: Asym, private: &[u8], msg: &[u8], fixed: bool) -> Result<Vec<u8>, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    let rsa_key = || {
        rsa::RsaPrivateKey::from_pkcs8_der(private)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(private))
            .map_err(|_| "an RSA private key is PKCS#8 or PKCS#1 DER".to_owned())
    };
    match alg {
        Asym::RsaPkcs1v15(hash) => {
            let hashed = digest(hash, msg);
            let scheme = match hash {
                Hash::Sha1 => rsa::Pkcs1v15Sign::new::<sha1::Sha1>(),
                Hash::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
                Hash::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
                Hash::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
            };
            rsa_key()?
                .sign_with_rng(&mut OsRng, scheme, &hashed)
                .map_err(|e| e.to_string())
        }
        Asym::RsaPss(hash) => {
            let hashed = digest(hash, msg);
            let scheme = match hash {
                Hash::Sha1 => rsa::Pss::new::<sha1::Sha1>(),
                Hash::Sha256 => rsa::Pss::new::<Sha256>(),
                Hash::Sha384 => rsa::Pss::new::<Sha384>(),
                Hash::Sha512 => rsa::Pss::new::<Sha512>(),
            };
            rsa_key()?
                .sign_with_rng(&mut OsRng, scheme, &hashed)
                .map_err(|e| e.to_string())
        }
        Asym::Ecdsa(hash) => {
            let hashed = digest(hash, msg);
            if let Ok(sk) = p256::ecdsa::SigningKey::from_pkcs8_der(private)
                .or_else(|_| p256::ecdsa::SigningKey::from_slice(private))
            {
                use p256::ecdsa::signature::hazmat::PrehashSigner;
                let sig: p256::ecdsa::Signature =
                    sk.sign_prehash(&hashed).map_err(|e| e.to_string())?;
                return Ok(if fixed {
                    sig.to_bytes().to_vec()
                } else {
                    sig.to_der().as_bytes().to_vec()
                });
            }
            let sk = p384::ecdsa::SigningKey::from_pkcs8_der(private)
                .or_else(|_| p384::ecdsa::SigningKey::from_slice(private))
                .map_err(|_| "an EC private key is P-256 or P-384, PKCS#8 DER or a scalar")?;
            use p384::ecdsa::signature::hazmat::PrehashSigner;
            let sig: p384::ecdsa::Signature =
                sk.sign_prehash(&hashed).map_err(|e| e.to_string())?;
            Ok(if fixed {
                sig.to_bytes().to_vec()
            } else {
                sig.to_der().as_bytes().to_vec()
            })
        }
        Asym::Ed25519 => {
            use ed25519_dalek::Signer;
            let seed = match <[u8; 32]>::try_from(private) {
                Ok(seed) => seed,
                // PKCS#8 v1 of an Ed25519 key (RFC 8410): its last 32 bytes are the seed.
                Err(_) if private.len() == 48 => <[u8; 32]>::try_from(&private[16..])
                    .map_err(|_| "an Ed25519 private key is 32 bytes".to_owned())?,
                Err(_) => return Err("an Ed25519 private key is 32 bytes".into()),
            };
            Ok(ed25519_dalek::SigningKey::from_bytes(&seed)
                .sign(msg)
                .to_bytes()
                .to_vec())
        }
    }
}

impl JwtAlg {
    const ALL: [JwtAlg; 12] = [
        Self::HS256,
        Self::HS384,
        Self::HS512,
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
        Self::EdDSA,
    ];

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The public-key algorithm, for the others.
    pub fn asym(self) -> Option<Asym> {
        Some(match self {
            Self::RS256 => Asym::RsaPkcs1v15(Hash::Sha256),
            Self::RS384 => Asym::RsaPkcs1v15(Hash::Sha384),
            Self::RS512 => Asym::RsaPkcs1v15(Hash::Sha512),
            Self::PS256 => Asym::RsaPss(Hash::Sha256),
            Self::PS384 => Asym::RsaPss(Hash::Sha384),
            Self::PS512 => Asym::RsaPss(Hash::Sha512),
            Self::ES256 => Asym::Ecdsa(Hash::Sha256),
            Self::ES384 => Asym::Ecdsa(Hash::Sha384),
            Self::EdDSA => Asym::Ed25519,
            _ => return None,
        })
    }

    /// Whether `key` is of the family and curve this algorithm needs.
    fn fits(self, key: &PublicKey) -> bool {
        matches!(
            (self, key),
            (
                Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 | Self::PS384 | Self::PS512,
                PublicKey::Rsa(_)
            ) | (Self::ES256, PublicKey::P256(_))
                | (Self::ES384, PublicKey::P384(_))
                | (Self::EdDSA, PublicKey::Ed25519(_))
        )
    }
}

/// The key a JWS is checked with.
#[derive(Debug, Clone, Copy)]
pub enum JwtKey<'k> {
    /// A shared secret, for the `HS*` algorithms only.
    Hmac(&'k [u8]),
    /// A public key, for the others only (never as an HMAC secret: the algorithm-confusion attack).
    Public(&'k PublicKey),
}

/// Why a JWS or JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("not a JWS in compact form")]
    Malformed,
    #[error("algorithm {0} is not accepted")]
    Algorithm(String),
    #[error("the header has critical extensions")]
    Critical,
    #[error("the key does not fit algorithm {0}")]
    KeyMismatch(&'static str),
    #[error("the signature does not match")]
    Signature,
    #[error("the payload is not a JSON object")]
    Payload,
    #[error("claim {0} is missing or not of its type")]
    Missing(&'static str),
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued outside the window")]
    IssuedAt,
    #[error("the audience does not match")]
    Audience,
    #[error("the issuer does not match")]
    Issuer,
    #[error("the body hash does not match")]
    BodyHash,
}

/// Checks a JWS in compact form (RFC 7515 §7.1): the algorithm is one of `algorithms` and fits the
/// key, the header has no `crit`, and the signature holds. Returns the header and the payload.
pub fn verify_jws(
    token: &str,
    key: JwtKey<'_>,
    algorithms: &[JwtAlg],
) -> Result<(Map<String, Value>, Vec<u8>), JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let unb64 = |t: &str| B64URL.decode(t).map_err(|_| JwtError::Malformed);
    let header: Map<String, Value> =
        serde_json::from_slice(&unb64(h)?).map_err(|_| JwtError::Malformed)?;
    let name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed)?;
    let alg = JwtAlg::from_name(name)
        .filter(|a| algorithms.contains(a))
        .ok_or_else(|| JwtError::Algorithm(name.to_owned()))?;
    if header.contains_key("crit") {
        return Err(JwtError::Critical);
    }
    let payload = unb64(p)?;
    let sig = unb64(s)?;
    let input = &token.trim().as_bytes()[..h.len() + 1 + p.len()];
    let ok = match (key, alg.hmac(), alg.asym()) {
        (JwtKey::Hmac(secret), Some(hash), _) => {
            let expected = hmac(hash, secret, input);
            expected.len() == sig.len() && bool::from(expected.ct_eq(&sig))
        }
        (JwtKey::Public(public), None, Some(asym)) if alg.fits(public) => {
            // JWS's ECDSA signatures are r || s of the curve's size, never DER (RFC 7518 §3.4).
            let fixed = match public {
                PublicKey::P256(_) => sig.len() == 64,
                PublicKey::P384(_) => sig.len() == 96,
                _ => true,
            };
            fixed && public.verify(asym, input, &sig)
        }
        _ => return Err(JwtError::KeyMismatch(alg.name())),
    };
    if !ok {
        return Err(JwtError::Signature);
    }
    Ok((header, payload))
}

/// Checks a JWT (RFC 7519): [`verify_jws`], then its claims against `rules` at `now` (Unix
/// seconds), with `body` the bytes a body-hash claim must cover. Returns the claims.
pub fn verify_jwt(
    token: &str,
    key: JwtKey<'_>,
    rules: &JwtRules,
    now: u64,
    body: &[u8],
) -> Result<Map<String, Value>, JwtError> {
    let (_, payload) = verify_jws(token, key, rules.algorithms)?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&payload).map_err(|_| JwtError::Payload)?;
    let number = |name: &'static str| -> Result<Option<u64>, JwtError> {
        match claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                .map(Some)
                .ok_or(JwtError::Missing(name)),
        }
    };
    match number("exp")? {
        Some(exp) if now >= exp.saturating_add(rules.leeway) => return Err(JwtError::Expired),
        None if rules.require_exp => return Err(JwtError::Missing("exp")),
        _ => {}
    }
    if let Some(nbf) = number("nbf")? {
        if now.saturating_add(rules.leeway) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    if let Some(max) = rules.max_age {
        let iat = number("iat")?.ok_or(JwtError::Missing("iat"))?;
        if iat.abs_diff(now) > max {
            return Err(JwtError::IssuedAt);
        }
    }
    if let Some(aud) = rules.audience {
        let ok = match claims.get("aud") {
            Some(Value::String(a)) => a == aud,
            Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(aud)),
            _ => false,
        };
        if !ok {
            return Err(JwtError::Audience);
        }
    }
    if let Some(iss) = rules.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(iss) {
            return Err(JwtError::Issuer);
        }
    }
    if let Some(rule) = rules.body_hash {
        let claimed = claims
            .get(rule.claim)
            .and_then(Value::as_str)
            .and_then(|h| hex::decode(h).ok())
            .ok_or(JwtError::Missing(rule.claim))?;
        let actual = digest(rule.hash, body);
        if !(claimed.len() == actual.len() && bool::from(claimed.ct_eq(&actual))) {
            return Err(JwtError::BodyHash);
        }
    }
    Ok(claims)
}

/// A JWS in compact form over `claims` (the CLI's and the tests' side): HS* with a secret, or
/// the others with a private key as [`sign`] takes it.
pub fn sign_jwt(alg: JwtAlg, key: &[u8], claims: &Value) -> Result<String, String> {
    let header = serde_json::json!({"alg": alg.name(), "typ": "JWT"});
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let sig = match (alg.hmac(), alg.asym()) {
        (Some(hash), _) => hmac(hash, key, input.as_bytes()),
        (None, Some(asym)) => sign(asym, key, input.as_bytes(), true)?,
        (None, None) => return Err("no such algorithm".into()),
    };
    Ok(format!("{input}.{}", B64URL.encode(sig)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7515 appendix A's payload (A.1 to A.3), base64url.
    const RFC7515_PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    /// RFC 7515 A.1: the HS256 key (JWK `k`) and signature.
    const A1_KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const A1_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
    const A1_SIG: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    /// RFC 7515 A.2: the RS256 key's modulus (e = AQAB) and the signature.
    const A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    const A2_SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
    /// RFC 7515 A.3: the ES256 key and signature.
    const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const A3_SIG: &str =
        "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
    /// RFC 8037 A.4: the Ed25519 key and JWS (its payload is text, not JSON).
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    /// Before RFC 7515's `exp` (1300819380).
    const RFC_NOW: u64 = 1_300_819_000;

    /// A P-384 key pair generated with Python `cryptography` 48.0 (PKCS#8 and SPKI, base64).
    const P384_PRIVATE: &str = "MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB60ydxoCEONa9xHCmNYWrYa4qQ267kbCZqbjo5/svEMO1d+lmdA7jLwPo6YOYtdOyhZANiAAQa+6XkiTQ9rOlvbtPiIfRSpLcowwqqf8CUfsT0qt2rCAi8xwluXclNsEjiDOiBzToabDQIjkQTwvT3pWzdV3cpI4g4TsnhLhe0FjEtSuRujVOLsW1rs+yGNS8DEYmB0lE=";

    /// A 2048-bit RSA key pair generated with Python `cryptography` 48.0: PKCS#8 DER (base64),
    /// its public key as PKCS#1 PEM and SPKI DER (base64).
    pub(crate) const RSA_PRIVATE: &str = "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQC3gqu11tiD6hm9I+pUbd2Iw0PAYcBVz2TDqt4UMiSvyCfRq6vxmhCjfOUZhd98tmVdCn4VCIAQ0RPpV+KaF+NO1mAI7g1I4/NIWO+PFjaON5Nbm6leD8DmTt+h4Tt/yU9Edy+UX42rgLUvA7h/Kxq5NNY0so+zoZ5v7RDxWCOP8F4DViPFv0L8SfCMTYJj01kGwVyLVWW51zt4QW6LMGDKTiktD9bhrPLUfD40utUC+8nvCaBTFXhzdwdkAAQlsTHUqB/HnCrIosjDpKgpbBQTPOZ10lW5+OdYzJ6nSAForsq8zFVQnNkBBc6tM6wgjpf0Isfcs/uZrfkDZjbwNsUPAgMBAAECggEABUY2+f9czB3N85O1FNjuuKzA2Iyp4ucWqR3S5P2z9DsEE5Cj9n1MSrnSOkBdj5xzOVz0PSKFAins/ceBQ2O5+SmykbWJCDYVASVQbVDHUwfh4llZx5+B42l5uZHBpgb6xXSV5EvPkV63ozKvxzSz8rkqcIVMgAf+VI7M7kLV2TmUACJIV+vwm/CFPfn1O+rnt8f/8uasPYUdT/XNQj0hxn+kSy43e1XXqQTLZPsUz/8ycnh3emxLyG/6Cd6pkywBsS2Z4RuAj9ZZZYCp6wSzA9f3mZ7yAMbYLVRXqHj0uFItybehtfs6Zl9FNkvVo5z4rjuINhuIFdUIaO75LXWQEQKBgQD0zzLfEYvZiQ39G/FWWAThSbiCRPpcmWs2OnruQiS33H5tuKdP+N8h4s1yPRyd1k6eLY/YEVsfnapmLodqkK7Tdw9lg+jxzeHLSzplcS+CAt3wnWwnxDqFrA+PA/8rkJG36geSacLgWtihL+TTKv+GVhvqwvKHXEjutVJcMGtkgwKBgQC/5iQumrhQZ5wfkb1RrtM/Nx6+X1U6By0QBbzgSV98uhTwSyGL3O+MtX6S+FCAzMbu97cqiN3fgPhGD7ObIHSUIjfsugabhb9ax3O+jLdD+lQpw7iXkpPLK+8a1bSICfOwDt2FMmYD9PC6Ijb9kR62gLIasIq82QzGTNtNBJKvhQKBgQD0F5gwhO09RIN3KKJUpkSPYRMgiKhdJfeZRWwHHlpAHRDOU/w3J/1LaznPuxFKa0FORD2VgZCrEGizo5cP8Rzv6lmmrYTZfJ+zNNoQBXAKINOsMzqA2A5F9A47Wg/WHzq79xP/r4ZIbyxqYze0Ob438qm5RRHPV3u8z3xEQV8DAwKBgQCxIrA9cMY4OhusLGxUTQtka+3uDrPuF5eqFZHOewwwZthTIxb5MtzQxuvqoFo3Ok9bYL/r/GDKIhOLII1K4X+bCacT1neo8aG8GyYlO2Ej15v+3VK0XzIbthdFbwTxGjaeSmqCvA3dEylut4yJLX7rOgqthk7amYQoO+OmyVTZvQKBgQCm6RRzJIVT2y3270V8KMLz/0rAlXPnrzuxAv3KNeUUOTu1JEp4foiF09vDesSvsW8HQNti5ULI4LEP1bm1uPstzxOxgQA196L9UmSBlE63/sh6+d2QAws3WAQQWCJPm92onmZrSS6iFRAWrcA89mcd7CifWuoqXbPkq8cFOKe9Fw==";
    const RSA_PUBLIC_PKCS1: &str = "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEAt4KrtdbYg+oZvSPqVG3diMNDwGHAVc9kw6reFDIkr8gn0aur8ZoQ\no3zlGYXffLZlXQp+FQiAENET6VfimhfjTtZgCO4NSOPzSFjvjxY2jjeTW5upXg/A\n5k7foeE7f8lPRHcvlF+Nq4C1LwO4fysauTTWNLKPs6Geb+0Q8Vgjj/BeA1Yjxb9C\n/EnwjE2CY9NZBsFci1Vludc7eEFuizBgyk4pLQ/W4azy1Hw+NLrVAvvJ7wmgUxV4\nc3cHZAAEJbEx1Kgfx5wqyKLIw6SoKWwUEzzmddJVufjnWMyep0gBaK7KvMxVUJzZ\nAQXOrTOsII6X9CLH3LP7ma35A2Y28DbFDwIDAQAB\n-----END RSA PUBLIC KEY-----";
    pub(crate) const RSA_PUBLIC_SPKI: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAt4KrtdbYg+oZvSPqVG3diMNDwGHAVc9kw6reFDIkr8gn0aur8ZoQo3zlGYXffLZlXQp+FQiAENET6VfimhfjTtZgCO4NSOPzSFjvjxY2jjeTW5upXg/A5k7foeE7f8lPRHcvlF+Nq4C1LwO4fysauTTWNLKPs6Geb+0Q8Vgjj/BeA1Yjxb9C/EnwjE2CY9NZBsFci1Vludc7eEFuizBgyk4pLQ/W4azy1Hw+NLrVAvvJ7wmgUxV4c3cHZAAEJbEx1Kgfx5wqyKLIw6SoKWwUEzzmddJVufjnWMyep0gBaK7KvMxVUJzZAQXOrTOsII6X9CLH3LP7ma35A2Y28DbFDwIDAQAB";
    /// `cryptography`'s signatures of [`RSA_MESSAGE`] under [`RSA_PRIVATE`]: PSS with SHA-256
    /// (MGF1-SHA-256, 32-byte salt), and PKCS#1 v1.5 with SHA-512.
    const RSA_MESSAGE: &[u8] = br#"{"type":"TRANSACTION_CREATED"}"#;
    const RSA_PSS_SHA256: &str = "TQJ9GV7qL0McyMnjj93wqzKW5PeuBxqIhjX49DKrF4FSaJZR7PDVvocRiJrqz8ivW9xDOTa3eSoq4ocLeySReyYhcunH4Bwvr13DpCV7kl9Ro+VBUE5f2Ndmpf2WKUTs0sDJmXwfQj/a1TsRaaTtvucn9koNTVQDTsEvks05M7FbEA2kudBOsS9I427gVGuxz6L0E74sxzUozi0I2WIT1S84LjKLYuY7sBjiNt5ECXQaP+SSXTsDsL5HQ2RCYIFPB4sX2DizLbJwfzDdKBjXYeT+sWLP4Ps43t2QMm7q3WFXH716hwQzpdB0AaQAoI4d4CbHJSNba/0xNCkvSfuHLw==";
    const RSA_PKCS1_SHA512: &str = "FlCp6pihPPq8zmTrLMO+F+ZsN1uCreK6XXrQDQtbsK2qwbEDpBDwO7+UIg9xLoHCHoHHrKXUcejP11qfi4JPLEZ2y5BGh/P9jaFGoV+ROIDtr2+u4odADulzxAWQHQw1b8rLerCsw+5H6TsV6Fbs/hxqxdJMY8O+6QZuwYqtg10Gvnr0XYCR4BQHs4rZyrSGzoLSxAf/MArO/A5iKmnGwphpv7acUNp1DQ3ihR7YeL+0yImbq7Xq66JqJFas3TYasTuHjEwLObPJOq+Qdncq6+FINUcCIczkQgZuRPVX1VqWOLyqbxR5HcT/9vkfY5aTAhAH+TTVbPhas7YTPSxTpA==";
    /// A self-signed P-256 certificate made with `cryptography` 48.0, and its key's SPKI (base64).
    const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIBFjCBvaADAgECAgEBMAoGCCqGSM49BAMCMBUxEzARBgNVBAMMCmlubGV0IHRl\nc3QwHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAxMDAwMDAwWjAVMRMwEQYDVQQDDApp\nbmxldCB0ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYjjNDdjEkHfMpQgN\nUe+fMVoGDkOOgV72lNEKbz6KJencYwh15nhTNNOEttWdc8FWt/pHmO576YpC5H/E\nJR05wDAKBggqhkjOPQQDAgNIADBFAiEAv6BiHCEwf20gngd1qEMsSV+Ce5d73x6t\nAxApT3NUi5ICIHIoUqbobeiywhVUNdWFEVmO6t5uAegqERV4igWF5ZnP\n-----END CERTIFICATE-----";
    const CERT_KEY_SPKI: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYjjNDdjEkHfMpQgNUe+fMVoGDkOOgV72lNEKbz6KJencYwh15nhTNNOEttWdc8FWt/pHmO576YpC5H/EJR05wA==";

    fn a2_key() -> PublicKey {
        PublicKey::from_jwk(&json!({"kty": "RSA", "n": A2_N, "e": "AQAB"})).expect("A.2 key")
    }

    fn a3_key() -> PublicKey {
        PublicKey::from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": A3_Y}))
            .expect("A.3 key")
    }

    fn rules(algorithms: &'static [JwtAlg]) -> JwtRules {
        JwtRules {
            algorithms,
            ..JwtRules::BASE
        }
    }

    #[test]
    fn rfc7515_a1_hs256() {
        let key = B64URL.decode(A1_KEY).expect("key");
        let token = format!("{A1_HEADER}.{RFC7515_PAYLOAD}.{A1_SIG}");
        let claims = verify_jwt(
            &token,
            JwtKey::Hmac(&key),
            &rules(&[JwtAlg::HS256]),
            RFC_NOW,
            b"",
        )
        .expect("A.1 verifies");
        assert_eq!(claims["iss"], "joe");
        // Its `exp` is held to the clock.
        assert_eq!(
            verify_jwt(
                &token,
                JwtKey::Hmac(&key),
                &rules(&[JwtAlg::HS256]),
                1_300_819_380,
                b""
            ),
            Err(JwtError::Expired)
        );
        let mut wrong = key.clone();
        wrong[0] ^= 1;
        assert_eq!(
            verify_jwt(
                &token,
                JwtKey::Hmac(&wrong),
                &rules(&[JwtAlg::HS256]),
                RFC_NOW,
                b""
            ),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn rfc7515_a2_rs256() {
        let token = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_PAYLOAD}.{A2_SIG}");
        let key = a2_key();
        verify_jwt(
            &token,
            JwtKey::Public(&key),
            &rules(&[JwtAlg::RS256]),
            RFC_NOW,
            b"",
        )
        .expect("A.2 verifies");
        // RS256 is PKCS#1 v1.5: the same bytes are no PSS signature.
        let input = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_PAYLOAD}");
        let sig = B64URL.decode(A2_SIG).expect("sig");
        assert!(key.verify(Asym::RsaPkcs1v15(Hash::Sha256), input.as_bytes(), &sig));
        assert!(!key.verify(Asym::RsaPss(Hash::Sha256), input.as_bytes(), &sig));
        assert!(!key.verify(Asym::RsaPkcs1v15(Hash::Sha512), input.as_bytes(), &sig));
        // Only the listed algorithms are accepted.
        assert_eq!(
            verify_jwt(
                &token,
                JwtKey::Public(&key),
                &rules(&[JwtAlg::ES256]),
                RFC_NOW,
                b""
            ),
            Err(JwtError::Algorithm("RS256".into()))
        );
        // The key survives a round trip through SPKI DER and PEM.
        let der = key.to_spki_der();
        assert_eq!(PublicKey::from_spki_der(&der).expect("der"), key);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            super::super::B64.encode(&der)
        );
        assert_eq!(PublicKey::from_pem(&pem).expect("pem"), key);
        assert_eq!(PublicKey::parse(&pem).expect("parse"), key);
    }

    #[test]
    fn rfc7515_a3_es256() {
        let token = format!("eyJhbGciOiJFUzI1NiJ9.{RFC7515_PAYLOAD}.{A3_SIG}");
        let key = a3_key();
        verify_jwt(
            &token,
            JwtKey::Public(&key),
            &rules(&[JwtAlg::ES256]),
            RFC_NOW,
            b"",
        )
        .expect("A.3 verifies");
        // The same signature as DER verifies through PublicKey::verify, never inside a JWS.
        let input = format!("eyJhbGciOiJFUzI1NiJ9.{RFC7515_PAYLOAD}");
        let fixed = B64URL.decode(A3_SIG).expect("sig");
        let der = p256::ecdsa::Signature::from_slice(&fixed)
            .expect("r||s")
            .to_der();
        assert!(key.verify(Asym::Ecdsa(Hash::Sha256), input.as_bytes(), der.as_bytes()));
        assert!(key.verify(Asym::Ecdsa(Hash::Sha256), input.as_bytes(), &fixed));
        let der_token = format!("{input}.{}", B64URL.encode(der.as_bytes()));
        assert_eq!(
            verify_jwt(
                &der_token,
                JwtKey::Public(&key),
                &rules(&[JwtAlg::ES256]),
                RFC_NOW,
                b""
            ),
            Err(JwtError::Signature)
        );
        // A key of another family never verifies, whatever the bytes.
        assert!(!a2_key().verify(Asym::Ecdsa(Hash::Sha256), input.as_bytes(), &fixed));
        assert!(!key.verify(Asym::Ed25519, input.as_bytes(), &fixed));
    }

    #[test]
    fn rfc8037_ed25519() {
        let key = PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}))
            .expect("key");
        let (_, payload) =
            verify_jws(RFC8037_JWS, JwtKey::Public(&key), &[JwtAlg::EdDSA]).expect("verifies");
        assert_eq!(payload, b"Example of Ed25519 signing");
        let mut tampered = RFC8037_JWS.to_owned();
        tampered.replace_range(22..23, "S");
        assert!(verify_jws(&tampered, JwtKey::Public(&key), &[JwtAlg::EdDSA]).is_err());
        // Its SPKI form (RFC 8410) reads back.
        assert_eq!(
            PublicKey::from_spki_der(&key.to_spki_der()).expect("spki"),
            key
        );
    }

    /// The algorithm-confusion attack: a token "HS256"-signed with the bytes of a public key
    /// the verifier holds is refused, as is a public-key algorithm with an HMAC secret, and `none`.
    #[test]
    fn algorithm_confusion_and_none_are_refused() {
        let key = a2_key();
        let public_der = key.to_spki_der();
        let claims = json!({"iss": "mallory"});
        let forged = sign_jwt(JwtAlg::HS256, &public_der, &claims).expect("sign");
        let both = rules(&[JwtAlg::HS256, JwtAlg::RS256]);
        assert_eq!(
            verify_jwt(&forged, JwtKey::Public(&key), &both, RFC_NOW, b""),
            Err(JwtError::KeyMismatch("HS256"))
        );
        let rs = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_PAYLOAD}.{A2_SIG}");
        assert_eq!(
            verify_jwt(&rs, JwtKey::Hmac(&public_der), &both, RFC_NOW, b""),
            Err(JwtError::KeyMismatch("RS256"))
        );
        // `alg: none` with an empty signature.
        let none = format!(
            "{}.{}.",
            B64URL.encode(r#"{"alg":"none"}"#),
            B64URL.encode("{}")
        );
        assert_eq!(
            verify_jwt(&none, JwtKey::Hmac(b"k"), &both, RFC_NOW, b""),
            Err(JwtError::Algorithm("none".into()))
        );
        // ES256 with the P-256 key of another curve's algorithm.
        let es = format!("eyJhbGciOiJFUzI1NiJ9.{RFC7515_PAYLOAD}.{A3_SIG}");
        assert_eq!(
            verify_jwt(
                &es,
                JwtKey::Public(&key),
                &rules(&[JwtAlg::ES256]),
                RFC_NOW,
                b""
            ),
            Err(JwtError::KeyMismatch("ES256"))
        );
        // A critical extension is not understood.
        let crit = sign_jwt(JwtAlg::HS256, b"k", &claims).expect("sign");
        let header = B64URL.encode(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#);
        let (_, rest) = crit.split_once('.').expect("dot");
        let input = format!("{header}.{}", rest.split_once('.').expect("dot").0);
        let sig = hmac(Hash::Sha256, b"k", input.as_bytes());
        let crit = format!("{input}.{}", B64URL.encode(sig));
        assert_eq!(
            verify_jwt(
                &crit,
                JwtKey::Hmac(b"k"),
                &rules(&[JwtAlg::HS256]),
                RFC_NOW,
                b""
            ),
            Err(JwtError::Critical)
        );
    }

    #[test]
    fn claims_are_checked() {
        let now = 1_700_000_000u64;
        let body = br#"{"a":1}"#;
        let rules = JwtRules {
            algorithms: &[JwtAlg::HS256],
            require_exp: true,
            max_age: Some(300),
            leeway: 5,
            audience: Some("inlet"),
            issuer: Some("netlify"),
            body_hash: Some(BodyHash {
                claim: "sha256",
                hash: Hash::Sha256,
            }),
        };
        let good = json!({
            "iss": "netlify", "aud": ["x", "inlet"], "iat": now - 10, "exp": now + 60,
            "sha256": hex::encode(Sha256::digest(body)),
        });
        let check = |claims: &Value, body: &[u8]| {
            let token = sign_jwt(JwtAlg::HS256, b"secret", claims).expect("sign");
            verify_jwt(&token, JwtKey::Hmac(b"secret"), &rules, now, body).map(|_| ())
        };
        assert_eq!(check(&good, body), Ok(()));
        assert_eq!(check(&good, br#"{"a":2}"#), Err(JwtError::BodyHash));
        let with = |k: &str, v: Value| {
            let mut c = good.clone();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = good.clone();
            c.as_object_mut().expect("object").remove(k);
            c
        };
        assert_eq!(
            check(&with("exp", json!(now - 6)), body),
            Err(JwtError::Expired)
        );
        assert_eq!(check(&with("exp", json!(now - 4)), body), Ok(()));
        assert_eq!(check(&without("exp"), body), Err(JwtError::Missing("exp")));
        assert_eq!(
            check(&with("iat", json!(now - 301)), body),
            Err(JwtError::IssuedAt)
        );
        assert_eq!(
            check(&with("iat", json!(now + 301)), body),
            Err(JwtError::IssuedAt)
        );
        assert_eq!(check(&without("iat"), body), Err(JwtError::Missing("iat")));
        assert_eq!(
            check(&with("nbf", json!(now + 60)), body),
            Err(JwtError::NotYetValid)
        );
        assert_eq!(
            check(&with("aud", json!("other")), body),
            Err(JwtError::Audience)
        );
        assert_eq!(
            check(&with("iss", json!("evil")), body),
            Err(JwtError::Issuer)
        );
        assert_eq!(
            check(&without("sha256"), body),
            Err(JwtError::Missing("sha256"))
        );
    }

    #[test]
    fn p384_and_pss_round_trip() {
        let private = super::super::B64.decode(P384_PRIVATE).expect("b64");
        let msg = b"message";
        for hash in [Hash::Sha384, Hash::Sha256, Hash::Sha512] {
            let sig = sign(Asym::Ecdsa(hash), &private, msg, false).expect("sign");
            let sk = {
                use rsa::pkcs8::DecodePrivateKey;
                p384::ecdsa::SigningKey::from_pkcs8_der(&private).expect("p384")
            };
            let key = PublicKey::P384(*sk.verifying_key());
            assert_eq!(PublicKey::from_private(&private).expect("from pkcs8"), key);
            assert!(key.verify(Asym::Ecdsa(hash), msg, &sig));
            assert!(!key.verify(Asym::Ecdsa(hash), b"massage", &sig));
            let spki = key.to_spki_der();
            assert_eq!(PublicKey::from_spki_der(&spki).expect("spki"), key);
        }
    }

    #[test]
    fn rsa_vectors_from_cryptography() {
        let b64 = |t: &str| super::super::B64.decode(t).expect("b64");
        let key = PublicKey::from_pem(RSA_PUBLIC_PKCS1).expect("pkcs1 pem");
        assert_eq!(
            PublicKey::from_spki_der(&b64(RSA_PUBLIC_SPKI)).expect("spki"),
            key
        );
        assert_eq!(PublicKey::parse(RSA_PUBLIC_SPKI).expect("base64 spki"), key);
        let pss = b64(RSA_PSS_SHA256);
        let pkcs = b64(RSA_PKCS1_SHA512);
        assert!(key.verify(Asym::RsaPss(Hash::Sha256), RSA_MESSAGE, &pss));
        assert!(key.verify(Asym::RsaPkcs1v15(Hash::Sha512), RSA_MESSAGE, &pkcs));
        assert!(!key.verify(Asym::RsaPkcs1v15(Hash::Sha256), RSA_MESSAGE, &pss));
        assert!(!key.verify(Asym::RsaPss(Hash::Sha512), RSA_MESSAGE, &pkcs));
        assert!(!key.verify(Asym::RsaPkcs1v15(Hash::Sha512), b"{}", &pkcs));
        // What we sign, in both paddings and every hash, verifies; a flipped bit does not.
        let private = b64(RSA_PRIVATE);
        for alg in [
            Asym::RsaPkcs1v15(Hash::Sha1),
            Asym::RsaPkcs1v15(Hash::Sha256),
            Asym::RsaPss(Hash::Sha384),
            Asym::RsaPss(Hash::Sha512),
        ] {
            let mut sig = sign(alg, &private, RSA_MESSAGE, false).expect("sign");
            assert!(key.verify(alg, RSA_MESSAGE, &sig), "{alg:?}");
            sig[10] ^= 1;
            assert!(!key.verify(alg, RSA_MESSAGE, &sig), "{alg:?}");
        }
    }

    #[test]
    fn certificate_key() {
        let spki = super::super::B64.decode(CERT_KEY_SPKI).expect("b64");
        let key = PublicKey::from_pem(CERT_PEM).expect("certificate");
        assert!(matches!(key, PublicKey::P256(_)));
        assert_eq!(key.to_spki_der(), spki);
        let body = CERT_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        assert_eq!(PublicKey::parse(&body).expect("base64 certificate"), key);
    }

    /// Wycheproof-style negatives: signatures that are not signatures (zero, out of range, the
    /// wrong length, another hash's) never verify.
    #[test]
    fn degenerate_signatures_are_refused() {
        let input = format!("eyJhbGciOiJFUzI1NiJ9.{RFC7515_PAYLOAD}");
        let msg = input.as_bytes();
        let p256 = a3_key();
        let fixed = B64URL.decode(A3_SIG).expect("sig");
        // r = s = 0; r and s the curve order n (out of range); r || s truncated or padded.
        let n = hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")
            .expect("hex");
        let n_n = [n.clone(), n].concat();
        for sig in [
            vec![0u8; 64],
            n_n,
            fixed[..63].to_vec(),
            [fixed.clone(), vec![0]].concat(),
            Vec::new(),
        ] {
            assert!(
                !p256.verify(Asym::Ecdsa(Hash::Sha256), msg, &sig),
                "{sig:?}"
            );
        }
        // A valid signature under another hash, and the same signature over another message.
        assert!(!p256.verify(Asym::Ecdsa(Hash::Sha384), msg, &fixed));
        assert!(!p256.verify(Asym::Ecdsa(Hash::Sha256), b"x", &fixed));
        // RSA: empty, one byte short, the modulus itself, all ones.
        let rsa = a2_key();
        let rs_input = format!("eyJhbGciOiJSUzI1NiJ9.{RFC7515_PAYLOAD}");
        let sig = B64URL.decode(A2_SIG).expect("sig");
        let modulus = B64URL.decode(A2_N).expect("n");
        for bad in [Vec::new(), sig[1..].to_vec(), modulus, vec![0xff; 256]] {
            assert!(!rsa.verify(Asym::RsaPkcs1v15(Hash::Sha256), rs_input.as_bytes(), &bad));
        }
        // Ed25519: a signature whose S is not reduced (S + L) is refused by verify_strict.
        let ed = PublicKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X}))
            .expect("key");
        let (h, rest) = RFC8037_JWS.split_once('.').expect("dot");
        let (p, s) = rest.split_once('.').expect("dot");
        let mut sig = B64URL.decode(s).expect("sig");
        assert!(ed.verify(Asym::Ed25519, format!("{h}.{p}").as_bytes(), &sig));
        // L = 2^252 + 27742317777372353535851937790883648493, little-endian, added to S.
        let l = hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .expect("hex");
        let mut carry = 0u16;
        for (b, l) in sig[32..].iter_mut().zip(&l) {
            let sum = u16::from(*b) + u16::from(*l) + carry;
            *b = (sum & 0xff) as u8;
            carry = sum >> 8;
        }
        assert!(!ed.verify(Asym::Ed25519, format!("{h}.{p}").as_bytes(), &sig));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(matches!(PublicKey::from_pem("nope"), Err(KeyError::Pem(_))));
        assert!(matches!(
            PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            Err(KeyError::PemLabel(_))
        ));
        assert!(PublicKey::from_spki_der(b"\x30\x03\x02\x01\x00").is_err());
        assert!(PublicKey::from_certificate_der(b"\x30\x00").is_err());
        assert_eq!(
            PublicKey::from_jwk(&json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"})),
            Err(KeyError::Jwk("crv must be P-256 or P-384"))
        );
        // A.3's x with y off the curve.
        let mut y = B64URL.decode(A3_Y).expect("y");
        y[31] ^= 1;
        assert!(PublicKey::from_jwk(
            &json!({"kty": "EC", "crv": "P-256", "x": A3_X, "y": B64URL.encode(y)})
        )
        .is_err());
        // A 1024-bit RSA modulus (the first 128 bytes of A.2's, made odd).
        let mut n = B64URL.decode(A2_N).expect("n");
        n.truncate(128);
        n[127] |= 1;
        assert_eq!(
            PublicKey::from_jwk(&json!({"kty": "RSA", "n": B64URL.encode(n), "e": "AQAB"})),
            Err(KeyError::RsaTooShort(1024))
        );
    }
}
