//! Xero: `x-xero-signature: <base64 HMAC-SHA256(webhook key, raw body)>`. A delivery is a batch,
//! `{"events":[…],"firstEventSequence":…,"lastEventSequence":…,"entropy":…}`, with no event or
//! delivery id, so the id is the body digest; the type is the first event's category and type
//! (`xero.contact.update`) and every event stays in `data`. The "intent to receive" check posts
//! signed empty batches (`events: []`), some with bad signatures: a valid one gets 200 with an
//! empty body and is not queued, a bad one 401. Xero counts anything but 200 as a failure, so
//! events are acknowledged with 200 too. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "xero",
    title: "Xero",
    signature: Signature {
        at: &[Loc::Header("x-xero-signature")],
        format: Format::Plain,
        all: false,
    },
    encoding: Encoding::Base64,
    batch: Some(Batch { items: "events" }),
    // No event id: an event's digest (its resource, type and millisecond time are in it).
    id: &[Loc::Digest],
    ty: &[
        TypePart::Optional(Loc::Json("eventCategory")),
        TypePart::Optional(Loc::Json("eventType")),
    ],
    subject: &[Loc::Json("resourceId")],
    handshakes: &[Handshake::XeroIntent],
    evidence: Evidence::Docs("Xero's XeroWebhooksReceiver and xero-php-webhook"),
    note: "a delivery is a batch: one envelope per event of events[], id the event's digest (no id is sent); answered 200",
    accepted: 200,
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

    const SECRET: &str = "xero-webhook-key";
    /// The example from XeroAPI/Xero-OpenAPI `xero-webhooks.yaml`, compact.
    const BODY: &[u8] = br#"{"events":[{"resourceUrl":"https://api.xero.com/api.xro/2.0/Contacts/717f2bfc-c6d4-41fd-b238-3f2f0c0cf777","resourceId":"717f2bfc-c6d4-41fd-b238-3f2f0c0cf777","eventDateUtc":"2024-06-21T01:15:39.902","eventType":"UPDATE","eventCategory":"CONTACT","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f","tenantType":"ORGANISATION"}],"lastEventSequence":1,"firstEventSequence":1,"entropy":"S0m3r4Nd0mt3xt"}"#;
    /// Derived from https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/
    /// (base64 HMAC-SHA256 of the body with the webhook key, computed with Python's hmac), not
    /// published.
    const SIG: &str = "JNczbXoxNFbKFVQ7oHqcBNw+HE3r7CxPMKZONu9PhYA=";
    const INTENT: &[u8] =
        br#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"FMLHZNKCVK"}"#;
    /// As above, for the intent-to-receive body.
    const INTENT_SIG: &str = "7YEhVgp4U0mOVFXVRQTUMKOkhwT5zA/qxvzLUEGCLxY=";

    fn source() -> Source {
        Source::new("xero", &SCHEME)
    }

    #[test]
    fn derived_vectors() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-xero-signature", SIG)],
        );
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            INTENT,
            &[("x-xero-signature", INTENT_SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-xero-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, "!!")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, INTENT_SIG)],
                VerifyError::SignatureMismatch { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn intent_to_receive_gets_200_when_signed_and_401_when_not() {
        let ok = deliver(
            source(),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-xero-signature", INTENT_SIG),
                ],
                INTENT,
                1_700_000_000,
            ),
        );
        assert_eq!(ok.reply.status, 200);
        assert!(ok.reply.body.is_empty());
        assert!(ok.reply.headers.is_empty(), "no content type, no cookies");
        assert!(ok.envelopes.is_empty());
        // Xero sends some with an incorrect signature and requires exactly 401 for them.
        for sig in [SIG, "YWJj", ""] {
            let bad = deliver(
                source(),
                SECRET,
                Request::post(&[("x-xero-signature", sig)], INTENT, 1_700_000_000),
            );
            assert_eq!(bad.reply.status, 401, "{sig:?}");
            assert!(bad.envelopes.is_empty());
        }
        let unsigned = deliver(source(), SECRET, Request::post(&[], INTENT, 1_700_000_000));
        assert_eq!(unsigned.reply.status, 401);
    }

    #[test]
    fn events_are_acknowledged_with_200() {
        let d = deliver(
            source(),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-xero-signature", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 200, "{}", d.text());
        let e = &d.envelopes[0];
        assert!(e["id"].as_str().expect("id").starts_with("sha256:"));
        assert_eq!(e["type"], "xero.contact.update");
        assert_eq!(e["subject"], "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777");
        // The event is the data; the delivery's entropy stays with the delivery.
        assert_eq!(e["data"]["eventType"], "UPDATE");
        assert_eq!(e["inletbatchsize"], 1);
    }

    /// A delivery's events become one envelope each; an event is keyed by its own bytes, so the
    /// same event in a later delivery (whose entropy differs) is recognised.
    #[test]
    fn events_are_split_and_each_is_queued_once() {
        let event = |id: &str, ty: &str| {
            format!(
                r#"{{"resourceUrl":"https://api.xero.com/api.xro/2.0/Invoices/{id}","resourceId":"{id}","eventDateUtc":"2024-06-21T01:15:39.902","eventType":"{ty}","eventCategory":"INVOICE","tenantId":"c2cc9b6e-9458-4c7d-93cc-f02b81b0594f","tenantType":"ORGANISATION"}}"#
            )
        };
        let (a, b) = (event("i-1", "CREATE"), event("i-2", "UPDATE"));
        let delivery = |events: &[&str], entropy: &str| {
            format!(
                r#"{{"events":[{}],"firstEventSequence":1,"lastEventSequence":2,"entropy":"{entropy}"}}"#,
                events.join(",")
            )
        };
        let (first, both) = (delivery(&[&a], "ABC"), delivery(&[&a, &b], "DEF"));
        let sig = |body: &str| {
            base64::Engine::encode(
                &crate::core::verify::engine::B64,
                crate::core::verify::engine::hmac_sha256(SECRET.as_bytes(), body.as_bytes()),
            )
        };
        let (s1, s2) = (sig(&first), sig(&both));
        let d = deliver_again(
            source(),
            SECRET,
            &[
                Request::post(
                    &[("x-xero-signature", &s1)],
                    first.as_bytes(),
                    1_700_000_000,
                ),
                Request::post(&[("x-xero-signature", &s2)], both.as_bytes(), 1_700_000_000),
            ],
        );
        assert_eq!(counts(&d), [1, 1]);
        assert_eq!(d[1].reply.status, 200);
        assert_eq!(d[1].envelopes[0]["type"], "xero.invoice.update");
        assert_eq!(d[1].envelopes[0]["subject"], "i-2");
    }
}
