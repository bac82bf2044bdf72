//! Framework-neutral HTTP replies, and the one place failures become `application/problem+json`.

use serde::Serialize;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::core::envelope::NormalizeError;
use crate::core::event::{ApiResponse, EventError};
use crate::core::request::VerifyError;

/// An HTTP response before it is turned into a Lambda or hyper response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Every reply with a body says `X-Content-Type-Options: nosniff`: handshakes echo a caller's
/// bytes (Meta's and Dropbox's challenges, Graph's validation token), which a browser must never
/// read as anything but the declared type.
const NOSNIFF: (&str, &str) = ("x-content-type-options", "nosniff");

impl Reply {
    pub fn text(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "text/plain; charset=utf-8".into()),
                (NOSNIFF.0, NOSNIFF.1.into()),
            ],
            body: body.into_bytes(),
        }
    }

    /// A status with no body (handshakes that want only the status).
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn json(status: u16, body: &impl Serialize) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type", "application/json".into()),
                (NOSNIFF.0, NOSNIFF.1.into()),
            ],
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// The value of a header, if set.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every way a request can fail. Each maps to one status and one stable problem type.
/// `Display` is the precise reason, for logs; [`Rejection::to_reply`] shows an unauthenticated
/// caller nothing beyond "not verified".
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("this endpoint accepts only {0}")]
    MethodNotAllowed(String),
    #[error("the handshake's verify token is not the one configured")]
    HandshakeRefused,
    #[error("the body is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error("the event's envelope would be {size} bytes; the queue takes at most {limit} bytes per message and no payload bucket is configured for larger ones")]
    EventTooLarge { size: usize, limit: usize },
    #[error(transparent)]
    InvalidEvent(#[from] EventError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
    #[error("the event could not be queued in time; retry later")]
    QueueUnavailable,
    #[error("this delivery is being queued by another request right now; retry later")]
    DeliveryInProgress,
    #[error("the signing secrets could not be re-read in time to check this request; retry later")]
    VerificationUnavailable,
    /// A sender's published key (SNS's certificate, PayPal's, Plaid's JWK) could not be fetched
    /// in time: the same 503 as a secret that could not be read, never an accept.
    #[error(
        "the sender's signing key could not be fetched in time to check this request; retry later"
    )]
    KeyUnavailable,
    #[error("the queue refused the event and it could not be kept; the operator has been alerted")]
    QueueRejected,
    #[error("there is no webhook endpoint here; POST to /webhooks/<source>: {0}")]
    NotFound(String),
    #[error("the request was not received within the local server's read timeout")]
    RequestTimeout,
}

/// Base of the problem `type` URIs; each is documented in docs/src/responses.md.
pub const PROBLEM_BASE: &str = "urn:inlet:problem:";

/// Seconds a sender is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// The one thing an unauthenticated caller is told.
const NOT_VERIFIED: &str = "the request's signature could not be verified";

impl Rejection {
    /// What a request refused this way came to: 5xx failed (Inlet could not keep it), the rest
    /// rejected.
    pub fn verdict(&self) -> crate::core::outcome::Verdict {
        let (status, problem) = self.status_and_slug();
        if status >= 500 {
            crate::core::outcome::Verdict::Failed { status, problem }
        } else {
            crate::core::outcome::Verdict::Rejected { status, problem }
        }
    }

    /// HTTP status and the stable problem slug.
    pub fn status_and_slug(&self) -> (u16, &'static str) {
        match self {
            Self::MethodNotAllowed(_) => (405, "method-not-allowed"),
            Self::HandshakeRefused => (403, "handshake-refused"),
            Self::PayloadTooLarge { .. } | Self::EventTooLarge { .. } => (413, "payload-too-large"),
            Self::InvalidEvent(_) => (400, "invalid-event"),
            Self::Verify(e) if e.is_unauthenticated() => (401, "invalid-signature"),
            Self::Verify(_) => (400, "timestamp-out-of-tolerance"),
            Self::Normalize(e) => match e {
                NormalizeError::UnsupportedMediaType(..) => (415, "unsupported-media-type"),
                NormalizeError::InvalidJson { .. } | NormalizeError::NotAnEvent => {
                    (400, "invalid-json")
                }
                NormalizeError::JsonTooDeep => (400, "json-too-deep"),
                NormalizeError::InvalidForm(_) => (400, "invalid-form"),
                NormalizeError::MissingField(_) => (400, "missing-field"),
                NormalizeError::InvalidField { .. } => (400, "invalid-field"),
                NormalizeError::MissingHeader(_) => (400, "missing-header"),
                NormalizeError::DuplicateHeader(_) => (400, "duplicate-header"),
                NormalizeError::TooManyEvents { .. } => (413, "payload-too-large"),
            },
            Self::QueueUnavailable => (503, "queue-unavailable"),
            Self::DeliveryInProgress => (503, "delivery-in-progress"),
            Self::VerificationUnavailable | Self::KeyUnavailable => {
                (503, "verification-unavailable")
            }
            Self::QueueRejected => (500, "queue-rejected"),
            Self::NotFound(_) => (404, "not-found"),
            Self::RequestTimeout => (408, "request-timeout"),
        }
    }

