//! Mux: `mux-signature: t=<unix>,v1=<hex>[,v1=…]`, HMAC-SHA256 of `{t}.{raw body}` under the
//! webhook signing secret (UTF-8). The Node SDK rejects timestamps older than 300 s. Id
//! (`id`), type (`type`, e.g. `video.asset.ready`) and time come from the signed body.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "mux",
    title: "Mux",
    signature: Signature {
        at: &[Loc::Header("mux-signature")],
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
    subject: &[Loc::Json("object.id"), Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("@mux/mux-node 15.3.0 (npm)"),
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

    const SECRET: &[u8] = b"mux-test-webhook-secret";
    const BODY: &[u8] = br#"{"type":"video.asset.ready","object":{"type":"asset","id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},"id":"3a56ac3d-33da-4366-855b-f592d898409d","environment":{"name":"Demo pages","id":"j0863n"},"data":{"status":"ready","id":"0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},"created_at":"2020-02-25T21:04:05.000000Z"}"#;
    const HEADER: &str =
        "t=1700000000,v1=b6d48c1539a6b4488237fca75ad33e1a475ece3c35cca1913046e4e6f46932a7";

    #[test]
    fn derived_vector() {
        // Derived from muxinc/mux-node-sdk src/resources/webhooks/webhooks.ts @89eff08
        // (HMAC-SHA256 of "{t}.{body}", computed with Python's hmac), not published.
        vector(&SCHEME, SECRET, BODY, &[("mux-signature", HEADER)]);
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET, BODY);
    }

    #[test]
    fn several_v1_values() {
        let other = "v1=".to_owned() + &"ab".repeat(32);
        let value = format!("t=1700000000,{other},{}", &HEADER[13..]);
        check(
            &SCHEME,
            &[SECRET],
            &[("mux-signature", &value)],
            BODY,
            1_700_000_000,
        )
        .expect("one v1 matches");
    }

    #[test]
    fn rejections() {
        let header = "mux-signature";
        let cases: &[(&str, VerifyError)] = &[
            (&HEADER[13..], VerifyError::MalformedSignature { header }),
            ("t=1700000000", VerifyError::SignatureMismatch { header }),
            (
                "t=1700000000,v1=xyz",
                VerifyError::SignatureMismatch { header },
            ),
            (
                "t=1700000000,t=1700000001,v1=ab",
                VerifyError::DuplicateHeader { header },
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
            crate::catalogue::sources::Source::new("mux", &SCHEME),
            secret,
            Request::post(&[("mux-signature", HEADER)], BODY, 1_700_000_000),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "3a56ac3d-33da-4366-855b-f592d898409d");
        assert_eq!(e["type"], "mux.video.asset.ready");
        assert_eq!(e["subject"], "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002");
        assert_eq!(e["time"], "2020-02-25T21:04:05.000Z");
    }
}
