//! Amazon SQS: the envelope as the message body, `source` and `type` as message attributes,
//! and for FIFO queues a message group and `MessageDeduplicationId` = the idempotency key.
//! The queue is checked once at start-up (`GetQueueAttributes`), which also tells its maximum
//! message size and whether it is FIFO, and opens the connection the first request will use.

use aws_sdk_sqs::operation::send_message::SendMessageError;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry};
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::adapters::aws::{classify, Failure};
use crate::ports::queue::{Message, Queue, QueueError};

/// FIFO ids may be at most 128 characters.
const FIFO_ID_MAX: usize = 128;

/// SQS's default maximum message size, assumed when the queue cannot be asked at start-up.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 262_144;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    fifo: bool,
    max_message_bytes: usize,
}

impl SqsQueue {
    /// A queue whose attributes are not asked for: FIFO by its name, the default size limit.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            client,
            fifo: url.ends_with(".fifo"),
            url,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Checks the queue exists and may be used, and reads its maximum message size. A queue
    /// that does not exist or may not be read is an error (the function refuses to start); a
    /// transient failure (endpoint down, throttled) is logged and the defaults are used, so the
    /// function still starts and answers 503 until the queue is back.
    pub async fn connect(
        sdk: &crate::adapters::aws::SdkConfig,
        url: impl Into<String>,
    ) -> Result<Self, String> {
        let mut queue = Self::new(aws_sdk_sqs::Client::new(sdk), url);
        let asked = queue
            .client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::MaximumMessageSize)
            .attribute_names(QueueAttributeName::FifoQueue)
            .send()
            .await;
        match asked {
            Ok(out) => {
                let attrs = out.attributes();
                if let Some(max) = attrs
                    .and_then(|a| a.get(&QueueAttributeName::MaximumMessageSize))
                    .and_then(|m| m.parse().ok())
                {
                    queue.max_message_bytes = max;
                }
                if let Some(fifo) = attrs.and_then(|a| a.get(&QueueAttributeName::FifoQueue)) {
                    queue.fifo = fifo == "true";
                }
                Ok(queue)
            }
            Err(e) => {
                let failure = classify(&e);
                match failure.failure {
                    Failure::Permanent => Err(format!(
                        "the queue cannot be used ({failure}); check that it exists and that the function may call sqs:GetQueueAttributes and sqs:SendMessage on it"
                    )),
                    Failure::Transient => {
                        warn!(error = %failure, max_message_bytes = queue.max_message_bytes, "could not read the queue's attributes at start-up; using defaults");
                        Ok(queue)
                    }
                }
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|_| QueueError::permanent("a message attribute could not be built"))
}

/// Ids longer than FIFO allows, or with characters it does not, are replaced by their SHA-256
/// (hex, 64 characters): still stable.
fn fifo_id(id: &str) -> String {
    if id.len() <= FIFO_ID_MAX && id.bytes().all(|b| b.is_ascii_graphic()) {
        id.to_owned()
    } else {
        hex::encode(Sha256::digest(id.as_bytes()))
    }
}

/// What SQS answers when a message is over the queue's size limit.
fn is_too_large(e: &SendMessageError, code: Option<&str>) -> bool {
    matches!(
        code,
        Some("MessageTooLong" | "AWS.SimpleQueueService.MessageTooLong")
    ) || (code == Some("InvalidParameterValue")
        && e.meta()
            .message()
            .is_some_and(|m| m.contains("shorter than")))
}

impl Queue for SqsQueue {
    fn max_message_bytes(&self) -> usize {
        self.max_message_bytes
    }

    fn ordered(&self) -> bool {
        self.fifo
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.body)
            .message_attributes("source", string_attribute(&message.source)?)
            .message_attributes("type", string_attribute(&message.event_type)?);
        if self.fifo {
            request = request
                .message_group_id(fifo_id(&message.group))
                .message_deduplication_id(fifo_id(&message.key));
        }
        match request.send().await {
            Ok(output) => Ok(output.message_id().unwrap_or_default().to_owned()),
            Err(e) => {
                let failure = classify(&e);
                let too_large = e
                    .as_service_error()
                    .is_some_and(|s| is_too_large(s, failure.code.as_deref()));
                Err(QueueError {
                    failure: failure.failure,
                    too_large,
                    detail: failure.detail,
                })
            }
        }
    }

    /// One `SendMessageBatch` call: each message's outcome as SQS reports it (a sender fault is
    /// permanent, anything else transient); a call that fails fails every message alike.
    async fn send_batch(&self, messages: Vec<Message>) -> Vec<Result<String, QueueError>> {
        let count = messages.len();
        let mut entries = Vec::with_capacity(count);
        for (i, message) in messages.into_iter().enumerate() {
            let entry = (|| {
                let mut entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(message.body)
                    .message_attributes("source", string_attribute(&message.source)?)
                    .message_attributes("type", string_attribute(&message.event_type)?);
                if self.fifo {
                    entry = entry
                        .message_group_id(fifo_id(&message.group))
                        .message_deduplication_id(fifo_id(&message.key));
                }
                entry
                    .build()
                    .map_err(|_| QueueError::permanent("a batch entry could not be built"))
            })();
            match entry {
                Ok(entry) => entries.push(entry),
                Err(e) => return (0..count).map(|_| Err(e.clone())).collect(),
            }
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await;
        match sent {
            Ok(output) => {
                let mut results: Vec<Result<String, QueueError>> = (0..count)
                    .map(|_| {
                        Err(QueueError::transient(
                            "SQS reported nothing for this message",
                        ))
                    })
                    .collect();
                let at = |id: &str| id.parse::<usize>().ok().filter(|i| *i < count);
                for ok in output.successful() {
                    if let Some(i) = at(ok.id()) {
                        results[i] = Ok(ok.message_id().to_owned());
                    }
                }
                for failed in output.failed() {
                    if let Some(i) = at(failed.id()) {
                        let code = failed.code();
                        results[i] = Err(QueueError {
                            failure: if failed.sender_fault() {
                                Failure::Permanent
                            } else {
                                Failure::Transient
                            },
                            too_large: code.contains("MessageTooLong"),
                            detail: format!("SQS refused it: {code}"),
                        });
                    }
                }
                results
            }
            Err(e) => {
                let failure = classify(&e);
                let error = QueueError {
                    failure: failure.failure,
                    too_large: false,
                    detail: failure.detail,
                };
                (0..count).map(|_| Err(error.clone())).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_ids_fit() {
        assert_eq!(fifo_id("evt_123"), "evt_123");
        assert_eq!(fifo_id(&"a".repeat(200)).len(), 64);
        assert_eq!(fifo_id("has space").len(), 64);
    }
}
