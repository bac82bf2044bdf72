//! Framework-neutral HTTP replies, and the one place failures become `application/problem+json`.

use serde::Serialize;

use crate::normalize::NormalizeError;
use crate::verify::VerifyError;

/// An HTTP response before it is turned into a Lambda or hyper response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(status: u16, body: String) -> Self {
        Self {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8".into())],
            body: body.into_bytes(),
        }
    }

    pub fn json(status: u16, body: &impl Serialize) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: serde_json::to_vec(body).expect("reply bodies always serialize"),
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
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("only POST is accepted here")]
    MethodNotAllowed,
    #[error("the body is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
    #[error("the queue did not accept the event; retry later")]
    QueueUnavailable,
    #[error("there is no webhook endpoint here; POST to /webhooks/<source>: {0}")]
    NotFound(String),
}

/// Base of the problem `type` URIs; each is documented in the README.
pub const PROBLEM_BASE: &str = "urn:inlet:problem:";

/// Seconds a sender is asked to wait after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 30;

impl Rejection {
    /// HTTP status and the stable problem slug.
    pub fn status_and_slug(&self) -> (u16, &'static str) {
        match self {
            Self::MethodNotAllowed => (405, "method-not-allowed"),
            Self::PayloadTooLarge { .. } => (413, "payload-too-large"),
            Self::Verify(e) => match e {
                VerifyError::MissingSignature { .. } => (401, "missing-signature"),
                VerifyError::MalformedSignature { .. } | VerifyError::SignatureMismatch { .. } => {
                    (401, "invalid-signature")
                }
                VerifyError::MissingHeader { .. } => (400, "missing-header"),
                VerifyError::DuplicateHeader { .. } => (400, "duplicate-header"),
                VerifyError::InvalidTimestamp { .. } => (400, "invalid-timestamp"),
                VerifyError::TimestampOutsideTolerance { .. } => {
                    (400, "timestamp-out-of-tolerance")
                }
            },
            Self::Normalize(e) => match e {
                NormalizeError::UnsupportedMediaType(..) => (415, "unsupported-media-type"),
                NormalizeError::InvalidJson(_) => (400, "invalid-json"),
                NormalizeError::InvalidForm(_) => (400, "invalid-form"),
                NormalizeError::MissingField(_) => (400, "missing-field"),
                NormalizeError::MissingHeader(_) => (400, "missing-header"),
            },
            Self::QueueUnavailable => (503, "queue-unavailable"),
            Self::NotFound(_) => (404, "not-found"),
        }
    }

    /// The problem+json reply. The detail is the error's own message, which never holds a secret
    /// or an expected signature.
    pub fn to_reply(&self) -> Reply {
        let (status, slug) = self.status_and_slug();
        let title = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        let body = serde_json::json!({
            "type": format!("{PROBLEM_BASE}{slug}"),
            "title": title,
            "status": status,
            "detail": self.to_string(),
        });
        let mut reply = Reply::json(status, &body);
        reply.headers = vec![("content-type", "application/problem+json".into())];
        match self {
            Self::MethodNotAllowed => reply.headers.push(("allow", "POST".into())),
            Self::QueueUnavailable => reply
                .headers
                .push(("retry-after", RETRY_AFTER_SECONDS.to_string())),
            _ => {}
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_have_stable_types_and_extra_headers() {
        let r = Rejection::MethodNotAllowed.to_reply();
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
}
