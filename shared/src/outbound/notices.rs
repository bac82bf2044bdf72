//! Operational events on the queue the receivers write to (SQS, or the local spool): a
//! CloudEvent of type `inlet.outbound.<kind>` whose subject is the endpoint, so the processors
//! that already read Inlet's events hear when an endpoint is disabled or a delivery gives up.

use serde_json::json;

use super::model::random_id;
use super::ports::{Notice, Notices};
use crate::ports::failure::StoreError;
use crate::ports::queue::{Message, Queue};

/// The `source` of every operational event.
pub const SOURCE: &str = "inlet/outbound";

/// The CloudEvent for `notice`, as a queue message.
pub fn message(notice: &Notice) -> Message {
    let id = random_id("ntc_");
    let ty = format!("inlet.outbound.{}", notice.kind);
    let time = humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(u64::try_from(notice.at).unwrap_or(0)),
    )
    .to_string();
    let body = json!({
        "specversion": "1.0",
        "id": id,
        "source": SOURCE,
        "type": ty,
        "time": time,
        "subject": notice.endpoint_id,
        "datacontenttype": "application/json",
        "data": {
            "endpoint_id": notice.endpoint_id,
            "event_id": notice.event_id,
            "reason": notice.reason,
        },
    })
    .to_string();
    Message {
        key: id.clone(),
        id,
        source: SOURCE.to_owned(),
        event_type: ty,
        group: notice.endpoint_id.clone(),
        body,
    }
}

/// Operational events written to a [`Queue`].
#[derive(Debug)]
pub struct QueueNotices<Q>(pub Q);

impl<Q: Queue> Notices for QueueNotices<Q> {
    async fn notify(&self, notice: &Notice) -> Result<(), StoreError> {
        self.0
            .send(message(notice))
            .await
            .map(|_| ())
            .map_err(|e| StoreError {
                failure: e.failure,
                detail: e.detail,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::queue::MemoryQueue;

    #[tokio::test]
    async fn a_notice_is_a_cloudevent_on_the_queue() {
        let notices = QueueNotices(MemoryQueue::default());
        let notice = Notice {
            kind: "endpoint.disabled",
            endpoint_id: "ep_1".into(),
            event_id: Some("evt_1".into()),
            reason: "gone".into(),
            at: 1_700_000_000_123,
        };
        notices.notify(&notice).await.expect("notify");
        let sent = notices.0.messages();
        assert_eq!(sent.len(), 1);
        let event: serde_json::Value = serde_json::from_str(&sent[0].body).expect("json");
        assert_eq!(event["type"], "inlet.outbound.endpoint.disabled");
        assert_eq!(event["source"], SOURCE);
        assert_eq!(event["subject"], "ep_1");
        assert_eq!(event["time"], "2023-11-14T22:13:20.123Z");
        assert_eq!(event["data"]["reason"], "gone");
        assert_eq!(event["data"]["event_id"], "evt_1");
        assert_eq!(event["id"], sent[0].id.as_str());
        assert!(sent[0].id.starts_with("ntc_"));
    }
}
