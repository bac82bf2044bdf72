//! Delivery tasks on SQS, each with a record in the deliveries table that is the truth about it.
//!
//! **Record** (`pk` = `<endpoint id>/<event id>`, `sk` = `task`): `state` (`queuing` while fan-out
//! is between writing it and queueing its message, then `pending`, `delivered` or `parked`),
//! `attempt`, `due_at`, `created_at`, `endpoint_id`, `event_id`, `event_type`, and while a
//! delivery function holds it, `leased_until` and `lease_id` (the SQS message id). The body
//! travels in the messages, and joins the record (`body`, the task's [`Body`] as JSON) only when
//! the task is parked, so that it can be sent again: a record without it stays under 1 KB, one
//! write unit for each of its four writes instead of two.
//!
//! **Messages** carry the task as JSON. A standard queue takes every endpoint's tasks; an
//! endpoint with ordered delivery has its tasks on the FIFO queue, in the message group named
//! after it, so SQS hands out one at a time and the next only after the previous is settled.
//!
//! **Waiting.** SQS delays a message by at most 15 minutes (`DelaySeconds`), and FIFO queues
//! delay only whole queues. On the standard queue a wait is a new message carrying the task,
//! delayed by up to 15 minutes; a message that arrives before its task is due is sent on again
//! the same way, so a 12-hour step costs 48 hops of three requests each (about $0.00006 at
//! $0.40 per million requests). Nothing waits in flight: SQS's limit of 120,000 in-flight messages
//! per standard queue can never stop new deliveries however many endpoints are failing. On the
//! FIFO queue the message must keep its place in its group, so a wait is
//! `ChangeMessageVisibility` (at most 12 hours at a time, extended again if it comes back early)
//! and the message is reported to Lambda as not processed; FIFO's in-flight limit (20,000) is
//! then a limit on ordered endpoints that are waiting at once, one message each.
//!
//! **Exactly one attempt at a time.** Every message carries the attempt it is for; the function
//! claims the record with a conditional write (pending, that attempt, no other live lease), so a
//! copy SQS delivers twice, or a hop that crossed a retry, is dropped instead of sent again.

use aws_sdk_dynamodb::types::AttributeValue;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::{info, warn};

use super::model::{Body, Millis, State, Task};
use super::ports::{Settle, Tasks};
use crate::adapters::aws::{classify, written};
use crate::ports::failure::StoreError;

/// The longest `DelaySeconds` SQS takes.
const MAX_DELAY_SECONDS: i64 = 900;
/// The longest visibility timeout SQS takes.
const MAX_VISIBILITY_SECONDS: i64 = 43_200;
/// A task left `queuing` this long was abandoned by a fan-out that stopped between writing its
/// record and queueing its message: the next fan-out of the event queues it.
const ABANDONED_AFTER: Millis = 60_000;
/// Sort key of a task record.
const TASK_SK: &str = "task";

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Which SQS message a task came in, and whether it must stay on the queue.
#[derive(Debug)]
pub struct Lease {
    pub message_id: String,
    pub receipt_handle: String,
    pub fifo: bool,
    kept: AtomicBool,
}

impl Lease {
    pub fn new(message_id: String, receipt_handle: String, fifo: bool) -> Self {
        Self {
            message_id,
            receipt_handle,
            fifo,
            kept: AtomicBool::new(false),
        }
    }

    /// Whether the message must be reported to Lambda as not processed (it stays on the queue).
    pub fn kept(&self) -> bool {
        self.kept.load(Ordering::Relaxed)
    }

    fn keep(&self) {
        self.kept.store(true, Ordering::Relaxed);
    }
}

/// A task record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub state: String,
    pub attempt: u32,
    pub due_at: Millis,
    pub created_at: Millis,
    pub leased_until: Option<Millis>,
    pub lease_id: Option<String>,
    pub parked_reason: Option<String>,
    /// Whether `task.body` is the task's (a parked task's record keeps it); otherwise it is empty.
    pub has_body: bool,
    pub task: Task,
}

/// What a received message comes to.
#[derive(Debug)]
pub enum Received {
    /// Deliver it now: the record is claimed.
    Due(Task, Lease),
    /// Not due yet: sent on (standard) or made invisible until due (FIFO, the lease says kept).
    NotYet(Lease),
    /// Nothing to do: settled, dropped, a stale copy, or another copy holds it.
    Done(&'static str),
}

/// Tasks on SQS with their records in DynamoDB.
#[derive(Debug, Clone)]
pub struct SqsTasks {
    sqs: aws_sdk_sqs::Client,
    dynamo: aws_sdk_dynamodb::Client,
    table: String,
    queue_url: String,
    fifo_queue_url: Option<String>,
    /// How long a claim holds a record: longer than a delivery can take.
    lease_ms: Millis,
    /// Where a parked task is written with its attempts (`PAYLOAD_BUCKET`), as the receivers
    /// park envelopes: the attempt log expires, the parked object stays.
    parking: Option<(aws_sdk_s3::Client, String)>,
}

impl SqsTasks {
    pub fn new(
        sqs: aws_sdk_sqs::Client,
        dynamo: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        queue_url: impl Into<String>,
        fifo_queue_url: Option<String>,
        lease_ms: Millis,
    ) -> Self {
        Self {
            sqs,
            dynamo,
            table: table.into(),
            queue_url: queue_url.into(),
            fifo_queue_url,
            lease_ms,
            parking: None,
        }
    }

