//! `inlet send <source> --handshake`: the request a sender makes when a webhook is created or
//! checked, where that request is no signed delivery (the signed ones, Slack's `url_verification`
//! or Discord's `PING`, are samples: `inlet samples` lists them), and the check the sender makes of
//! the answer. The challenge is fresh each time; the answer a sender computes (X's CRC,
//! Braintree's challenge) is computed here from the secret, not by the code under test.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use inlet::core::scheme::Handshake;
use inlet::Source;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// One handshake request, and what its sender accepts as the answer.
#[derive(Debug)]
pub struct Probe {
    pub handshake: Handshake,
    pub method: http::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    expect: Expect,
}

/// A 200 answer that carries…
#[derive(Debug, PartialEq)]
enum Expect {
    /// …exactly this text.
    Text(String),
    /// …a JSON object with this member set to this string.
    Json(&'static str, String),
    /// …this header with this value.
    Header(&'static str, String),
    /// …anything.
    Anything,
}

/// What the secret-free part of the answer says, for [`Probe::check`].
pub struct Answer<'a> {
    pub status: u16,
    pub header: &'a dyn Fn(&str) -> Option<String>,
    pub body: &'a str,
}

/// A fresh challenge: 32 lower-case hex digits (Braintree's form, which every other sender's
/// checks accept too).
fn challenge() -> String {
    inlet::core::normalize::engine::unique_id().replace('-', "")
}

fn with_query(url: &str, query: &str) -> String {
    if query.is_empty() {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{query}")
}

/// `source`'s handshake request to `url`. `secret` is the one the CLI signs with (the handshakes
/// that hand a secret over, Asana's and Notion's, hand over this one, so that the deliveries
/// `inlet send` signs afterwards verify); `verify_token` is Meta's configured token.
pub fn probe(
    source: &Source,
    url: &str,
    secret: &str,
    verify_token: Option<&str>,
) -> Result<Probe, String> {
    let scheme = source.scheme();
    let made = scheme
        .handshakes
        .iter()
        .find_map(|h| request(*h, url, secret, verify_token));
    let Some(made) = made else {
        let signed: Vec<String> = crate::samples::events(scheme.name)
            .into_iter()
            .filter(|e| {
                crate::samples::find(scheme.name, Some(e))
                    .is_some_and(|s| s.expect["handshake"].is_string())
            })
            .collect();
        return Err(match signed.first() {
            Some(event) => format!(
                "{}'s handshake is a signed body: `inlet send {} --event {event}` sends it",
                source.name(),
                source.name()
            ),
            None => format!("{} has no handshake", source.name()),
        });
    };
    made.map_err(|e| format!("{}: {e}", source.name()))
}

/// The handshake `--handshake` sends for `source`, if it has one that is no signed body.
pub fn sendable(source: &Source) -> Option<Handshake> {
    let scheme = source.scheme();
    // Whether a request can be made does not depend on the URL, secret or token.
    (scheme.handshakes.iter().copied())
        .find(|h| request(*h, "http://127.0.0.1/", ":", None).is_some())
}

/// Why `handshake` may not be sent to `url` with the development secret, when it may not: a
/// handshake that hands the secret over (Asana's, Notion's) would make a deployed source that
/// awaits its secret take the development one, which anyone can compute. Only a loopback URL (the
/// local server) gets it; any other needs the secret given (`--secret`, `INLET_<SOURCE>_SECRET`).
pub fn refuse_development_secret(handshake: Handshake, url: &str) -> Option<String> {
    let host = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_owned));
    let host = host
        .as_deref()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    let loopback = host.is_some_and(|h| {
        h.eq_ignore_ascii_case("localhost")
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    (handshake.stores_secret() && !loopback).then(|| {
        format!(
            "the {} handshake hands over the secret later deliveries are signed with, and the development secret is public: give one with --secret to send it beyond this machine",
            handshake.name()
        )
    })
}

/// `handshake`'s request to `url`; `None` for a handshake that is a signed body.
fn request(
    handshake: Handshake,
    url: &str,
    secret: &str,
    verify_token: Option<&str>,
) -> Option<Result<Probe, String>> {
    let c = challenge();
    let form = |pairs: &[(&str, &str)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let plain = |method, query: &str, expect| Probe {
        handshake,
        method,
        url: with_query(url, query),
        headers: Vec::new(),
        body: Vec::new(),
        expect,
    };
    Some(Ok(match handshake {
        Handshake::MetaSubscribe => {
            let Some(token) = verify_token else {
                return Some(Err("no VERIFY_TOKEN is configured".into()));
            };
            let query = form(&[
                ("hub.mode", "subscribe"),
                ("hub.verify_token", token),
                ("hub.challenge", &c),
            ]);
            plain(http::Method::GET, &query, Expect::Text(c))
        }
        Handshake::DropboxChallenge => plain(
            http::Method::GET,
            &form(&[("challenge", &c)]),
            Expect::Text(c),
        ),
        Handshake::OktaVerification => Probe {
            headers: vec![("x-okta-verification-challenge".into(), c.clone())],
            ..plain(http::Method::GET, "", Expect::Json("verification", c))
        },
        Handshake::GraphValidation => {
            // Graph posts an empty text/plain body with a token that is a sentence.
            let token = format!("Validation: Testing client application reachability {c}");
            Probe {
                headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
                ..plain(
                    http::Method::POST,
                    &form(&[("validationToken", &token)]),
                    Expect::Text(token.clone()),
                )
            }
        }
        Handshake::XCrc => {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes a key of any length");
            mac.update(c.as_bytes());
            let want = format!(
                "sha256={}",
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            );
            plain(
                http::Method::GET,
                &form(&[("crc_token", &c)]),
                Expect::Json("response_token", want),
            )
        }
        Handshake::WooCommercePing => Probe {
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: b"webhook_id=1".to_vec(),
            ..plain(http::Method::POST, "", Expect::Anything)
        },
        Handshake::TrelloHead => plain(http::Method::HEAD, "", Expect::Anything),
        Handshake::BraintreeChallenge => {
            let Some((public, private)) = secret.split_once(':') else {
                return Some(Err("the secret is `public_key:private_key`".into()));
            };
            let mut mac = Hmac::<Sha1>::new_from_slice(&Sha1::digest(private.as_bytes()))
                .expect("HMAC takes a key of any length");
            mac.update(c.as_bytes());
            let want = format!("{public}|{}", hex::encode(mac.finalize().into_bytes()));
            plain(
                http::Method::GET,
                &form(&[("bt_challenge", &c)]),
                Expect::Text(want),
            )
        }
        Handshake::AsanaHookSecret => Probe {
            headers: vec![("x-hook-secret".into(), secret.to_owned())],
            ..plain(
                http::Method::POST,
                "",
                Expect::Header("x-hook-secret", secret.to_owned()),
            )
        },
        Handshake::NotionVerification => Probe {
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::json!({ "verification_token": secret })
                .to_string()
                .into_bytes(),
            ..plain(http::Method::POST, "", Expect::Anything)
        },
        Handshake::SlackUrlVerification
        | Handshake::SlackSslCheck
        | Handshake::TwitchCallbackVerification
        | Handshake::ZoomUrlValidation
        | Handshake::DiscordPing
        | Handshake::XeroIntent => return None,
    }))
}

impl Probe {
    /// `Ok` when the sender would take `answer` (what it checks, in words), else why not.
    pub fn check(&self, answer: &Answer<'_>) -> Result<String, String> {
        if answer.status != 200 {
            return Err(format!(
                "the {} handshake wants 200, and got {}",
                self.handshake.name(),
                answer.status
            ));
        }
        match &self.expect {
            Expect::Text(want) if answer.body == want => Ok("200 with the expected answer".into()),
            Expect::Text(_) => Err("200, but not with the expected answer".into()),
            Expect::Json(member, want) => {
                let doc: serde_json::Value = serde_json::from_str(answer.body).unwrap_or_default();
                if doc[member].as_str() == Some(want.as_str()) {
                    Ok(format!("200 with the expected {member}"))
                } else {
                    Err(format!("200, but not with the expected {member}"))
                }
            }
            Expect::Header(name, want) if (answer.header)(name).as_deref() == Some(want) => {
                Ok(format!("200 with {name} echoed"))
            }
            Expect::Header(name, _) => Err(format!("200, but {name} is not echoed")),
            Expect::Anything => Ok("200".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str) -> &'static Source {
        inlet::catalogue::sources::by_name(name).expect("a sender")
    }

    fn query(p: &Probe, name: &str) -> String {
        let q = p.url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{name} in {}", p.url))
    }

    fn answer<'a>(
        status: u16,
        body: &'a str,
        header: &'a dyn Fn(&str) -> Option<String>,
    ) -> Answer<'a> {
        Answer {
            status,
            header,
            body,
        }
    }

    const NONE: &dyn Fn(&str) -> Option<String> = &|_| None;

    #[test]
    fn x_crc_is_checked_against_the_published_vector_form() {
        // X's documentation: the response token is base64(HMAC-SHA256(consumer secret, crc_token)).
        let p = probe(source("x"), "http://h/webhooks/x", "secret", None).expect("probe");
        assert_eq!(p.method, http::Method::GET);
        let token = query(&p, "crc_token");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").expect("key");
        mac.update(token.as_bytes());
        let right = format!(
            "{{\"response_token\":\"sha256={}\"}}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        assert!(p.check(&answer(200, &right, NONE)).is_ok());
        let other = probe(source("x"), "http://h/webhooks/x", "other", None).expect("probe");
        assert!(
            other.check(&answer(200, &right, NONE)).is_err(),
            "another secret's MAC"
        );
        assert!(p.check(&answer(401, &right, NONE)).is_err());
    }

    #[test]
    fn meta_sends_its_verify_token_and_wants_the_challenge_back() {
        let p = probe(source("meta"), "http://h/webhooks/meta", "s", Some("tok")).expect("probe");
        assert_eq!(query(&p, "hub.mode"), "subscribe");
        assert_eq!(query(&p, "hub.verify_token"), "tok");
        let c = query(&p, "hub.challenge");
        assert!(p.check(&answer(200, &c, NONE)).is_ok());
        assert!(p.check(&answer(200, "other", NONE)).is_err());
        assert!(
            probe(source("meta"), "http://h/", "s", None).is_err(),
            "no token"
        );
    }

    #[test]
    fn braintree_wants_the_public_key_and_the_mac_of_the_challenge() {
        let p = probe(source("braintree"), "http://h/", "pub:priv", None).expect("probe");
        let c = query(&p, "bt_challenge");
        assert!(
            c.len() == 32
                && c.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let mut mac = Hmac::<Sha1>::new_from_slice(&Sha1::digest(b"priv")).expect("key");
        mac.update(c.as_bytes());
        let right = format!("pub|{}", hex::encode(mac.finalize().into_bytes()));
        assert!(p.check(&answer(200, &right, NONE)).is_ok());
        assert!(p
            .check(&answer(200, &right.replace("pub|", "other|"), NONE))
            .is_err());
        assert!(probe(source("braintree"), "http://h/", "no-colon", None).is_err());
    }

    #[test]
    fn asana_hands_over_the_signing_secret_and_wants_it_echoed() {
        let p = probe(source("asana"), "http://h/webhooks/asana", "s3cret", None).expect("probe");
        assert_eq!(p.method, http::Method::POST);
        assert_eq!(p.url, "http://h/webhooks/asana");
        assert_eq!(
            p.headers,
            [("x-hook-secret".to_owned(), "s3cret".to_owned())]
        );
        let echoed = |n: &str| (n == "x-hook-secret").then(|| "s3cret".to_owned());
        assert!(p.check(&answer(200, "", &echoed)).is_ok());
        assert!(p.check(&answer(200, "", NONE)).is_err());
    }

    #[test]
    fn the_development_secret_is_handed_over_only_to_this_machine() {
        for url in [
            "http://127.0.0.1:3000/webhooks/asana",
            "http://localhost:3000/webhooks/asana",
            "http://[::1]:3000/webhooks/asana",
            "http://127.1.2.3/webhooks/asana",
        ] {
            assert_eq!(
                refuse_development_secret(Handshake::AsanaHookSecret, url),
                None,
                "{url}"
            );
        }
        for url in [
            "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/asana",
            "http://10.0.0.1/webhooks/notion",
            "http://localhost.example.com/",
            "not a url",
        ] {
            for h in [Handshake::AsanaHookSecret, Handshake::NotionVerification] {
                assert!(refuse_development_secret(h, url).is_some(), "{url}");
            }
        }
        // Handshakes that hand nothing over go anywhere.
        let deployed = "https://abc.execute-api.us-east-1.amazonaws.com/webhooks/x";
        assert_eq!(refuse_development_secret(Handshake::XCrc, deployed), None);
    }

    #[test]
    fn signed_handshakes_point_to_their_samples() {
        let e = probe(source("slack"), "http://h/", "s", None).expect_err("a sample");
        assert!(
            e.contains("inlet send slack --event url_verification"),
            "{e}"
        );
        let e = probe(source("stripe"), "http://h/", "s", None).expect_err("none");
        assert_eq!(e, "stripe has no handshake");
    }

    #[test]
    fn every_sendable_handshake_of_every_sender_makes_a_request() {
        for source in inlet::catalogue::sources::all() {
            let signed_bodies = [
                Handshake::SlackUrlVerification,
                Handshake::SlackSslCheck,
                Handshake::TwitchCallbackVerification,
                Handshake::ZoomUrlValidation,
                Handshake::DiscordPing,
                Handshake::XeroIntent,
            ];
            let sendable = (source.scheme().handshakes.iter()).any(|h| !signed_bodies.contains(h));
            let secret = if source.scheme().name == "braintree" {
                "a:b"
            } else {
                "s"
            };
            let made = probe(source, "http://h/x?k=1", secret, Some("t"));
            assert_eq!(made.is_ok(), sendable, "{}: {made:?}", source.name());
            if let Ok(p) = made {
                assert!(p.url.starts_with("http://h/x?k=1"), "{}", p.url);
            }
        }
    }
}
