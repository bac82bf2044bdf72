//! Meta (Facebook Pages, Instagram, Messenger, WhatsApp Cloud API): `X-Hub-Signature-256:
//! sha256=<hex HMAC-SHA256(app secret, raw body)>`. The subscription check is an unsigned `GET
//! ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`, answered with `C` only when `T` is the
//! configured `VERIFY_TOKEN` (403 otherwise). The type is the body's `object` plus the first
//! change's `field` (`meta.whatsapp_business_account.messages`); batches of `entry[]` stay whole in
//! `data`. Meta sends no stable delivery or event id, so the id is the body digest. No timestamp is
//! signed. WhatsApp, Instagram and Messenger are also listed under their own names, as aliases
//! of this scheme (below).

use crate::core::scheme::*;

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

/// WhatsApp Business Platform (Cloud API) under its own name (ngrok's `whatsapp`): Meta's scheme
/// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads,
/// https://developers.facebook.com/docs/whatsapp/cloud-api/guides/set-up-webhooks), the secret
/// the app secret. Types read `whatsapp.whatsapp_business_account.messages`.
pub const WHATSAPP: Scheme = Scheme {
    name: "whatsapp",
    title: "WhatsApp (Meta)",
    ..SCHEME
};

/// Instagram webhooks under their own name (ngrok's `instagram`): Meta's scheme
/// (https://developers.facebook.com/docs/instagram-platform/webhooks, same app-secret signature
/// and `hub.challenge` check). Types read `instagram.instagram.comments`.
pub const INSTAGRAM: Scheme = Scheme {
    name: "instagram",
    title: "Instagram (Meta)",
    ..SCHEME
};

/// Messenger Platform webhooks under their own name (ngrok's `facebook_messenger`): Meta's scheme
/// (https://developers.facebook.com/docs/messenger-platform/webhooks#validate-payloads). Messenger
/// entries carry `messaging[]`, not `changes[]`, so types read `messenger.page`; the subject is
/// the Page.
pub const MESSENGER: Scheme = Scheme {
    name: "messenger",
    title: "Messenger (Meta)",
    ..SCHEME
};

/// The schemes this file defines, for the catalogue.
pub const SCHEMES: &[&Scheme] = &[&SCHEME, &WHATSAPP, &INSTAGRAM, &MESSENGER];

#[cfg(test)]
mod tests {
    use super::SCHEME;
    use crate::catalogue::sources::Source;
    use crate::core::verify::VerifyError;
    use crate::tests::*;

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

/// The aliases: Meta's scheme under the names WhatsApp, Instagram and Messenger users look for,
/// each checked against a body shaped as that product's docs show it.
#[cfg(test)]
mod aliases {
    use super::{INSTAGRAM, MESSENGER, SCHEME, WHATSAPP};
    use crate::catalogue::sources::Source;
    use crate::core::scheme::Scheme;
    use crate::tests::*;

    const SECRET: &str = "meta-app-secret";
    const NOW: u64 = 1_700_000_000;
    /// A text message, as https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples shows one.
    const WHATSAPP_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}"#;
    /// A comment, as https://developers.facebook.com/docs/instagram-platform/webhooks shows one.
    const INSTAGRAM_BODY: &[u8] = br#"{"object":"instagram","entry":[{"id":"17841405309211844","time":1700000000,"changes":[{"field":"comments","value":{"from":{"id":"232323232","username":"test"},"media":{"id":"123123123","media_product_type":"FEED"},"id":"17865799348089039","text":"This is an example."}}]}]}"#;
    /// A message, as https://developers.facebook.com/docs/messenger-platform/webhooks shows one.
    const MESSENGER_BODY: &[u8] = br#"{"object":"page","entry":[{"id":"106540352242922","time":1458692752478,"messaging":[{"sender":{"id":"6945283352214412"},"recipient":{"id":"106540352242922"},"timestamp":1458692752478,"message":{"mid":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world!"}}]}]}"#;

    /// Derived, not published: `sha256=` + hex HMAC-SHA256 of each body with the app secret,
    /// computed with Python's hmac.
    const CASES: [(&Scheme, &[u8], &str, &str, &str); 3] = [
        (
            &WHATSAPP,
            WHATSAPP_BODY,
            "sha256=fe0c023011b80ad579fd25e95c296e3139fc0c011d78672b59e26441df6e2f0c",
            "whatsapp.whatsapp_business_account.messages",
            "102290129340398",
        ),
        (
            &INSTAGRAM,
            INSTAGRAM_BODY,
            "sha256=92886338384f42c3fe61c1937455f982467009dab37797475672d225f6766cf5",
            "instagram.instagram.comments",
            "17841405309211844",
        ),
        (
            &MESSENGER,
            MESSENGER_BODY,
            "sha256=b7f3888483e317466725e61f29a2f45fa461e94147fd5f68c5c7ffaab3936728",
            "messenger.page",
            "106540352242922",
        ),
    ];

    fn source(scheme: &'static Scheme) -> Source {
        Source::new(scheme.name, scheme).with_verify_token("meatyhamhock")
    }

    #[test]
    fn derived_vectors_and_round_trips() {
        for (scheme, body, sig, _, _) in CASES {
            vector(
                scheme,
                SECRET.as_bytes(),
                body,
                &[("x-hub-signature-256", sig)],
            );
            round_trip(scheme, SECRET.as_bytes(), body);
            // The same request verifies under Meta's own name: one scheme, three names.
            check(
                &SCHEME,
                &[SECRET.as_bytes()],
                &[("x-hub-signature-256", sig)],
                body,
                NOW,
            )
            .expect("Meta's scheme");
        }
    }

    #[test]
    fn envelopes_and_forgeries() {
        for (scheme, body, sig, ty, subject) in CASES {
            let headers = [
                ("content-type", "application/json"),
                ("x-hub-signature-256", sig),
            ];
            let d = deliver(source(scheme), SECRET, Request::post(&headers, body, NOW));
            assert_eq!(d.reply.status, 202, "{}", d.text());
            let e = &d.envelopes[0];
            assert_eq!(e["source"], scheme.name);
            assert_eq!(e["type"], ty);
            assert_eq!(e["subject"], subject);
            let forged = deliver(
                source(scheme),
                "another-app-secret",
                Request::post(&headers, body, NOW),
            );
            assert_eq!(forged.reply.status, 401, "{}", scheme.name);
            assert!(forged.envelopes.is_empty());
        }
    }

    #[test]
    fn each_answers_the_subscription_check() {
        for scheme in [&WHATSAPP, &INSTAGRAM, &MESSENGER] {
            let query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock";
            let ok = deliver(source(scheme), SECRET, Request::get(query, &[], NOW));
            assert_eq!(ok.reply.status, 200, "{}", scheme.name);
            assert_eq!(ok.text(), "1158201444");
            let wrong = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess";
            let no = deliver(source(scheme), SECRET, Request::get(wrong, &[], NOW));
            assert_eq!(no.reply.status, 403, "{}", scheme.name);
        }
    }
}
