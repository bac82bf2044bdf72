//! Recurly (JSON webhooks): `recurly-signature: <unix ms>,<hex HMAC-SHA256>[,<hex>…]`, each
//! signature over `{timestamp}.{raw body}` under the endpoint's secret key (its UTF-8 bytes), one
//! per active key while a key rotates. Recurly's docs
//! (https://docs.recurly.com/recurly-subscriptions/docs/signature-verification: "formatted as a
//! Unix timestamp (in milliseconds), followed by one or more signatures"; only JSON payloads are
//! signed, XML ones are not and are refused here) and recurly/recurly-client-go's `webhook.go`
//! (`VerifyWebhookSignature`: split at commas, the first item the timestamp, the rest hex
//! signatures of `timestamp + "." + body`, `DEFAULT_WEBHOOK_TOLERANCE` five minutes) agree; the
//! Go SDK checks only the past, Inlet 300 s either way.
//!
//! A JSON notification is one event: `object_type` + `event_type` the type
//! (`recurly.account.created`, `recurly.subscription.renewed`), the object's `uuid` or else its
//! `account_code` the subject, `event_time` the time. The docs do not say whether `id` names the
//! notification or its object, so it is not used as a key on its own: the envelope id is the body
//! digest, which holds `id`, the type and the event's time, and a retry resends the same bytes.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "recurly",
    title: "Recurly",
    signature: Signature {
        at: &[Loc::Header("recurly-signature")],
        format: Format::TimestampFirst,
        all: false,
    },
    signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
    timestamp: Some(Timestamp {
        at: &[Loc::Kv("t")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("object_type")),
        TypePart::Required(Loc::Json("event_type")),
    ],
    subject: &[Loc::Json("uuid"), Loc::Json("account_code")],
    time: &[TimeLoc::At(Loc::Json("event_time"), Unit::Rfc3339)],
    evidence: Evidence::Docs("recurly/recurly-client-go webhook.go (VerifyWebhookSignature)"),
    note: "the timestamp (ms) leads the signature list; several signatures while a key rotates; XML webhooks are unsigned and refused; duplicates by the body digest",
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

    /// The secret, body and second key of recurly-client-go's `webhook_test.go`.
    const SECRET: &str = "354fab5bd35f5a0d50845ee7e30165244468b13c2c343f104e4e730a59326d9d";
    const OLD_SECRET: &str = "ade46dda4474b0ae57dec22d35b9cd526b260d235f7e200c1d93f156000fe396";
    const BODY: &[u8] = br#"{"id":"rjxwmwedwqug","object_type":"account","site_id":"qc326l1hl8k9","event_type":"created","event_time":"2022-09-13T21:18:40Z","account_code":"adfas23zzz14123"}"#;
    const TS: &str = "1663103920000";
    const NOW: u64 = 1_663_103_920;
    /// Derived, not published: hex HMAC-SHA256 of `{TS}.{BODY}` under each key, Python's hmac
    /// (the Go SDK's test computes its vectors at run time).
    const SIG: &str = "c847d37e18f2c23fcc97cb0b6704455169b732f7d81d145574d92786730f019b";
    const OLD_SIG: &str = "b93ecd2079300feeb1f7a755e016f40c8823f30c776771499d5019a3c439909a";
    const HEADER: &str = "recurly-signature";

    #[test]
    fn derived_vector() {
        vector_at(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[(HEADER, &format!("{TS},{SIG}"))],
            NOW,
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn a_rotating_header_verifies_under_either_key() {
        let both = format!("{TS},{OLD_SIG},{SIG}");
        for secret in [SECRET, OLD_SECRET] {
            let got = check(&SCHEME, &[secret.as_bytes()], &[(HEADER, &both)], BODY, NOW);
            assert_eq!(got.as_deref(), Ok("secret-0"), "{secret}");
        }
        let got = check(
            &SCHEME,
            &[b"neither".as_slice()],
            &[(HEADER, &both)],
            BODY,
            NOW,
        );
        assert!(got.is_err());
    }

    #[test]
    fn malformed_stale_and_missing_signatures_are_refused() {
        let header = HEADER;
        let sig_only = SIG.to_owned();
        let other_time = format!("1663103920001,{SIG}");
        let no_sigs = format!("{TS},");
        let base64 = format!("{TS},yEfTfhjywj/Ml8sLZwRFUWm3Mvfc");
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // The timestamp is signed: another one fails.
            (
                &[(header, &other_time)],
                VerifyError::SignatureMismatch { header },
            ),
            // A signature alone is read as a timestamp that is none.
            (
                &[(header, &sig_only)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &no_sigs)],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &base64)],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
        // Outside the window either way.
        for now in [NOW - 301, NOW + 301] {
            let got = check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(header, &format!("{TS},{SIG}"))],
                BODY,
                now,
            );
            assert!(got.is_err(), "{now}");
        }
    }

    #[test]
    fn normalization() {
        let value = format!("{TS},{SIG}");
        let headers = [
            ("content-type", "application/json"),
            (HEADER, value.as_str()),
        ];
        let d = deliver(
            Source::new("recurly", &SCHEME),
            SECRET,
            Request::post(&headers, BODY, NOW),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert!(e["id"].as_str().is_some_and(|id| id.starts_with("sha256:")));
        assert_eq!(e["type"], "recurly.account.created");
        assert_eq!(e["subject"], "adfas23zzz14123");
        assert_eq!(e["time"], "2022-09-13T21:18:40.000Z");
        let forged = deliver(
            Source::new("recurly", &SCHEME),
            "another-secret",
            Request::post(&headers, BODY, NOW),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
