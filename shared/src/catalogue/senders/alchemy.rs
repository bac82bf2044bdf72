//! Alchemy (Notify webhooks): `X-Alchemy-Signature: <hex HMAC-SHA256(signing key, raw body)>`, the
//! webhook's signing key (from its page in the Notify dashboard) used as its UTF-8 bytes
//! (https://docs.alchemy.com/reference/notify-api-faq, "How do I validate the webhook event?", and
//! its `isValidSignatureForStringBody` examples). The body is one event
//! (https://docs.alchemy.com/reference/notify-api-quickstart, "V2 Webhook"): its `id` (`whevt_…`,
//! signed) is the envelope id, `type` the type (`alchemy.address_activity`,
//! `alchemy.mined_transaction`), `createdAt` the time; the activity it reports is in `event`, with
//! no one object to name as the subject. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "alchemy",
    title: "Alchemy",
    signature: Signature {
        at: &[Loc::Header("x-alchemy-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    time: &[TimeLoc::At(Loc::Json("createdAt"), Unit::Rfc3339)],
    evidence: Evidence::Docs("Alchemy's own isValidSignatureForStringBody examples (TypeScript, Python, Go)"),
    note: "the secret is the webhook's signing key, not the auth token; no timestamp is signed, so no replay window applies (duplicates by the signed event id)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &str = "whsec_alchemy_signing_key";
    /// An `ADDRESS_ACTIVITY` event with the ids of the field definitions of
    /// https://docs.alchemy.com/reference/notify-api-quickstart.
    const BODY: &[u8] = br#"{"webhookId":"wh_octjglnywaupz6th","id":"whevt_ogrc5v64myey69ux","createdAt":"2022-02-28T17:48:53.306Z","type":"ADDRESS_ACTIVITY","event":{"network":"MATIC_MAINNET","activity":[{"category":"token","fromAddress":"0x59479de9d374bdbcba6c791e5d036591976fe422","toAddress":"0x59479de9d374bdbcba6c791e5d036591976fe425","erc721TokenId":"0x1","rawContract":{"rawValue":"0x","address":"0x93c46aa4ddfd0413d95d0ef3c478982997ce9861"},"log":{"removed":false,"address":"0x93c46aa4ddfd0413d95d0ef3c478982997ce9861","blockNumber":"0x6c1d4","transactionHash":"0x2a7b8ae41d56f2b5d6c4f7bb6325b5cd4a4a2c6e64c0cfa4af4c9fd5f4dbab0c","logIndex":"0x0"}}]}}"#;
    /// Derived from https://docs.alchemy.com/reference/notify-api-faq (hex HMAC-SHA256 of the
    /// body, computed with Python's hmac), not published.
    const SIG: &str = "ece303f7169b27578bec0c6c06ee002708ca4a5f4068e344203536ff54710e4d";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-alchemy-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-alchemy-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &format!("sha256={SIG}"))],
            VerifyError::MalformedSignature { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            ("x-alchemy-signature", SIG),
        ];
        assert_envelope(
            Source::new("alchemy", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
            Want {
                id: Id::Is("whevt_ogrc5v64myey69ux"),
                ty: "alchemy.address_activity",
                subject: None,
                time: "2022-02-28T17:48:53.306Z",
            },
        );
    }
}
