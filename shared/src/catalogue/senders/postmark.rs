//! Postmark: no signature. The webhook URL carries HTTP Basic credentials
//! (`https://user:password@host/…`), which arrive as `Authorization: Basic <base64 user:password>`;
//! the configured secret is `user:password`, compared in constant time. Credentials sign nothing,
//! so type and id are unsigned: the type is `RecordType` (`postmark.delivery`, `.bounce`, `.open`,
//! `.click`, `.spamcomplaint`, `.subscriptionchange`) or `postmark.inbound` for inbound mail, which
//! has none (chosen by the code below); Postmark sends no delivery id, so the id is the body
//! digest. No timestamp.

use std::time::SystemTime;

use serde_json::value::RawValue;

use crate::core::normalize::{Disposition, NormalizeError};
use crate::core::scheme::*;
use crate::core::verify::Verified;

pub const SCHEME: Scheme = Scheme {
    name: "postmark",
    title: "Postmark",
    signature: Signature {
        at: &[Loc::Header("authorization")],
        format: Format::Prefix("Basic "),
        all: false,
    },
    algorithm: Algorithm::Basic,
    encoding: Encoding::Base64,
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("RecordType"))],
    subject: &[Loc::Json("MessageID")],
    time: &[
        TimeLoc::At(Loc::Json("DeliveredAt"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("BouncedAt"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("ReceivedAt"), Unit::Rfc3339),
        TimeLoc::At(Loc::Json("ChangedAt"), Unit::Rfc3339),
    ],
    custom: Some(&Inbound),
    evidence: Evidence::Docs("Postmark's postmark-skills"),
    note: "Basic credentials in the webhook URL (secret `user:password`) sign nothing; no id is sent: the id is the body digest",
    ..Scheme::BASE
};

/// Inbound mail has no `RecordType`.
const INBOUND: Scheme = Scheme {
    ty: &[TypePart::Lit("inbound")],
    custom: None,
    ..SCHEME
};

/// Types inbound mail, which carries no `RecordType`.
#[derive(Debug)]
struct Inbound;

impl Custom for Inbound {
    fn normalize<'b>(
        &self,
        source: &str,
        v: &Verified<'b>,
        received: SystemTime,
    ) -> Option<Result<Disposition<'b>, NormalizeError>> {
        let raw: &RawValue = serde_json::from_slice(v.body()).ok()?;
        crate::core::json::lookup(raw, "RecordType")
            .is_none()
            .then(|| crate::core::normalize::engine::normalize(source, &INBOUND, v, received))
    }
}

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
/// No `round_trip`: the credentials proves the sender but covers no byte of the body, so the helper's
/// every-byte tampering check does not apply (nothing from the body is trusted instead).
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const CREDENTIALS: &str = "inlet:pm-password";
    /// Derived from https://postmarkapp.com/developer/webhooks/webhooks-overview (Basic auth in
    /// the webhook URL: base64 of `user:password`, computed with Python's base64), not published.
    const AUTHORIZATION: &str = "Basic aW5sZXQ6cG0tcGFzc3dvcmQ=";
    const DELIVERY: &[u8] = br#"{"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Recipient":"john@example.com","Tag":"welcome-email","DeliveredAt":"2019-11-05T16:33:54.9070259Z","Details":"Test delivery webhook details","Metadata":{"a_key":"a_value"}}"#;

    fn post(authorization: &str, body: &[u8]) -> Delivered {
        deliver(
            Source::new("postmark", &SCHEME),
            CREDENTIALS,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("authorization", authorization),
                ],
                body,
                1_700_000_000,
            ),
        )
    }

    #[test]
    fn basic_credentials_must_equal_the_secret() {
        let header = "authorization";
        let key: &[&[u8]] = &[CREDENTIALS.as_bytes()];
        check(&SCHEME, key, &[(header, AUTHORIZATION)], DELIVERY, 0).expect("verifies");
        let cases: &[(&str, VerifyError)] = &[
            // inlet:pm-passwore
            (
                "Basic aW5sZXQ6cG0tcGFzc3dvcmU=",
                VerifyError::SignatureMismatch { header },
            ),
            // inlet
            ("Basic aW5sZXQ=", VerifyError::SignatureMismatch { header }),
            ("Basic !!", VerifyError::MalformedSignature { header }),
            (
                "Bearer aW5sZXQ6cG0tcGFzc3dvcmQ=",
                VerifyError::MalformedSignature { header },
            ),
            (
                "aW5sZXQ6cG0tcGFzc3dvcmQ=",
                VerifyError::MalformedSignature { header },
            ),
            // Header values are trimmed: `Basic` alone has no credentials.
            ("Basic ", VerifyError::MalformedSignature { header }),
        ];
        for (value, want) in cases {
            let got = check(&SCHEME, key, &[(header, value)], DELIVERY, 0).expect_err("must fail");
            assert_eq!(&got, want, "{value}");
        }
        assert_eq!(
            check(&SCHEME, key, &[], DELIVERY, 0),
            Err(VerifyError::MissingSignature { header })
        );
        // A password may itself contain colons.
        let colons = "user:pa:ss";
        let value = format!(
            "Basic {}",
            crate::core::verify::engine::encode(
                crate::core::scheme::Encoding::Base64,
                colons.as_bytes()
            )
        );
        check(
            &SCHEME,
            &[colons.as_bytes()],
            &[(header, &value)],
            DELIVERY,
            0,
        )
        .expect("colons in the password");
    }

    #[test]
    fn what_the_engine_signs_verifies() {
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            CREDENTIALS.as_bytes(),
            &crate::core::verify::engine::Signing::post(DELIVERY, 1_700_000_000, "", None),
        )
        .expect("signs");
        assert_eq!(
            signed.first().map(|(n, v)| (n.as_str(), v.as_str())),
            Some(("authorization", AUTHORIZATION))
        );
    }

    #[test]
    fn a_delivery_event() {
        let d = post(AUTHORIZATION, DELIVERY);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert!(e["id"].as_str().expect("id").starts_with("sha256:"));
        assert_eq!(e["type"], "postmark.delivery");
        assert_eq!(e["subject"], "883953f4-6105-42a2-a16a-77a8eac79483");
        assert_eq!(e["time"], "2019-11-05T16:33:54.907Z");
        let forged = post("Basic aW5sZXQ6Z3Vlc3M=", DELIVERY);
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }

    #[test]
    fn inbound_mail_has_no_record_type() {
        let body = br#"{"FromName":"Postmarkapp Support","MessageStream":"inbound","From":"support@postmarkapp.com","To":"\"Firstname Lastname\" <yourhash+SampleHash@inbound.postmarkapp.com>","Subject":"Test subject","MessageID":"73e6d360-66eb-11e1-8e72-a8904824019b","Date":"Fri, 1 Aug 2014 16:45:32 -04:00","TextBody":"This is a test text body."}"#;
        let d = post(AUTHORIZATION, body);
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["type"], "postmark.inbound");
        assert_eq!(e["subject"], "73e6d360-66eb-11e1-8e72-a8904824019b");
    }
}
