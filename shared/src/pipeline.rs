//! The request path every front end shares: method and size checks, verification,
//! normalization, then the queue; one `Reply` out, whatever happened.

use std::time::SystemTime;

use http::{HeaderMap, Method};
use serde::Serialize;
use tracing::{error, info, warn};

use crate::config::Settings;
use crate::normalize::Disposition;
use crate::queue::{Message, Queue};
use crate::response::{Rejection, Reply};
use crate::secrets::SecretStore;
use crate::sources::Source;
use crate::verify::{Clock, Unverified, VerifyError};

/// A request as it arrived: method, headers and the exact body bytes (base64 already undone once).
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Everything one source needs to serve requests, built once at start-up.
#[derive(Debug)]
pub struct Pipeline<Q> {
    source: &'static dyn Source,
    secrets: SecretStore,
    settings: Settings,
    queue: Q,
}

/// The 202 body: the envelope id lets a sender or operator find the event downstream.
#[derive(Serialize)]
struct Accepted<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(rename = "messageId")]
    message_id: &'a str,
}

impl<Q: Queue> Pipeline<Q> {
    /// `secrets` is a `SecretSet` (fixed) or a refreshable `SecretStore`.
    pub fn new(
        source: &'static dyn Source,
        secrets: impl Into<SecretStore>,
        settings: Settings,
        queue: Q,
    ) -> Self {
        Self {
            source,
            secrets: secrets.into(),
            settings,
            queue,
        }
    }

    pub fn source(&self) -> &'static dyn Source {
        self.source
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// Serves one request. `now` is passed in so tests control the replay window.
    pub async fn handle(&self, req: Inbound<'_>, now: SystemTime) -> Reply {
        let source = self.source.name();
        match self.process(req, now).await {
            Ok(reply) => reply,
            Err(rejection) => {
                let (status, problem) = rejection.status_and_slug();
                // Unverified, so only logged as a hint: at most 128 visible characters.
                let delivery_id: Option<String> = self
                    .source
                    .delivery_header()
                    .and_then(|h| req.headers.get(h))
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.chars().take(128).collect());
                if status >= 500 {
                    error!(source, status, problem, delivery_id, "request failed");
                } else {
                    warn!(source, status, problem, delivery_id, reason = %rejection, bytes = req.body.len(), "request rejected");
                }
                rejection.to_reply()
            }
        }
    }

    async fn process(&self, req: Inbound<'_>, now: SystemTime) -> Result<Reply, Rejection> {
        if req.method != Method::POST {
            return Err(Rejection::MethodNotAllowed);
        }
        if req.body.len() > self.settings.max_body_bytes {
            return Err(Rejection::PayloadTooLarge {
                size: req.body.len(),
                limit: self.settings.max_body_bytes,
            });
        }
        let clock = Clock {
            now,
            tolerance: self.settings.tolerance,
        };
        let unverified = Unverified {
            headers: req.headers,
            body: req.body,
        };
        let verified = match self
            .source
            .verify(&self.secrets.current(), unverified, &clock)
        {
            // The secret may have been rotated since start-up: re-fetch (bounded) and try once more.
            Err(VerifyError::SignatureMismatch { header }) => match self.secrets.refresh().await {
                Some(fresh) => self.source.verify(&fresh, unverified, &clock)?,
                None => return Err(VerifyError::SignatureMismatch { header }.into()),
            },
            other => other?,
        };
        let source = self.source.name();
        let envelope = match self.source.normalize(&verified, now)? {
            Disposition::Reply(reply) => {
                info!(
                    source,
                    status = reply.status,
                    secret = verified.secret_label(),
                    "handshake answered"
                );
                return Ok(reply);
            }
            Disposition::Enqueue(envelope) => envelope,
        };
        let message = Message::from(envelope.as_ref());
        match self.queue.send(&message).await {
            Ok(message_id) => {
                info!(
                    source,
                    delivery_id = %message.id,
                    event_type = %message.event_type,
                    secret = verified.secret_label(),
                    message_id = %message_id,
                    bytes = req.body.len(),
                    status = 202,
                    "enqueued"
                );
                Ok(Reply::json(
                    202,
                    &Accepted {
                        id: &message.id,
                        ty: &message.event_type,
                        message_id: &message_id,
                    },
                ))
            }
            Err(e) => {
                error!(source, delivery_id = %message.id, event_type = %message.event_type, error = %e, "queue send failed");
                Err(Rejection::QueueUnavailable)
            }
        }
    }
}
