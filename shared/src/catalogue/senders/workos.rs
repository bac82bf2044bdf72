//! WorkOS: `WorkOS-Signature: t=<ms>, v1=<hex>` (comma and space), HMAC-SHA256 of
//! `{t}.{raw body}` with `t` in milliseconds, under the endpoint secret (UTF-8). The SDK allows
//! 180 s either way. Id (`id`), type (`event`, e.g. `user.created`) and time from the signed body.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "workos",
    title: "WorkOS",
    signature: Signature {
        at: &[Loc::Header("workos-signature")],
        format: Format::Kv {
            sep: ", ",
            key: "v1",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Millis,
        tolerance: 180,
    }),
    id: &[Loc::Json("id")],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("workos 10.6.0 (PyPI)"),
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
    const BODY: &[u8] = br#"{"object":"event","id":"evt_01","event":"user.created","data":{"object":"user","id":"user_01","email":"test@example.com"},"created_at":"2024-01-01T00:00:00Z"}"#;
    const HEADER: &str =
        "t=1700000000000, v1=3b5bbd0728079d9ecd84e8128d306f5059fcf2c6cd64bb6907caac3e51782577";

    #[test]
    fn derived_vector() {
        // Derived from workos-python src/workos/webhooks/_verification.py @1a0d410 (HMAC-SHA256
        // of "{t_ms}.{body}", computed with Python's hmac; the SDK's tests sign at run time), not
        // published.
        vector(&SCHEME, SECRET, BODY, &[("workos-signature", HEADER)]);
        // Without the space too.
        let tight = HEADER.replace(", ", ",");
        check(
            &SCHEME,
            &[SECRET],
            &[("workos-signature", &tight)],
            BODY,
            1_700_000_000,
        )
        .expect("a bare comma also separates");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
    }

    #[test]
    fn milliseconds_are_held_to_180_seconds_both_ways() {
        let pairs = [("workos-signature", HEADER)];
        for now in [1_700_000_180, 1_699_999_820] {
            check(&SCHEME, &[SECRET], &pairs, BODY, now).expect("inside");
        }
        for now in [1_700_000_181, 1_699_999_819] {
            assert!(matches!(
                check(&SCHEME, &[SECRET], &pairs, BODY, now),
                Err(VerifyError::TimestampOutsideTolerance { .. })
            ));
        }
    }

    #[test]
    fn rejections() {
        let header = "workos-signature";
        let cases: &[(&str, VerifyError)] = &[
            // Seconds where milliseconds belong sign different bytes.
            (
                "t=1700000000, v1=3b5bbd0728079d9ecd84e8128d306f5059fcf2c6cd64bb6907caac3e51782577",
                VerifyError::SignatureMismatch { header },
            ),
            (&HEADER[17..], VerifyError::MalformedSignature { header }),
            // A `;` does not separate: the whole rest is read as `t`.
            (
                "t=1700000000000; v1=3b5b",
                VerifyError::InvalidTimestamp { header: "t" },
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
        let got = deliver(
            crate::catalogue::sources::Source::new("workos", &SCHEME),
            "whsec_test_secret",
            Request::post(&[("workos-signature", HEADER)], BODY, 1_700_000_000),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "evt_01");
        assert_eq!(e["type"], "workos.user.created");
        assert_eq!(e["subject"], "user_01");
        assert_eq!(e["time"], "2024-01-01T00:00:00.000Z");
    }
}
