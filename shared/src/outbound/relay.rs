//! Relay: received events of chosen types go straight to the outbound subscriptions, with no
//! code. `INLET_RELAY` (deployment-wide, or in a source's `INLET_SOURCE_SETTINGS` entry) lists
//! envelope types as endpoint filters do (`stripe.invoice.*,github.push`, or `*`); a receiver
//! puts each matching envelope on the relay queue (`RELAY_QUEUE_URL`) **before** the events queue,
//! so an event the sender was told is received has been handed to fan-out. A failure to relay
//! is a failure to receive, always a transient one (503, the sender retries), even when the
//! relay queue refuses for good (deleted, access denied): the pipeline parks an envelope only when the
//! events queue refuses it, and such an envelope has been relayed already, so `inlet replay`
//! never needs to relay. A retry relays the same event again, which fan-out takes once, as it
//! takes any published event once.
//!
//! The relayed event is the envelope with one change: its `id` is `<source>:<idempotency key>`
//! (the key the receiving side recognises the event's retries by, or its unique envelope id when
//! nothing recognises them). An envelope id alone is not unique across sources, nor within some
//! (two WooCommerce deliveries can share one), and fan-out and subscribers de-duplicate on the id:
//! with the source and the key, retries of one event share an id and distinct events never do.
//! The envelope's own id stays in `inletenvelopeid`.
//!
//! A claim-checked envelope (`dataref`) is relayed as it is; fan-out puts its body back
//! ([`with_data`]) before it delivers it, as a subscriber cannot read the payload bucket. The
//! relay queue is not the outbox for that reason: only receivers may send to it, and fan-out
//! follows a `dataref` only in what arrives on it (the record's `eventSourceARN`, which Lambda
//! sets), so a publisher cannot have the payload bucket's bodies delivered to an endpoint by
//! naming them in an event.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tracing::error;

use super::filter::Filter;
use super::model::{Event, MAX_EVENT_ID_BYTES};
use crate::config::{self, ConfigError, Env};
use crate::core::envelope::sqs_safe;
use crate::ports::failure::Failure;
use crate::ports::queue::{Message, Queue, QueueError};

/// Which envelope types a receiver relays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    filters: Vec<Filter>,
}

/// What the relayed copy may add to a message: the longer id (at most [`MAX_EVENT_ID_BYTES`],
/// each byte written at most twice by JSON), the `inletenvelopeid` member holding the old one
/// (at most 1,024 bytes, also escaped) and their names. The relay queue must take the copy of any
/// message the events queue takes.
pub const RELAY_OVERHEAD: usize = 2 * MAX_EVENT_ID_BYTES + 2 * 1024 + 64;

impl Relay {
    /// `INLET_RELAY` as the source's function sees it; `None` when unset or empty. In a source's
    /// own entry every filter must be able to match that source's types (`<source>.…`), so a
    /// filter that can never match stops the function rather than silently relaying nothing.
    pub fn from_env(env: &Env, source: &str) -> Result<Option<Self>, ConfigError> {
        let Some(text) = env.get(config::RELAY).filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let invalid = |expected: String| ConfigError::Invalid {
            var: config::RELAY.into(),
            expected,
        };
        let mut filters = Vec::new();
        for part in text.split(',').map(str::trim) {
            let filter = Filter::parse(part).map_err(|e| invalid(format!("{part:?}: {e}")))?;
            let own = format!("{source}.");
            let can_match = match &filter {
                Filter::Any => true,
                Filter::Exact(t) => t.starts_with(&own),
                Filter::Prefix(p) => p.starts_with(&own) || own.starts_with(p.as_str()),
            };
            if env.from_entry(config::RELAY) && !can_match {
                return Err(invalid(format!(
                    "{part:?} in {source}'s entry can never match: its events' types start with {own}"
                )));
            }
            filters.push(filter);
        }
        Ok(Some(Self { filters }))
    }

    pub fn matches(&self, ty: &str) -> bool {
        self.filters.iter().any(|f| f.matches(ty))
    }
}

impl std::fmt::Display for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, filter) in self.filters.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{filter}")?;
        }
        Ok(())
    }
}

/// Why an envelope cannot be relayed (it still goes to the events queue).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the envelope cannot be relayed: {0}")]
pub struct RelayError(String);

