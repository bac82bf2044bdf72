//! Handshakes: requests a sender makes to check an endpoint before (or between) deliveries,
//! answered here as its rules say and never enqueued. Each [`Handshake`] a scheme lists is
//! answered; no other is.
//!
//! Some arrive before anything is signed (Meta's, Dropbox's, Okta's and Braintree's GETs,
//! Microsoft Graph's validation token, WooCommerce's creation ping, Trello's HEAD) and are
//! answered by [`before_verification`]; the rest are signed and answered by
//! [`after_verification`] once the signature has matched.
//!
//! Two hand over the secret later deliveries are signed with (Asana's `X-Hook-Secret`, Notion's
//! `verification_token`): [`stateful`] recognises them, and the pipeline answers them only if
//! the secret store takes the value as the source's secret ([`crate::ports::secrets::SecretStore::claim`]:
//! the source awaits one, and this handshake is the first). Such a handshake is unauthenticated
//! by nature, so the window is opt-in (the operator sets the secret to
//! [`crate::ports::secrets::AWAIT_HANDSHAKE`] just before creating the subscription) and closes with
//! the first handshake; any other is refused exactly as an unsigned delivery is (401), echoing
//! and storing nothing.

use http::Method;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::core::json::Doc;
use crate::core::json::{body_kind, BodyKind};
use crate::core::request::{SecretSet, Unverified, Verified, VerifyError};
use crate::core::response::{Rejection, Reply};
use crate::core::scheme::{Custom, Handshake, Scheme};
use crate::core::verify::engine::{hmac_sha256, query_param};

/// The value a source's secret holds while it awaits the handshake that gives it (Asana's
/// `X-Hook-Secret`, Notion's `verification_token`). The `:` keeps it apart from anything Secrets
/// Manager generates (the template's placeholder has no punctuation). It is never a key: while
/// it is the value, deliveries are verified under a random key no one knows (refused), and only
/// a sender whose scheme stores its handshake's secret may be given it.
pub const AWAIT_HANDSHAKE: &str = "inlet:await-handshake";

/// Shortest and longest secret a handshake may store (Asana's are 64 hex digits, Notion's
/// `secret_` and some 43 characters).
pub const HANDSHAKE_SECRET_LEN: (usize, usize) = (16, 512);

/// Whether `value` may be stored as a secret from a handshake: printable ASCII (it is echoed in
/// a header), [`HANDSHAKE_SECRET_LEN`] long, and neither [`AWAIT_HANDSHAKE`] nor anything that
/// looks like the JSON list form (read back, it would be taken for one).
pub fn claimable(value: &str) -> bool {
    let (min, max) = HANDSHAKE_SECRET_LEN;
    (min..=max).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_graphic())
        && !value.starts_with(['{', '['])
        && value != AWAIT_HANDSHAKE
}

/// Longest challenge echoed back: senders use short random tokens.
const MAX_CHALLENGE: usize = 512;

/// What an unsigned handshake needs besides the request.
#[derive(Debug, Clone, Copy)]
pub struct Context<'c> {
    /// Meta's `hub.verify_token`, as configured (`VERIFY_TOKEN`).
    pub verify_token: Option<&'c str>,
    /// The active secrets (X's CRC answer and Braintree's are MACs under one of them).
    pub secrets: &'c SecretSet,
}

/// The answer to an unsigned handshake this scheme expects; `None` when `req` is not one.
/// `Err` when it is one that must be refused (Meta with the wrong verify token).
pub fn before_verification(
    scheme: &Scheme,
    req: &Unverified<'_>,
    ctx: &Context<'_>,
) -> Option<Result<Reply, Rejection>> {
    scheme
        .handshakes
        .iter()
        .find_map(|h| answer_unsigned(*h, scheme.custom, req, ctx))
}

