//! HubSpot (signature v3): `X-HubSpot-Signature-v3: <base64>`, HMAC-SHA256 of
//! `{METHOD}{full URL}{raw body}{timestamp}` under the app's client secret (UTF-8), with the
//! timestamp (milliseconds) in `X-HubSpot-Request-Timestamp`; the SDK rejects requests older
//! than 300 s. The URL is `PUBLIC_URL` (or the URL as called) and must match what HubSpot
//! requested, query string included. The body is a batch of up to 100 events that may mix
//! subscription types, and retries change each event's `attemptNumber`: the id is the body
//! digest and the type is `hubspot.batch`. The v1/v2 signatures (plain SHA-256 in
//! `X-HubSpot-Signature`) are not supported.

use crate::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "hubspot",
    title: "HubSpot",
    signature: Signature {
        at: &[Loc::Header("x-hubspot-signature-v3")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Method, Part::Url, Part::Body, Part::Timestamp],
    encoding: Encoding::Base64,
    timestamp: Some(Timestamp {
        at: &[Loc::Header("x-hubspot-request-timestamp")],
        unit: Unit::Millis,
        tolerance: 300,
    }),
    batch: Some(Batch { items: "" }),
    // HubSpot's docs: eventId "is not guaranteed to be unique", and a retry changes the event's
    // attemptNumber and nothing else: the id is the event without it.
    id: &[Loc::DigestWithout("attemptNumber")],
    ty: &[TypePart::Required(Loc::Json("subscriptionType"))],
    subject: &[Loc::Json("objectId")],
    time: &[
        TimeLoc::At(Loc::Json("occurredAt"), Unit::Millis),
        TimeLoc::Signed,
    ],
    evidence: Evidence::Sdk("hubspot-api-client 12.0.0 (PyPI)"),
    note: "signature v3 only; set PUBLIC_URL to the target URL exactly; a delivery is a batch: one envelope per event, id the digest of the event without attemptNumber (eventId is not unique; a retry changes only attemptNumber)",
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;
    use crate::verify::VerifyError;
    use http::Method;

    /// hubspot-api-python `tests/spec/utils/test_signature.py`.
    const SECRET: &[u8] = b"yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    const BODY: &[u8] = b"{'example_field':'example_value'}";
    const URL: &str = "https://www.example.com/webhook_uri";
    const SIG: &str = "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=";
    const TS: &str = "1693657560000";
    const AT: u64 = 1_693_657_560;

    fn run(
        pairs: &[(&str, &str)],
        body: &[u8],
        method: &Method,
        url: &str,
    ) -> Result<String, VerifyError> {
        check_request(&SCHEME, &[SECRET], pairs, body, AT, method, "", Some(url))
    }

    #[test]
    fn published_v3_vector() {
        let pairs = [
            ("x-hubspot-signature-v3", SIG),
            ("x-hubspot-request-timestamp", TS),
        ];
        run(&pairs, BODY, &Method::POST, URL).expect("the published vector verifies");
        let header = "x-hubspot-signature-v3";
        let mismatch = Err(VerifyError::SignatureMismatch { header });
        assert_eq!(
            run(
                &pairs,
                b"{'example_field':'example_valuE'}",
                &Method::POST,
                URL
            ),
            mismatch
        );
        assert_eq!(run(&pairs, BODY, &Method::PUT, URL), mismatch);
        assert_eq!(
            run(
                &pairs,
                BODY,
                &Method::POST,
                "https://www.example.com/webhook_uri?a=1"
            ),
            mismatch
        );
        assert_eq!(
            check_request(
                &SCHEME,
                &[b"another"],
                &pairs,
                BODY,
                AT,
                &Method::POST,
                "",
                Some(URL)
            ),
            mismatch
        );
        // The v1/v2 header is not read.
        assert_eq!(
            run(
                &[
                    (
                        "x-hubspot-signature",
                        "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383"
                    ),
                    ("x-hubspot-signature-version", "v2"),
                ],
                BODY,
                &Method::POST,
                URL
            ),
            Err(VerifyError::MissingSignature { header })
        );
    }

    #[test]
    fn seconds_are_not_milliseconds() {
        let pairs = [
            ("x-hubspot-signature-v3", SIG),
            ("x-hubspot-request-timestamp", "1693657560"),
        ];
        // The same instant in seconds is different signed content (and 1970 besides).
        assert_eq!(
            run(&pairs, BODY, &Method::POST, URL),
            Err(VerifyError::SignatureMismatch {
                header: "x-hubspot-signature-v3"
            })
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(
            &SCHEME,
            SECRET,
            br#"[{"eventId":1,"subscriptionType":"contact.creation"}]"#,
        );
    }

    #[test]
    fn the_public_url_is_required() {
        let pairs = [
            ("x-hubspot-signature-v3", SIG),
            ("x-hubspot-request-timestamp", TS),
        ];
        assert_eq!(
            check_request(
                &SCHEME,
                &[SECRET],
                &pairs,
                BODY,
                AT,
                &Method::POST,
                "",
                None
            ),
            Err(VerifyError::MissingHeader { header: "host" })
        );
    }

    #[test]
    fn normalization() {
        let body = br#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeFlag":"CREATED","changeSource":"CRM"}]"#;
        let url = "https://hooks.example.com/webhooks/hubspot";
        let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
        let signed = crate::verify::engine::sign(
            &SCHEME,
            secret.as_bytes(),
            &crate::verify::engine::Signing::post(body, 1_700_000_000, "", Some(url)),
        )
        .expect("signs");
        let pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let source = crate::sources::Source::new("hubspot", &SCHEME).with_public_url(url);
        let got = deliver(source, secret, Request::post(&pairs, body, 1_700_000_000));
        assert_eq!(got.reply.status, 202);
        let e = &got.envelopes[0];
        // SHA-256 of the event without attemptNumber, members sorted, values as sent (Python:
        // json.dumps(dict(sorted(e.items())), separators=(",", ":")) after popping it).
        assert_eq!(
            e["id"],
            "sha256:7ff1946c0e63b9e29931d18e9f1d5d1e124d8f35ee7bcc201a45df1f3393536e"
        );
        assert_eq!(e["type"], "hubspot.contact.creation");
        assert_eq!(e["subject"], "123");
        assert_eq!(e["time"], "2019-07-26T04:00:00.000Z");
        // Another public URL is another signed content.
        let elsewhere = crate::sources::Source::new("hubspot", &SCHEME)
            .with_public_url("https://hooks.example.com/webhooks/other");
        let got = deliver(
            elsewhere,
            secret,
            Request::post(&pairs, body, 1_700_000_000),
        );
        assert_eq!(got.reply.status, 401);
    }

    /// One envelope per event, and a retry (which changes only attemptNumber) is recognised
    /// event by event: on the earlier main the retry got a new id (the body digest) and was
    /// queued again.
    #[test]
    fn a_retry_changes_attempt_number_and_is_still_a_duplicate() {
        let url = "https://hooks.example.com/webhooks/hubspot";
        let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
        let batch = |attempt: u32| {
            format!(
                r#"[{{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":{attempt},"objectId":123}},{{"eventId":1,"subscriptionId":12346,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.propertyChange","attemptNumber":{attempt},"objectId":123,"propertyName":"email","propertyValue":"a@example.com"}}]"#
            )
        };
        let sign = |body: &str| {
            sign_headers(
                &SCHEME,
                secret.as_bytes(),
                body.as_bytes(),
                1_700_000_000,
                "",
                Some(url),
            )
        };
        let (first, retry) = (batch(0), batch(1));
        let (s1, s2) = (sign(&first), sign(&retry));
        let (r1, r2) = (pairs(&s1), pairs(&s2));
        let d = deliver_again(
            crate::sources::Source::new("hubspot", &SCHEME).with_public_url(url),
            secret,
            &[
                Request::post(&r1, first.as_bytes(), 1_700_000_000),
                Request::post(&r2, retry.as_bytes(), 1_700_000_000),
            ],
        );
        assert_eq!(counts(&d), [2, 0]);
        let types: Vec<&str> = d[0]
            .envelopes
            .iter()
            .map(|e| e["type"].as_str().expect("type"))
            .collect();
        assert_eq!(
            types,
            ["hubspot.contact.creation", "hubspot.contact.propertychange"]
        );
        assert_ne!(d[0].envelopes[0]["id"], d[0].envelopes[1]["id"]);
        assert_eq!(
            d[1].json(),
            serde_json::json!({"events": 2, "queued": 0, "duplicates": 2, "parked": 0})
        );
    }
}
