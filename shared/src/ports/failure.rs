//! Whether a failed call to a queue or store can succeed later: the line between answering a
//! sender 503 (retry) and keeping the event some other way or raising an alarm.

/// Whether retrying a failed call later can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Throttling, 5xx, timeouts, connection failures: the sender is asked to retry.
    Transient,
    /// Refused for a reason a retry does not change (no such queue or bucket, access denied, a
    /// KMS key that cannot be used, invalid input).
    Permanent,
}

impl Failure {
    /// The word logs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Permanent => "permanent",
        }
    }
}

/// A failed call to a store (idempotency table, payload bucket): its class and, for logs, what
/// went wrong (never the data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct StoreError {
    pub failure: Failure,
    pub detail: String,
}

impl StoreError {
    pub fn transient(detail: impl Into<String>) -> Self {
        Self {
            failure: Failure::Transient,
            detail: detail.into(),
        }
    }

    pub fn permanent(detail: impl Into<String>) -> Self {
        Self {
            failure: Failure::Permanent,
            detail: detail.into(),
        }
    }
}
