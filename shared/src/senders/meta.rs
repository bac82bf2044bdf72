//! Meta (Facebook Pages, Instagram, Messenger, WhatsApp Cloud API): `X-Hub-Signature-256:
//! sha256=<hex HMAC-SHA256(app secret, raw body)>`. The subscription check is an unsigned `GET
//! ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`, answered with `C` only when `T` is the
//! configured `VERIFY_TOKEN` (403 otherwise). The type is the body's `object` plus the first
//! change's `field` (`meta.whatsapp_business_account.messages`); batches of `entry[]` stay whole in
//! `data`. Meta sends no stable delivery or event id, so the id is the body digest. No timestamp is
//! signed.

use crate::scheme::*;

pub const SCHEME: Scheme = Scheme {
    name: "meta",
    title: "Meta",
    signature: Signature {
        at: &[Loc::Header("x-hub-signature-256")],
        format: Format::Prefix("sha256="),
        all: false,
    },
    id: &[Loc::Digest],
    ty: &[
        TypePart::Required(Loc::Json("object")),
        TypePart::Optional(Loc::Json("entry.0.changes.0.field")),
    ],
    subject: &[Loc::Json("entry.0.id")],
    handshakes: &[Handshake::MetaSubscribe],
    evidence: Evidence::Docs("Meta's messenger-platform-samples"),
    note: "no stable id is sent: the id is the body digest; type from object and the first change's field; needs VERIFY_TOKEN",
    // Identical bytes can be distinct events: a page's field changes within one second can be the same bytes.
    repeats: Repeats::Distinct,
    ..Scheme::BASE
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::senders::testing::*;
    use crate::sources::Source;
    use crate::verify::VerifyError;

    const SECRET: &str = "meta-app-secret";
    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp"}}]}]}"#;
    /// Derived from https://developers.facebook.com/docs/graph-api/webhooks/getting-started
    /// (`sha256=` + hex HMAC-SHA256 of the payload with the app secret, computed with Python's
    /// hmac), not published.
    const SIG: &str = "sha256=61b724e117d4ee4aef1572b96393e07d6d9b1551ceae6fec2f65fac199b2bd87";

    fn source() -> Source {
        Source::new("meta", &SCHEME).with_verify_token("meatyhamhock")
    }

    fn get(query: &str) -> Delivered {
        deliver(source(), SECRET, Request::get(query, &[], 1_700_000_000))
    }

    #[test]
    fn derived_vector() {
        vector(
            &SCHEME,
            SECRET.as_bytes(),
            BODY,
            &[("x-hub-signature-256", SIG)],
        );
    }

    #[test]
    fn round_trip_and_tampering() {
        round_trip(&SCHEME, SECRET.as_bytes(), BODY);
    }

    #[test]
    fn malformed_signatures_are_refused() {
        let header = "x-hub-signature-256";
        let sha1 = "sha1=0123456789abcdef0123456789abcdef01234567";
        let cases: &[(&[(&str, &str)], VerifyError)] = &[
            (&[], VerifyError::MissingSignature { header }),
            // Only the legacy SHA-1 header: not accepted.
            (
                &[("x-hub-signature", sha1)],
                VerifyError::MissingSignature { header },
            ),
            (
                &[(header, &SIG[7..])],
                VerifyError::MalformedSignature { header },
            ),
            (
                &[(header, SIG), (header, SIG)],
                VerifyError::DuplicateHeader { header },
            ),
        ];
        refused(&SCHEME, &[SECRET.as_bytes()], BODY, 0, cases);
    }

    #[test]
    fn the_subscription_check_echoes_the_challenge_only_for_the_verify_token() {
        let ok = get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock");
        assert_eq!(ok.reply.status, 200);
        assert_eq!(ok.text(), "1158201444");
        assert!(ok
            .reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")));
        // An echo of the caller's bytes is never sniffed as HTML (issue 16).
        assert_eq!(ok.reply.header("x-content-type-options"), Some("nosniff"));
        assert!(ok.envelopes.is_empty());
        let wrong = get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess");
        assert_eq!(wrong.reply.status, 403);
        assert!(wrong.envelopes.is_empty());
        // Not a subscription check: a GET without a signature is refused.
        let other = get("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock");
        assert_eq!(other.reply.status, 401);
    }

    /// A page's field changes within one second can be the same bytes: each is queued.
    #[test]
    fn identical_bytes_are_two_events() {
        assert_identical_bytes_are_two_events(
            source(),
            SECRET,
            Request::post(&[("x-hub-signature-256", SIG)], BODY, 1_700_000_000),
        );
    }

    #[test]
    fn normalization() {
        let d = deliver(
            source(),
            SECRET,
            Request::post(
                &[
                    ("content-type", "application/json"),
                    ("x-hub-signature-256", SIG),
                ],
                BODY,
                1_700_000_000,
            ),
        );
        assert_eq!(d.reply.status, 202, "{}", d.text());
        let e = &d.envelopes[0];
        assert_eq!(e["id"].as_str().expect("id").len(), 36, "an id of its own");
        assert_eq!(e["type"], "meta.whatsapp_business_account.messages");
        assert_eq!(e["subject"], "102290129340398");
        let forged = deliver(
            source(),
            "another-app-secret",
            Request::post(&[("x-hub-signature-256", SIG)], BODY, 1_700_000_000),
        );
        assert_eq!(forged.reply.status, 401);
        assert!(forged.envelopes.is_empty());
    }
}
