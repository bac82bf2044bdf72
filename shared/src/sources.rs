//! The event sources Inlet serves. Adding one is a verify file, a normalize file, a `Source`
//! impl here, an entry in [`ALL`] and a three-line binary under `functions/`.

use std::fmt;
use std::time::SystemTime;

use crate::normalize::{self, Disposition, NormalizeError};
use crate::verify::{self, Clock, SecretSet, Unverified, Verified, VerifyError};

/// One kind of sender: how its requests are verified and normalized, and how it signs them.
pub trait Source: Send + Sync + fmt::Debug + 'static {
    /// Short name: the route (`/webhooks/<name>`), the envelope's `source` and the type prefix.
    fn name(&self) -> &'static str;

    /// Turns a configured secret into the HMAC key. Most schemes use the secret's bytes verbatim.
    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, String> {
        if secret.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(secret.as_bytes().to_vec())
    }

    fn verify<'a>(
        &self,
        secrets: &SecretSet,
        req: Unverified<'a>,
        clock: &Clock,
    ) -> Result<Verified<'a>, VerifyError>;

    /// The envelope to enqueue, or a reply to send directly (URL-verification handshakes).
    fn normalize(
        &self,
        verified: &Verified<'_>,
        received: SystemTime,
    ) -> Result<Disposition, NormalizeError>;

    /// The headers the sender adds to sign `body` at `at` (unix seconds) as delivery `id`.
    fn sign(&self, key: &[u8], body: &[u8], at: i64, id: &str) -> Vec<(&'static str, String)>;

    /// The header that carries the delivery id, for sources that send one (logged on rejections,
    /// before the body is trusted).
    fn delivery_header(&self) -> Option<&'static str> {
        None
    }

    /// Headers the sender always sends besides the signature, given an event name (for the CLI).
    fn event_headers(&self, _event: &str) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

#[derive(Debug)]
pub struct Github;

impl Source for Github {
    fn name(&self) -> &'static str {
        "github"
    }
    fn verify<'a>(
        &self,
        secrets: &SecretSet,
        req: Unverified<'a>,
        _clock: &Clock,
    ) -> Result<Verified<'a>, VerifyError> {
        verify::github::verify(secrets, req)
    }
    fn normalize(
        &self,
        v: &Verified<'_>,
        received: SystemTime,
    ) -> Result<Disposition, NormalizeError> {
        normalize::github::normalize(self.name(), v, received)
    }
    fn sign(&self, key: &[u8], body: &[u8], _at: i64, id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("x-hub-signature-256", verify::github::sign(key, body)),
            (normalize::github::DELIVERY_HEADER, id.to_owned()),
        ]
    }
    fn event_headers(&self, event: &str) -> Vec<(&'static str, String)> {
        vec![(normalize::github::EVENT_HEADER, event.to_owned())]
    }
    fn delivery_header(&self) -> Option<&'static str> {
        Some(normalize::github::DELIVERY_HEADER)
    }
}

#[derive(Debug)]
pub struct Stripe;

impl Source for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }
    fn verify<'a>(
        &self,
        secrets: &SecretSet,
        req: Unverified<'a>,
        clock: &Clock,
    ) -> Result<Verified<'a>, VerifyError> {
        verify::stripe::verify(secrets, req, clock)
    }
    fn normalize(
        &self,
        v: &Verified<'_>,
        received: SystemTime,
    ) -> Result<Disposition, NormalizeError> {
        normalize::stripe::normalize(self.name(), v, received)
    }
    fn sign(&self, key: &[u8], body: &[u8], at: i64, _id: &str) -> Vec<(&'static str, String)> {
        vec![(
            verify::stripe::SIGNATURE_HEADER,
            verify::stripe::sign(key, at, body),
        )]
    }
}

#[derive(Debug)]
pub struct Slack;

impl Source for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }
    fn verify<'a>(
        &self,
        secrets: &SecretSet,
        req: Unverified<'a>,
        clock: &Clock,
    ) -> Result<Verified<'a>, VerifyError> {
        verify::slack::verify(secrets, req, clock)
    }
    fn normalize(
        &self,
        v: &Verified<'_>,
        received: SystemTime,
    ) -> Result<Disposition, NormalizeError> {
        normalize::slack::normalize(self.name(), v, received)
    }
    fn sign(&self, key: &[u8], body: &[u8], at: i64, _id: &str) -> Vec<(&'static str, String)> {
        vec![
            (
                verify::slack::SIGNATURE_HEADER,
                verify::slack::sign(key, at, body),
            ),
            (verify::slack::TIMESTAMP_HEADER, at.to_string()),
        ]
    }
}

#[derive(Debug)]
pub struct Standard;

impl Source for Standard {
    fn name(&self) -> &'static str {
        "standard"
    }
    fn decode_secret(&self, secret: &str) -> Result<Vec<u8>, String> {
        verify::standard::decode_secret(secret)
    }
    fn delivery_header(&self) -> Option<&'static str> {
        Some(verify::standard::ID_HEADERS[0])
    }
    fn verify<'a>(
        &self,
        secrets: &SecretSet,
        req: Unverified<'a>,
        clock: &Clock,
    ) -> Result<Verified<'a>, VerifyError> {
        verify::standard::verify(secrets, req, clock)
    }
    fn normalize(
        &self,
        v: &Verified<'_>,
        received: SystemTime,
    ) -> Result<Disposition, NormalizeError> {
        normalize::standard::normalize(self.name(), v, received)
    }
    fn sign(&self, key: &[u8], body: &[u8], at: i64, id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", at.to_string()),
            (
                "webhook-signature",
                verify::standard::sign(key, id, at, body),
            ),
        ]
    }
}

/// Every source, for the local server and the CLI.
pub const ALL: [&dyn Source; 4] = [&Github, &Stripe, &Slack, &Standard];

/// The source with this name.
pub fn by_name(name: &str) -> Option<&'static dyn Source> {
    ALL.iter().copied().find(|s| s.name() == name)
}
