//! Standard Webhooks' asymmetric signature, `v1a`: `webhook-signature: v1a,<base64 Ed25519
//! signature of "{webhook-id}.{webhook-timestamp}.{raw body}">` (space-separated beside any `v1`
//! entries, one per active key while keys rotate), checked with the sender's `whpk_` public key:
//! `whpk_` then the base64 of the 32-byte Ed25519 key (the prefix may be left out). Everything
//! else is [`super::standard`]'s: `webhook-id` (signed, the envelope id, repeated on retries),
//! `webhook-timestamp` (unix seconds, 300 s either way, the `standardwebhooks` libraries'
//! tolerance), `type` the event type, non-JSON bodies kept as data. Svix-hosted senders send the
//! same as `svix-*` headers. No handshake, no batches.
//!
//! Sources: the spec, github.com/standard-webhooks/standard-webhooks `spec/standard-webhooks.md`
//! ("Symmetric signatures are prefixed with `v1` and asymmetric with `v1a`", `whpk_` public keys,
//! ed25519 "signature scheme", the example header carrying `v1a,hnO3f9T8…`); the signature over
//! `{id}.{timestamp}.{body}` is the spec's "signature content" shared by both versions. The
//! published vector is svix-webhooks' `server/svix-server/src/worker.rs`
//! `test_asymmetric_key_signing` (key pair and public key from its README's
//! `asymmetric-key generate` example), which Inlet's outbound signer also reproduces
//! ([`crate::outbound::signing`]).

use crate::core::scheme::*;
use crate::core::verify::engine::B64;
use base64::Engine;

/// `whpk_` (optional) then base64 of an Ed25519 public key.
#[derive(Debug)]
struct PublicKeyText;

impl Custom for PublicKeyText {
    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        let b64 = secret.trim();
        let b64 = b64.strip_prefix("whpk_").unwrap_or(b64);
        Some(
            B64.decode(b64)
                .ok()
                .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
                .filter(|k| ed25519_dalek::VerifyingKey::from_bytes(k).is_ok())
                .map(|k| k.to_vec())
                .ok_or_else(|| {
                    "the secret must be the sender's `whpk_` Ed25519 public key (base64 of 32 bytes)"
                        .to_owned()
                }),
        )
    }
}

pub const SCHEME: Scheme = Scheme {
    name: "standard-v1a",
    title: "Standard Webhooks (v1a, Ed25519)",
    signature: Signature {
        format: Format::Versioned { version: "v1a" },
        ..super::standard::SCHEME.signature
    },
    algorithm: Algorithm::Ed25519,
    key: KeyDecoding::Base64,
    custom: Some(&PublicKeyText),
    evidence: Evidence::Vectors,
    note: "the secret is the sender's `whpk_` Ed25519 public key; non-JSON bodies are kept as data_base64 with type <source>.raw",
    ..super::standard::SCHEME
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::engine::decode_secret;
    use crate::core::verify::VerifyError;
    use crate::outbound::signing::{KeyPair, Signer};
    use crate::tests::*;

    /// svix-webhooks `test_asymmetric_key_signing` (published): public key, message and signature.
    const PUBLIC: &str = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4=";
    /// The private half of the same key pair (svix's README `whsk_…`): its first 32 bytes.
    const PAIR: &str = "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg==";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: &str = "1614265330";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==";
    /// The spec's example `v1` entry, which a v1a receiver passes over.
    const V1: &str = "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=";

    fn seed() -> Vec<u8> {
        use base64::Engine;
        let pair = crate::core::verify::engine::B64
            .decode(PAIR.trim_start_matches("whsk_"))
            .expect("b64");
        pair[..32].to_vec()
    }

    #[test]
    fn published_vector() {
        let both = format!("{V1} {SIG}");
        let pairs = [
            ("webhook-id", ID),
            ("webhook-timestamp", TS),
            ("webhook-signature", both.as_str()),
        ];
        vector(&SCHEME, PUBLIC.as_bytes(), BODY, &pairs);
        // The id is signed.
        let changed = [
            ("webhook-id", "msg_other"),
            ("webhook-timestamp", TS),
            ("webhook-signature", SIG),
        ];
        assert!(check(&SCHEME, &[PUBLIC.as_bytes()], &changed, BODY, 1_614_265_330).is_err());
    }

    #[test]
    fn round_trip_and_keys() {
        round_trip_keys(&SCHEME, &seed(), PUBLIC.as_bytes(), BODY);
        assert!(decode_secret(&SCHEME, PUBLIC).is_ok());
        assert!(decode_secret(&SCHEME, PUBLIC.trim_start_matches("whpk_")).is_ok());
        assert!(decode_secret(&SCHEME, "whpk_AAAA").is_err());
        assert!(decode_secret(&SCHEME, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
    }

    /// What Inlet's outbound side signs (`v1` and `v1a` entries), this receiver verifies.
    #[test]
    fn verifies_inlets_own_outbound_signer() {
        let pair = KeyPair::parse(PAIR).expect("pair");
        let secret = crate::outbound::signing::Secret::generate().expect("random");
        let (id, ts, body) = ("msg_2Zq1", 1_700_000_000, br#"{"type":"invoice.paid"}"#);
        let headers = Signer::new(secret)
            .with_key_pair(pair)
            .headers(id, ts, body);
        let owned: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect();
        check(
            &SCHEME,
            &[PUBLIC.as_bytes()],
            &pairs(&owned),
            body,
            1_700_000_000,
        )
        .expect("verifies");
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "webhook-signature";
        let base = |sig: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![("webhook-id", ID), ("webhook-timestamp", TS), (header, sig)]
        };
        let now = 1_614_265_330;
        assert_header_refusals(
            &SCHEME,
            PUBLIC,
            BODY,
            now,
            &[("webhook-id", ID), ("webhook-timestamp", TS), (header, SIG)],
        );
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&base(V1), VerifyError::MalformedSignature { header }),
            (
                &base("v1a,not base64!"),
                VerifyError::MalformedSignature { header },
            ),
            (
                &[("webhook-timestamp", TS), (header, SIG)],
                VerifyError::MissingHeader {
                    header: "webhook-id",
                },
            ),
        ];
        refused(&SCHEME, &[PUBLIC.as_bytes()], BODY, now, cases);
        // A v1a-shaped entry holding another message's signature does not match.
        let wrong = format!("v1a,{}", &SIG[4..].replace('h', "H"));
        let pairs = [
            ("webhook-id", ID),
            ("webhook-timestamp", TS),
            (header, wrong.as_str()),
        ];
        assert!(check(&SCHEME, &[PUBLIC.as_bytes()], &pairs, BODY, now).is_err());
    }

    #[test]
    fn normalization() {
        let body = br#"{"type":"invoice.paid","data":{"id":"in_1"}}"#;
        let at = 1_700_000_000;
        let signed = sign_headers(&SCHEME, &seed(), body, at, "msg_2Zq1", None);
        let other = KeyPair::generate()
            .expect("random")
            .public_key()
            .to_string();
        assert_envelope_forged(
            Source::new("standard-v1a", &SCHEME),
            PUBLIC,
            &other,
            Request::post(&pairs(&signed), body, at as u64),
            Want {
                id: Id::Is("msg_2Zq1"),
                ty: "standard-v1a.invoice.paid",
                subject: None,
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
