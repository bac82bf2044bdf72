//! The outbound Lambda functions, both fed by SQS event source mappings with partial batch
//! responses: **fan-out** reads the outbox queue and creates each event's delivery tasks;
//! **delivery** reads the delivery queues and makes each task's attempt. Configuration, the AWS
//! clients and the HTTP client are built once; anything missing or invalid stops the function
//! before it takes a message.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use lambda_runtime::{service_fn, LambdaEvent, Runtime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use super::deliver::{deliver, Policy, Ports};
use super::dynamodb::{DynamoAttempts, DynamoEndpoints};
use super::fanout::{fan_out, subscribers};
use super::model::{now, Body, Event};
use super::notices::QueueNotices;
use super::relay;
use super::schedule::unit;
use super::settings::Outbound;
use super::sqs::{Received, SqsTasks};
use super::telemetry;
use crate::adapters::aws::SqsQueue;
use crate::adapters::http::Client;
use crate::config::{ConfigError, Env, PAYLOAD_BUCKET, QUEUE_URL};
use crate::ports::failure::StoreError;

pub use lambda_runtime::Error;

/// The endpoints table.
pub const ENDPOINTS_TABLE: &str = "ENDPOINTS_TABLE";
/// The deliveries table: task records and the attempt log.
pub const DELIVERIES_TABLE: &str = "DELIVERIES_TABLE";
/// The standard delivery queue.
pub const DELIVERY_QUEUE_URL: &str = "DELIVERY_QUEUE_URL";
/// The FIFO queue of endpoints with ordered delivery.
pub const ORDERED_QUEUE_URL: &str = "ORDERED_QUEUE_URL";
/// The relay queue's ARN: only its messages may have a claim-checked body put back.
pub const RELAY_QUEUE_ARN: &str = "RELAY_QUEUE_ARN";
/// The KMS key endpoints' signing keys are encrypted under.
pub const ENDPOINT_KEYS_KEY_ID: &str = "ENDPOINT_KEYS_KEY_ID";
/// Bodies larger than this go to the payload bucket and the task carries a reference: a task
/// message stays far inside SQS's limit, and a task record inside DynamoDB's 400 KB.
pub const INLINE_BODY_MAX: usize = 200 * 1024;
/// Deliveries of one batch in flight at once (the event source mapping's batch is smaller).
const MAX_CONCURRENT_DELIVERIES: usize = 10;
/// How long a delivery holds a task record: longer than an attempt can take.
const LEASE_MS: i64 = 5 * 60_000;

/// An SQS event, as Lambda hands it over (the fields Inlet reads).
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    pub message_id: String,
    #[serde(default)]
    pub receipt_handle: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub attributes: HashMap<String, String>,
    /// The queue the message came from, as Lambda says: not something a sender can set.
    #[serde(default, rename = "eventSourceARN")]
    pub event_source_arn: String,
}

impl SqsRecord {
    /// A FIFO queue's message carries its group.
    fn group(&self) -> Option<&str> {
        self.attributes.get("MessageGroupId").map(String::as_str)
    }
}

/// The partial batch response: the messages to leave on the queue.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub id: String,
}

fn required<'e>(env: &'e Env, var: &str, expected: &str) -> Result<&'e str, ConfigError> {
    env.get(var)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError::Missing {
            var: var.into(),
            expected: expected.into(),
        })
}

/// What both functions are built from.
struct Common {
    sdk: crate::adapters::aws::SdkConfig,
    env: Env,
    tasks: SqsTasks,
    /// `INLET_METRICS_NAMESPACE`, checked; `None` turns metrics off.
    namespace: Option<String>,
}

fn common() -> Result<Common, ConfigError> {
    crate::logging::init();
    let env = Env::from_process();
    crate::config::unknown_variables(&env)?;
    let namespace = crate::config::metrics_namespace(&env)?.map(str::to_owned);
    let sdk = crate::adapters::aws::function_sdk_config(&env)?;
    let deliveries = required(&env, DELIVERIES_TABLE, "the deliveries table's name")?.to_owned();
    let queue = required(&env, DELIVERY_QUEUE_URL, "the delivery queue's URL")?.to_owned();
    let ordered = env
        .get(ORDERED_QUEUE_URL)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned);
    let mut tasks = SqsTasks::new(
        aws_sdk_sqs::Client::new(&sdk),
        aws_sdk_dynamodb::Client::new(&sdk),
        deliveries,
        queue,
        ordered,
        LEASE_MS,
    );
    if let Some(bucket) = env.get(PAYLOAD_BUCKET).filter(|v| !v.trim().is_empty()) {
        tasks = tasks.with_parking(crate::adapters::aws::s3_client(&sdk, &env), bucket);
    }
    Ok(Common {
        sdk,
        env,
        tasks,
        namespace,
    })
}

