//! Tailscale: `Tailscale-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
//! "{t}.{raw body}")>` (several `v1` may be listed), the webhook secret (`tskey-webhook-…`,
//! shown once) used as its UTF-8 bytes. Source: Tailscale's own consumer example,
//! tailscale/tailscale `docs/webhooks/example.go` (`parseSignatureHeader` splits at `,`, `t`
//! and every `v1`; the MAC over `fmt.Sprint(t) + "." + body`, hex; timestamps older than 5
//! minutes refused), and https://tailscale.com/kb/1213/webhooks. The window is the example's,
//! 300 s (symmetric here). hookdeck/webhook-skills' tailscale-webhooks says Tailscale's hourly
//! retries keep the original `t`, so a retry after the window is refused: a deployment expecting
//! retries should widen the window (inferred from that note, not from Tailscale's docs). The
//! body is a JSON array of events, each an envelope: no event id is sent, so the id is the
//! digest of the event (its `timestamp` has microseconds, so identical bytes are a retry), its
//! `type` (`nodeCreated`, `policyUpdate`, `test`) the type, `data.nodeID` the subject, its
//! `timestamp` the time.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "tailscale",
    title: "Tailscale",
    signature: Signature {
        at: &[Loc::Header("tailscale-webhook-signature")],
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
    batch: Some(Batch { items: "" }),
    id: &[Loc::Digest],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.nodeID")],
    time: &[
        TimeLoc::At(Loc::Json("timestamp"), Unit::Rfc3339),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Docs("tailscale/tailscale docs/webhooks/example.go"),
    note: "t=,v1= over t.body, 300 s as Tailscale's example (its hourly retries keep t: widen the window to accept them); one envelope per event, id its digest",
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

    const SECRET: &str = "tskey-webhook-xxxxx";
    /// A test event and a `nodeCreated` event, shaped as Tailscale's webhook docs show them.
    const BODY: &[u8] = br#"[{"timestamp":"2022-09-21T13:37:51.658918-04:00","version":1,"type":"test","tailnet":"example.com","message":"This is a test event","data":{}},{"timestamp":"2022-09-21T13:38:02.123456-04:00","version":1,"type":"nodeCreated","tailnet":"example.com","message":"Node device-1 created","data":{"nodeID":"nNx7kCNTRL","deviceName":"device-1.example.ts.net","url":"https://login.tailscale.com/admin/machines/100.101.102.103"}}]"#;
    /// Derived, not published: hex HMAC-SHA256 of `1663781882.` + body, Python's hmac.
    const V1: &str = "9810c6e8da8accedb8f9771b088f8b2fa8c5d65ab764376ae06eee6edb2bac55";
    const NOW: u64 = 1_663_781_882;

    fn header(v1: &str) -> String {
        format!("t=1663781882,v1={v1}")
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("tailscale-webhook-signature", &header(V1))],
        );
        // Any listed v1 may match.
        let two = format!("t=1663781882,v1={},v1={V1}", V1.replace('9', "8"));
        check(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[("tailscale-webhook-signature", &two)],
            BODY,
            NOW,
        )
        .expect("the second v1 matches");
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_and_missing_signatures_are_refused() {
        let h = "tailscale-webhook-signature";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header: h }),
            (
                &[(h, &format!("v1={V1}"))],
                VerifyError::MalformedSignature { header: h },
            ),
            (
                &[(h, &format!("t=1663781883,v1={V1}"))],
                VerifyError::SignatureMismatch { header: h },
            ),
            (
                &[(h, &header(V1)), (h, &format!("t=1663781883,v1={V1}"))],
                VerifyError::DuplicateHeader { header: h },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, NOW, cases);
    }

    #[test]
    fn normalization() {
        let value = header(V1);
        let headers = [
            ("content-type", "application/json"),
            ("tailscale-webhook-signature", value.as_str()),
        ];
        let source = || Source::new("tailscale", &SCHEME);
        let d = deliver(source(), SECRET, Request::post(&headers, BODY, NOW));
        assert_eq!(d.reply.status, 202, "{}", d.text());
        assert_eq!(d.envelopes.len(), 2);
        assert_eq!(d.envelopes[0]["type"], "tailscale.test");
        let e = &d.envelopes[1];
        assert!(e["id"].as_str().is_some_and(|id| id.starts_with("sha256:")));
        assert_eq!(e["type"], "tailscale.nodecreated");
        assert_eq!(e["subject"], "nNx7kCNTRL");
        assert_eq!(e["time"], "2022-09-21T17:38:02.123Z");
        assert_forged(
            source(),
            "tskey-webhook-yyyyy",
            Request::post(&headers, BODY, NOW),
        );
    }
}
