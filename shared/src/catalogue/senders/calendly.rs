//! Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 of `{t}.{raw body}`
//! under the webhook signing key (UTF-8), as Stripe does. Calendly has no SDK and states no
//! window: 300 s. Its payloads carry no event id, so the id is the body digest; the type is the
//! signed body's `event` (`invitee.created`).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "calendly",
    title: "Calendly",
    signature: Signature {
        at: &[Loc::Header("calendly-webhook-signature")],
        format: Format::Kv {
            sep: ",",
            key: "v1",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("payload.uri"), Loc::Json("payload.event")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Docs("n8n's Calendly trigger"),
    note: "no event id in the payload: the id is the body digest; no SDK window, so 300 s",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &[u8] = b"calendly-test-signing-key";
    const BODY: &[u8] = br#"{"created_at":"2020-11-23T17:51:19.000000Z","created_by":"https://api.calendly.com/users/AAAAAAAAAAAAAAAA","event":"invitee.created","payload":{"email":"test@example.com","event":"https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2","name":"John Doe","status":"active","uri":"https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA"}}"#;
    const HEADER: &str =
        "t=1700000000,v1=fd84a4fe059d7d1018a1c29151f4e4b8f527ce866f39f6499d767c684052a2d1";

    #[test]
    fn derived_vector() {
        // Derived from https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures
        // (HMAC-SHA256 of "{t}.{body}", computed with Python's hmac), not published.
        vector(
            &SCHEME,
            SECRET,
            BODY,
            &[("calendly-webhook-signature", HEADER)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
    }

    #[test]
    fn rejections() {
        let header = "calendly-webhook-signature";
        let cases: &[(&str, VerifyError)] = &[
            (&HEADER[13..], VerifyError::MalformedSignature { header }),
            ("t=1700000000", VerifyError::SignatureMismatch { header }),
            (
                "t=1700000000,v1=zz",
                VerifyError::SignatureMismatch { header },
            ),
            (
                "t=1700000001,v1=fd84a4fe059d7d1018a1c29151f4e4b8f527ce866f39f6499d767c684052a2d1",
                VerifyError::SignatureMismatch { header },
            ),
        ];
        for (value, want) in cases {
            let got = check(&SCHEME, &[SECRET], &[(header, value)], BODY, 1_700_000_000)
                .expect_err("fails");
            assert_eq!(&got, want, "{value}");
        }
    }

    #[test]
    fn normalization() {
        let secret = std::str::from_utf8(SECRET).expect("text");
        let got = deliver(
            crate::catalogue::sources::Source::new("calendly", &SCHEME),
            secret,
            Request::post(
                &[("calendly-webhook-signature", HEADER)],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], crate::core::normalize::body_digest_id(BODY));
        assert_eq!(e["type"], "calendly.invitee.created");
        assert_eq!(
            e["subject"],
            "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA"
        );
        assert_eq!(e["time"], "2020-11-23T17:51:19.000Z");
    }
}
