//! Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]` over `{t}.{raw body}`. The
//! `whsec_…` secret is used as UTF-8 bytes (unlike Svix's). Id, type and time from the event.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "stripe",
    title: "Stripe",
    signature: Signature {
        at: &[Loc::Header("stripe-signature")],
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
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    // Snapshot events carry data.object; thin (v2) events carry related_object.
    subject: &[
        Loc::Json("data.object.customer"),
        Loc::Json("data.object.customer.id"),
        Loc::Json("data.object.id"),
        Loc::Json("related_object.id"),
    ],
    time: &[TimeLoc::At(Loc::Json("created"), Unit::Seconds)],
    evidence: Evidence::Sdk("stripe 16.1.0 (PyPI)"),
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = b"{\n  \"id\": \"evt_test_webhook\",\n  \"object\": \"event\"\n}";
    const HEADER: &str =
        "t=1700000000,v1=4f1cd7feda9826e746b7d482c4badebb657398df1099e1046364f6196a230150";

    #[test]
    fn derived_vector() {
        vector_at(
            &SCHEME,
            SECRET,
            BODY,
            &[("stripe-signature", HEADER)],
            1_700_000_000,
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
    }

    #[test]
    fn several_v1_and_ignored_v0() {
        let other = "v1=".to_owned() + &"0".repeat(64);
        for value in [
            format!("{HEADER},{other}"),
            format!("t=1700000000,{other},v0=abcd,{}", &HEADER[13..]),
        ] {
            check(
                &SCHEME,
                &[SECRET],
                &[("stripe-signature", &value)],
                BODY,
                1_700_000_000,
            )
            .expect("one v1 matches");
        }
    }

    #[test]
    fn rejections() {
        let header = "stripe-signature";
        let cases: &[(&str, VerifyError)] = &[
            ("v1=abcd", VerifyError::MalformedSignature { header }),
            ("t=1700000000", VerifyError::SignatureMismatch { header }),
            (
                "t=soon,v1=abcd",
                VerifyError::InvalidTimestamp { header: "t" },
            ),
            (
                "t=1700000000,v1=zz",
                VerifyError::SignatureMismatch { header },
            ),
            (
                "t=1700000000,garbage",
                VerifyError::MalformedSignature { header },
            ),
            (
                "t=1700000000,t=1700000001,v1=ab",
                VerifyError::DuplicateHeader { header },
            ),
        ];
        for (value, want) in cases {
            let got = check(&SCHEME, &[SECRET], &[(header, value)], BODY, 1_700_000_000)
                .expect_err("must fail");
            assert_eq!(&got, want, "{value}");
        }
    }

    /// A signed body with a repeated `type` is typed as every consumer reads it: by the last one
    /// (serde_json, Python's json, JavaScript's JSON.parse), never by the first.
    #[test]
    fn a_repeated_key_reads_as_its_last_value() {
        let body = br#"{"id":"evt_1","type":"charge.succeeded","created":1700000000,"data":{"object":{"id":"ch_1"}},"type":"charge.refunded"}"#;
        let signed = sign_headers(&SCHEME, SECRET, body, 1_700_000_000, "", None);
        let d = deliver(
            crate::catalogue::sources::Source::new("stripe", &SCHEME),
            std::str::from_utf8(SECRET).expect("text"),
            Request::post(&pairs(&signed), body, 1_700_000_000),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let data: serde_json::Value =
            serde_json::from_slice(body).expect("serde_json reads it too");
        assert_eq!(data["type"], "charge.refunded");
        assert_eq!(d.envelopes[0]["type"], "stripe.charge.refunded");
        assert_eq!(d.envelopes[0]["data"]["type"], "charge.refunded");
    }
}
