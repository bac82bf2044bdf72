//! MongoDB Atlas (alert webhooks): `X-MMS-Signature: <base64 HMAC-SHA1(secret, raw body)>`, the
//! integration's Webhook Secret used as its UTF-8 bytes. MongoDB's Atlas guide
//! (https://www.mongodb.com/docs/atlas/tutorial/webhook-integration/, "Request Headers": "Contains
//! the Base64-encoded HMAC-SHA-1 signature of the request body. Atlas creates the signature using
//! the provided secret") settles the hash and the encoding for Atlas, and alerta/alerta-contrib's
//! `webhooks/atlas/alerta_atlas.py` verifies it that way (`b64decode` of the header against
//! `hmac.new(secret, body, sha1).digest()`). The disputed alternatives come from other
//! products: the Ops Manager / Cloud Manager docs' webhook page says "hex-encoded HMAC signature"
//! (self-hosted, not Atlas; not supported here), and the SHA-256/hex form is that of the
//! deprecated Atlas App Services *incoming* webhooks
//! (https://www.mongodb.com/docs/atlas/app-services/services/webhook-requests-and-responses/),
//! which Atlas receives rather than sends. An integration
//! without a secret sends no signature, which is refused. The body is the Atlas Administration
//! API's alert resource: `eventTypeName` + `status` the type
//! (`mongodb.outside_metric_threshold.open`), the alert `id` the subject, `updated` (else
//! `created`) the time. The alert `id` is not an event id (one alert is sent when it opens, is
//! re-sent while open, and when it closes): the envelope id is the body digest, each
//! notification differing in `status`, `updated` or `lastNotified` (inferred from the alert
//! resource's fields). The alert state also arrives in the unsigned `X-MMS-Event` header
//! (`alert.open`, …), which is not read. No timestamp is signed, so no replay window applies.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "mongodb",
    title: "MongoDB Atlas",
    signature: Signature {
        at: &[Loc::Header("x-mms-signature")],
        format: Format::Plain,
        all: false,
    },
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("eventTypeName")),
        TypePart::Optional(Loc::Json("status")),
    ],
    subject: &[Loc::Json("id")],
    time: &[
        TimeLoc::At(Loc::Json("updated"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("created"), Unit::Rfc3339),
    ],
    evidence: Evidence::Docs("alerta/alerta-contrib's Atlas webhook (webhooks/atlas/alerta_atlas.py)"),
    note: "alert webhooks with a Webhook Secret only; no event id (duplicates by body digest) and no timestamp is signed, so no replay window applies",
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

    const SECRET: &str = "atlas-webhook-secret";
    /// An alert in the shape of the Atlas Administration API's alert resource.
    const BODY: &[u8] = br#"{"id":"65539a2f1e4bd25f8a1d2c3e","groupId":"5e1f8a4e8f4b1c0d1e2f3a40","alertConfigId":"65539a011e4bd25f8a1d2c10","eventTypeName":"OUTSIDE_METRIC_THRESHOLD","metricName":"NORMALIZED_SYSTEM_CPU_USER","status":"OPEN","created":"2023-11-14T22:13:20Z","updated":"2023-11-14T22:13:20Z","lastNotified":"2023-11-14T22:13:21Z","hostnameAndPort":"cluster0-shard-00-00.abcde.mongodb.net:27017","replicaSetName":"atlas-abcde-shard-0","clusterName":"Cluster0","currentValue":{"number":92.5,"units":"RAW"},"humanReadable":"Project: Demo Organization: Acme"}"#;
    /// Derived from MongoDB's guide (base64 HMAC-SHA1 of the body, computed with Python's
    /// hmac), not published.
    const SIG: &str = "hu5eCddGtmf2tEspTb7/IAs5fcA=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-mms-signature", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-mms-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // The same MAC in hex, and App Services' `sha256=` form, are not Atlas's.
            (
                &[(header, "86ee5e09d746b667f6b44b294dbeff200b397dc0")],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("mongodb", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-mms-event", "alert.open"),
                    ("x-mms-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "mongodb.outside_metric_threshold.open",
                subject: Some("65539a2f1e4bd25f8a1d2c3e"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
