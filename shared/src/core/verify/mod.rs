//! Pure signature verification: (secrets, headers, raw body, now) -> `Verified` or `VerifyError`.
//!
//! Nothing here knows about Lambda, HTTP servers or AWS. Every sender is data (a
//! [`crate::core::scheme::Scheme`]) read by the one verifier in [`engine`], which also signs (for
//! the CLI and round-trip tests). What it reads and gives is in [`crate::core::request`].

pub mod engine;
pub mod fetch;
pub mod keys;

#[cfg(test)]
pub(crate) use crate::core::request::testing;
pub(crate) use crate::core::request::{check_window, joined_header, single_header};
pub use crate::core::request::{
    unix_seconds, Clock, Secret, SecretSet, Unverified, Verified, VerifyError, MAX_SECRETS,
};

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;

use crate::core::scheme::Algorithm;

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
/// Standard base64, padding optional.
pub const B64: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
/// URL-safe base64, padding optional.
pub const B64URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// `hmac-sha256`, `ed25519`, … as logged and written in envelopes.
pub fn algorithm_label(algorithm: Algorithm) -> &'static str {
    use crate::core::scheme::{Curve, Hash, Padding};
    match algorithm {
        Algorithm::Hmac(Hash::Sha384) => "hmac-sha384",
        Algorithm::Digest(Hash::Sha384) => "sha384",
        Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha1) => "rsa-sha1",
        Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha256) => "rsa-sha256",
        Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha384) => "rsa-sha384",
        Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha512) => "rsa-sha512",
        Algorithm::Rsa(Padding::Pss, Hash::Sha1) => "rsa-pss-sha1",
        Algorithm::Rsa(Padding::Pss, Hash::Sha256) => "rsa-pss-sha256",
        Algorithm::Rsa(Padding::Pss, Hash::Sha384) => "rsa-pss-sha384",
        Algorithm::Rsa(Padding::Pss, Hash::Sha512) => "rsa-pss-sha512",
        Algorithm::Ecdsa(Curve::P256, Hash::Sha1) => "ecdsa-p256-sha1",
        Algorithm::Ecdsa(Curve::P256, Hash::Sha256) => "ecdsa-p256-sha256",
        Algorithm::Ecdsa(Curve::P256, Hash::Sha384) => "ecdsa-p256-sha384",
        Algorithm::Ecdsa(Curve::P256, Hash::Sha512) => "ecdsa-p256-sha512",
        Algorithm::Ecdsa(Curve::P384, Hash::Sha1) => "ecdsa-p384-sha1",
        Algorithm::Ecdsa(Curve::P384, Hash::Sha256) => "ecdsa-p384-sha256",
        Algorithm::Ecdsa(Curve::P384, Hash::Sha384) => "ecdsa-p384-sha384",
        Algorithm::Ecdsa(Curve::P384, Hash::Sha512) => "ecdsa-p384-sha512",
        Algorithm::Jwt(rules) if rules.algorithms.iter().all(|a| a.hmac().is_some()) => "jwt-hmac",
        Algorithm::Jwt(_) => "jwt-public-key",
        Algorithm::Hmac(Hash::Sha1) => "hmac-sha1",
        Algorithm::Hmac(Hash::Sha256) => "hmac-sha256",
        Algorithm::Hmac(Hash::Sha512) => "hmac-sha512",
        Algorithm::Digest(Hash::Sha1) => "sha1",
        Algorithm::Digest(Hash::Sha256) => "sha256",
        Algorithm::Digest(Hash::Sha512) => "sha512",
        Algorithm::Ed25519 => "ed25519",
        Algorithm::EcdsaP256 => "ecdsa-p256",
        Algorithm::Token => "token",
        Algorithm::Basic => "basic-auth",
    }
}
