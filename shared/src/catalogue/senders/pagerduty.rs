//! PagerDuty (v3 webhooks): `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`, one HMAC-SHA256 of the
//! raw body per active secret (so rotation needs no downtime); any one may match. The secret is
//! used as its UTF-8 bytes (it looks like base64; it is not decoded). The body holds one event:
//! `event.id` (signed) is the envelope id, `event.event_type` the type, `event.occurred_at` the
//! time. No timestamp is signed.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "pagerduty",
    title: "PagerDuty",
    signature: Signature {
        at: &[Loc::Header("x-pagerduty-signature")],
        format: Format::List { prefix: "v1=" },
        all: false,
    },
    id: &[Loc::Json("event.id")],
    ty: &[TypePart::Required(Loc::Json("event.event_type"))],
    subject: &[Loc::Json("event.data.id")],
    time: &[TimeLoc::At(Loc::Json("event.occurred_at"), Unit::Rfc3339)],
    evidence: Evidence::Vectors,
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

    /// go-pagerduty `webhookv3/webhookv3_test.go`: `secret`, `defaultBody` and the valid case.
    const SECRET: &str = "lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK";
    const BODY: &str = r#"{"event":{"id":"01BWDWL3NYY7LUFPZCC28QUCMK","event_type":"incident.priority_updated","resource_type":"incident","occurred_at":"2021-04-26T17:36:27.458Z","agent":{"html_url":"https://acme.pagerduty.com/users/PLH1HKV","id":"PLH1HKV","self":"https://api.pagerduty.com/users/PLH1HKV","summary":"Tenex Engineer","type":"user_reference"},"client":null,"data":{"id":"PGR0VU2","type":"incident","self":"https://api.pagerduty.com/incidents/PGR0VU2","html_url":"https://acme.pagerduty.com/incidents/PGR0VU2","number":2,"status":"triggered","title":"A little bump in the road","service":{"html_url":"https://acme.pagerduty.com/services/PF9KMXH","id":"PF9KMXH","self":"https://api.pagerduty.com/services/PF9KMXH","summary":"API Service","type":"service_reference"},"assignees":[{"html_url":"https://acme.pagerduty.com/users/PTUXL6G","id":"PTUXL6G","self":"https://api.pagerduty.com/users/PTUXL6G","summary":"User 123","type":"user_reference"}],"escalation_policy":{"html_url":"https://acme.pagerduty.com/escalation_policies/PUS0KTE","id":"PUS0KTE","self":"https://api.pagerduty.com/escalation_policies/PUS0KTE","summary":"Default","type":"escalation_policy_reference"},"teams":[{"html_url":"https://acme.pagerduty.com/teams/PFCVPS0","id":"PFCVPS0","self":"https://api.pagerduty.com/teams/PFCVPS0","summary":"Engineering","type":"team_reference"}],"priority":{"html_url":"https://acme.pagerduty.com/account/incident_priorities","id":"PSO75BM","self":"https://api.pagerduty.com/priorities/PSO75BM","summary":"P1","type":"priority_reference"},"urgency":"high","conference_bridge":{"conference_number":1000,"conference_url":"https://example.com"},"resolve_reason":null}}}"#;
    const SIG: &str = "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd";
    /// The same file's `mismatch` case.
    const MISMATCH: &str = "v1=7020c8a7ec668a9b7012bc3dd82e483394b038f4230acc6785efbf2a7d8bcaf5";

    #[test]
    fn published_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY.as_bytes(),
            &[("x-pagerduty-signature", SIG)],
        );
        let header = "x-pagerduty-signature";
        assert_eq!(
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(header, MISMATCH)],
                BODY.as_bytes(),
                0
            ),
            Err(VerifyError::SignatureMismatch { header })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY.as_bytes());
    }

    #[test]
    fn any_listed_v1_signature_may_match() {
        let header = "x-pagerduty-signature";
        for value in [
            format!("{MISMATCH},{SIG}"),
            format!("{SIG}, {MISMATCH}"),
            format!("v2=abcdef,{SIG}"),
        ] {
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(header, &value)],
                BODY.as_bytes(),
                0,
            )
            .unwrap_or_else(|e| panic!("{value}: {e}"));
        }
        // Two headers are joined as HTTP joins repeats.
        check(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[(header, MISMATCH), (header, SIG)],
            BODY.as_bytes(),
            0,
        )
        .expect("repeated header");
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-pagerduty-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            // go-pagerduty's `malformed_header` case: no header.
            (&[], VerifyError::MissingSignature { header }),
            (
                &[(header, &SIG[3..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "v2=0c0b9495")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, "v1=zz")],
                VerifyError::MalformedSignature { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY.as_bytes(), 0, cases);
        // The secret is not base64-decoded.
        let decoded = crate::core::verify::engine::decode_secret(&SCHEME, SECRET).expect("key");
        assert_eq!(decoded, SECRET.as_bytes());
    }

    #[test]
    fn normalization() {
        let d = deliver(
            Source::new("pagerduty", &SCHEME),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-pagerduty-signature", SIG),
                    ("x-webhook-id", "4a8a5d3e-6b8c-4b8e-9b3a-4d7e2f1c0b9a"),
                ],
                BODY.as_bytes(),
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "01BWDWL3NYY7LUFPZCC28QUCMK");
        assert_eq!(e["type"], "pagerduty.incident.priority_updated");
        assert_eq!(e["subject"], "PGR0VU2");
        assert_eq!(e["time"], "2021-04-26T17:36:27.458Z");
    }
}
