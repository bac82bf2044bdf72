//! What the outbound side stores: endpoints (a subscriber's URL, filters and keys), the event a
//! delivery carries, delivery tasks and the attempts made on them.
//!
//! Times are Unix milliseconds ([`Millis`]), as the stores keep them, so the pure core is given
//! the time as a number and tests never wait.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::filter::Filter;

/// Unix time in milliseconds.
pub type Millis = i64;

/// The time now, in [`Millis`].
pub fn now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Longest event id accepted: ids are keys (task records, the attempt log's index), as long as an
/// envelope's.
pub const MAX_EVENT_ID_BYTES: usize = 1024;
/// Longest event type accepted, in bytes: an envelope's 256 characters, in UTF-8.
pub const MAX_TYPE_BYTES: usize = 4 * MAX_EVENT_TYPE_BYTES;
pub use super::filter::MAX_EVENT_TYPE_BYTES;
/// Most extra headers an endpoint may carry.
pub const MAX_EXTRA_HEADERS: usize = 20;

/// A secret's text (`whsec_…`, `whsk_…`), which `Debug` never shows.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text itself: for signing, for storing encrypted and for showing the user once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretText(..)")
    }
}

/// The previous secret during a rotation: deliveries carry a signature under it too, until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previous {
    pub secret: SecretText,
    pub until: Millis,
}

/// Why an endpoint receives nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisabledReason {
    /// An operator disabled it.
    Operator,
    /// It answered 410 Gone: the subscriber asked for no more deliveries.
    Gone,
    /// It failed without a success for longer than the configured time.
    Failing,
}

impl DisabledReason {
    /// The reason [`DisabledReason::as_str`] wrote.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Operator, Self::Gone, Self::Failing]
            .into_iter()
            .find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Gone => "gone",
            Self::Failing => "failing",
        }
    }
}

/// An endpoint's being switched off, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    pub reason: DisabledReason,
    pub at: Millis,
}

/// A subscriber's endpoint and what it subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// `ep_` and 26 lower-case base32 characters (128 random bits).
    pub id: String,
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// The event types it takes; none means every event.
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Extra headers sent with every delivery (never the Standard Webhooks ones).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// `None` while it receives deliveries.
    #[serde(default)]
    pub disabled: Option<Disabled>,
    /// Most deliveries per second, across every function instance.
    #[serde(default)]
    pub rate_limit: Option<u32>,
    /// Deliveries in publishing order, one at a time.
    #[serde(default)]
    pub ordered: bool,
    /// The `whsec_` secret deliveries are signed with (`v1`).
    pub secret: SecretText,
    #[serde(default)]
    pub previous: Option<Previous>,
    /// An Ed25519 `whsk_` key, when the endpoint also wants `v1a` signatures.
    #[serde(default)]
    pub ed25519: Option<SecretText>,
    pub created_at: Millis,
}

impl Endpoint {
    pub fn enabled(&self) -> bool {
        self.disabled.is_none()
    }

    /// Whether an event of type `ty` goes to this endpoint.
    pub fn takes(&self, ty: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(ty))
    }

    /// The secrets to sign with at `now`: the current one, and the previous one until it ends.
    pub fn secrets_at(&self, now: Millis) -> impl Iterator<Item = &SecretText> {
        std::iter::once(&self.secret).chain(
            self.previous
                .as_ref()
                .filter(|p| now < p.until)
                .map(|p| &p.secret),
        )
    }
}

/// How an endpoint has fared lately: the circuit breaker and the failing-for-too-long rule read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// The first failure since the last success.
    pub failing_since: Option<Millis>,
    pub last_failure: Option<Millis>,
    pub last_success: Option<Millis>,
    /// While the circuit is half open: the probe in flight holds it until then.
    pub probe_until: Option<Millis>,
}

/// An event as published: a CloudEvents 1.0 JSON object, delivered as it was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub ty: String,
    pub source: String,
    /// The bytes subscribers receive.
    pub body: Vec<u8>,
}

