//! Fireblocks (workspace webhooks): `Fireblocks-Signature: <base64 RSA signature>`, RSASSA-PKCS1-v1_5
//! with SHA-512 over the raw body ("Base64(RSA512(_WEBHOOK_PRIVATE_KEY_, SHA512(eventBody)))"),
//! checked with the public key Fireblocks publishes for the workspace's environment
//! (https://developers.fireblocks.com/reference/validate-requests-v2 and
//! https://developers.fireblocks.com/reference/webhooks-gettingstarted-validatingevents): the
//! configured secret is `us` (US Mainnet and Testnet, 4096-bit), `eu` (EU and EU2) or `sandbox`
//! (the Developer Sandbox), which select the embedded published key, or the key itself (PEM,
//! base64 DER or a JWK) for any other workspace; several may be configured at once. No timestamp
//! is signed, so no replay window applies. Fireblocks' webhooks v2 also send
//! `Fireblocks-Webhook-Signature`, a detached JWS (RS512) whose keys rotate and are fetched from
//! Fireblocks' JWKS endpoints ("during migration, both headers are sent",
//! https://developers.fireblocks.com/reference/validating-webhooks); that header is not read here.
//!
//! The body is one event `{"type", "tenantId", "timestamp" (ms), "data"}`, with no event id:
//! `data.id` names the transaction or vault account, which several events share, so the id is the
//! body digest (each event's `timestamp` is its own; a retry repeats the bytes: inferred). The
//! type is `type` (`fireblocks.transaction_status_updated`), the subject `data.id`, the time
//! `timestamp`. No batches, no handshake. Cross-checked against a delivery signed by Fireblocks'
//! earlier sandbox key, captured in a third-party project's test, and Node's
//! `crypto.createVerify("RSA-SHA512")` as that test (and Fireblocks' docs) use it.

use crate::core::scheme::*;

/// The public keys Fireblocks publishes for its environments (the docs pages above).
pub const US_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA0+6wd9OJQpK60ZI7qnZG
jjQ0wNFUHfRv85Tdyek8+ahlg1Ph8uhwl4N6DZw5LwLXhNjzAbQ8LGPxt36RUZl5
YlxTru0jZNKx5lslR+H4i936A4pKBjgiMmSkVwXD9HcfKHTp70GQ812+J0Fvti/v
4nrrUpc011Wo4F6omt1QcYsi4GTI5OsEbeKQ24BtUd6Z1Nm/EP7PfPxeb4CP8KOH
clM8K7OwBUfWrip8Ptljjz9BNOZUF94iyjJ/BIzGJjyCntho64ehpUYP8UJykLVd
CGcu7sVYWnknf1ZGLuqqZQt4qt7cUUhFGielssZP9N9x7wzaAIFcT3yQ+ELDu1SZ
dE4lZsf2uMyfj58V8GDOLLE233+LRsRbJ083x+e2mW5BdAGtGgQBusFfnmv5Bxqd
HgS55hsna5725/44tvxll261TgQvjGrTxwe7e5Ia3d2Syc+e89mXQaI/+cZnylNP
SwCCvx8mOM847T0XkVRX3ZrwXtHIA25uKsPJzUtksDnAowB91j7RJkjXxJcz3Vh1
4k182UFOTPRW9jzdWNSyWQGl/vpe9oQ4c2Ly15+/toBo4YXJeDdDnZ5c/O+KKadc
IMPBpnPrH/0O97uMPuED+nI6ISGOTMLZo35xJ96gPBwyG5s2QxIkKPXIrhgcgUnk
tSM7QYNhlftT4/yVvYnk0YcCAwEAAQ==
-----END PUBLIC KEY-----";

