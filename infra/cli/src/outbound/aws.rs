//! The outbound commands against a deployment: endpoints in `ENDPOINTS_TABLE` (keys encrypted
//! under `ENDPOINT_KEYS_KEY_ID`), publishing to `OUTBOX_QUEUE_URL`, deliveries in
//! `DELIVERIES_TABLE` sent again through `DELIVERY_QUEUE_URL` (and `ORDERED_QUEUE_URL`). AWS
//! credentials and region come from the usual places.

use std::process::ExitCode;

use inlet::config::Env;
use inlet::outbound::dynamodb::{DynamoAttempts, DynamoEndpoints};
use inlet::outbound::lambda::{
    DELIVERIES_TABLE, DELIVERY_QUEUE_URL, ENDPOINTS_TABLE, ENDPOINT_KEYS_KEY_ID, ORDERED_QUEUE_URL,
};
use inlet::outbound::model::{now, State};
use inlet::outbound::ports::{AttemptQuery, Attempts};
use inlet::outbound::sqs::SqsTasks;
use serde_json::{json, Value};
use sha2::Digest;

use super::args::{Command, Deliveries};
use super::{delivery_row, delivery_shown, event, failed, print, since_time};

/// Where `inlet publish` puts events for a deployment to deliver.
pub const OUTBOX_QUEUE_URL: &str = "OUTBOX_QUEUE_URL";

fn need<'e>(env: &'e Env, var: &str, what: &str) -> Result<&'e str, String> {
    env.get(var)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("{var} is not set: {what}"))
}

pub async fn run(env: &Env, command: Command, allow_http: bool) -> Result<ExitCode, String> {
    let sdk = inlet::adapters::aws::sdk_config(env, inlet::adapters::aws::Trust::System)
        .await
        .map_err(failed)?;
    let table = need(env, ENDPOINTS_TABLE, "the endpoints table")?;
    match command {
        Command::Publish(p) => {
            let url = need(
                env,
                OUTBOX_QUEUE_URL,
                "the outbox queue (the stack's OutboxQueueUrl output)",
            )?;
            let event = event(&p)?;
            let sqs = aws_sdk_sqs::Client::new(&sdk);
            let mut send = sqs
                .send_message()
                .queue_url(url)
                .message_body(String::from_utf8_lossy(&event.body));
            if url.ends_with(".fifo") {
                // The event id de-duplicates a publish retried within SQS's 5 minutes; fan-out
                // makes it idempotent after that.
                send = send
                    .message_group_id(p.subject.clone().unwrap_or_else(|| event.source.clone()))
                    .message_deduplication_id(hex::encode(sha2::Sha256::digest(
                        event.id.as_bytes(),
                    )));
            }
            send.send()
                .await
                .map_err(|e| inlet::adapters::aws::classify(&e).to_string())?;
            print(&json!({"id": event.id, "type": event.ty, "queued": url}));
            Ok(ExitCode::SUCCESS)
        }
        Command::Deliveries(d) => deliveries(env, &sdk, d).await,
        Command::Test { id, ty } => {
            // Without its keys: the operator needs no kms:Decrypt to ask for a test delivery.
            let endpoint =
                DynamoEndpoints::without_keys(aws_sdk_dynamodb::Client::new(&sdk), table)
                    .get_without_keys(&id)
                    .await
                    .map_err(failed)?
                    .ok_or(format!("no endpoint {id}"))?;
            super::send_test(&tasks(env, &sdk)?, &endpoint, ty).await?;
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let key = need(env, ENDPOINT_KEYS_KEY_ID, "the KMS key endpoints' keys are encrypted under (the stack's EndpointKeysKeyId output)")?;
            let store = DynamoEndpoints::from_sdk(&sdk, table, key);
            super::endpoints(&store, other, allow_http).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The deployment's delivery tasks: their records and the delivery queues.
fn tasks(env: &Env, sdk: &inlet::adapters::aws::SdkConfig) -> Result<SqsTasks, String> {
    let table = need(env, DELIVERIES_TABLE, "the deliveries table")?;
    let queue = need(env, DELIVERY_QUEUE_URL, "the delivery queue")?;
    let ordered = env
        .get(ORDERED_QUEUE_URL)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_owned);
    Ok(SqsTasks::new(
        aws_sdk_sqs::Client::new(sdk),
        aws_sdk_dynamodb::Client::new(sdk),
        table,
        queue,
        ordered,
        60_000,
    ))
}

async fn deliveries(
    env: &Env,
    sdk: &inlet::adapters::aws::SdkConfig,
    command: Deliveries,
) -> Result<ExitCode, String> {
    let tasks = tasks(env, sdk)?;
    let attempts =
        DynamoAttempts::from_sdk(sdk, need(env, DELIVERIES_TABLE, "the deliveries table")?);
    match command {
        Deliveries::List {
            endpoint,
            event,
            state,
            limit,
        } => {
            let rows: Vec<Value> = tasks
                .list()
                .await
                .map_err(failed)?
                .into_iter()
                .filter(|r| endpoint.as_ref().is_none_or(|e| *e == r.task.endpoint_id))
                .filter(|r| event.as_ref().is_none_or(|e| *e == r.task.event_id))
                .filter(|r| state.as_ref().is_none_or(|s| s == r.state().as_str()))
                .take(if limit == 0 { usize::MAX } else { limit })
                .map(|r| delivery_row(&r.task, r.state(), r.parked_reason.as_deref()))
                .collect();
            print(&Value::Array(rows));
        }
        Deliveries::Show(key) => {
            let r = tasks
                .get(&key)
                .await
                .map_err(failed)?
                .ok_or(format!("no delivery {key}"))?;
            let all = attempts
                .list(&AttemptQuery {
                    endpoint_id: Some(r.task.endpoint_id.clone()),
                    event_id: Some(r.task.event_id.clone()),
                    limit: 0,
                })
                .await
                .map_err(failed)?;
            print(&delivery_shown(
                &r.task,
                r.state(),
                r.parked_reason.as_deref(),
                &all,
            ));
        }
        Deliveries::Retry(keys) => {
            let n = tasks.requeue(&keys, now()).await.map_err(failed)?;
            print(&json!({"requeued": n}));
        }
        Deliveries::Replay { since } => {
            let since = since_time(&since)?;
            let keys: Vec<String> = tasks
                .list()
                .await
                .map_err(failed)?
                .into_iter()
                .filter(|r| r.state() == State::Parked && r.created_at >= since)
                .map(|r| r.task.key())
                .collect();
            let n = tasks.requeue(&keys, now()).await.map_err(failed)?;
            print(&json!({"requeued": n}));
        }
    }
    Ok(ExitCode::SUCCESS)
}