/// The EMF recorder, in the receivers' namespace (`INLET_METRICS_NAMESPACE`, which the
/// template's alarms and dashboard read); `None` when it is empty (metrics off).
fn metrics_recorder(
    namespace: Option<String>,
) -> Option<&'static metrics_cloudwatch_embedded::Collector> {
    let emf = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace?)
        .init()
        .map_err(|e| warn!(error = %e, "metrics are off: the EMF recorder could not be installed"))
        .ok();
    telemetry::describe();
    emf
}

fn flush(emf: Option<&'static metrics_cloudwatch_embedded::Collector>) {
    if let Some(emf) = emf {
        if let Err(e) = emf.flush(std::io::stdout().lock()) {
            warn!(error = %e, "could not write the invocation's metrics");
        }
    }
}

/// Reads a task body: inline, or from the payload bucket.
async fn body_of(
    body: &Body,
    s3: Option<&(aws_sdk_s3::Client, String)>,
) -> Result<Vec<u8>, StoreError> {
    match body {
        Body::Inline(text) => Ok(text.as_bytes().to_vec()),
        Body::Stored(uri) => {
            let (s3, bucket) = s3.ok_or_else(|| {
                StoreError::permanent("a task body is in a bucket, but PAYLOAD_BUCKET is not set")
            })?;
            let key = uri
                .strip_prefix("s3://")
                .and_then(|rest| rest.strip_prefix(bucket.as_str()))
                .and_then(|rest| rest.strip_prefix('/'))
                .ok_or_else(|| {
                    StoreError::permanent("a task body is outside the payload bucket")
                })?;
            let out = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| StoreError::from(crate::adapters::aws::classify(&e)))?;
            out.body
                .collect()
                .await
                .map(|b| b.into_bytes().to_vec())
                .map_err(|_| StoreError::transient("a task body could not be read from the bucket"))
        }
    }
}

/// Runs the fan-out function: each outbox message is a published CloudEvent.
pub async fn run_fanout() -> Result<(), Error> {
    let Common {
        sdk,
        env,
        tasks,
        namespace,
    } = common().map_err(|e| {
        error!(error = %e, "configuration is invalid; refusing to start");
        e
    })?;
    let table = required(&env, ENDPOINTS_TABLE, "the endpoints table's name")?.to_owned();
    let endpoints = DynamoEndpoints::without_keys(aws_sdk_dynamodb::Client::new(&sdk), table);
    let bucket = env
        .get(PAYLOAD_BUCKET)
        .filter(|v| !v.trim().is_empty())
        .map(|b| (crate::adapters::aws::s3_client(&sdk, &env), b.to_owned()));
    let emf = metrics_recorder(namespace);
    let relay_queue = env
        .get(RELAY_QUEUE_ARN)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned);
    let state: &'static _ = Box::leak(Box::new((tasks, endpoints, bucket, relay_queue)));
    let handler = service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let (tasks, endpoints, bucket, relay_queue) = state;
        let sources = Sources {
            bucket: bucket.as_ref(),
            relay_queue: relay_queue.as_deref(),
        };
        let response = fan_out_batch(tasks, endpoints, &sources, event.payload).await;
        flush(emf);
        Ok::<_, Error>(response)
    });
    Runtime::new(handler).run().await
}

/// Where fan-out reads bodies from: the payload bucket, and for the relay queue's messages the
/// receivers' claim checks in it.
struct Sources<'a> {
    bucket: Option<&'a (aws_sdk_s3::Client, String)>,
    /// The relay queue's ARN: its messages come from receivers, never from a publisher.
    relay_queue: Option<&'a str>,
}

