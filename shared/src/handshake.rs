//! Handshakes: requests a sender makes to check an endpoint before (or between) deliveries,
//! answered here as its rules say and never enqueued. Each [`Handshake`] a scheme lists is
//! answered; no other is.
//!
//! Some arrive before anything is signed (Meta's, Dropbox's, Okta's and Braintree's GETs,
//! Microsoft Graph's validation token, WooCommerce's creation ping, Trello's HEAD) and are
//! answered by [`before_verification`]; the rest are signed and answered by
//! [`after_verification`] once the signature has matched.

use http::Method;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::json::Doc;
use crate::normalize::{body_kind, BodyKind};
use crate::response::{Rejection, Reply};
use crate::scheme::{Handshake, Scheme};
use crate::verify::engine::{hmac_sha256, query_param};
use crate::verify::{SecretSet, Unverified, Verified, VerifyError};

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
        .find_map(|h| answer_unsigned(*h, req, ctx))
}

fn answer_unsigned(
    h: Handshake,
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
            // A token X would not send gets no MAC: the caller learns only "not verified".
            if !crate::senders::x::crc_token(&token) {
                return Some(Err(Rejection::Verify(VerifyError::MalformedSignature {
                    header: "crc_token",
                })));
            }
            Some(crate::senders::x::crc_answer(&token, req, ctx.secrets).map_err(Rejection::Verify))
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
            let newest = ctx.secrets.iter().next()?;
            let answer = crate::senders::braintree::challenge_answer(newest.key(), &challenge)?;
            Some(Ok(Reply::text(200, answer)))
        }
        _ => None,
    }
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
