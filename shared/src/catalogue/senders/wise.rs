//! Wise (Platform API webhooks): `X-Signature-SHA256: <base64 RSA signature>`, RSASSA-PKCS1-v1_5
//! with SHA-256 over the raw body, checked with the public key Wise publishes for production or
//! sandbox (https://docs.wise.com/guides/developer/webhooks/event-handling: "Signatures are
//! generated using an RSA key and SHA256 digest of the message body. They are transmitted using
//! the X-Signature-SHA256 request header and are Base64 encoded"). The configured secret is
//! `production` or `sandbox`, which select the embedded published key, or a key itself (PEM,
//! base64 DER or a JWK). Wise's reference verifiers
//! (github.com/transferwise/digital-signatures-examples `verify-webhook-signature/`) publish the
//! sandbox key and a signed delivery, the vector below; the production key is the docs' (the same
//! as pywisetransfer's `pywisetransfer/keys.py`). No timestamp is signed, so no replay window
//! applies. `X-Test-Notification: true` marks a test delivery, which is queued like any other.
//!
//! The body (schema v2) is `{"data": {"resource": {"id", "type", …}, "occurred_at", …},
//! "subscription_id", "event_type", "schema_version", "sent_at"}`, with no event id. Each
//! delivery carries an `X-Delivery-Id` UUID, unsigned. Wise retries up to 25 times over two weeks;
//! whether `sent_at` is rewritten on a retry is not documented, so the id is the digest of the event
//! without `sent_at` (a retry, whatever its `sent_at`, is recognised; two events differ in
//! `data`). The type is `event_type` (`wise.transfers#state-change`), the subject
//! `data.resource.id`, the time `data.occurred_at`. No batches, no handshake.

use crate::core::scheme::*;

/// The public keys Wise publishes (the docs page above).
pub const PRODUCTION_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvO8vXV+JksBzZAY6GhSO
XdoTCfhXaaiZ+qAbtaDBiu2AGkGVpmEygFmWP4Li9m5+Ni85BhVvZOodM9epgW3F
bA5Q1SexvAF1PPjX4JpMstak/QhAgl1qMSqEevL8cmUeTgcMuVWCJmlge9h7B1CS
D4rtlimGZozG39rUBDg6Qt2K+P4wBfLblL0k4C4YUdLnpGYEDIth+i8XsRpFlogx
CAFyH9+knYsDbR43UJ9shtc42Ybd40Afihj8KnYKXzchyQ42aC8aZ/h5hyZ28yVy
Oj3Vos0VdBIs/gAyJ/4yyQFCXYte64I7ssrlbGRaco4nKF3HmaNhxwyKyJafz19e
HwIDAQAB
-----END PUBLIC KEY-----";

pub const SANDBOX_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwpb91cEYuyJNQepZAVfP
ZIlPZfNUefH+n6w9SW3fykqKu938cR7WadQv87oF2VuT+fDt7kqeRziTmPSUhqPU
ys/V2Q1rlfJuXbE+Gga37t7zwd0egQ+KyOEHQOpcTwKmtZ81ieGHynAQzsn1We3j
wt760MsCPJ7GMT141ByQM+yW1Bx+4SG3IGjXWyqOWrcXsxAvIXkpUD/jK/L958Cg
nZEgz0BSEh0QxYLITnW1lLokSx/dTianWPFEhMC9BgijempgNXHNfcVirg1lPSyg
z7KqoKUN0oHqWLr2U1A+7kqrl6O2nx3CKs1bj1hToT1+p4kcMoHXA7kA+VBLUpEs
VwIDAQAB
-----END PUBLIC KEY-----";

/// `production` (or `live`) and `sandbox` name a published key; anything else is a key.
#[derive(Debug)]
struct PublishedKeys;

