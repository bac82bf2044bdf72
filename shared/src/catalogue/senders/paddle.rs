//! Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>[;h1=…]`, HMAC-SHA256 of
//! `{ts}:{raw body}` under the notification secret (`pdl_ntfset_…`, used as UTF-8). The SDK
//! allows 5 s from `ts`, late or early (`Verifier.verify` refuses both). Id (`event_id`), type
//! (`event_type`) and time come from the signed body.
//! Several `h1` values may be sent; one that is not hex (the SDK test's `h1=dummy`) is no
//! candidate, as the SDK's string comparison never matches it.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "paddle",
    title: "Paddle Billing",
    signature: Signature {
        at: &[Loc::Header("paddle-signature")],
        format: Format::Kv {
            sep: ";",
            key: "h1",
        },
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit(":"), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("ts")],
        unit: Unit::Seconds,
        tolerance: 5,
    }),
    id: &[Loc::Json("event_id"), Loc::Json("notification_id")],
    ty: &[TypePart::Required(Loc::Json("event_type"))],
    subject: &[Loc::Json("data.customer_id"), Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("occurred_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("paddle-python-sdk 1.16.1 (PyPI)"),
    note: "the SDK's window is 5 s either way, as Inlet's: raise WEBHOOK_TOLERANCE_SECONDS if clocks drift",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    /// paddle-python-sdk `tests/Unit/Notification/test_Verifier.py`.
    const SDK_HEADER: &str =
        "ts=1696195954;h1=dummy;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02";
    const HEADER: &str =
        "ts=1696195954;h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02";
    const BODY: &[u8] = b"hello-world";
    const PASSES: &[u8] = b"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_WvRO0eL4Bj9rgYYIBZY6wZhG4EHy9jzh";
    const FAILS: [&[u8]; 2] = [
        b"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_TjIG2BXbm83HPXqNfziwe506sBEdqL/4",
        b"pdl_ntf_01hbpjmytsa32fhr36nqgc3kgb_vB/yIOnTOCWIvpBadM5jzBZPHc7OmdSo",
    ];
    const AT: u64 = 1_696_195_954;

    #[test]
    fn published_vector() {
        vector(&SCHEME, PASSES, BODY, &[("paddle-signature", HEADER)]);
        for secret in FAILS {
            assert_eq!(
                check(
                    &SCHEME,
                    &[secret],
                    &[("paddle-signature", HEADER)],
                    BODY,
                    AT
                ),
                Err(VerifyError::SignatureMismatch {
                    header: "paddle-signature"
                })
            );
        }
        // The SDK's list of three secrets: the third is the one that matches.
        let label = check(
            &SCHEME,
            &[FAILS[0], FAILS[1], PASSES],
            &[("paddle-signature", HEADER)],
            BODY,
            AT,
        )
        .expect("the third secret verifies");
        assert_eq!(label, "secret-2");
    }

    #[test]
    fn the_sdk_header_with_a_dummy_h1_verifies() {
        // The SDK's own header carries `h1=dummy` beside the real one; it is no candidate.
        let label = check(
            &SCHEME,
            &[PASSES],
            &[("paddle-signature", SDK_HEADER)],
            BODY,
            AT,
        )
        .expect("the SDK's header verifies");
        assert_eq!(label, "secret-0");
    }

    #[test]
    fn the_window_is_five_seconds_both_ways() {
        // The SDK's `Verifier` refuses "too much time has elapsed" and "too far in the future".
        let pairs = [("paddle-signature", HEADER)];
        check(&SCHEME, &[PASSES], &pairs, BODY, AT + 5).expect("5 s late");
        check(&SCHEME, &[PASSES], &pairs, BODY, AT - 5).expect("5 s early");
        for now in [AT + 6, AT - 6] {
            assert!(matches!(
                check(&SCHEME, &[PASSES], &pairs, BODY, now),
                Err(VerifyError::TimestampOutsideTolerance { .. })
            ));
        }
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(
            &SCHEME,
            b"pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_made+up/secret",
            br#"{"event_id":"evt_1","event_type":"transaction.paid"}"#,
        );
    }

    #[test]
    fn rejections() {
        let header = "paddle-signature";
        let cases: &[(&str, VerifyError)] = &[
            (
                "h1=d96299976a6eb066f484d7fde011ac56fc32b38fc9940bc419d6e537fdc6ef02",
                VerifyError::MalformedSignature { header },
            ),
            ("ts=1696195954", VerifyError::SignatureMismatch { header }),
            (
                "ts=soon;h1=d962",
                VerifyError::InvalidTimestamp { header: "ts" },
            ),
            (
                "ts=1696195954;h1",
                VerifyError::MalformedSignature { header },
            ),
            (
                "ts=1696195954;ts=1696195955;h1=d962",
                VerifyError::DuplicateHeader { header },
            ),
        ];
        for (value, want) in cases {
            let got = check(&SCHEME, &[PASSES], &[(header, value)], BODY, AT).expect_err("fails");
            assert_eq!(&got, want, "{value}");
        }
    }

    #[test]
    fn normalization() {
        let body = br#"{"event_id":"evt_01hv8x2acma2gz8m5vq8v9n1ke","event_type":"transaction.paid","occurred_at":"2024-04-12T10:18:49.621022Z","notification_id":"ntf_01hv8x2af4awq8h0bx4x3pnmwt","data":{"id":"txn_01hv8wptq8987qeep44cyrewp9","status":"paid","customer_id":"ctm_01hv8wt8nffez4p2t6typn4a5j"}}"#;
        let secret = "pdl_ntfset_01hs0t3tw21j988db1pam5xg8m_made+up/secret";
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            secret.as_bytes(),
            &crate::core::verify::engine::Signing::post(body, 1_712_917_130, "", None),
        )
        .expect("signs");
        let pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let got = deliver(
            crate::catalogue::sources::Source::new("paddle", &SCHEME),
            secret,
            Request::post(&pairs, body, 1_712_917_130),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "evt_01hv8x2acma2gz8m5vq8v9n1ke");
        assert_eq!(e["type"], "paddle.transaction.paid");
        assert_eq!(e["subject"], "ctm_01hv8wt8nffez4p2t6typn4a5j");
        assert_eq!(e["time"], "2024-04-12T10:18:49.621Z");
    }
}