fn answer_unsigned(
    h: Handshake,
    custom: Option<&dyn Custom>,
    req: &Unverified<'_>,
    ctx: &Context<'_>,
) -> Option<Result<Reply, Rejection>> {
    let q = |name: &str| query_param(req.query, name);
    match h {
        Handshake::MetaSubscribe if req.method == Method::GET => {
            if q("hub.mode").as_deref() != Some("subscribe") {
                return None;
            }
            let given = q("hub.verify_token").unwrap_or_default();
            let matches = ctx.verify_token.is_some_and(|want| {
                want.len() == given.len() && bool::from(want.as_bytes().ct_eq(given.as_bytes()))
            });
            let challenge = q("hub.challenge").filter(|c| echoable(c))?;
            Some(if matches {
                Ok(Reply::text(200, challenge))
            } else {
                Err(Rejection::HandshakeRefused)
            })
        }
        Handshake::DropboxChallenge if req.method == Method::GET => {
            let challenge = q("challenge").filter(|c| echoable(c))?;
            let mut reply = Reply::text(200, challenge);
            reply.headers[0] = ("content-type", "text/plain".into());
            Some(Ok(reply))
        }
        Handshake::OktaVerification if req.method == Method::GET => {
            let challenge = req
                .headers
                .get("x-okta-verification-challenge")?
                .to_str()
                .ok()
                .filter(|c| echoable(c))?;
            Some(Ok(Reply::json(200, &json!({ "verification": challenge }))))
        }
        Handshake::GraphValidation if req.method == Method::POST => {
            let token = q("validationToken").filter(|c| echoable(c))?;
            Some(Ok(Reply::text(200, token)))
        }
        Handshake::XCrc if req.method == Method::GET => {
            let token = q("crc_token")?;
            Some(
                custom?
                    .answer_challenge(&token, req, ctx.secrets)?
                    .map_err(Rejection::Verify),
            )
        }
        Handshake::WooCommercePing if req.method == Method::POST => {
            // The creation ping is a form `webhook_id=<n>` with no signature, and must get 200.
            let unsigned = !req.headers.contains_key("x-wc-webhook-signature");
            let is_ping = body_kind(req.headers) == BodyKind::Form
                && form_urlencoded::parse(req.body)
                    .map(|(k, v)| {
                        k == "webhook_id" && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
                    })
                    .eq([true]);
            (unsigned && is_ping).then(|| Ok(Reply::empty(200)))
        }
        Handshake::TrelloHead if req.method == Method::HEAD => Some(Ok(Reply::empty(200))),
        Handshake::BraintreeChallenge if req.method == Method::GET => {
            let challenge = q("bt_challenge")?;
            Some(
                custom?
                    .answer_challenge(&challenge, req, ctx.secrets)?
                    .map_err(Rejection::Verify),
            )
        }
        _ => None,
    }
}

/// A handshake that hands over the source's secret, to be stored before it is answered.
#[derive(Clone, PartialEq, Eq)]
pub struct Claim {
    pub handshake: Handshake,
    /// The secret handed over (never logged).
    pub secret: String,
}

impl std::fmt::Debug for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claim")
            .field("handshake", &self.handshake)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The handshake that hands over a secret this scheme expects, if `req` is one; `Err` when it
/// is one whose value cannot be a secret (refused as an unsigned request is).
pub fn stateful(scheme: &Scheme, req: &Unverified<'_>) -> Option<Result<Claim, Rejection>> {
    scheme
        .handshakes
        .iter()
        .filter(|h| h.stores_secret())
        .find_map(|h| claim(*h, scheme, req))
}

/// How a refused handshake is answered: as a request without its signature, whatever the
/// reason (the secret is set, another handshake came first, the value is unusable), so the
/// caller learns nothing about the source's secret.
pub fn refused(scheme: &Scheme) -> Rejection {
    let first = scheme.signature.at.first();
    Rejection::Verify(VerifyError::MissingSignature {
        header: first.map_or("signature", crate::core::verify::engine::label),
    })
}

fn claim(h: Handshake, scheme: &Scheme, req: &Unverified<'_>) -> Option<Result<Claim, Rejection>> {
    if req.method != Method::POST {
        return None;
    }
    let usable = |v: &str| claimable(v).then(|| v.to_owned());
    let value = match h {
        // Asana's handshake: an `X-Hook-Secret` header (its body is empty or `{}`).
        Handshake::AsanaHookSecret => {
            let mut all = req.headers.get_all("x-hook-secret").iter();
            let first = all.next()?;
            let single = all.next().is_none();
            first.to_str().ok().filter(|_| single).and_then(usable)
        }
        // Notion's: an unsigned JSON body whose one member is `verification_token`.
        Handshake::NotionVerification => {
            if req.headers.contains_key("x-notion-signature") {
                return None;
            }
            let doc: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(req.body).ok()?;
            let token = doc.get("verification_token")?;
            (doc.len() == 1)
                .then(|| token.as_str().and_then(usable))
                .flatten()
        }
        _ => return None,
    };
    Some(
        value
            .map(|secret| Claim {
                handshake: h,
                secret,
            })
            .ok_or_else(|| refused(scheme)),
    )
}