/// Why a published event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("an event is a JSON object (CloudEvents 1.0, structured mode)")]
    NotAnObject,
    #[error("the event has no {0} (a non-empty string)")]
    Missing(&'static str),
    #[error("the event's specversion is not 1.0")]
    SpecVersion,
    #[error("the event's {0} is too long or has characters outside printable ASCII")]
    Invalid(&'static str),
}

impl Event {
    /// Reads a published CloudEvent. The id becomes `webhook-id` (see `deliver::webhook_id`), and
    /// with the endpoint the key that makes publishing idempotent, so it is printable ASCII.
    pub fn parse(body: Vec<u8>) -> Result<Self, EventError> {
        let value: Value = serde_json::from_slice(&body).map_err(|_| EventError::NotAnObject)?;
        let object = value.as_object().ok_or(EventError::NotAnObject)?;
        let text = |name: &'static str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or(EventError::Missing(name))
        };
        if text("specversion")? != "1.0" {
            return Err(EventError::SpecVersion);
        }
        let printable =
            |s: &str, max: usize| s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic());
        let id = text("id")?;
        if !printable(id, MAX_EVENT_ID_BYTES) {
            return Err(EventError::Invalid("id"));
        }
        // A type is only stored and matched (never a header): any text without control
        // characters, as received events' types are.
        let ty = text("type")?;
        if ty.len() > MAX_TYPE_BYTES || ty.chars().any(char::is_control) {
            return Err(EventError::Invalid("type"));
        }
        let source = text("source")?.to_owned();
        Ok(Self {
            id: id.to_owned(),
            ty: ty.to_owned(),
            source,
            body,
        })
    }
}

/// The body of a task: the event inline, or where the claim check put it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    Inline(String),
    /// An `s3://bucket/key` (or a local path) holding the event's bytes.
    Stored(String),
}

/// One event for one endpoint, from its first attempt until it is delivered or parked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub event_id: String,
    pub event_type: String,
    pub endpoint_id: String,
    /// The attempt this task is waiting to make, from 1.
    pub attempt: u32,
    /// When the task was created (the event's fan-out).
    pub created_at: Millis,
    /// When its next attempt is due.
    pub due_at: Millis,
    pub body: Body,
    /// The endpoint wants its deliveries in order: the task goes to the ordered (FIFO) queue.
    #[serde(default)]
    pub ordered: bool,
}

impl Task {
    /// The key of a task: one per (event, endpoint), so fan-out is idempotent.
    pub fn key(&self) -> String {
        task_key(&self.event_id, &self.endpoint_id)
    }
}

/// `<endpoint id>/<event id>`: endpoint ids never hold a `/`.
pub fn task_key(event_id: &str, endpoint_id: &str) -> String {
    format!("{endpoint_id}/{event_id}")
}

/// One attempt to deliver a task, as the attempt log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub event_id: String,
    pub endpoint_id: String,
    /// From 1.
    pub number: u32,
    pub at: Millis,
    /// The response's status, when one came.
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// What became of it ([`super::classify::Verdict::name`]).
    pub verdict: String,
    /// A short stable name of the failure (`timeout`, `tls`, `refused`, …), or `http` for a status.
    pub class: String,
    /// The start of the response body (at most 1 KiB, lossy UTF-8), with the delivery's
    /// signatures and secrets removed.
    pub response: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Waiting for its next attempt.
    Pending,
    Delivered,
    /// Its schedule ran out, or its endpoint was disabled: kept for `inlet deliveries retry`.
    Parked,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Parked => "parked",
        }
    }
}

