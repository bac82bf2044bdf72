//! Property tests over the engine and the whole catalogue: for every sender whose signature is a
//! keyed hash over content the request carries, any signature the engine makes verifies, and a
//! changed body byte, a changed signed timestamp or a changed signed id never does.

use proptest::prelude::*;

use crate::catalogue::senders::CATALOGUE;
use crate::tests::{check, URL};
use base64::Engine as _;

use crate::core::scheme::{Algorithm, KeyDecoding, Loc, Part, Scheme, Unit};
use crate::core::verify::engine::{self, Signing};

/// Schemes whose whole signed content is the raw body plus request parts (no value read out of a
/// JSON body, no sender code deciding what is signed), signed by HMAC: most of the catalogue.
fn opaque() -> Vec<&'static Scheme> {
    CATALOGUE
        .iter()
        .copied()
        .filter(|s| matches!(s.algorithm, Algorithm::Hmac(_)))
        .filter(|s| s.custom.is_none())
        .filter(|s| !s.signed.iter().any(|p| matches!(p, Part::Json(_))))
        .filter(|s| !s.signature.at.iter().any(|l| matches!(l, Loc::Json(_))))
        .filter(|s| {
            s.timestamp
                .is_none_or(|t| !t.at.iter().any(|l| matches!(l, Loc::Json(_))))
        })
        .collect()
}

/// `pairs` with `from` replaced by `to` in every header value that contains it.
fn replaced(pairs: &[(String, String)], from: &str, to: &str) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.clone(), v.replace(from, to)))
        .collect()
}

/// The secret as the sender writes it (what a function is configured with), for key bytes `key`.
fn written(scheme: &Scheme, key: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    match scheme.key {
        KeyDecoding::Utf8 => key.iter().map(|b| char::from(b'a' + b % 26)).collect(),
        KeyDecoding::Base64 => b64.encode(key),
        KeyDecoding::Hex => key.iter().map(|b| format!("{b:02x}")).collect(),
        KeyDecoding::Whsec => format!("whsec_{}", b64.encode(key)),
    }
}

fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn most_of_the_catalogue_is_covered() {
    assert!(opaque().len() >= 30, "{}", opaque().len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn what_the_engine_signs_verifies_and_any_change_fails(
        which in any::<prop::sample::Index>(),
        key in proptest::collection::vec(any::<u8>(), 1..64),
        body in proptest::collection::vec(any::<u8>(), 1..512),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
        at in 1_500_000_000i64..2_000_000_000,
        id in "msg_[A-Za-z0-9]{8,24}",
    ) {
        let schemes = opaque();
        let scheme = schemes[which.index(schemes.len())];
        let signing = Signing::post(&body, at, &id, Some(URL));
        let secret = written(scheme, &key);
        let key = engine::decode_secret(scheme, &secret).expect("decodes");
        let signed = engine::sign(scheme, &key, &signing).expect("signs");
        let key = secret.as_bytes();
        let now = at as u64;
        prop_assert!(check(scheme, &[key], &borrowed(&signed), &body, now).is_ok(), "{}", scheme.name);

        let mut tampered = body.clone();
        let i = flip.index(tampered.len());
        tampered[i] ^= 1 << bit;
        prop_assert!(check(scheme, &[key], &borrowed(&signed), &tampered, now).is_err(),
            "{}: byte {} changed", scheme.name, i);

        if scheme.signed.contains(&Part::Timestamp) {
            if let Some(ts) = scheme.timestamp.filter(|t| t.unit != Unit::Rfc3339) {
                let text = match ts.unit { Unit::Millis => (at * 1000).to_string(), _ => at.to_string() };
                let later = match ts.unit { Unit::Millis => (at * 1000 + 1).to_string(), _ => (at + 1).to_string() };
                let moved = replaced(&signed, &text, &later);
                prop_assert!(check(scheme, &[key], &borrowed(&moved), &body, now).is_err(),
                    "{}: timestamp changed", scheme.name);
            }
        }
        if scheme.signed.contains(&Part::Id) {
            let other = format!("{id}x");
            let moved = replaced(&signed, &id, &other);
            prop_assert!(check(scheme, &[key], &borrowed(&moved), &body, now).is_err(),
                "{}: id changed", scheme.name);
        }
    }
}