/// The answer to a handshake whose secret was stored: Asana's echoes it in `X-Hook-Secret`
/// (200, no body), Notion's is a plain 200 (the operator reads the token from the secret store).
pub fn claimed_reply(claim: &Claim) -> Reply {
    let mut reply = Reply::empty(200);
    if claim.handshake == Handshake::AsanaHookSecret {
        reply.headers.push(("x-hook-secret", claim.secret.clone()));
    }
    reply
}

/// A challenge short and plain enough to echo back as text: printable ASCII (Microsoft Graph's
/// tokens are sentences with spaces), at most [`MAX_CHALLENGE`] bytes.
fn echoable(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= MAX_CHALLENGE
        && c.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
}

/// The answer to a signed handshake, once the signature has matched; `None` for an event.
pub fn after_verification(scheme: &Scheme, v: &Verified<'_>, doc: &Doc<'_>) -> Option<Reply> {
    scheme
        .handshakes
        .iter()
        .find_map(|h| answer_signed(*h, v, doc))
}

fn answer_signed(h: Handshake, v: &Verified<'_>, doc: &Doc<'_>) -> Option<Reply> {
    match h {
        Handshake::SlackUrlVerification => {
            if matches!(doc, Doc::Json(_))
                && doc.text("type").as_deref() == Some("url_verification")
            {
                return Some(Reply::text(200, doc.text("challenge")?.into_owned()));
            }
            None
        }
        Handshake::SlackSslCheck => (matches!(doc, Doc::Fields(_))
            && doc.text("ssl_check").as_deref() == Some("1"))
        .then(|| Reply::empty(200)),
        Handshake::TwitchCallbackVerification => {
            let kind = v.headers().get("twitch-eventsub-message-type")?;
            if kind.as_bytes() != b"webhook_callback_verification" {
                return None;
            }
            let mut reply = Reply::text(200, doc.text("challenge")?.into_owned());
            reply.headers[0] = ("content-type", "text/plain".into());
            Some(reply)
        }
        Handshake::ZoomUrlValidation => {
            if doc.text("event").as_deref() != Some("endpoint.url_validation") {
                return None;
            }
            let plain = doc.text("payload.plainToken")?;
            let encrypted = hex::encode(hmac_sha256(v.key(), plain.as_bytes()));
            Some(Reply::json(
                200,
                &json!({ "plainToken": plain, "encryptedToken": encrypted }),
            ))
        }
        Handshake::DiscordPing => match doc.text("type").as_deref() {
            // Interactions: PING is type 1 (a webhook event of type 1 carries `event`).
            Some("1") if !doc.has("event") => Some(Reply::json(200, &json!({ "type": 1 }))),
            // Webhook events: PING is type 0, answered 204.
            Some("0") => Some(Reply::empty(204)),
            _ => None,
        },
        Handshake::XeroIntent => doc.is_empty_array("events").then(|| Reply::empty(200)),
        _ => None,
    }
}