/// Random ids: 128 bits from the OS, as 26 lower-case base32 characters after a prefix.
pub fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 17];
    // getrandom fails only where the OS has no entropy source, where nothing can be signed
    // either; the ids made then are still distinct enough from the time.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes[..16].copy_from_slice(&now.to_le_bytes());
    }
    let mut id = String::with_capacity(prefix.len() + 26);
    id.push_str(prefix);
    // 26 characters of 5 bits = 130 bits, from the first 17 bytes (136 bits).
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut taken = bytes.iter();
    while id.len() < prefix.len() + 26 {
        if bits < 5 {
            acc = (acc << 8) | u32::from(*taken.next().unwrap_or(&0));
            bits += 8;
        }
        bits -= 5;
        id.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(filters: &[&str]) -> Endpoint {
        Endpoint {
            id: random_id("ep_"),
            url: "https://example.com/hook".into(),
            description: String::new(),
            filters: filters
                .iter()
                .map(|f| Filter::parse(f).expect("filter"))
                .collect(),
            headers: vec![],
            disabled: None,
            rate_limit: None,
            ordered: false,
            secret: SecretText::new("whsec_a"),
            previous: Some(Previous {
                secret: SecretText::new("whsec_b"),
                until: 1_000,
            }),
            ed25519: None,
            created_at: 0,
        }
    }

    #[test]
    fn ids_are_prefixed_base32_and_distinct() {
        let a = random_id("ep_");
        let b = random_id("ep_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 29);
        assert!(a[3..]
            .bytes()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)));
    }

    #[test]
    fn the_previous_secret_signs_until_it_ends() {
        let e = endpoint(&[]);
        assert_eq!(e.secrets_at(999).count(), 2);
        assert_eq!(e.secrets_at(1_000).count(), 1);
        assert_eq!(e.secrets_at(1_000).next(), Some(&e.secret));
    }

    #[test]
    fn no_filter_takes_everything_and_filters_choose() {
        assert!(endpoint(&[]).takes("anything.at.all"));
        let e = endpoint(&["invoice.paid", "stripe.customer.*"]);
        assert!(e.takes("invoice.paid"));
        assert!(e.takes("stripe.customer.created"));
        assert!(!e.takes("invoice.paid.late"));
        assert!(!e.takes("stripe.customer"));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let e = endpoint(&[]);
        let text = format!("{e:?}");
        assert!(
            !text.contains("whsec_a") && !text.contains("whsec_b"),
            "{text}"
        );
    }

    #[test]
    fn events_are_cloudevents_with_printable_ids() {
        let ok = br#"{"specversion":"1.0","id":"evt_1","type":"invoice.paid","source":"/billing","data":{}}"#;
        let e = Event::parse(ok.to_vec()).expect("event");
        assert_eq!((e.id.as_str(), e.ty.as_str()), ("evt_1", "invoice.paid"));
        let cases: &[(&[u8], EventError)] = &[
            (b"[]", EventError::NotAnObject),
            (b"{", EventError::NotAnObject),
            (
                br#"{"specversion":"1.0","type":"t","source":"s"}"#,
                EventError::Missing("id"),
            ),
            (
                br#"{"specversion":"0.3","id":"1","type":"t","source":"s"}"#,
                EventError::SpecVersion,
            ),
            (
                br#"{"specversion":"1.0","id":"a b","type":"t","source":"s"}"#,
                EventError::Invalid("id"),
            ),
            (
                br#"{"specversion":"1.0","id":"1","type":"t\n","source":"s"}"#,
                EventError::Invalid("type"),
            ),
            (
                br#"{"specversion":"1.0","id":"1","type":"t","source":""}"#,
                EventError::Missing("source"),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                Event::parse(body.to_vec()).as_ref().err(),
                Some(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // As long as an envelope's id, and types as received events have them.
        let event = |id: &str, ty: &str| {
            Event::parse(
                serde_json::json!({"specversion": "1.0", "id": id, "type": ty, "source": "s"})
                    .to_string()
                    .into_bytes(),
            )
        };
        assert!(event(&"i".repeat(MAX_EVENT_ID_BYTES), "t").is_ok());
        assert_eq!(
            event(&"i".repeat(MAX_EVENT_ID_BYTES + 1), "t").err(),
            Some(EventError::Invalid("id"))
        );
        assert!(event("1", "custom.order créé").is_ok());
        assert_eq!(
            event("1", &"é".repeat(MAX_EVENT_TYPE_BYTES * 2 + 1)).err(),
            Some(EventError::Invalid("type"))
        );
    }
}