/// The outbound id of a relayed envelope: `<source>:<key>`, or `<source>:sha256:<hex>` of the
/// key when that would be too long or not printable ASCII (what `webhook-id` may hold).
pub fn relayed_id(source: &str, key: &str) -> String {
    let id = format!("{source}:{key}");
    if id.len() <= MAX_EVENT_ID_BYTES && id.bytes().all(|b| b.is_ascii_graphic()) {
        id
    } else {
        format!(
            "{source}:sha256:{}",
            hex::encode(Sha256::digest(key.as_bytes()))
        )
    }
}

/// An envelope's members with their values as written: what is not touched stays byte for byte.
type Members<'a> = BTreeMap<String, &'a RawValue>;

fn members(json: &str) -> Result<Members<'_>, RelayError> {
    serde_json::from_str(json).map_err(|_| RelayError("it is not a JSON object".into()))
}

fn json_text(value: &str) -> Box<RawValue> {
    RawValue::from_string(serde_json::Value::from(value).to_string())
        .expect("a JSON string is JSON")
}

fn write(members: &BTreeMap<String, &RawValue>, added: Vec<(&str, Box<RawValue>)>) -> String {
    let mut all: BTreeMap<&str, &RawValue> =
        members.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    for (name, value) in &added {
        all.insert(name, value);
    }
    sqs_safe(serde_json::to_string(&all).unwrap_or_default())
}

/// The relayed copy of `message`: its envelope with the relayed id, checked as fan-out will read it.
pub fn relayed(message: &Message) -> Result<Message, RelayError> {
    let mut envelope = members(&message.body)?;
    envelope.remove("id");
    let id = relayed_id(&message.source, &message.key);
    let body = write(
        &envelope,
        vec![
            ("id", json_text(&id)),
            ("inletenvelopeid", json_text(&message.id)),
        ],
    );
    Event::parse(body.clone().into_bytes()).map_err(|e| RelayError(e.to_string()))?;
    Ok(Message {
        id,
        body,
        ..message.clone()
    })
}

/// Where a claim-checked event's body is, when fan-out can put it back: a `dataref` into
/// `bucket` under the receivers' claim-check prefix, in an event that carries no `data`.
pub fn claim_checked(event: &[u8], bucket: &str) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let envelope = members(text).ok()?;
    if envelope.contains_key("data") || envelope.contains_key("data_base64") {
        return None;
    }
    let uri: String = serde_json::from_str(envelope.get("dataref")?.get()).ok()?;
    let key = uri
        .strip_prefix("s3://")?
        .strip_prefix(bucket)?
        .strip_prefix('/')?;
    key.starts_with(crate::ports::payloads::CLAIM_CHECK_PREFIX)
        .then(|| key.to_owned())
}

/// The event with `body` (the claim-checked bytes) back in it: `data` when its
/// `datacontenttype` is JSON and the bytes are JSON, else `data_base64`; `dataref` removed.
pub fn with_data(event: &[u8], body: &[u8]) -> Result<Vec<u8>, RelayError> {
    let text = std::str::from_utf8(event).map_err(|_| RelayError("not UTF-8".into()))?;
    let mut envelope = members(text)?;
    envelope.remove("dataref");
    let content_type: Option<String> = envelope
        .get("datacontenttype")
        .and_then(|v| serde_json::from_str(v.get()).ok());
    let json = content_type.as_deref().is_some_and(|t| {
        let t = t
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        t == "application/json" || t.ends_with("+json")
    });
    let data = std::str::from_utf8(body)
        .ok()
        .filter(|_| json)
        .and_then(|b| serde_json::from_str::<&RawValue>(b).ok())
        .map(|raw| ("data", raw.to_owned()));
    let data = data.unwrap_or_else(|| ("data_base64", json_text(&B64.encode(body))));
    Ok(write(&envelope, vec![data]).into_bytes())
}

/// Counts one relayed event, by source as the receivers' metrics are.
fn relayed_one(source: &str) {
    metrics::counter!(super::telemetry::RELAYED, crate::app::telemetry::SOURCE => source.to_owned())
        .increment(1);
}

/// A relay queue failure as the pipeline sees it: transient whatever the queue said, so the
/// envelope is never parked unrelayed; one too large for the relay queue is still too large (the
/// pipeline claim-checks it and sends again).
fn not_relayed(e: QueueError) -> QueueError {
    QueueError {
        failure: Failure::Transient,
        too_large: e.too_large,
        detail: format!(
            "the relay queue did not take the relayed copy: {}",
            e.detail
        ),
    }
}

/// The receivers' queue: the events queue, and the relay queue for the envelopes [`Relay`] takes.
#[derive(Debug)]
pub struct Relaying<Q, O> {
    events: Q,
    relay_queue: Option<(Relay, O)>,
}