pub const EU_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEA6hLRQL0jPf5OEuaDYGjO
xSyaYIlv08S0+4giiwgKSfV3Onc5hn03mvE0znzaUq2ReSxi9KYDdMYFfzf1uwF7
7kYy2MY0oTYGdQb+PS4Ym4R4tgZ2otuoAXt8YRKq2maWyguFiaowMcYwwAVQv8JB
afIm6Jq1nI6v1mEDVX065ePlBlAt+BGAqr6ahPxnaIz3L4eztpuNrt5nTbSxs7eF
aqQx1p56W1nl3Hl0V3tLkaXbuVtbFNR/mGMInrkPnpsG+mt35b9vmqAOvLPI0Cx1
59uVeEs62Hj1AOCRyT6SuwIaFynRj2KnD42ioQtkodHQ0xDtgdiYGsxuwQ9vTIe7
5oLsL8gBDeX5gdcTfSZhfGjZ7RggLNJ7vCAbYKMuUOdgWVMYnJfrhNLCq3zDSZPO
+H0x5m/Yeq/Hn5o7xCmLNT3qARfwDd5IHfQyXqVYB6TMU75xqH5fdSRw0iMdoPyL
ALnr9/JT0av3qssNMRdWCXr+j9Ys3NkfcbU/a49657mg8e2QGSkl9w39csEKojnr
omUz25szIL8CcXLmc5cAmnimFCe4L7UT4mvVP3+fOo+cbc/82zqA8tsSwd2Y93/6
ueGnNZD9V5rewrKjmdPfrwoI2gntzc8QJUu+nxAWhoqHV91AQeglu6WIF/DiEJC5
WPoNk2SdlAuA6RYmgB2YyikCAwEAAQ==
-----END PUBLIC KEY-----";

pub const SANDBOX_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEApZE6wL2+7P1ohvVYSpCd
gSgtmyGwiLbUC1UoGJhn1zwfY7ZWbNH7Pg8Osk8OzZTZHSG/arcgE8HnGCmGKtbE
QBkf2XlBRBQ01FcCMlZuJQJ3nElCPaMl9N6fq0VKNEIlVSVUpDCgvag5kFhDKS/L
p3YYJLFR46/hDlVLn+vM84diO3xGyMc16YJGNz7Z4jb8dmSZQE5E2XaQMDXW6uxC
c2ChjWJ3X5H70MzRG35JsN0j58SQTwbf4Pxm0aJfhPuaIBn3mJuZL5etsuFihoFG
FDnT+qWRcgD/pRNulBFAFhJeUnFrE4fFTJ1iaHhjBrStBCrxJk6QI0pGznoapTgA
2QIDAQAB
-----END PUBLIC KEY-----";

/// `us`, `eu` (or `eu2`) and `sandbox` name a published key; anything else is a key.
#[derive(Debug)]
struct PublishedKeys;

impl Custom for PublishedKeys {
    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        let pem = match secret.trim().to_ascii_lowercase().as_str() {
            "us" => US_PUBLIC_KEY,
            "eu" | "eu2" => EU_PUBLIC_KEY,
            "sandbox" => SANDBOX_PUBLIC_KEY,
            _ => return None,
        };
        Some(
            crate::core::verify::keys::PublicKey::from_pem(pem)
                .map(|k| k.to_spki_der())
                .map_err(|e| e.to_string()),
        )
    }
}

