//! Webflow: `x-webflow-signature: <hex HMAC-SHA256(secret, "{timestamp}:{raw body}")>` with
//! `x-webflow-timestamp` in milliseconds, the secret (the webhook's own secret for webhooks
//! created through the Data API, or the OAuth app's client secret) used as its UTF-8 bytes.
//! Webflow's docs (https://developers.webflow.com/data/docs/working-with-webhooks, "Validating
//! request signatures": the timestamp, a `:`, then the body; reject a request more than 5
//! minutes old) and its SDK, webflow/js-webflow-api `src/wrapper/WebhooksClient.ts`
//! (`verifySignature`: `${headers["x-webflow-timestamp"]}:${body}`, HMAC-SHA256, lower-case
//! hex) agree; the SDK does not check the timestamp, the docs' 5 minutes are held here, either
//! way. Webhooks created in a site's dashboard or with a site API token carry no signature and
//! are refused. The body is `{"triggerType": …, "payload": {…}}`: `triggerType` the type
//! (`webflow.form_submission`, `webflow.collection_item_changed`), `payload.id` the subject, the
//! signed timestamp the time. The body has no event id (`payload.id` names the form submission
//! or the item, which several events share): the envelope id is the body digest.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "webflow",
    title: "Webflow",
    signature: Signature {
        at: &[Loc::Header("x-webflow-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit(":"), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-webflow-timestamp")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("triggerType"))],
    subject: &[Loc::Json("payload.id")],
    time: &[TimeLoc::Signed],
    evidence: Evidence::Sdk("webflow-api 3.3.4 (npm)"),
    note: "only webhooks created with an OAuth app or through the Data API are signed; no event id (duplicates by body digest)",
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

    const SECRET: &str = "webflow-webhook-secret";
    /// The `form_submission` example of Webflow's webhook events reference.
    const BODY: &[u8] = br#"{"triggerType":"form_submission","payload":{"name":"Contact Us","siteId":"65427cf400e02b306eaa049c","data":{"First Name":"Zaphod","Last Name":"Beeblebrox","email":"zaphod@heartofgold.ai"},"schema":[],"submittedAt":"2022-09-14T12:35:16.117Z","id":"6321ca84df3949bfc6752327","formId":"65429eadebe8a9f3a30f62d0","formElementId":"4e038d2c-6a1e-4953-7be9-a59a2b453177"}}"#;
    const TS: &str = "1700000000123";
    /// Derived from Webflow's docs (hex HMAC-SHA256 of `{ts}:{body}`, computed with Python's
    /// hmac), not published: the docs' own example gives a timestamp and signature but neither
    /// the body nor the secret.
    const SIG: &str = "7e9505089096bcd247fc3aceeb606d93293d2d75a81801f15b235c9fc5b3a5a0";
    const NOW: u64 = 1_700_000_000;

    fn headers() -> [(&'static str, &'static str); 2] {
        [("x-webflow-signature", SIG), ("x-webflow-timestamp", TS)]
    }

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &headers());
    }

    #[test]
    fn round_trip_tampering_and_window() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn the_timestamp_is_signed_and_held_to_five_minutes() {
        let key: &[&[u8]] = &[SECRET.as_bytes()];
        check(&SCHEME, key, &headers(), BODY, NOW + 300).expect("5 minutes late");
        assert!(matches!(
            check(&SCHEME, key, &headers(), BODY, NOW + 301),
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        let moved = [
            ("x-webflow-signature", SIG),
            ("x-webflow-timestamp", "1700000000124"),
        ];
        assert_eq!(
            check(&SCHEME, key, &moved, BODY, NOW),
            Err(VerifyError::SignatureMismatch {
                header: "x-webflow-signature"
            })
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-webflow-signature";
        assert_header_refusals(
            &SCHEME,
            SECRET,
            BODY,
            NOW,
            &[(header, SIG), ("x-webflow-timestamp", TS)],
        );
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, SIG)],
                VerifyError::MissingHeader {
                    header: "x-webflow-timestamp",
                },
            ),
            (
                &[(header, SIG), ("x-webflow-timestamp", "soon")],
                VerifyError::InvalidTimestamp {
                    header: "x-webflow-timestamp",
                },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let [sig, ts] = headers();
        assert_envelope(
            Source::new("webflow", &SCHEME),
            SECRET,
            Request::post(&[("content-type", "application/json"), sig, ts], BODY, NOW),
            Want {
                id: Id::Digest,
                ty: "webflow.form_submission",
                subject: Some("6321ca84df3949bfc6752327"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