impl Custom for PublishedKeys {
    fn decode_secret(&self, secret: &str) -> Option<Result<Vec<u8>, String>> {
        let pem = match secret.trim().to_ascii_lowercase().as_str() {
            "production" | "live" => PRODUCTION_PUBLIC_KEY,
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
    name: "wise",
    title: "Wise",
    signature: Signature {
        at: &[Loc::Header("x-signature-sha256")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body],
    algorithm: Algorithm::Rsa(Padding::Pkcs1v15, Hash::Sha256),
    encoding: Encoding::Base64,
    id: &[Loc::DigestWithout("sent_at")],
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[Loc::Json("data.resource.id")],
    time: &[TimeLoc::At(Loc::Json("data.occurred_at"), Unit::Rfc3339)],
    custom: Some(&PublishedKeys),
    evidence: Evidence::Vectors,
    note: "the secret is `production` or `sandbox` (Wise's published keys) or a public key; no timestamp is signed, so no replay window applies; duplicates by the digest of the event without sent_at",
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

    /// Published: transferwise/digital-signatures-examples `verify-webhook-signature/verify-signature.js`.
    const BODY: &[u8] = br#"{"data":{"resource":{"id":49983981,"profile_id":16055450,"account_id":14124090,"type":"transfer"},"current_state":"incoming_payment_waiting","previous_state":null,"occurred_at":"2021-08-23T10:12:50Z"},"subscription_id":"90aa8e14-4ef1-4a56-861c-f3c9cde097ea","event_type":"transfers#state-change","schema_version":"2.0.0","sent_at":"2021-08-23T10:12:50Z"}"#;
    const SIG: &str = "wKcKCYXAzxNgiu7xmoDm943NUni7Rz33QN8JkEA9dWSGebgndonabgSj18Y4C08OrwVmueGsED2s00M7DtJVcYKOS1i3G4TMVx+mgM3aL9djMBkQtiYNBFUd6wrPI7ZUNHv/TrlKSjTMc+6JFvUvJ7owY3z85e3I4jLRLJowMFvO8kvCJ60+1pY9wDwZvtZ//WS93LrwGjk9Dvwzpmu0w+P4J75tETT5qC3Uv0y5G2yO8SEoO3yNP/tg/BOli02niHb53vEOUWUb9bly6thnfMoXoiV/osoGxgF20R58RlvkAmezyyl1Sv542TfS2DpiwVnmjjjkCyXeSUcKookYLQ==";
    const HEADER: &str = "x-signature-sha256";
    const NOW: u64 = 1_629_713_570;

    #[test]
    fn published_vector() {
        vector(&SCHEME, b"sandbox", BODY, &[(HEADER, SIG)]);
        // The sandbox key as PEM verifies too; the production key does not.
        check(
            &SCHEME,
            &[super::SANDBOX_PUBLIC_KEY.as_bytes()],
            &[(HEADER, SIG)],
            BODY,
            NOW,
        )
        .expect("pem");
        assert_eq!(
            check(&SCHEME, &[b"production"], &[(HEADER, SIG)], BODY, NOW),
            Err(VerifyError::SignatureMismatch { header: HEADER })
        );
        assert!(decode_secret(&SCHEME, "live").is_ok());
        assert!(decode_secret(&SCHEME, "staging").is_err());
    }

    #[test]
    fn round_trip_and_tampering() {
        let private = B64.decode(RSA_PRIVATE).expect("b64");
        round_trip_keys(&SCHEME, &private, RSA_PUBLIC_SPKI.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        assert_header_refusals(&SCHEME, "sandbox", BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &SIG.replace('w', "W"))],
            VerifyError::SignatureMismatch { header },
        )];
        refused(&SCHEME, &[b"sandbox"], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let pairs = [
            ("content-type", "application/json"),
            (HEADER, SIG),
            ("x-delivery-id", "7f5a1c2e-0000-4000-8000-000000000001"),
        ];
        assert_envelope_forged(
            Source::new("wise", &SCHEME),
            "sandbox",
            RSA_PUBLIC_SPKI,
            Request::post(&pairs, BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "wise.transfers#state-change",
                subject: Some("49983981"),
                time: "2021-08-23T10:12:50.000Z",
            },
        );
    }

    /// The same signed bytes twice are a retry (the repeats catalogue test signs with a shared
    /// secret, which an RSA sender has not: its case is here).
    #[test]
    fn identical_bytes_are_a_retry() {
        let pairs = [("content-type", "application/json"), (HEADER, SIG)];
        assert_identical_bytes_are_a_retry(
            Source::new("wise", &SCHEME),
            "sandbox",
            Request::post(&pairs, BODY, NOW),
        );
    }
}