pub const SCHEME: Scheme = Scheme {
    name: "fireblocks",
    title: "Fireblocks",
    signature: Signature {
        at: &[Loc::Header("fireblocks-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body],
    algorithm: Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha512),
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("timestamp"), Unit::Millis)],
    custom: Some(&PublishedKeys),
    evidence: Evidence::Docs("a captured sandbox delivery and Node's crypto.createVerify(\"RSA-SHA512\")"),
    note: "the secret is `us`, `eu` or `sandbox` (Fireblocks' published keys) or the workspace's public key; no timestamp is signed, so no replay window applies; the v2 JWKS signature is not read",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::engine::{decode_secret, B64};
    use crate::core::verify::keys::tests::{RSA_PRIVATE, RSA_PUBLIC_SPKI};
    use crate::core::verify::VerifyError;
    use crate::tests::*;
    use base64::Engine;

    /// Fireblocks' earlier sandbox key (the "Validate Requests" page of webhooks v1).
    const EARLIER_SANDBOX_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAw+fZuC+0vDYTf8fYnCN671iHg98lPHBmafmqZqb+TUexn9sH6qNIBZ5SgYFxFK6dYXIuJ5uoORzihREvZVZP8DphdeKOMUrMr6b+Cchb2qS8qz8WS7xtyLU9GnBn6M5mWfjkjQr1jbilH15ZvcpzECC8aPUAy2EbHpnr10if2IHkIAWLYD+0khpCjpWtsfuX+LxqzlqQVW9xc6z7tshKeCSEa6Oh8+ia7Zlu0b+2xmy2Arb6xGl+s+Rnof4lsq9tZS6f03huc+XVTmd6H2WeWxFMfGyDCX2akEg2aAvx7231/6S0vBFGiX0C+3GbXlieHDplLGoODHUt5hxbPJnKIwIDAQAB";
    /// A delivery Fireblocks signed with that key, captured in a third-party project's test
    /// (not published by Fireblocks; it verifies with Python's `cryptography` too).
    const CAPTURED: &[u8] = br#"{"type":"VAULT_ACCOUNT_ADDED","tenantId":"b03cc88e-f4f3-5af4-8a3f-cdbeffd71db6","timestamp":1678979524804,"data":{"id":"1","name":"secondary","hiddenOnUI":false,"assets":[]}}"#;
    const CAPTURED_SIG: &str = "fsTdduX/3kKL4WdFKrFE20k38EiPja23QhFOZcpVJczvoX//uTOXWEBDALv9tA6nBH7dXWbdaj/Kr2ktp0UyaPCh4JjjfBcYuZSp5t3lZJK8819bUKDUgXWg/So6HO2VUtbN9MFQ6Nkuss22Fsz5VJAPqWWEi9dMoPVgnpJqYIk4f6pAFWt+eBT2P0erndYBoOCx8Ao61SUlqZNXzigmksrJRtlf2pELC7PvPYwd9GBw71NtUfbeJoB0sCP8QXqSuB0cTXd3oHFgn86WMiOfvNcelMC1ZPwG7sSYdKBnTwpXpJ6xsZWUFQM6rPYEU/ZlvTLWYAg6wkbNutpJJkdfNw==";
    const HEADER: &str = "fireblocks-signature";
    const NOW: u64 = 1_678_979_525;

    #[test]
    fn captured_delivery() {
        vector(
            &SCHEME,
            EARLIER_SANDBOX_KEY.as_bytes(),
            CAPTURED,
            &[(HEADER, CAPTURED_SIG)],
        );
        // Not under the published production keys.
        for env in ["us", "eu", "sandbox"] {
            assert!(check(
                &SCHEME,
                &[env.as_bytes()],
                &[(HEADER, CAPTURED_SIG)],
                CAPTURED,
                NOW
            )
            .is_err());
        }
        // Either of two configured keys verifies.
        check(
            &SCHEME,
            &[b"us", EARLIER_SANDBOX_KEY.as_bytes()],
            &[(HEADER, CAPTURED_SIG)],
            CAPTURED,
            NOW,
        )
        .expect("the second key matches");
    }

    #[test]
    fn published_keys() {
        for env in ["us", "EU", "eu2", "sandbox"] {
            assert!(decode_secret(&SCHEME, env).is_ok(), "{env}");
        }
        assert!(decode_secret(&SCHEME, "mainnet").is_err());
        // A P-256 key is not an RSA key.
        assert!(decode_secret(&SCHEME, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYjjNDdjEkHfMpQgNUe+fMVoGDkOOgV72lNEKbz6KJencYwh15nhTNNOEttWdc8FWt/pHmO576YpC5H/EJR05wA==").is_err());
    }

    #[test]
    fn round_trip_and_tampering() {
        let private = B64.decode(RSA_PRIVATE).expect("b64");
        round_trip_keys(&SCHEME, &private, RSA_PUBLIC_SPKI.as_bytes(), CAPTURED);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        let keys: &[&[u8]] = &[EARLIER_SANDBOX_KEY.as_bytes()];
        assert_header_refusals(
            &SCHEME,
            EARLIER_SANDBOX_KEY,
            CAPTURED,
            NOW,
            &[(header, CAPTURED_SIG)],
        );
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, "AAAA")],
            VerifyError::SignatureMismatch { header },
        )];
        refused(&SCHEME, keys, CAPTURED, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope_forged(
            Source::new("fireblocks", &SCHEME),
            EARLIER_SANDBOX_KEY,
            RSA_PUBLIC_SPKI,
            Request::post(
                &[("content-type", "application/json"), (HEADER, CAPTURED_SIG)],
                CAPTURED,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "fireblocks.vault_account_added",
                subject: Some("1"),
                time: "2023-03-16T15:12:04.804Z",
            },
        );
    }

    /// The same signed bytes twice are a retry (the repeats catalogue test signs with a shared
    /// secret, which an RSA sender has not: its case is here).
    #[test]
    fn identical_bytes_are_a_retry() {
        let pairs = [("content-type", "application/json"), (HEADER, CAPTURED_SIG)];
        assert_identical_bytes_are_a_retry(
            Source::new("fireblocks", &SCHEME),
            EARLIER_SANDBOX_KEY,
            Request::post(&pairs, CAPTURED, NOW),
        );
    }
}