/// A pipeline whose source may await its handshake, over an in-memory secret store with the
/// create-if-absent semantics of the real ones, for the senders' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, UNIX_EPOCH};

    use crate::catalogue::sources::Source;
    use crate::ports::failure::StoreError;
    use crate::ports::queue::MemoryQueue;
    use crate::ports::secrets::{parse_secret_value, ClaimSecret, SecretStore, AWAIT_HANDSHAKE};
    use crate::tests::{headers, Delivered};
    use crate::Pipeline;

    /// The stored secret: `None` while it awaits a handshake.
    #[derive(Debug, Default, Clone)]
    pub struct MemorySecret(pub Arc<Mutex<Option<String>>>);

    impl MemorySecret {
        pub fn value(&self) -> Option<String> {
            self.0.lock().expect("lock").clone()
        }
    }

    impl ClaimSecret for MemorySecret {
        fn claim<'a>(
            &'a self,
            value: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>> {
            Box::pin(async move {
                let mut stored = self.0.lock().expect("lock");
                match stored.as_deref() {
                    None => {
                        *stored = Some(value.to_owned());
                        Ok(true)
                    }
                    Some(v) => Ok(v == value),
                }
            })
        }
    }

    /// One function instance of `source` whose secret is `initial` ([`AWAIT_HANDSHAKE`] or a
    /// secret), writing to `stored`.
    pub struct Instance {
        pipeline: Pipeline<MemoryQueue>,
        runtime: tokio::runtime::Runtime,
        seen: std::cell::Cell<usize>,
    }

    impl Instance {
        pub fn new(source: Source, initial: &str, stored: &MemorySecret) -> Self {
            if initial != AWAIT_HANDSHAKE {
                *stored.0.lock().expect("lock") = Some(initial.to_owned());
            }
            Self::writing_to(source, initial, Box::new(stored.clone()))
        }

        /// [`Instance::new`] with any store.
        pub fn writing_to(source: Source, initial: &str, writer: Box<dyn ClaimSecret>) -> Self {
            let source: &'static Source = Box::leak(Box::new(source));
            let set = parse_secret_value(source, initial).expect("a secret value");
            let secrets = SecretStore::from(set).with_writer(writer);
            let pipeline = Pipeline::new(
                source,
                secrets,
                crate::config::Settings::default(),
                MemoryQueue::default(),
            );
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("runtime");
            Self {
                pipeline,
                runtime,
                seen: std::cell::Cell::new(0),
            }
        }

        /// POSTs `body` with `pairs` at `now` (Unix seconds).
        pub fn post(&self, pairs: &[(&str, &str)], body: &[u8], now: u64) -> Delivered {
            let h = headers(pairs);
            let reply = self.runtime.block_on(self.pipeline.handle(
                crate::Inbound::post(&h, body),
                UNIX_EPOCH + Duration::from_secs(now),
                tokio::time::Instant::now() + Duration::from_secs(5),
            ));
            let messages = self.pipeline.queue().messages();
            let envelopes = messages[self.seen.get()..]
                .iter()
                .map(|m| serde_json::from_str(&m.body).expect("envelope JSON"))
                .collect();
            self.seen.set(messages.len());
            Delivered { reply, envelopes }
        }
    }

    /// The reply's `name` header, if it has one.
    pub fn header<'d>(d: &'d Delivered, name: &str) -> Option<&'d str> {
        d.reply
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;

    use super::testing::{header, Instance};
    use crate::catalogue::sources::by_name;
    use crate::ports::failure::{Failure, StoreError};
    use crate::ports::secrets::{ClaimSecret, AWAIT_HANDSHAKE};

    /// A secret store that cannot be written.
    #[derive(Debug)]
    struct Failing(Failure);

    impl ClaimSecret for Failing {
        fn claim<'a>(
            &'a self,
            _value: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>> {
            let e = StoreError {
                failure: self.0,
                detail: "the store failed".into(),
            };
            Box::pin(async move { Err(e) })
        }
    }

    #[test]
    fn a_store_that_fails_answers_503_when_it_may_clear_up_and_401_when_not() {
        let asana = || by_name("asana").expect("asana").clone();
        let shake = [("x-hook-secret", "b537207f20cbfa02357cf448134da559")];
        let busy = Instance::writing_to(
            asana(),
            AWAIT_HANDSHAKE,
            Box::new(Failing(Failure::Transient)),
        );
        let d = busy.post(&shake, b"", 1_700_000_000);
        assert_eq!(d.reply.status, 503, "{}", d.text());
        assert_eq!(header(&d, "x-hook-secret"), None);
        assert!(header(&d, "retry-after").is_some());
        // A store that will not take it (no access, or an awaiting value older than an hour).
        let denied = Instance::writing_to(
            asana(),
            AWAIT_HANDSHAKE,
            Box::new(Failing(Failure::Permanent)),
        );
        let d = denied.post(&shake, b"", 1_700_000_000);
        assert_eq!(d.reply.status, 401, "{}", d.text());
        assert_eq!(header(&d, "x-hook-secret"), None);
        assert!(d.envelopes.is_empty());
    }
}
