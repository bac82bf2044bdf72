//! Amazon SQS: the envelope as the message body, `source` and `type` as message attributes,
//! and for FIFO queues a message group and `MessageDeduplicationId` = envelope id.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use sha2::{Digest, Sha256};

use super::{Message, Queue, QueueError};

/// FIFO ids may be at most 128 characters.
const FIFO_ID_MAX: usize = 128;

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    fifo: bool,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            client,
            fifo: url.ends_with(".fifo"),
            url,
        }
    }

    /// A client from the standard AWS configuration chain; see [`aws_config`].
    pub async fn from_environment(url: impl Into<String>) -> Self {
        Self::new(aws_sdk_sqs::Client::new(&aws_config().await), url)
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
        .map_err(|e| QueueError(e.to_string()))
}

/// Ids longer than FIFO allows are replaced by their SHA-256 (hex, 64 characters): still stable.
fn fifo_id(id: &str) -> String {
    if id.len() <= FIFO_ID_MAX && id.bytes().all(|b| b.is_ascii_graphic()) {
        id.to_owned()
    } else {
        hex::encode(Sha256::digest(id.as_bytes()))
    }
}

/// The standard AWS configuration chain (region, credentials, and `AWS_ENDPOINT_URL` /
/// `AWS_ENDPOINT_URL_SQS` as the SDK reads them), with timeouts that leave room for a 503 inside
/// the function's own timeout (5 s in template.yaml).
pub async fn aws_config() -> aws_config::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_secs(3))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

impl Queue for SqsQueue {
    async fn send(&self, message: &Message) -> Result<String, QueueError> {
        let mut request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(&message.body)
            .message_attributes("source", string_attribute(&message.source)?)
            .message_attributes("type", string_attribute(&message.event_type)?);
        if self.fifo {
            request = request
                .message_group_id(fifo_id(&message.group))
                .message_deduplication_id(fifo_id(&message.id));
        }
        let output = request
            .send()
            .await
            .map_err(|e| QueueError(DisplayErrorContext(&e).to_string()))?;
        Ok(output.message_id().unwrap_or_default().to_owned())
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