    /// Parks tasks whose schedule ran out in `bucket`, with their attempts.
    pub fn with_parking(mut self, s3: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        self.parking = Some((s3, bucket.into()));
        self
    }

    /// Writes `outbound/parked/<endpoint id>/<event id digest>.json`: the task, why it was parked
    /// and every attempt the log still holds.
    async fn park(&self, task: &Task, reason: &str) -> Result<(), StoreError> {
        let Some((s3, bucket)) = &self.parking else {
            return Ok(());
        };
        let attempts = self
            .dynamo
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :attempt)")
            .expression_attribute_values(":pk", s(task.key()))
            .expression_attribute_values(":attempt", s("attempt#"))
            .send()
            .await
            .map_err(|e| StoreError::from(classify(&e)))?;
        let attempts: Vec<serde_json::Value> = attempts
            .items()
            .iter()
            .map(|item| {
                item.iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "pk" | "sk" | "expires_at"))
                    .map(|(k, v)| {
                        let value = match v {
                            AttributeValue::S(t) => serde_json::Value::from(t.as_str()),
                            AttributeValue::N(t) => t
                                .parse::<i64>()
                                .map_or(serde_json::Value::Null, serde_json::Value::from),
                            _ => serde_json::Value::Null,
                        };
                        (k.clone(), value)
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect();
        let object = serde_json::json!({ "task": task, "reason": reason, "attempts": attempts });
        let key = format!(
            "outbound/parked/{}/{}.json",
            task.endpoint_id,
            hex::encode(Sha256::digest(task.event_id.as_bytes()))
        );
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(object.to_string().into_bytes().into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e).into())
    }

    fn key(task_key: &str) -> std::collections::HashMap<String, AttributeValue> {
        [
            ("pk".to_owned(), s(task_key)),
            ("sk".to_owned(), s(TASK_SK)),
        ]
        .into()
    }

