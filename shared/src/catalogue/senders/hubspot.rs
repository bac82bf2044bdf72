//! HubSpot (signature v3): `X-HubSpot-Signature-v3: <base64>`, HMAC-SHA256 of
//! `{METHOD}{full URL}{raw body}{timestamp}` under the app's client secret (UTF-8), with the
//! timestamp (milliseconds) in `X-HubSpot-Request-Timestamp`; the SDK rejects requests older
//! than 300 s. The URL is `PUBLIC_URL` (or the URL as called) and must match what HubSpot
//! requested, query string included. The body is a batch of up to 100 events that may mix
//! subscription types, and retries change each event's `attemptNumber`: the id is the body
//! digest and the type is `hubspot.batch`.
//!
//! The older signatures, for apps still validating them, are separate schemes: a plain SHA-256
//! digest (not an HMAC), hex, in `X-HubSpot-Signature`, with `X-HubSpot-Signature-Version`
//! naming the version (the version header is not read: each scheme computes one version, and a
//! signature of the other does not verify). `hubspot-v1` (CRM object events of the webhooks API)
//! is SHA-256 of `{client secret}{raw body}`; `hubspot-v2` (workflow webhook actions and CRM
//! cards) is SHA-256 of `{client secret}{METHOD}{full URL}{raw body}`, the URL `PUBLIC_URL` as
//! HubSpot requested it, query included. Sources: https://developers.hubspot.com/docs/api/webhooks/validating-requests
//! (and its FAQ pages `faq/v1-request-validation`, `faq/v2-request-validation`, each with a
//! worked example), HubSpot's SDKs (hubspot-api-python `hubspot/utils/signature.py`,
//! hubspot-api-nodejs `Signature.isValid`), whose tests publish the vectors below. Neither
//! version signs a timestamp, so no replay window applies; the body and ids are read as for v3
//! (a v1 delivery is the same batch of events). A workflow body has no `subscriptionType`: its
//! type is then `<source>` alone (inferred: HubSpot documents no event type for workflow
//! requests).

use crate::core::scheme::*;

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

