//! In-memory queue for unit tests of the pipeline; integration tests use a real SQS server.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::ports::queue::{Message, Queue, QueueError};

/// Keeps messages in a vector; can be given a size limit and failures to answer with.
#[derive(Debug)]
pub struct MemoryQueue {
    messages: Mutex<Vec<Message>>,
    failures: Mutex<VecDeque<QueueError>>,
    always_fail: Option<QueueError>,
    max_message_bytes: usize,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self {
            messages: Mutex::default(),
            failures: Mutex::default(),
            always_fail: None,
            max_message_bytes: 262_144,
        }
    }
}

impl MemoryQueue {
    /// A queue that rejects every message with `error`.
    pub fn failing(error: QueueError) -> Self {
        Self {
            always_fail: Some(error),
            ..Self::default()
        }
    }

    /// A queue that takes messages up to `bytes` (see [`Message::size`]).
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// The next sends fail with these errors, in order; later ones succeed.
    pub fn fail_next(self, errors: impl IntoIterator<Item = QueueError>) -> Self {
        if let Ok(mut f) = self.failures.lock() {
            f.extend(errors);
        }
        self
    }

    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Queue for MemoryQueue {
    fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        if let Some(e) = &self.always_fail {
            return Err(e.clone());
        }
        if let Some(e) = self.failures.lock().ok().and_then(|mut f| f.pop_front()) {
            return Err(e);
        }
        if message.size() > self.max_message_bytes {
            return Err(QueueError {
                too_large: true,
                ..QueueError::permanent("the message is over the queue's size limit")
            });
        }
        let mut messages = self
            .messages
            .lock()
            .map_err(|_| QueueError::transient("poisoned"))?;
        messages.push(message);
        Ok(format!("memory-{}", messages.len()))
    }
}
