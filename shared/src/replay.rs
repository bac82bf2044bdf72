//! `inlet replay`: sends the envelopes a function parked in the payload bucket (because the queue
//! refused them for good) to a queue once it takes them again, and deletes each parked copy only
//! after the queue has acknowledged it. Run by an operator, with their own credentials.

use aws_sdk_s3::Client as S3;
use serde::Deserialize;

use crate::aws::{classify, SdkConfig};
use crate::config::Env;
use crate::queue::{Message, Queue, SqsQueue};

/// Where parked envelopes are kept (see `payloads::parked_key`).
pub const PARKED_PREFIX: &str = "undelivered/";

/// The envelope fields a message is rebuilt from.
#[derive(Deserialize)]
struct Fields {
    id: String,
    source: String,
    #[serde(rename = "type")]
    ty: String,
    subject: Option<String>,
}

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Envelopes sent to the queue (and, unless kept, deleted from the bucket).
    pub sent: usize,
    /// Objects that could not be sent; they stay where they are.
    pub failed: usize,
}

/// The message for a parked envelope: the stored JSON as the body, its `source` and `type` as
/// attributes. On a FIFO queue the de-duplication id is the envelope id.
fn message(body: String) -> Result<Message, String> {
    let f: Fields = serde_json::from_str(&body).map_err(|_| "not an Inlet envelope".to_owned())?;
    Ok(Message {
        key: f.id.clone(),
        group: f.subject.unwrap_or_else(|| f.source.clone()),
        id: f.id,
        source: f.source,
        event_type: f.ty,
        body,
    })
}

/// Replays every envelope under `undelivered/` (optionally only one source's) in `bucket` to
/// `queue_url`. `report` is told about each object: its key and what happened.
pub async fn replay(
    sdk: &SdkConfig,
    env: &Env,
    bucket: &str,
    queue_url: &str,
    source: Option<&str>,
    keep: bool,
    mut report: impl FnMut(&str, Result<&str, &str>),
) -> Result<Summary, String> {
    let s3 = crate::aws::s3_client(sdk, env);
    let queue = SqsQueue::connect(sdk, queue_url).await?;
    let prefix = match source {
        Some(s) => format!("{PARKED_PREFIX}{s}/"),
        None => PARKED_PREFIX.to_owned(),
    };
    let mut summary = Summary::default();
    for key in list(&s3, bucket, &prefix).await? {
        match replay_one(&s3, &queue, bucket, &key, keep).await {
            Ok(message_id) => {
                summary.sent += 1;
                report(&key, Ok(&message_id));
            }
            Err(e) => {
                summary.failed += 1;
                report(&key, Err(&e));
            }
        }
    }
    Ok(summary)
}

async fn list(s3: &S3, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("cannot list s3://{bucket}/{prefix}: {}", classify(&e)))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    Ok(keys)
}

async fn replay_one(
    s3: &S3,
    queue: &SqsQueue,
    bucket: &str,
    key: &str,
    keep: bool,
) -> Result<String, String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("cannot read it: {}", classify(&e)))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|_| "cannot read it: the download broke".to_owned())?
        .into_bytes();
    let body = String::from_utf8(bytes.to_vec()).map_err(|_| "not an Inlet envelope".to_owned())?;
    let message_id = queue.send(message(body)?).await.map_err(|e| {
        format!(
            "the queue did not take it ({} failure: {e})",
            e.failure.as_str()
        )
    })?;
    if !keep {
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "sent as {message_id}, but could not delete it: {}",
                    classify(&e)
                )
            })?;
    }
    Ok(message_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parked_envelope_becomes_the_message_it_would_have_been() {
        let body = r#"{"specversion":"1.0","id":"evt_1","source":"stripe","type":"stripe.x","subject":"cus_1","data":{}}"#;
        let m = message(body.to_owned()).expect("an envelope");
        assert_eq!(
            (
                m.id.as_str(),
                m.source.as_str(),
                m.event_type.as_str(),
                m.group.as_str(),
                m.body.as_str()
            ),
            ("evt_1", "stripe", "stripe.x", "cus_1", body)
        );
        assert!(message("{}".into()).is_err());
    }
}