    /// The problem+json reply. The detail never holds a secret, an expected signature or body
    /// content, and for an unauthenticated caller it says only that the request is not verified.
    pub fn to_reply(&self) -> Reply {
        let (status, slug) = self.status_and_slug();
        let title = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        let detail = match self {
            Self::Verify(e) if e.is_unauthenticated() => NOT_VERIFIED.to_owned(),
            other => other.to_string(),
        };
        let body = serde_json::json!({
            "type": format!("{PROBLEM_BASE}{slug}"),
            "title": title,
            "status": status,
            "detail": detail,
        });
        let mut reply = Reply::json(status, &body);
        reply.headers = vec![
            ("content-type", "application/problem+json".into()),
            (NOSNIFF.0, NOSNIFF.1.into()),
        ];
        match self {
            Self::MethodNotAllowed(allow) => reply.headers.push(("allow", allow.clone())),
            Self::QueueUnavailable
            | Self::DeliveryInProgress
            | Self::VerificationUnavailable
            | Self::KeyUnavailable => reply
                .headers
                .push(("retry-after", RETRY_AFTER_SECONDS.to_string())),
            _ => {}
        }
        reply
    }
}

impl From<Reply> for ApiResponse {
    /// Text bodies stay text, so API Gateway does not re-encode them; anything else is base64.
    fn from(reply: Reply) -> Self {
        let headers = reply.headers.into_iter().collect();
        let (body, is_base64_encoded) = match String::from_utf8(reply.body) {
            Ok(text) => (text, false),
            Err(e) => (B64.encode(e.as_bytes()), true),
        };
        Self {
            status_code: reply.status,
            headers,
            body,
            is_base64_encoded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_have_stable_types_and_extra_headers() {
        let r = Rejection::MethodNotAllowed("POST".into()).to_reply();
        assert_eq!(r.status, 405);
        assert_eq!(r.header("Allow"), Some("POST"));
        assert_eq!(r.header("content-type"), Some("application/problem+json"));
        let r = Rejection::QueueUnavailable.to_reply();
        assert_eq!((r.status, r.header("retry-after")), (503, Some("30")));
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(body["type"], "urn:inlet:problem:queue-unavailable");
        assert_eq!(body["status"], 503);
        let r = Rejection::Verify(VerifyError::SignatureMismatch {
            header: "x-hub-signature-256",
        })
        .to_reply();
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(
            (r.status, body["type"].as_str()),
            (401, Some("urn:inlet:problem:invalid-signature"))
        );
    }

    #[test]
    fn unauthenticated_callers_learn_only_not_verified() {
        let cases = [
            VerifyError::MissingSignature { header: "x-a" },
            VerifyError::MissingHeader {
                header: "webhook-id",
            },
            VerifyError::DuplicateHeader { header: "x-b" },
            VerifyError::InvalidTimestamp { header: "x-c" },
            VerifyError::MalformedSignature { header: "x-d" },
        ];
        for e in cases {
            let logged = e.to_string();
            let r = Rejection::Verify(e).to_reply();
            let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
            assert_eq!(r.status, 401, "{logged}");
            assert_eq!(body["detail"], NOT_VERIFIED);
            assert_eq!(body["type"], "urn:inlet:problem:invalid-signature");
        }
        let stale = Rejection::Verify(VerifyError::TimestampOutsideTolerance {
            skew_seconds: 301,
            tolerance_seconds: 300,
        });
        assert_eq!(stale.status_and_slug(), (400, "timestamp-out-of-tolerance"));
    }

    #[test]
    fn replies_become_proxy_responses() {
        let challenge = "chal";
        let text = ApiResponse::from(Reply::text(200, challenge.into()));
        assert_eq!(
            (text.status_code, text.body.as_str(), text.is_base64_encoded),
            (200, challenge, false)
        );
        let mut binary = Reply::text(200, String::new());
        binary.body = vec![0xff, 0x00];
        let binary = ApiResponse::from(binary);
        assert_eq!(
            (binary.body.as_str(), binary.is_base64_encoded),
            ("/wA=", true)
        );
    }
}