    /// Queues a message for `task`, delayed until its due time (standard queue, at most 15 min).
    async fn enqueue(&self, task: &Task, now: Millis) -> Result<(), StoreError> {
        let body = serde_json::to_string(task)
            .map_err(|_| StoreError::permanent("a task could not be written as JSON"))?;
        let request = if task.ordered {
            let url = self.fifo_queue_url.as_deref().ok_or_else(|| {
                StoreError::permanent(
                    "an endpoint wants ordered delivery but no ordered (FIFO) queue is configured",
                )
            })?;
            // The de-duplication id is the task and its attempt: SQS drops a second send of the
            // same step within 5 minutes, never a later one.
            let dedup = hex::encode(Sha256::digest(
                format!("{}#{}#{}", task.key(), task.attempt, task.due_at).as_bytes(),
            ));
            self.sqs
                .send_message()
                .queue_url(url)
                .message_group_id(&task.endpoint_id)
                .message_deduplication_id(dedup)
        } else {
            let delay = (task.due_at - now)
                .div_euclid(1000)
                .clamp(0, MAX_DELAY_SECONDS);
            self.sqs
                .send_message()
                .queue_url(&self.queue_url)
                .delay_seconds(i32::try_from(delay).unwrap_or(0))
        };
        request
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e).into())
    }

    async fn record(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let out = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::from(classify(&e)))?;
        Ok(out.item().and_then(parse_record))
    }

    /// Reads an SQS message of the delivery queue and claims its task when it is due.
    pub async fn receive(
        &self,
        message_id: &str,
        receipt_handle: &str,
        body: &str,
        fifo: bool,
        now: Millis,
    ) -> Result<Received, StoreError> {
        let lease = Lease::new(message_id.to_owned(), receipt_handle.to_owned(), fifo);
        let Ok(sent) = serde_json::from_str::<Task>(body) else {
            // Only Inlet writes this queue: an unreadable message cannot become a delivery.
            warn!(
                message_id,
                "a delivery-queue message is not a task; dropped"
            );
            return Ok(Received::Done("unreadable"));
        };
        let Some(record) = self.record(&sent.key()).await? else {
            return Ok(Received::Done("no-record"));
        };
        match record.state.as_str() {
            "pending" | "queuing" => {}
            _ => return Ok(Received::Done("settled")),
        }
        // A FIFO message keeps its first body while its record moves on; a standard one is
        // re-sent for every step, so an older step's copy is stale.
        if !fifo && sent.attempt != record.attempt {
            return Ok(Received::Done("stale"));
        }
        // The body is the message's; where the task stands is the record's.
        let mut task = sent;
        task.attempt = record.attempt;
        task.due_at = record.due_at;
        if task.due_at > now + 1_000 {
            self.wait(&task, &lease, task.due_at, now).await?;
            return Ok(Received::NotYet(lease));
        }
        let claimed = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&task.key())))
            .update_expression("SET leased_until = :until, lease_id = :id, #state = :pending")
            .condition_expression(
                "attribute_exists(pk) AND #state IN (:pending, :queuing) AND attempt = :attempt \
                 AND (attribute_not_exists(leased_until) OR leased_until <= :now OR lease_id = :id)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":until", n(now + self.lease_ms))
            .expression_attribute_values(":id", s(message_id))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":queuing", s("queuing"))
            .expression_attribute_values(":attempt", n(record.attempt))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match written(claimed)? {
            true => Ok(Received::Due(task, lease)),
            false if fifo => {
                // Another invocation holds it (a FIFO message is only redelivered once its
                // visibility ends): look again once that lease has ended.
                self.wait(&task, &lease, now + self.lease_ms, now).await?;
                Ok(Received::NotYet(lease))
            }
            false => Ok(Received::Done("held")),
        }
    }

    /// Has the task looked at again at `until`.
    async fn wait(
        &self,
        task: &Task,
        lease: &Lease,
        until: Millis,
        now: Millis,
    ) -> Result<(), StoreError> {
        if lease.fifo {
            let seconds = (until - now)
                .div_euclid(1000)
                .clamp(1, MAX_VISIBILITY_SECONDS);
            let url = self.fifo_queue_url.as_deref().unwrap_or(&self.queue_url);
            self.sqs
                .change_message_visibility()
                .queue_url(url)
                .receipt_handle(&lease.receipt_handle)
                .visibility_timeout(i32::try_from(seconds).unwrap_or(1))
                .send()
                .await
                .map_err(|e| StoreError::from(classify(&e)))?;
            lease.keep();
            Ok(())
        } else {
            let mut hop = task.clone();
            hop.due_at = until;
            self.enqueue(&hop, now).await
        }
    }

    /// Makes a message of the ordered (FIFO) queue visible again at once: one a batch did not
    /// reach because an earlier message of its group stays on the queue. SQS hands out nothing more
    /// of a group while one of its messages is in flight, and then the earliest first, so the group
    /// keeps its order; left alone, the message would wait out the queue's visibility timeout (six
    /// times the function's) behind a retry due in seconds.
    pub async fn release(&self, receipt_handle: &str) -> Result<(), StoreError> {
        let Some(url) = self.fifo_queue_url.as_deref() else {
            return Ok(());
        };
        self.sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(&e).into())
    }

    async fn update(
        &self,
        task: &Task,
        expression: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<(), StoreError> {
        let mut request = self
            .dynamo
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(&task.key())))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)");
        // DynamoDB refuses a name the expressions do not use (ValidationException).
        if expression.contains("#state") {
            request = request.expression_attribute_names("#state", "state");
        }
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        written(request.send().await).map(|_| ())
    }

    /// Parked tasks created since `since`, for `inlet deliveries replay`; and any tasks by key.
    pub async fn requeue(&self, keys: &[String], now: Millis) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in keys {
            let Some(record) = self.record(key).await? else {
                continue;
            };
            if record.state != "parked" || !record.has_body {
                continue;
            }
            let mut task = record.task;
            task.attempt = 1;
            task.due_at = now;
            self.update(
                &task,
                "SET #state = :pending, attempt = :one, due_at = :now REMOVE leased_until, lease_id, parked_reason",
                vec![(":pending", s("pending")), (":one", n(1)), (":now", n(now))],
            )
            .await?;
            self.enqueue(&task, now).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Every task record, newest first (a Scan: for the CLI, not the request path).
    pub async fn list(&self) -> Result<Vec<Record>, StoreError> {
        let mut records: Vec<Record> = super::dynamodb::scan_all(
            &self.dynamo,
            &self.table,
            "sk = :v",
            s(TASK_SK),
            "DynamoDB Scan of the deliveries table",
        )
        .await?
        .iter()
        .filter_map(parse_record)
        .collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(records)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Record>, StoreError> {
        self.record(key).await
    }
}

fn parse_record(item: &std::collections::HashMap<String, AttributeValue>) -> Option<Record> {
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let number = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    };
    // Only a parked task's record keeps its body.
    let body: Option<Body> = text("body").and_then(|b| serde_json::from_str(&b).ok());
    let attempt = u32::try_from(number("attempt")?).ok()?;
    let due_at = number("due_at")?;
    let created_at = number("created_at")?;
    Some(Record {
        state: text("state")?,
        attempt,
        due_at,
        created_at,
        leased_until: number("leased_until"),
        lease_id: text("lease_id"),
        parked_reason: text("parked_reason"),
        has_body: body.is_some(),
        task: Task {
            event_id: text("event_id")?,
            event_type: text("event_type")?,
            endpoint_id: text("endpoint_id")?,
            attempt,
            created_at,
            due_at,
            body: body.unwrap_or(Body::Inline(String::new())),
            ordered: item
                .get("ordered")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        },
    })
}