async fn fan_out_batch(
    tasks: &SqsTasks,
    endpoints: &DynamoEndpoints,
    sources: &Sources<'_>,
    event: SqsEvent,
) -> BatchResponse {
    let bucket = sources.bucket;
    let mut response = BatchResponse::default();
    // One read of the endpoints per batch: their filters and whether they are enabled.
    let all = match endpoints.list_without_keys().await {
        Ok(all) => all,
        Err(e) => {
            warn!(error = %e, "the endpoints could not be read; the batch stays on the queue");
            response.failures = event
                .records
                .into_iter()
                .map(|r| ItemFailure { id: r.message_id })
                .collect();
            return response;
        }
    };
    for record in event.records {
        // Only a receiver's relayed envelope may name a claim-checked body to put back: on the
        // outbox, a publisher could name any body in the bucket and have it delivered.
        let relayed = sources.relay_queue == Some(record.event_source_arn.as_str());
        let mut published = match Event::parse(record.body.into_bytes()) {
            Ok(e) => e,
            Err(e) => {
                // Kept on the queue it would come back until the DLQ took it: nothing can
                // deliver it, so it is counted, logged (never its content) and dropped.
                metrics::counter!(telemetry::INVALID_EVENTS).increment(1);
                error!(message_id = %record.message_id, error = %e, "a published event is not a CloudEvent Inlet can deliver; dropped");
                continue;
            }
        };
        if subscribers(&all, &published.ty).next().is_none() {
            info!(event = %published.id, "no endpoint takes the event");
            continue;
        }
        let created = async {
            // A relayed envelope the receiver claim-checked: its body back in, as a subscriber
            // cannot read the payload bucket.
            let claim = bucket
                .filter(|_| relayed)
                .and_then(|(_, name)| relay::claim_checked(&published.body, name));
            if let (Some(key), Some((_, name))) = (claim, bucket) {
                let data = body_of(&Body::Stored(format!("s3://{name}/{key}")), bucket).await?;
                published.body = relay::with_data(&published.body, &data)
                    .map_err(|e| StoreError::permanent(e.to_string()))?;
            }
            let body = if published.body.len() > INLINE_BODY_MAX {
                let (s3, name) = bucket.ok_or_else(|| {
                    StoreError::permanent(
                        "an event is larger than a task can carry and PAYLOAD_BUCKET is not set",
                    )
                })?;
                let key = format!(
                    "outbound/events/{}",
                    hex::encode(Sha256::digest(published.id.as_bytes()))
                );
                s3.put_object()
                    .bucket(name)
                    .key(&key)
                    .content_type("application/json")
                    .body(published.body.clone().into())
                    .send()
                    .await
                    .map_err(|e| StoreError::from(crate::adapters::aws::classify(&e)))?;
                Body::Stored(format!("s3://{name}/{key}"))
            } else {
                Body::Inline(String::from_utf8_lossy(&published.body).into_owned())
            };
            fan_out(tasks, &all, &published, &body, now()).await
        }
        .await;
        match created {
            Ok(fanned) => {
                metrics::counter!(telemetry::FANNED_OUT).increment(fanned.created.len() as u64);
                info!(event = %published.id, created = fanned.created.len(), existing = fanned.existing.len(), "fanned out");
            }
            Err(e) => {
                warn!(event = %published.id, error = %e, "fan-out failed; the message stays on the queue");
                response.failures.push(ItemFailure {
                    id: record.message_id,
                });
            }
        }
    }
    response
}

/// Runs the delivery function: each message is a task.
pub async fn run_delivery() -> Result<(), Error> {
    let built = (|| {
        let Common {
            sdk,
            env,
            tasks,
            namespace,
        } = common()?;
        let outbound = Outbound::from_env(&env)?;
        let table = required(&env, ENDPOINTS_TABLE, "the endpoints table's name")?.to_owned();
        let key = required(
            &env,
            ENDPOINT_KEYS_KEY_ID,
            "the KMS key endpoints' signing keys are encrypted under",
        )?
        .to_owned();
        let deliveries =
            required(&env, DELIVERIES_TABLE, "the deliveries table's name")?.to_owned();
        let events = required(
            &env,
            QUEUE_URL,
            "the events queue, where operational events go",
        )?
        .to_owned();
        let endpoints = DynamoEndpoints::from_sdk(&sdk, table, key);
        let attempts = DynamoAttempts::from_sdk(&sdk, deliveries);
        let notices = QueueNotices(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), events));
        let bucket = env
            .get(PAYLOAD_BUCKET)
            .filter(|v| !v.trim().is_empty())
            .map(|b| (crate::adapters::aws::s3_client(&sdk, &env), b.to_owned()));
        let transport = outbound.client()?;
        Ok::<_, ConfigError>((
            namespace,
            Delivering {
                tasks,
                endpoints,
                attempts,
                notices,
                transport,
                policy: outbound.policy,
                bucket,
            },
        ))
    })();
    let (namespace, delivering) = built.map_err(|e| {
        error!(error = %e, "configuration is invalid; refusing to start");
        e
    })?;
    let emf = metrics_recorder(namespace);
    let delivering: &'static Delivering = Box::leak(Box::new(delivering));
    let handler = service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let response = delivering.batch(event.payload).await;
        flush(emf);
        Ok::<_, Error>(response)
    });
    Runtime::new(handler).run().await
}

