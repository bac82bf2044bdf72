//! In-memory queue for unit tests of the pipeline; integration tests use a real SQS server.

use std::sync::Mutex;

use super::{Message, Queue, QueueError};

/// Keeps messages in a vector; can be told to fail.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<Message>>,
    failing: bool,
}

impl MemoryQueue {
    /// A queue that rejects every message, to test the 503 path.
    pub fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    pub fn messages(&self) -> Vec<Message> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Queue for MemoryQueue {
    async fn send(&self, message: &Message) -> Result<String, QueueError> {
        if self.failing {
            return Err(QueueError("memory queue set to fail".into()));
        }
        let mut messages = self
            .messages
            .lock()
            .map_err(|_| QueueError("poisoned".into()))?;
        messages.push(message.clone());
        Ok(format!("memory-{}", messages.len()))
    }
}
