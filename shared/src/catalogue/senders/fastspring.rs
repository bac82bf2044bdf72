//! FastSpring: `X-FS-Signature: <base64 HMAC-SHA256(HMAC SHA256 Secret, raw body)>`, the webhook's
//! "HMAC SHA256 Secret" used as its UTF-8 bytes; the header's case varies
//! (https://developer.fastspring.com/docs/message-security, and its PHP, Node.js and Java
//! examples). A webhook without a secret is unsigned and refused. One post can carry several
//! events, `{"events":[…]}` (https://developer.fastspring.com/docs/webhooks-overview): one envelope
//! per event, its id the event's `id` (signed; "automatic retries will have the same event ID",
//! but a manual retry from the FastSpring App gets a new one), its type `type`
//! (`fastspring.order.completed`), its subject `data.id` (the order, subscription or account).
//! No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "fastspring",
    title: "FastSpring",
    signature: Signature {
        at: &[Loc::Header("x-fs-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    batch: Some(Batch { items: "events" }),
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.id")],
    evidence: Evidence::Docs("FastSpring's own PHP, Node.js and Java verification examples"),
    note: "a delivery is a batch: one envelope per event of events[], id its event id (a manual retry gets a new one); no timestamp is signed, so no replay window applies",
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

    const SECRET: &str = "fastspring-hmac-secret";
    /// Two events in one post, as https://developer.fastspring.com/docs/webhooks-overview
    /// describes, with fields of https://fastspring.com/docs/order-completed.
    const BODY: &[u8] = br#"{"events":[{"id":"6c4u4gTrRDuNNBuHd6tFaQ","type":"order.completed","data":{"order":"nlHkdwTPTmaQ3Ef3Wsm2Sg","id":"nlHkdwTPTmaQ3Ef3Wsm2Sg","reference":"FUR170316-1279-35111","completed":true,"live":false,"currency":"USD","total":10.0}},{"id":"dJm2sP8YQm6GoGx0Cw4O5A","type":"subscription.activated","data":{"id":"Hb2Qwl9ZR0W5eRy0hZ8MkQ","subscription":"Hb2Qwl9ZR0W5eRy0hZ8MkQ","active":true,"state":"active","live":false,"currency":"USD","product":"furious-falcon-monthly"}}]}"#;
    /// Derived from https://developer.fastspring.com/docs/message-security (base64 HMAC-SHA256 of
    /// the body, computed with Python's hmac), not published.
    const SIG: &str = "WElxB1Cs5IhYL7eXbtHx4dik7jbr4rv/pEsHLcD9Q18=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("x-fs-signature", SIG)]);
        // "Not case sensitive and might be sent with varying case."
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("X-Fs-Signature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-fs-signature";
        // The same MAC in hex is not FastSpring's encoding.
        let hex_sig = "5849710750ace488582fb7976ed1f1e1d8a4ee36ebe2bbffa44b072dc0fd435f";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, hex_sig)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, "not base64!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("fastspring", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-fs-signature", SIG),
                ],
                BODY,
                NOW,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "6c4u4gTrRDuNNBuHd6tFaQ");
        assert_eq!(e["type"], "fastspring.order.completed");
        assert_eq!(e["subject"], "nlHkdwTPTmaQ3Ef3Wsm2Sg");
        let e = &d.envelopes[1];
        assert_eq!(e["id"], "dJm2sP8YQm6GoGx0Cw4O5A");
        assert_eq!(e["type"], "fastspring.subscription.activated");
        assert_eq!(e["subject"], "Hb2Qwl9ZR0W5eRy0hZ8MkQ");
        let forged = deliver(
            Source::new("fastspring", &SCHEME),
            "another-secret",
            Request::post(&[("x-fs-signature", SIG)], BODY, NOW),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
