//! QuickBooks Online (Intuit webhooks): `intuit-signature: <base64 HMAC-SHA256(verifier token,
//! raw body)>`, the app's webhook Verifier Token (not its OAuth client secret) used as its UTF-8
//! bytes. Intuit's docs
//! (https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications,
//! "Validating the notification": hash the payload with HMAC-SHA256 keyed by the verifier token,
//! base64, compare with the `intuit-signature` header) describe it; the npm package
//! tylerzey/verify-quickbooks-webhooks computes the same. No timestamp is signed, so no replay
//! window applies. The body is a batch: Intuit aggregates changes (1 to 5 minutes in production).
//! In the CloudEvents format Intuit is moving webhooks to, the body is an array of events, one
//! envelope each: `id` (signed) the envelope id, `type` the type
//! (`quickbooks.qbo.invoice.created.v1`), `intuitentityid` the subject, `time` the time. The
//! legacy body, `{"eventNotifications":[{"realmId", "dataChangeEvent":{"entities":[…]}}]}`, is
//! one envelope: the first entity's `name` + `operation` the type
//! (`quickbooks.customer.create`), the realm the subject, the body digest the id (its
//! `lastUpdated` times tell deliveries apart); the other entities are in its data. Its
//! `lastUpdated` (`-0700` offsets) is not RFC 3339, so its time is the time of receipt.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "quickbooks",
    title: "QuickBooks Online",
    signature: Signature {
        at: &[Loc::Header("intuit-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    batch: Some(Batch { items: "" }),
    id: &[Loc::Json("id"), Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("type")),
        TypePart::Optional(Loc::Json(
            "eventNotifications.0.dataChangeEvent.entities.0.name",
        )),
        TypePart::Optional(Loc::Json(
            "eventNotifications.0.dataChangeEvent.entities.0.operation",
        )),
    ],
    subject: &[
        Loc::Json("intuitentityid"),
        Loc::Json("eventNotifications.0.realmId"),
    ],
    time: &[TimeLoc::At(Loc::Json("time"), Unit::Rfc3339)],
    evidence: Evidence::Docs("tylerzey/verify-quickbooks-webhooks (npm verify-quickbooks-webhooks)"),
    note: "the secret is the webhook Verifier Token; a CloudEvents array is one envelope per event (id its event id), a legacy eventNotifications body one envelope (id its digest); no timestamp is signed, so no replay window applies",
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

    const SECRET: &str = "quickbooks-verifier-token";
    /// Two events in Intuit's CloudEvents webhook format.
    const BODY: &[u8] = br#"[{"specversion":"1.0","id":"88cd52aa-33b6-4351-9aa4-47572edbd068","source":"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=","type":"qbo.invoice.created.v1","datacontenttype":"application/json","time":"2023-11-14T22:13:20.179Z","intuitentityid":"95","intuitaccountid":"310687","data":{}},{"specversion":"1.0","id":"1b7a3f0e-5c2d-4e8a-9f61-0d2c3b4a5e6f","source":"intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=","type":"qbo.customer.updated.v1","datacontenttype":"application/json","time":"2023-11-14T22:13:21.000Z","intuitentityid":"58","intuitaccountid":"310687","data":{}}]"#;
    /// Derived from Intuit's docs (base64 HMAC-SHA256 of the body, computed with Python's hmac),
    /// not published.
    const SIG: &str = "/uqo9kzfD+9sTrhOYn5Xv5kgxomw/ijqhHYDR1jEYJ0=";
    /// The legacy sample payload of Intuit's managing-webhooks page, without whitespace.
    const LEGACY: &[u8] = br#"{"eventNotifications":[{"realmId":"1185883450","dataChangeEvent":{"entities":[{"name":"Customer","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"},{"name":"Vendor","id":"1","operation":"Create","lastUpdated":"2015-10-05T14:42:19-0700"}]}}]}"#;
    /// As SIG, for LEGACY (Python's hmac), not published.
    const LEGACY_SIG: &str = "K3z5NTAUXe+3vfqh6wr9V6gGMDQabSvywUB+aAtt7yQ=";
    const NOW: u64 = 1_700_000_000;

    #[test]
    fn derived_vectors() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("intuit-signature", SIG)],
        );
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            LEGACY,
            &[("intuit-signature", LEGACY_SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "intuit-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, LEGACY_SIG)],
            VerifyError::SignatureMismatch { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn a_cloudevents_batch_is_one_envelope_per_event() {
        let d = deliver(
            Source::new("quickbooks", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("intuit-signature", SIG),
                ],
                BODY,
                NOW,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "88cd52aa-33b6-4351-9aa4-47572edbd068");
        assert_eq!(e["type"], "quickbooks.qbo.invoice.created.v1");
        assert_eq!(e["subject"], "95");
        assert_eq!(e["time"], "2023-11-14T22:13:20.179Z");
        assert_eq!(d.envelopes[1]["id"], "1b7a3f0e-5c2d-4e8a-9f61-0d2c3b4a5e6f");
        assert_eq!(d.envelopes[1]["type"], "quickbooks.qbo.customer.updated.v1");
        assert_forged(
            Source::new("quickbooks", &SCHEME),
            "client-secret-not-the-verifier-token",
            Request::post(&[("intuit-signature", SIG)], BODY, NOW),
        );
    }

    #[test]
    fn a_legacy_notification_is_one_envelope() {
        assert_envelope(
            Source::new("quickbooks", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("intuit-signature", LEGACY_SIG),
                ],
                LEGACY,
                NOW,
            ),
            Want {
                id: Id::Digest,
                ty: "quickbooks.customer.create",
                subject: Some("1185883450"),
                time: "2023-11-14T22:13:20.000Z",
            },
        );
    }
}
