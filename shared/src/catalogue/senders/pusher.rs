//! Pusher Channels webhooks: `X-Pusher-Signature: <hex HMAC-SHA256(app secret, raw body)>`, with
//! `X-Pusher-Key: <app key>` naming the app whose secret signed it. Sources: Pusher's docs
//! (https://pusher.com/docs/channels/server_api/webhooks/: "X-Pusher-Key: the currently active
//! app key", "X-Pusher-Signature: a HMAC SHA256 hex digest formed by signing the POST payload
//! (body) with the token's secret") and Pusher's own SDK, pusher-http-python
//! `pusher/authentication_client.py` `validate_webhook` (`key != self.key` → refused, HMAC-SHA256
//! hex of the body under the secret, then the body's `time_ms` must be within 300 000 ms of now).
//! That `time_ms` is inside the signed body, so it is this scheme's timestamp (milliseconds,
//! 300 s, as the SDK). `X-Pusher-Key` is not read: the configured secret (or secrets, one per
//! app) decides, which a key cannot widen. The body is a batch, `{"time_ms":…,"events":[…]}`:
//! one envelope per event, typed by its `name` (`pusher.channel_occupied`, `.member_added`,
//! `.client_event`, …), subject its `channel`, time `time_ms`. Events carry no id or time of their
//! own, so two events can be identical bytes (a channel occupied, vacated, occupied again):
//! repeats are `Distinct` and nothing is suppressed (at-least-once).

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "pusher",
    title: "Pusher Channels",
    signature: Signature {
        at: &[Loc::Header("x-pusher-signature")],
        format: Format::Plain,
        all: false,
    },
    timestamp: Some(Timestamp {
        at: &[Loc::Json("time_ms")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    batch: Some(Batch { items: "events" }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("name"))],
    subject: &[Loc::Json("channel")],
    time: &[TimeLoc::Signed],
    repeats: Repeats::Distinct,
    evidence: Evidence::Sdk("pusher 3.3.4 (PyPI)"),
    note: "the secret is the app secret (X-Pusher-Key is not read); the signed body's time_ms is held to 300 s; one envelope per event, nothing suppressed (events carry no id)",
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

    const SECRET: &str = "pusher-app-secret";
    /// The example body of https://pusher.com/docs/channels/server_api/webhooks/.
    const BODY: &[u8] =
        br#"{"time_ms":1327078148132,"events":[{"name":"channel_occupied","channel":"test_channel"}]}"#;
    /// Derived, not published: hex HMAC-SHA256 of the body, Python's hmac.
    const SIG: &str = "5003067a6aef5eba2b40ed2c2438c3d458dbabe8dc9ce235eb6af7d2f1117898";
    const NOW: u64 = 1_327_078_148;

    fn pairs(sig: &str) -> [(&str, &str); 2] {
        [("x-pusher-key", "app-key"), ("x-pusher-signature", sig)]
    }

    #[test]
    fn derived_vector() {
        vector_at(&SCHEME, SECRET.as_bytes(), BODY, &pairs(SIG), NOW);
    }

    #[test]
    fn the_signed_time_ms_is_held_to_the_window() {
        let late = check(&SCHEME, &[SECRET.as_bytes()], &pairs(SIG), BODY, NOW + 302);
        assert!(matches!(
            late,
            Err(VerifyError::TimestampOutsideTolerance { .. })
        ));
        check(&SCHEME, &[SECRET.as_bytes()], &pairs(SIG), BODY, NOW + 299).expect("inside");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(
            &SCHEME,
            SECRET.as_bytes(),
            br#"{"time_ms":1700000000000,"events":[{"name":"member_added","channel":"presence-a","user_id":"u1"}]}"#,
        );
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-pusher-signature";
        assert_header_refusals(&SCHEME, SECRET, BODY, NOW, &[(header, SIG)]);
        let cases: &[(&[(&str, &str)], VerifyError)] = &[(
            &[(header, &SIG.replace('5', "6"))],
            VerifyError::SignatureMismatch { header },
        )];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        assert_envelope(
            Source::new("pusher", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-pusher-key", "app-key"),
                    ("x-pusher-signature", SIG),
                ],
                BODY,
                NOW,
            ),
            Want {
                id: Id::NotDigest,
                ty: "pusher.channel_occupied",
                subject: Some("test_channel"),
                time: "2012-01-20T16:49:08.000Z",
            },
        );
    }
}