struct Delivering {
    tasks: SqsTasks,
    endpoints: DynamoEndpoints,
    attempts: DynamoAttempts,
    notices: QueueNotices<SqsQueue>,
    transport: Client,
    policy: Policy,
    bucket: Option<(aws_sdk_s3::Client, String)>,
}

impl Delivering {
    /// Each message in turn. A FIFO group stops at its first message that stays on the queue:
    /// the rest of the group in this batch stay too, in order, released to come back as soon as
    /// that one does ([`SqsTasks::release`]).
    async fn batch(&self, event: SqsEvent) -> BatchResponse {
        let mut response = BatchResponse::default();
        let (fifo, standard): (Vec<SqsRecord>, Vec<SqsRecord>) =
            event.records.into_iter().partition(|r| r.group().is_some());
        // A standard queue's tasks are independent: they go at once, so one slow subscriber does
        // not hold the batch (ten 50 ms deliveries take 50 ms, not 500).
        let kept: Vec<Option<String>> = futures_util::stream::iter(standard.iter())
            .map(|record| async move { self.kept(record).await.then(|| record.message_id.clone()) })
            .buffer_unordered(MAX_CONCURRENT_DELIVERIES)
            .collect()
            .await;
        response
            .failures
            .extend(kept.into_iter().flatten().map(|id| ItemFailure { id }));
        // A FIFO group's messages go one after another, and a group stops at its first message
        // that stays on the queue.
        let mut stopped: HashSet<String> = HashSet::new();
        for record in &fifo {
            if let Some(group) = record.group() {
                if stopped.contains(group) {
                    if let Err(e) = self.tasks.release(&record.receipt_handle).await {
                        // It comes back once its visibility timeout ends, still in order.
                        warn!(message_id = %record.message_id, error = %e, "a message behind a kept one could not be released");
                    }
                    response.failures.push(ItemFailure {
                        id: record.message_id.clone(),
                    });
                    continue;
                }
            }
            if self.kept(record).await {
                response.failures.push(ItemFailure {
                    id: record.message_id.clone(),
                });
                if let Some(group) = record.group() {
                    stopped.insert(group.to_owned());
                }
            }
        }
        response
    }

    /// Handles one message: `true` when it must stay on the queue.
    async fn kept(&self, record: &SqsRecord) -> bool {
        match self.one(record).await {
            Ok(keep) => keep,
            Err(e) => {
                warn!(message_id = %record.message_id, error = %e, "a task could not be handled; it stays on the queue");
                true
            }
        }
    }

    /// Handles one message; `true` when it must stay on the queue.
    async fn one(
        &self,
        record: &SqsRecord,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        let fifo = record.group().is_some();
        let received = self
            .tasks
            .receive(
                &record.message_id,
                &record.receipt_handle,
                &record.body,
                fifo,
                now(),
            )
            .await?;
        let (task, lease) = match received {
            Received::Due(task, lease) => (task, lease),
            Received::NotYet(lease) => return Ok(lease.kept()),
            Received::Done(_) => return Ok(false),
        };
        let body = body_of(&task.body, self.bucket.as_ref()).await?;
        let ports = Ports {
            endpoints: &self.endpoints,
            tasks: &self.tasks,
            attempts: &self.attempts,
            notices: &self.notices,
            transport: &self.transport,
        };
        let delivery = deliver(&ports, &self.policy, &task, &lease, &body, &now, unit()).await?;
        telemetry::record(&delivery);
        Ok(lease.kept())
    }
}