impl<Q, O> Relaying<Q, O> {
    /// Only the events queue: nothing is relayed.
    pub fn off(events: Q) -> Self {
        Self {
            events,
            relay_queue: None,
        }
    }

    pub fn new(events: Q, relay: Relay, relay_queue: O) -> Self {
        Self {
            events,
            relay_queue: Some((relay, relay_queue)),
        }
    }

    pub fn events(&self) -> &Q {
        &self.events
    }

    pub fn relays(&self) -> bool {
        self.relay_queue.is_some()
    }
}

impl<Q: Queue, O: Queue> Relaying<Q, O> {
    /// The copy to relay, when the relay takes the message's type: `Err` when it cannot be made
    /// (counted and logged, never its content; the event still goes to the events queue).
    fn copy(relay: &Relay, message: &Message) -> Option<Message> {
        if !relay.matches(&message.event_type) {
            return None;
        }
        match relayed(message) {
            Ok(copy) => Some(copy),
            Err(e) => {
                metrics::counter!(super::telemetry::NOT_RELAYED, crate::app::telemetry::SOURCE => message.source.clone())
                    .increment(1);
                error!(source = %message.source, error = %e, "an event the relay takes cannot be relayed; it goes to the events queue only");
                None
            }
        }
    }
}

impl<Q: Queue, O: Queue> Queue for Relaying<Q, O> {
    fn max_message_bytes(&self) -> usize {
        match &self.relay_queue {
            None => self.events.max_message_bytes(),
            Some((_, relay_queue)) => self.events.max_message_bytes().min(
                relay_queue
                    .max_message_bytes()
                    .saturating_sub(RELAY_OVERHEAD),
            ),
        }
    }

    fn ordered(&self) -> bool {
        self.events.ordered()
    }

