//! Marks in a DynamoDB table (`IDEMPOTENCY_TABLE`): partition key `pk` (string), TTL on
//! `expires_at` (epoch seconds). Every step is one conditional write, so concurrent duplicates
//! on different Lambda instances race safely: exactly one claims the mark.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

use crate::adapters::aws::{classify, written};
use crate::ports::failure::StoreError;
use crate::ports::idempotency::{new_token, unix_millis, Begin, Claim, Done, Times};

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: Client,
    table: String,
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl DynamoDbStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_sdk(sdk: &crate::adapters::aws::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(sdk), table)
    }

    pub(crate) async fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        // A key deleted between a failed claim and the read that follows is claimed on the
        // second pass; a third is never needed.
        for _ in 0..2 {
            if let Some(claim) = self.try_claim(pk, times).await? {
                return Ok(Begin::Claimed(claim));
            }
            if let Some(state) = self.read(pk, times).await? {
                return Ok(state);
            }
        }
        Ok(Begin::InProgress)
    }

    /// Writes an in-progress mark unless a live one exists; `None` when one does.
    async fn try_claim(&self, pk: &str, times: Times) -> Result<Option<Claim>, StoreError> {
        let token = new_token();
        let now_ms = unix_millis(times.now);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("status", s(IN_PROGRESS))
            .item("lease_token", s(&token))
            .item("lease_until_ms", n(unix_millis(times.lease_until)))
            .item("expires_at", n(unix_millis(times.expires_at) / 1000))
            // Unless a live mark holds the key: one within the window (TTL deletes lazily) that is
            // done, or in progress under a lease that has not ended. A mark missing its expiry or
            // its lease (written by hand, or by something else) is not live: a comparison with an
            // absent attribute is false, so it can never block its key for good.
            .condition_expression(
                "attribute_not_exists(pk) OR NOT (expires_at > :now_s AND (#status = :completed \
                 OR (#status = :in_progress AND lease_until_ms > :now_ms)))",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now_s", n(now_ms / 1000))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":completed", s(COMPLETED))
            .send()
            .await;
        Ok(written(put)?.then(|| Claim {
            pk: pk.to_owned(),
            token,
        }))
    }

    /// The live mark for `pk`: done, or held by someone else; `None` when there is none.
    async fn read(&self, pk: &str, times: Times) -> Result<Option<Begin>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from(classify(&e)))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let number = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let now_ms = unix_millis(times.now);
        // The same liveness as `try_claim`'s condition: no expiry, or a past one, is no mark.
        if number("expires_at").is_none_or(|e| e <= now_ms / 1000) {
            return Ok(None);
        }
        if text("status").as_deref() == Some(COMPLETED) {
            return Ok(Some(Begin::Done(Done {
                message_id: text("message_id").unwrap_or_default(),
                id: text("event_id").unwrap_or_default(),
                event_type: text("event_type").unwrap_or_default(),
            })));
        }
        if text("status").as_deref() == Some(IN_PROGRESS)
            && number("lease_until_ms").is_some_and(|l| l > now_ms)
        {
            return Ok(Some(Begin::InProgress));
        }
        Ok(None)
    }

    pub(crate) async fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&claim.pk))
            .update_expression(
                "SET #status = :completed, message_id = :message_id, event_id = :event_id, \
                 event_type = :event_type REMOVE lease_until_ms",
            )
            .condition_expression("lease_token = :token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":message_id", s(&done.message_id))
            .expression_attribute_values(":event_id", s(&done.id))
            .expression_attribute_values(":event_type", s(&done.event_type))
            .expression_attribute_values(":token", s(&claim.token))
            .send()
            .await;
        // Not written: the lease ended and another request took the mark over; it completes it.
        written(update).map(|_| ())
    }

    pub(crate) async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(&claim.pk))
            .condition_expression("lease_token = :token")
            .expression_attribute_values(":token", s(&claim.token))
            .send()
            .await;
        written(delete).map(|_| ())
    }
}
