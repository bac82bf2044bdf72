//! Where envelopes go: the `Queue` port, with SQS (production), a spool directory (local dev)
//! and an in-memory fake (unit tests).

mod memory;
mod spool;
mod sqs;

use std::future::Future;

pub use memory::MemoryQueue;
pub use spool::SpoolQueue;
pub use sqs::{aws_config, SqsQueue};

use crate::normalize::Envelope;

/// One message, made only from an envelope (and so only from a verified request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The envelope id: the de-duplication key.
    pub id: String,
    /// Envelope `source`, also a message attribute.
    pub source: String,
    /// Envelope `type`, also a message attribute.
    pub event_type: String,
    /// FIFO message group: the envelope subject when there is one (events about one repository,
    /// customer or channel stay in order), else the source.
    pub group: String,
    /// The envelope as JSON.
    pub body: String,
}

impl From<&Envelope> for Message {
    fn from(e: &Envelope) -> Self {
        Self {
            id: e.id().to_owned(),
            source: e.source().to_owned(),
            event_type: e.event_type().to_owned(),
            group: e.subject().unwrap_or(e.source()).to_owned(),
            body: e.to_json(),
        }
    }
}

/// Why a message was not accepted; the pipeline answers 503 so the sender retries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueueError(pub String);

/// Sends one message; `Ok` only once the queue has acknowledged it.
pub trait Queue: Send + Sync {
    /// Returns the queue's id for the stored message.
    fn send(&self, message: &Message) -> impl Future<Output = Result<String, QueueError>> + Send;
}

/// Either real backend, chosen at start-up (the local server uses SQS when given a queue URL).
#[derive(Debug)]
pub enum AnyQueue {
    Sqs(SqsQueue),
    Spool(SpoolQueue),
}

impl Queue for AnyQueue {
    async fn send(&self, message: &Message) -> Result<String, QueueError> {
        match self {
            Self::Sqs(q) => q.send(message).await,
            Self::Spool(q) => q.send(message).await,
        }
    }
}