    fn batch_limits(&self) -> (usize, usize) {
        let (count, bytes) = self.events.batch_limits();
        match &self.relay_queue {
            None => (count, bytes),
            Some((_, relay_queue)) => {
                let (c, b) = relay_queue.batch_limits();
                let count = count.min(c);
                (count, bytes.min(b.saturating_sub(count * RELAY_OVERHEAD)))
            }
        }
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        if let Some((relay, relay_queue)) = &self.relay_queue {
            if let Some(copy) = Self::copy(relay, &message) {
                relay_queue.send(copy).await.map_err(not_relayed)?;
                relayed_one(&message.source);
            }
        }
        self.events.send(message).await
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Vec<Result<String, QueueError>> {
        let Some((relay, relay_queue)) = &self.relay_queue else {
            return self.events.send_batch(messages).await;
        };
        let (picked, copies): (Vec<usize>, Vec<Message>) = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Self::copy(relay, m).map(|c| (i, c)))
            .unzip();
        let mut results: Vec<Option<Result<String, QueueError>>> = vec![None; messages.len()];
        if !copies.is_empty() {
            for (i, sent) in picked.into_iter().zip(relay_queue.send_batch(copies).await) {
                match sent {
                    Ok(_) => relayed_one(&messages[i].source),
                    // Not relayed: not received either, so the sender's retry relays it.
                    Err(e) => results[i] = Some(Err(not_relayed(e))),
                }
            }
        }
        let (left, rest): (Vec<usize>, Vec<Message>) = messages
            .into_iter()
            .enumerate()
            .filter(|(i, _)| results[*i].is_none())
            .unzip();
        if !rest.is_empty() {
            for (i, sent) in left.into_iter().zip(self.events.send_batch(rest).await) {
                results[i] = Some(sent);
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(QueueError {
                        failure: Failure::Transient,
                        too_large: false,
                        detail: "the queue gave no result for a message".into(),
                    })
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::queue::MemoryQueue;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn relay(text: &str) -> Relay {
        Relay::from_env(&env(&[(config::RELAY, text)]), "stripe")
            .expect("valid")
            .expect("on")
    }

    /// A message as the pipeline makes it from an envelope (`key` the idempotency key).
    fn message(id: &str, key: &str, ty: &str, data: &str) -> Message {
        let body = format!(
            r#"{{"specversion":"1.0","id":{},"source":"stripe","type":"{ty}","time":"2026-12-06T10:00:00Z","datacontenttype":"application/json","data":{data},"inletbodysha256":"ab"}}"#,
            serde_json::Value::from(id)
        );
        Message {
            id: id.into(),
            key: key.into(),
            source: "stripe".into(),
            event_type: ty.into(),
            group: "stripe".into(),
            body,
        }
    }

    fn parsed(body: &str) -> serde_json::Value {
        serde_json::from_str(body).expect("JSON")
    }

    #[test]
    fn filters_read_as_endpoint_filters_and_fail_closed() {
        assert!(Relay::from_env(&env(&[]), "stripe").expect("ok").is_none());
        assert!(Relay::from_env(&env(&[(config::RELAY, " ")]), "stripe")
            .expect("ok")
            .is_none());
        let r = relay("stripe.invoice.*, github.push");
        assert!(r.matches("stripe.invoice.paid"));
        assert!(r.matches("github.push"));
        assert!(!r.matches("stripe.invoice"));
        assert!(!r.matches("stripe.charge.succeeded"));
        assert!(relay("*").matches("anything.at.all"));
        for bad in ["stripe.*.paid", "stripe invoice", "stripe.invoice.*,", "**"] {
            let e = Relay::from_env(&env(&[(config::RELAY, bad)]), "stripe").expect_err(bad);
            assert_eq!(e.var(), config::RELAY, "{bad}");
        }
    }

    #[test]
    fn a_source_entry_cannot_relay_what_the_source_never_receives() {
        let entry = |value: &str| {
            env(&[(
                config::SOURCE_SETTINGS,
                &serde_json::json!({"stripe": {config::RELAY: value}}).to_string(),
            )])
            .with_source_settings("stripe")
            .expect("entry")
        };
        for fine in [
            "stripe.invoice.*",
            "stripe.charge.succeeded",
            "*",
            "stripe.*",
        ] {
            assert!(Relay::from_env(&entry(fine), "stripe").is_ok(), "{fine}");
        }
        for never in ["invoice.*", "github.push", "stripes.invoice.paid"] {
            let e = Relay::from_env(&entry(never), "stripe").expect_err(never);
            assert!(e.to_string().contains("can never match"), "{e}");
        }
        // Deployment-wide, the same filter is meant for another source's function.
        assert!(Relay::from_env(&env(&[(config::RELAY, "github.push")]), "stripe").is_ok());
    }

    #[test]
    fn the_relayed_id_is_the_source_and_the_key_and_the_rest_is_untouched() {
        let data = r#"{"id": "evt_1",  "amount": 1250.50, "text": "caf\u00e9"}"#;
        let m = message("evt_1", "evt_1", "stripe.invoice.paid", data);
        let copy = relayed(&m).expect("relayed");
        assert_eq!(copy.id, "stripe:evt_1");
        let v = parsed(&copy.body);
        assert_eq!(v["id"], "stripe:evt_1");
        assert_eq!(v["inletenvelopeid"], "evt_1");
        assert_eq!(v["type"], "stripe.invoice.paid");
        assert!(
            copy.body.contains(data),
            "data byte for byte: {}",
            copy.body
        );
        let event = Event::parse(copy.body.into_bytes()).expect("fan-out reads it");
        assert_eq!(event.id, "stripe:evt_1");
        // The key, not the envelope id: two deliveries that share an id stay two events.
        let a = relayed(&message("1", "1:sha256-aa", "stripe.x", "{}")).expect("a");
        let b = relayed(&message("1", "1:sha256-bb", "stripe.x", "{}")).expect("b");
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn keys_a_header_cannot_hold_are_hashed_stably() {
        for key in ["caf\u{e9} 1".to_owned(), "k".repeat(2000)] {
            let m = message("x", &key, "stripe.x", "{}");
            let copy = relayed(&m).expect("relayed");
            assert!(
                copy.id.starts_with("stripe:sha256:") && copy.id.len() == 78,
                "{}",
                copy.id
            );
            assert_eq!(copy.id, relayed(&m).expect("again").id);
            Event::parse(copy.body.into_bytes()).expect("printable id");
        }
    }

    #[test]
    fn claim_checked_bodies_are_put_back() {
        let uri = "s3://bucket/payloads/stripe/evt_1/ab";
        let event = format!(
            r#"{{"specversion":"1.0","id":"stripe:evt_1","source":"stripe","type":"stripe.x","datacontenttype":"application/json; charset=utf-8","dataref":"{uri}"}}"#
        );
        assert_eq!(
            claim_checked(event.as_bytes(), "bucket").as_deref(),
            Some("payloads/stripe/evt_1/ab")
        );
        // Not the receivers' claim check: delivered as published.
        assert_eq!(claim_checked(event.as_bytes(), "other"), None);
        let elsewhere = event.replace("payloads/", "undelivered/");
        assert_eq!(claim_checked(elsewhere.as_bytes(), "bucket"), None);
        let with = event.replace("\"dataref\"", "\"data\":{},\"dataref\"");
        assert_eq!(claim_checked(with.as_bytes(), "bucket"), None);

        let json = br#"{"big": [1, 2,  3]}"#;
        let back = with_data(event.as_bytes(), json).expect("json");
        let text = String::from_utf8(back).expect("utf-8");
        assert!(text.contains(r#""data":{"big": [1, 2,  3]}"#), "{text}");
        assert!(!text.contains("dataref"));
        Event::parse(text.into_bytes()).expect("an event");

        let form = event.replace(
            "application/json; charset=utf-8",
            "application/x-www-form-urlencoded",
        );
        let back = parsed(
            &String::from_utf8(with_data(form.as_bytes(), b"a=1&b=%20").expect("form"))
                .expect("utf-8"),
        );
        assert_eq!(back["data_base64"], B64.encode(b"a=1&b=%20"));
        assert!(back.get("data").is_none());
        // JSON content type, bytes that are not JSON: kept exactly, as base64.
        let back = parsed(
            &String::from_utf8(with_data(event.as_bytes(), b"{not json").expect("raw"))
                .expect("utf-8"),
        );
        assert_eq!(back["data_base64"], B64.encode(b"{not json"));
    }

    fn queues(relay_queue: MemoryQueue) -> Relaying<MemoryQueue, MemoryQueue> {
        Relaying::new(
            MemoryQueue::default(),
            relay("stripe.invoice.*"),
            relay_queue,
        )
    }

    #[tokio::test]
    async fn matching_events_reach_the_relay_queue_before_the_events_queue() {
        let q = queues(MemoryQueue::default());
        q.send(message("evt_1", "evt_1", "stripe.invoice.paid", "{}"))
            .await
            .expect("sent");
        q.send(message("evt_2", "evt_2", "stripe.charge.succeeded", "{}"))
            .await
            .expect("sent");
        let (events, relay_queue) = (
            q.events.messages(),
            q.relay_queue.as_ref().expect("on").1.messages(),
        );
        assert_eq!(
            events.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["evt_1", "evt_2"]
        );
        assert_eq!(
            relay_queue
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["stripe:evt_1"]
        );
        assert_eq!(
            parsed(&events[0].body)["id"],
            "evt_1",
            "the events queue's envelope is unchanged"
        );

        // The relay queue fails, even for good: the event is not received (the sender retries), and
        // not queued, nor parked.
        let q = queues(MemoryQueue::default().fail_next([QueueError::permanent("AccessDenied")]));
        let e = q
            .send(message("evt_3", "evt_3", "stripe.invoice.paid", "{}"))
            .await
            .expect_err("not relayed");
        assert_eq!(e.failure, Failure::Transient);
        assert!(q.events.messages().is_empty());
    }

    #[tokio::test]
    async fn a_batch_relays_what_it_can_and_queues_only_what_was_relayed() {
        let q = queues(MemoryQueue::default().fail_next([QueueError::transient("down")]));
        let results = q
            .send_batch(vec![
                message("a", "a", "stripe.invoice.paid", "{}"),
                message("b", "b", "stripe.charge.succeeded", "{}"),
                message("c", "c", "stripe.invoice.voided", "{}"),
            ])
            .await;
        assert!(results[0].is_err(), "its relay failed");
        assert!(results[1].is_ok() && results[2].is_ok());
        let ids = |msgs: Vec<Message>| msgs.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(ids(q.events.messages()), ["b", "c"]);
        assert_eq!(
            ids(q.relay_queue.as_ref().expect("on").1.messages()),
            ["stripe:c"]
        );
    }

    #[tokio::test]
    async fn the_relay_queues_limit_bounds_what_the_pipeline_sends() {
        let q = queues(MemoryQueue::default().with_max_message_bytes(100_000));
        assert_eq!(q.max_message_bytes(), 100_000 - RELAY_OVERHEAD);
        // The largest id and envelope id still fit the copy.
        let id = "i".repeat(1024);
        let key = "\"".repeat(1000);
        let mut m = message(&id, &key, "stripe.invoice.paid", "{}");
        let pad = q.max_message_bytes() - m.size();
        m.body = m
            .body
            .replacen("{}", &format!("\"{}\"", "x".repeat(pad)), 1);
        assert_eq!(m.size(), q.max_message_bytes());
        q.send(m).await.expect("the copy fits the relay queue");
        assert_eq!(
            Relaying::<MemoryQueue, MemoryQueue>::off(MemoryQueue::default()).max_message_bytes(),
            262_144
        );
    }
}