/// Signature v1: hex SHA-256 of the client secret and the raw body, in `X-HubSpot-Signature`.
pub const V1: Scheme = Scheme {
    name: "hubspot-v1",
    title: "HubSpot (signature v1)",
    signature: Signature {
        at: &[Loc::Header("x-hubspot-signature")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Secret, Part::Body],
    algorithm: Algorithm::Digest(Hash::Sha256),
    encoding: Encoding::Hex,
    timestamp: None,
    time: &[TimeLoc::At(Loc::Json("occurredAt"), Unit::Millis)],
    evidence: Evidence::Sdk("hubspot-api-client 12.0.0 (PyPI)"),
    note: "legacy signature v1 (plain SHA-256 of client secret + body, no timestamp: no replay window); a delivery is a batch: one envelope per event, id the digest of the event without attemptNumber",
    ..SCHEME
};

/// Signature v2: hex SHA-256 of the client secret, method, full URL and raw body.
pub const V2: Scheme = Scheme {
    name: "hubspot-v2",
    title: "HubSpot (signature v2)",
    signed: &[Part::Secret, Part::Method, Part::Url, Part::Body],
    ty: &[TypePart::Optional(Loc::Json("subscriptionType"))],
    note: "legacy signature v2 (plain SHA-256 of client secret + method + URL + body, no timestamp: no replay window); set PUBLIC_URL to the target URL exactly; id the digest of each event without attemptNumber",
    ..V1
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &V1, &V2];

#[cfg(test)]
mod tests {
    use super::{SCHEME, V1, V2};
    use crate::core::verify::VerifyError;
    use crate::tests::*;
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

    /// hubspot-api-python `tests/spec/utils/test_signature.py` (`test_is_valid__v1`,
    /// `test_is_valid__v2`), and the v1 example of HubSpot's `faq/v1-request-validation`.
    #[test]
    fn published_v1_and_v2_vectors() {
        let v1 = "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750";
        vector(
            &V1,
            SECRET,
            BODY,
            &[
                ("x-hubspot-signature", v1),
                ("x-hubspot-signature-version", "v1"),
            ],
        );
        let docs = br#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]"#;
        let docs_sig = "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de";
        vector(&V1, SECRET, docs, &[("x-hubspot-signature", docs_sig)]);
        let v2 = "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383";
        let header = "x-hubspot-signature";
        let mismatch = Err(VerifyError::SignatureMismatch { header });
        let v2_run = |sig: &str, body: &[u8], method: &Method, url: &str| {
            check_request(
                &V2,
                &[SECRET],
                &[(header, sig)],
                body,
                AT,
                method,
                "",
                Some(url),
            )
        };
        v2_run(v2, BODY, &Method::POST, URL).expect("the published v2 vector verifies");
        // The GET vector (CRM cards): no body.
        let get = "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e";
        v2_run(get, b"", &Method::GET, URL).expect("the published v2 GET vector verifies");
        assert_eq!(v2_run(v2, BODY, &Method::PUT, URL), mismatch);
        assert_eq!(
            v2_run(
                v2,
                BODY,
                &Method::POST,
                "https://www.example.com/webhook_uri?a=1"
            ),
            mismatch
        );
        assert_eq!(
            v2_run(v2, b"{'example_field':'example_valuE'}", &Method::POST, URL),
            mismatch
        );
        // Each version's signature fails under the other's scheme, and v3's scheme reads neither.
        assert_eq!(v2_run(v1, BODY, &Method::POST, URL), mismatch);
        assert_eq!(check(&V1, &[SECRET], &[(header, v2)], BODY, AT), mismatch);
        assert_eq!(
            check(&V1, &[b"another"], &[(header, v1)], BODY, AT),
            mismatch
        );
    }

    #[test]
    fn v1_and_v2_round_trips_and_malformed_signatures() {
        let body = br#"[{"eventId":1,"subscriptionType":"contact.creation","attemptNumber":0}]"#;
        round_trip(&V1, SECRET, body);
        round_trip(&V2, SECRET, body);
        let header = "x-hubspot-signature";
        let v1 = "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            (
                &[("x-hubspot-signature-v3", SIG)],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, "zz")],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, &format!("sha256={v1}"))],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, v1), (header, v1)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&V1, &[SECRET], BODY, AT, cases);
    }

    #[test]
    fn v1_normalization() {
        let body = br#"[{"eventId":1,"subscriptionId":12345,"portalId":62515,"appId":54321,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeFlag":"CREATED","changeSource":"CRM"}]"#;
        let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
        // Python: hashlib.sha256((secret + body).encode()).hexdigest() (derived, not published).
        let sig = "5a3ff08e32feeebd6754a20be7ac5ba1d850b9cc147a371c40e83056aa1b9477";
        let post = |secret: &str| {
            deliver(
                crate::catalogue::sources::Source::new("hubspot-v1", &V1),
                secret,
                Request::post(
                    &[
                        ("content-type", "application/json"),
                        ("x-hubspot-signature", sig),
                        ("x-hubspot-signature-version", "v1"),
                    ],
                    body,
                    1_700_000_000,
                ),
            )
        };
        let got = post(secret);
        assert_eq!(got.reply.status, 202, "{}", got.text());
        let e = &got.envelopes[0];
        assert_eq!(
            e["id"],
            "sha256:7ff1946c0e63b9e29931d18e9f1d5d1e124d8f35ee7bcc201a45df1f3393536e"
        );
        assert_eq!(e["type"], "hubspot-v1.contact.creation");
        assert_eq!(e["subject"], "123");
        assert_eq!(e["time"], "2019-07-26T04:00:00.000Z");
        let forged = post("another-secret");
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
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
        let signed = crate::core::verify::engine::sign(
            &SCHEME,
            secret.as_bytes(),
            &crate::core::verify::engine::Signing::post(body, 1_700_000_000, "", Some(url)),
        )
        .expect("signs");
        let pairs: Vec<(&str, &str)> = signed
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let source =
            crate::catalogue::sources::Source::new("hubspot", &SCHEME).with_public_url(url);
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
        let elsewhere = crate::catalogue::sources::Source::new("hubspot", &SCHEME)
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
            crate::catalogue::sources::Source::new("hubspot", &SCHEME).with_public_url(url),
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
