//! Square: `x-square-hmacsha256-signature: <base64>`, HMAC-SHA256 of
//! `{notification URL}{raw body}` under the subscription's signature key (UTF-8). The URL is
//! `PUBLIC_URL` (or the URL as called) and must be the notification URL exactly as registered.
//! No timestamp is signed, so nothing bounds a replay but the body's `event_id` (signed, the
//! envelope id). Type (`type`), subject and time come from the signed body. The legacy
//! `x-square-signature` (HMAC-SHA1) is not read.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "square",
    title: "Square",
    signature: Signature {
        at: &[Loc::Header("x-square-hmacsha256-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Url, Part::Body],
    encoding: Encoding::Base64,
    id: &[Loc::Json("event_id")],
    ty: &[TypePart::Required(Loc::Json("type"))],
    subject: &[Loc::Json("data.id")],
    time: &[TimeLoc::At(Loc::Json("created_at"), Unit::Rfc3339)],
    evidence: Evidence::Sdk("squareup 46.0.0.20260916 (PyPI)"),
    note: "set PUBLIC_URL to the notification URL exactly as registered; no timestamp is signed (replays are caught by event_id)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::core::verify::VerifyError;
    use crate::tests::*;
    use http::Method;

    struct Vector {
        key: &'static [u8],
        url: &'static str,
        body: &'static [u8],
        sig: &'static str,
    }

    /// square-python-sdk `tests/integration/test_webhooks_helper.py`.
    const VECTORS: [Vector; 2] = [
        Vector {
            key: b"Ibxx_5AKakO-3qeNVR61Dw",
            url: "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9",
            body: br#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#,
            sig: "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=",
        },
        Vector {
            key: b"signature-key",
            url: "https://webhook.site/webhooks",
            body: br#"{"data":{"type":"webhooks","id":">id<"}}"#,
            sig: "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
        },
    ];

    fn run(key: &[u8], sig: &str, body: &[u8], url: &str) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[key],
            &[("x-square-hmacsha256-signature", sig)],
            body,
            0,
            &Method::POST,
            "",
            Some(url),
        )
    }

    #[test]
    fn published_vectors() {
        let mismatch = Err(VerifyError::SignatureMismatch {
            header: "x-square-hmacsha256-signature",
        });
        for v in &VECTORS {
            run(v.key, v.sig, v.body, v.url).expect("the published vector verifies");
            let mut tampered = v.body.to_vec();
            tampered[2] ^= 1;
            assert_eq!(run(v.key, v.sig, &tampered, v.url), mismatch);
        }
        // The SDK's failing cases: another URL, another key, another signature.
        let v = &VECTORS[0];
        assert_eq!(
            run(
                v.key,
                v.sig,
                v.body,
                "https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9"
            ),
            mismatch
        );
        assert_eq!(
            run(b"MCmhFRxGX82xMwg5FsaoQA", v.sig, v.body, v.url),
            mismatch
        );
        assert_eq!(
            run(v.key, "1z2n3DEJJiUPKcPzQo1ftvbxGdw=", v.body, v.url),
            mismatch
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, VECTORS[0].key, VECTORS[0].body);
    }

    #[test]
    fn normalization() {
        let v = &VECTORS[0];
        let source =
            crate::catalogue::sources::Source::new("square", &SCHEME).with_public_url(v.url);
        let got = deliver(
            source,
            "Ibxx_5AKakO-3qeNVR61Dw",
            Request::post(
                &[("x-square-hmacsha256-signature", v.sig)],
                v.body,
                1_700_000_000,
            ),
        );
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        assert_eq!(e["id"], "ac3ac95b-f97d-458c-a6e6-18981597e05f");
        assert_eq!(e["type"], "square.webhooks.test_notification");
        assert_eq!(e["subject"], "bc368e64-01aa-407e-b46e-3231809b1129");
        assert_eq!(e["time"], "2022-07-13T20:30:59.037Z");
        // Without the public URL configured, the URL as called is used, and it differs.
        let got = deliver(
            crate::catalogue::sources::Source::new("square", &SCHEME),
            "Ibxx_5AKakO-3qeNVR61Dw",
            Request::post(
                &[("x-square-hmacsha256-signature", v.sig)],
                v.body,
                1_700_000_000,
            ),
        );
        assert_eq!(got.reply.status, 401);
    }
}