impl Record {
    pub fn state(&self) -> State {
        match self.state.as_str() {
            "delivered" => State::Delivered,
            "parked" => State::Parked,
            _ => State::Pending,
        }
    }
}

impl Tasks for SqsTasks {
    type Lease = Lease;

    async fn create(&self, task: &Task) -> Result<bool, StoreError> {
        let put = self
            .dynamo
            .put_item()
            .table_name(&self.table)
            .item("pk", s(task.key()))
            .item("sk", s(TASK_SK))
            .item("state", s("queuing"))
            .item("attempt", n(task.attempt))
            .item("due_at", n(task.due_at))
            .item("created_at", n(task.created_at))
            .item("endpoint_id", s(&task.endpoint_id))
            .item("event_id", s(&task.event_id))
            .item("event_type", s(&task.event_type))
            .item("ordered", AttributeValue::Bool(task.ordered))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        let created = written(put)?;
        if !created {
            // Queue it anyway if the fan-out that wrote it stopped before queueing it.
            match self.record(&task.key()).await? {
                Some(r)
                    if r.state == "queuing"
                        && task.created_at - r.created_at >= ABANDONED_AFTER =>
                {
                    info!(task = %task.key(), "queueing a task an earlier fan-out left unqueued");
                }
                _ => return Ok(false),
            }
        }
        self.enqueue(task, task.created_at).await?;
        self.update(
            task,
            "SET #state = :pending",
            vec![(":pending", s("pending"))],
        )
        .await?;
        Ok(created)
    }

    async fn state(&self, key: &str) -> Result<Option<State>, StoreError> {
        Ok(self.record(key).await?.map(|r| r.state()))
    }

    async fn settle(&self, task: &Task, lease: &Lease, settle: Settle) -> Result<(), StoreError> {
        let now = crate::outbound::model::now();
        match settle {
            Settle::Delivered => {
                self.update(
                    task,
                    "SET #state = :delivered REMOVE leased_until, lease_id",
                    vec![(":delivered", s("delivered"))],
                )
                .await
            }
            Settle::Parked { reason } => {
                self.park(task, reason).await?;
                let body = serde_json::to_string(&task.body).map_err(|_| {
                    StoreError::permanent("a task body could not be written as JSON")
                })?;
                self.update(
                    task,
                    "SET #state = :parked, parked_reason = :reason, body = :body \
                     REMOVE leased_until, lease_id",
                    vec![
                        (":parked", s("parked")),
                        (":reason", s(reason)),
                        (":body", s(body)),
                    ],
                )
                .await
            }
            Settle::Retry { attempt, due_at } => {
                let mut next = task.clone();
                next.attempt = attempt;
                next.due_at = due_at;
                // The next step's message first: were the record updated first and the send
                // then to fail, the redelivered message would be a stale step and the task lost.
                if !lease.fifo {
                    self.enqueue(&next, now).await?;
                }
                self.update(
                    &next,
                    "SET attempt = :attempt, due_at = :due REMOVE leased_until, lease_id",
                    vec![(":attempt", n(attempt)), (":due", n(due_at))],
                )
                .await?;
                if lease.fifo {
                    self.wait(&next, lease, due_at, now).await?;
                }
                Ok(())
            }
            Settle::Wait { until } => {
                let mut next = task.clone();
                next.due_at = until;
                if !lease.fifo {
                    self.enqueue(&next, now).await?;
                }
                self.update(
                    &next,
                    "SET due_at = :due REMOVE leased_until, lease_id",
                    vec![(":due", n(until))],
                )
                .await?;
                if lease.fifo {
                    self.wait(&next, lease, until, now).await?;
                }
                Ok(())
            }
            Settle::Dropped => self
                .dynamo
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(&task.key())))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify(&e).into()),
            Settle::Duplicate => Ok(()),
        }
    }
}
