//! Where envelopes go: the `Queue` port, with SQS (production), a spool directory (local dev)
//! and an in-memory fake (unit tests).

mod memory;

use std::future::Future;

pub use memory::MemoryQueue;

use crate::core::envelope::Envelope;
use crate::ports::failure::Failure;

/// One message, made only from an envelope (and so only from a verified request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The envelope id.
    pub id: String,
    /// The FIFO de-duplication id: the idempotency key, or the envelope id (unique) for a
    /// delivery nothing recognises duplicates of.
    pub key: String,
    /// Envelope `source`, also a message attribute.
    pub source: String,
    /// Envelope `type`, also a message attribute.
    pub event_type: String,
    /// FIFO message group: the envelope subject when there is one (events about one repository,
    /// customer or channel stay in order), else the source.
    pub group: String,
    /// The envelope as JSON in SQS's character set.
    pub body: String,
}

/// The names of the message attributes, whose bytes count towards a message's size.
pub const ATTRIBUTES: [&str; 2] = ["source", "type"];
/// The data type of both attributes.
const ATTRIBUTE_TYPE: &str = "String";

impl Message {
    /// The size SQS counts against its limit: the body plus each attribute's name, data type and value.
    pub fn size(&self) -> usize {
        let attributes: usize = ATTRIBUTES
            .iter()
            .zip([&self.source, &self.event_type])
            .map(|(name, value)| name.len() + ATTRIBUTE_TYPE.len() + value.len())
            .sum();
        self.body.len() + attributes
    }
}

impl From<&Envelope<'_>> for Message {
    fn from(e: &Envelope) -> Self {
        Self {
            id: e.id().to_owned(),
            key: e.key().unwrap_or(e.id()).to_owned(),
            source: e.source().to_owned(),
            event_type: e.event_type().to_owned(),
            group: e.subject().unwrap_or(e.source()).to_owned(),
            body: e.encode(),
        }
    }
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct QueueError {
    /// Whether a later attempt can succeed.
    pub failure: Failure,
    /// The queue refused the message for its size (its limit changed since start-up).
    pub too_large: bool,
    /// For logs: what went wrong, never the message.
    pub detail: String,
}

impl QueueError {
    pub fn transient(detail: impl Into<String>) -> Self {
        Self {
            failure: Failure::Transient,
            too_large: false,
            detail: detail.into(),
        }
    }

    pub fn permanent(detail: impl Into<String>) -> Self {
        Self {
            failure: Failure::Permanent,
            too_large: false,
            detail: detail.into(),
        }
    }
}

/// Sends one message; `Ok` only once the queue has acknowledged it.
pub trait Queue: Send + Sync {
    /// The largest message (body and attributes, see [`Message::size`]) the queue takes.
    fn max_message_bytes(&self) -> usize;

    /// Returns the queue's id for the stored message. The message is handed over, so its body
    /// (up to the queue's size limit) is not copied again on its way out.
    fn send(&self, message: Message) -> impl Future<Output = Result<String, QueueError>> + Send;

    /// Whether the queue keeps the order messages are sent in (SQS FIFO, within a message group):
    /// the batches of one delivery are then sent one after another, not several at once.
    fn ordered(&self) -> bool {
        false
    }

    /// How many messages [`Queue::send_batch`] takes at once, and how many bytes (by
    /// [`Message::size`]) they may add up to.
    fn batch_limits(&self) -> (usize, usize) {
        (
            MAX_BATCH_MESSAGES,
            self.max_message_bytes().min(MAX_BATCH_BYTES),
        )
    }

    /// Sends messages within [`Queue::batch_limits`]: one result per message, in order, each
    /// `Ok` only once the queue has that message. One at a time, unless the queue does better.
    fn send_batch(
        &self,
        messages: Vec<Message>,
    ) -> impl Future<Output = Vec<Result<String, QueueError>>> + Send {
        async move {
            let mut results = Vec::with_capacity(messages.len());
            for message in messages {
                results.push(self.send(message).await);
            }
            results
        }
    }
}

/// SQS's `SendMessageBatch`: at most ten messages…
pub const MAX_BATCH_MESSAGES: usize = 10;
/// …adding up to at most 1 MiB (and to no more than one message may be).
pub const MAX_BATCH_BYTES: usize = 1_048_576;
