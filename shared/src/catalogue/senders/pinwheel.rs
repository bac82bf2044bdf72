//! Pinwheel (payroll connectivity): `x-pinwheel-signature: v2=<hex HMAC-SHA256(API secret,
//! "v2:{x-timestamp}:{raw body}")>` with `x-timestamp` (unix seconds), the API secret used as its
//! UTF-8 bytes.
//!
//! - Header, version, signed bytes, hash, encoding and key:
//!   https://docs.pinwheelapi.com/docs/webhook-signature-verification (steps 1 to 7, and its
//!   Python example: `msg = f"v2:{timestamp}:".encode("utf-8") + raw_body`, compared with
//!   `f"v2={digest}"`). Pinwheel's page ends with a test suite that could not be read for this
//!   file, so the vector below is derived.
//! - Window: the parts of Pinwheel's guide read here name none; Inlet's default, 300 seconds (a
//!   deployment can change it).
//! - Body (https://docs.pinwheelapi.com/docs/webhooks-1 and the webhook event reference, e.g.
//!   https://docs.pinwheelapi.com/reference/account-webhook-events):
//!   `{"event","event_id","payload":{…}}`. `event_id` "is unique for each webhook event" and
//!   guards against duplicates (delivery is at least once): the id. The type is `event`
//!   (`pinwheel.account.added`, `pinwheel.direct_deposit_switch.added`, …), the subject
//!   `payload.account_id`, the time `payload.created_at` when the event has one, else the signed
//!   timestamp. `x-pinwheel-webhook-id` names the webhook, not the event.
//! - No batches, no handshake.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "pinwheel",
    title: "Pinwheel",
    signature: Signature {
        at: &[Loc::Header("x-pinwheel-signature")],
        format: Format::Prefix("v2="),
        all: false,
    },
    signed: &[
        Part::Lit("v2:"),
        Part::Timestamp,
        Part::Lit(":"),
        Part::Body,
    ],
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-timestamp")],
        unit: Unit::Seconds,
        tolerance: 300,
    }),
    id: &[Loc::Json("event_id")],
    ty: &[TypePart::Required(Loc::Json("event"))],
    subject: &[Loc::Json("payload.account_id")],
    time: &[
        TimeLoc::At(Loc::Json("payload.created_at"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Docs("Pinwheel's Python example in its webhook-signature guide"),
    note: "signed with the API secret; the id is the signed event_id",
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

    const SECRET: &str = "pinwheel-api-secret";
    /// The `account.added` sample of Pinwheel's account webhook events.
    const BODY: &[u8] = br#"{"event":"account.added","event_id":"5a141122-4235-4fa1-bd76-0628573880b0","payload":{"account_id":"03bbc20e-bc39-464a-b4dc-4b63ffb7213d","end_user_id":"my_user_12345","link_token_id":"7c4ac4be-4a0e-4468-ab26-c42b249b233b","platform_id":"fce3eee0-285b-496f-9b36-30e976194736","platform_name":"Justworks","created_at":"2021-01-12T02:36:01.287148+00:00","connected":true,"monitoring_status":"active"}}"#;
    /// The `x-timestamp` of Pinwheel's example delivery.
    const TS: &str = "1609205925";
    /// Derived, not published: `v2=` + hex HMAC-SHA256 of `v2:{ts}:{body}`, computed with
    /// Python's hmac as the guide's example does.
    const SIG: &str = "v2=22d4722a6e8516f46e270a90d610c75461466a9cc922d3178e17c79888089427";
    const HEADER: &str = "x-pinwheel-signature";
    const AT: u64 = 1_609_205_925;

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[(HEADER, SIG), ("x-timestamp", TS)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = HEADER;
        let ts = ("x-timestamp", TS);
        assert_header_refusals(&SCHEME, SECRET, BODY, AT, &[(header, SIG), ts]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (
                &[(header, SIG)],
                VerifyError::MissingHeader {
                    header: "x-timestamp",
                },
            ),
            (
                &[(header, SIG), ("x-timestamp", "yesterday")],
                VerifyError::InvalidTimestamp {
                    header: "x-timestamp",
                },
            ),
            (
                &[(header, &SIG[3..]), ts],
                VerifyError::MalformedSignature { header },
            ),
            // Another timestamp than the one signed.
            (
                &[(header, SIG), ("x-timestamp", "1609205926")],
                VerifyError::SignatureMismatch { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, AT, cases);
    }

    #[test]
    fn normalization() {
        let headers = [
            ("content-type", "application/json"),
            (HEADER, SIG),
            ("x-timestamp", TS),
            (
                "x-pinwheel-webhook-id",
                "61788409-8314-4e89-9300-ae7b9d3ccff5",
            ),
        ];
        assert_envelope(
            Source::new("pinwheel", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, AT),
            Want {
                id: Id::Is("5a141122-4235-4fa1-bd76-0628573880b0"),
                ty: "pinwheel.account.added",
                subject: Some("03bbc20e-bc39-464a-b4dc-4b63ffb7213d"),
                time: "2021-01-12T02:36:01.287Z",
            },
        );
    }
}
