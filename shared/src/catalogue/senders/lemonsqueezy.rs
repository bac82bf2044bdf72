//! Lemon Squeezy: `X-Signature: <hex HMAC-SHA256(signing secret, raw body)>`. The type
//! (`meta.event_name`, e.g. `order_created`; also sent unsigned as `X-Event-Name`), subject
//! (`data.id`) and time (`data.attributes.updated_at`) come from the signed body. Lemon Squeezy
//! sends no event or delivery id, so the id is the body digest (identical on retries). No
//! timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "lemonsqueezy",
    title: "Lemon Squeezy",
    signature: Signature {
        at: &[Loc::Header("x-signature")],
        format: Format::Plain,
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("meta.event_name"))],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(
        Loc::Json("data.attributes.updated_at"),
        Unit::Rfc3339,
    )],
    evidence: Evidence::Docs("lmsqueezy/laravel and lmsqueezy/nextjs-billing"),
    note: "no event id is sent: the id is the body digest",
    // Identical bytes can be distinct events: no event id is sent, so two updates in one second could match.
    repeats: Repeats::Distinct,
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

    const SECRET: &str = "lemon-secret";
    const BODY: &[u8] = br#"{"meta":{"event_name":"order_created"},"data":{"type":"orders","id":"1","attributes":{"updated_at":"2021-08-17T09:45:53.000000Z"}}}"#;
    /// Derived from https://docs.lemonsqueezy.com/help/webhooks/signing-requests (hex
    /// HMAC-SHA256 of the body, computed with Python's hmac), not published.
    const SIG: &str = "56c1807418e6a7206630befd47c7f81d335787c8d0102788d1001206374e1ff8";

    #[test]
    fn derived_vector() {
        vector(&SCHEME, SECRET.as_bytes(), BODY, &[("x-signature", SIG)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &format!("sha256={SIG}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    /// No event id is sent, and two updates within a second can be the same bytes: each
    /// delivery is queued (at-least-once) rather than the second being dropped as a duplicate.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            Source::new("lemonsqueezy", &SCHEME),
            SECRET,
            Request::post(&[("x-signature", SIG)], BODY, 1_700_000_000),
        );
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("lemonsqueezy", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-signature", SIG),
                    ("x-event-name", "order_created"),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        let id = e["id"].as_str().expect("id");
        assert_eq!(id.len(), 36, "no event id is sent: an id of its own, {id}");
        assert_eq!(e["type"], "lemonsqueezy.order_created");
        assert_eq!(e["subject"], "1");
        assert_eq!(e["time"], "2021-08-17T09:45:53.000Z");
    }
}
