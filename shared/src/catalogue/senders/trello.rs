//! Trello: `X-Trello-Webhook: <base64 HMAC-SHA1(app secret, raw body + callback URL)>`, the URL
//! exactly as given when the webhook was created (set `PUBLIC_URL` to it) and the key the
//! application's (OAuth) secret, not a token. Id (`action.id`), type (`action.type`, e.g.
//! `trello.updatecard`), subject (`model.id`) and time (`action.date`) come from the signed body.
//! Creating a webhook sends a `HEAD` to the URL, answered 200. No timestamp is signed. Bodies with
//! non-ASCII text are signed as their UTF-8 bytes: Trello's api-docs once said "binary strings",
//! and its commit e47b0d5b (2016) removed that caveat because Trello had fixed it.

use crate::core::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "trello",
    title: "Trello",
    signature: Signature {
        at: &[Loc::Header("x-trello-webhook")],
        format: Format::Plain,
        all: false,
    },
    signed: &[Part::Body, Part::Url],
    algorithm: Algorithm::Hmac(Hash::Sha1),
    encoding: Encoding::Base64,
    id: &[Loc::Json("action.id")],
    ty: &[TypePart::Required(Loc::Json("action.type"))],
    subject: &[Loc::Json("model.id")],
    time: &[TimeLoc::At(Loc::Json("action.date"), Unit::Rfc3339)],
    handshakes: &[Handshake::TrelloHead],
    evidence: Evidence::Docs("n8n's Trello trigger; Trello's api-docs"),
    note: "signs the callback URL: set PUBLIC_URL to it exactly; the body is signed as its UTF-8 bytes",
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
    use http::Method;

    const SECRET: &str = "trello-app-secret";
    const CALLBACK: &str = "https://hooks.example.com/webhooks/trello";
    const BODY: &[u8] = br#"{"action":{"id":"51f9424bcd6e040f3c002412","type":"updateCard","date":"2013-07-31T17:01:31.512Z"},"model":{"id":"4d5ea62fd76aa1136000000c"}}"#;
    /// Derived from https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/
    /// (base64 HMAC-SHA1 of body + callback URL with the app secret, computed with Python's hmac),
    /// not published.
    const SIG: &str = "i58nOeSRP3omZUQNIHAc8b/hQOk=";

    fn at(url: &str) -> Result<String, VerifyError> {
        check_request(
            &SCHEME,
            &[SECRET.as_bytes()],
            &[("x-trello-webhook", SIG)],
            BODY,
            0,
            &Method::POST,
            "",
            Some(url),
        )
    }

    #[test]
    fn derived_vector_signs_the_callback_url() {
        at(CALLBACK).expect("verifies at the registered URL");
        let header = "x-trello-webhook";
        for url in [
            "https://hooks.example.com/webhooks/trello/",
            "https://hooks.example.com/webhooks/trello?x=1",
            "http://hooks.example.com/webhooks/trello",
        ] {
            assert_eq!(
                at(url),
                Err(VerifyError::SignatureMismatch { header }),
                "{url}"
            );
        }
        // Without a URL there is nothing to check against.
        assert_eq!(
            check_request(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[(header, SIG)],
                BODY,
                0,
                &Method::POST,
                "",
                None,
            ),
            Err(VerifyError::MissingHeader { header: "host" })
        );
        // The body alone (without the URL) is not what Trello signs.
        let body_only = crate::core::scheme::Scheme {
            signed: &[crate::core::scheme::Part::Body],
            ..SCHEME
        };
        let body_only: &'static crate::core::scheme::Scheme = Box::leak(Box::new(body_only));
        assert!(check(body_only, &[SECRET.as_bytes()], &[(header, SIG)], BODY, 0).is_err());
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-trello-webhook";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // The same MAC in hex is not Trello's encoding.
            (
                &[(header, "8b9f2739e4913f7a2665440d20701cf1bfe140e9")],
                VerifyError::SignatureMismatch { header },
            ),
            (&[(header, "%")], VerifyError::MalformedSignature { header }),
        ];
        for (pairs, want) in cases {
            let got = check_request(
                &SCHEME,
                &[SECRET.as_bytes()],
                pairs,
                BODY,
                0,
                &Method::POST,
                "",
                Some(CALLBACK),
            )
            .expect_err("must fail");
            assert_eq!(&got, want, "{pairs:?}");
        }
    }

    #[test]
    fn creation_head_is_answered_200() {
        let d = deliver(
            Source::new("trello", &SCHEME).with_public_url(CALLBACK),
            SECRET,
            Request {
                method: &Method::HEAD,
                query: "",
                headers: &[],
                body: b"",
                now: 1_700_000_000,
            },
        );
        assert_eq!(d.reply.status, 200);
        assert!(d.reply.body.is_empty());
        assert_eq!(d.reply.header("content-type"), None);
        assert!(d.envelopes.is_empty());
    }

    #[test]
    fn normalization() {
        let source = || Source::new("trello", &SCHEME).with_public_url(CALLBACK);
        let d = deliver(
            source(),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-trello-webhook", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"], "51f9424bcd6e040f3c002412");
        assert_eq!(e["type"], "trello.updatecard");
        assert_eq!(e["subject"], "4d5ea62fd76aa1136000000c");
        assert_eq!(e["time"], "2013-07-31T17:01:31.512Z");
        let forged = deliver(
            source(),
            "another-secret",
            Request::post(&[("x-trello-webhook", SIG)], BODY, 1_700_000_000),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
