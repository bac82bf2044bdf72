//! The outbound side's ports: where endpoints, delivery tasks and the attempt log are kept, how
//! an attempt is sent, and where operational events go. Each has an AWS adapter (DynamoDB, SQS,
//! S3), a local one (SQLite, for `inlet serve`) and, for unit tests of the core, an in-memory fake.

use std::future::Future;

use super::model::{Attempt, Disabled, Endpoint, Health, Millis, State, Task};
use crate::ports::failure::StoreError;

/// Endpoints and their health. Health changes are atomic in the store, so concurrent deliveries
/// (several function instances) count every failure and only one holds a probe.
pub trait Endpoints: Send + Sync {
    /// Stores a new endpoint; an error if its id exists.
    fn create(&self, endpoint: &Endpoint) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Endpoint>, StoreError>> + Send;

    /// Every endpoint, enabled or not, ordered by id.
    fn list(&self) -> impl Future<Output = Result<Vec<Endpoint>, StoreError>> + Send;

    /// Replaces an endpoint's settings: not its health, nor whether it is disabled (only
    /// `disable` and `enable` switch it). `false` if there is no such endpoint.
    fn update(&self, endpoint: &Endpoint) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// `false` if there was no such endpoint.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Disables an enabled endpoint: `true` only for the call that switched it off, so one
    /// operational event is written however many deliveries saw it fail.
    fn disable(
        &self,
        id: &str,
        disabled: Disabled,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Enables an endpoint and forgets its health (a fresh start for the circuit breaker and the
    /// failing-too-long rule). `false` if there is no such endpoint.
    fn enable(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn health(&self, id: &str) -> impl Future<Output = Result<Health, StoreError>> + Send;

    /// Counts an attempt's result and returns the health after it: a success clears the
    /// failures; a failure adds one, and starts `failing_since` if unset. Either ends the probe's
    /// hold: an answer came, so the circuit's cool-down, not the hold, says when to try again.
    fn record(
        &self,
        id: &str,
        success: bool,
        now: Millis,
    ) -> impl Future<Output = Result<Health, StoreError>> + Send;

    /// Takes the half-open circuit's one probe until `until`: `true` for one caller only, while
    /// no other probe's hold has yet to end.
    fn acquire_probe(
        &self,
        id: &str,
        now: Millis,
        until: Millis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes one of the `limit` deliveries the endpoint may receive in the second `now` falls
    /// in, across every caller: `false` when they are all taken.
    fn take_token(
        &self,
        id: &str,
        limit: u32,
        now: Millis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What becomes of a task once it has been looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    Delivered,
    /// Its attempt failed: the next one (`attempt`) is due at `due_at`.
    Retry {
        attempt: u32,
        due_at: Millis,
    },
    /// It was not attempted (the circuit is open, the rate limit is reached): look again at `until`.
    Wait {
        until: Millis,
    },
    /// Kept with its attempts for `inlet deliveries retry`, its schedule exhausted or its endpoint
    /// disabled.
    Parked {
        reason: &'static str,
    },
    /// Its endpoint no longer exists.
    Dropped,
    /// A second copy of a task already delivered or parked: this copy goes, the task stays as it is.
    Duplicate,
}

/// Delivery tasks: one per (event, endpoint), created once however often fan-out sees the event.
/// `Lease` is what the adapter handed out with the task (an SQS receipt handle, a row version).
pub trait Tasks: Send + Sync {
    type Lease: Send + Sync;

    /// Creates the task unless one exists for its key (`Task::key`): `false` when it existed. A
    /// task whose creation was interrupted (recorded but never queued) is queued again, so a
    /// crash never loses one; the delivery side then sees it at most twice.
    fn create(&self, task: &Task) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Where the task for `key` stands, if there is one.
    fn state(&self, key: &str) -> impl Future<Output = Result<Option<State>, StoreError>> + Send;

    fn settle(
        &self,
        task: &Task,
        lease: &Self::Lease,
        settle: Settle,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Which attempts to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptQuery {
    pub endpoint_id: Option<String>,
    pub event_id: Option<String>,
    pub limit: usize,
}

/// The attempt log, each attempt kept until `expires` (the store's TTL).
pub trait Attempts: Send + Sync {
    fn record(
        &self,
        attempt: &Attempt,
        expires: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn list(
        &self,
        query: &AttemptQuery,
    ) -> impl Future<Output = Result<Vec<Attempt>, StoreError>> + Send;
}

/// An operational event: something an operator should hear of, written where the receivers'
/// events go (the events queue, the spool) as a CloudEvent of type `inlet.outbound.<kind>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// `endpoint.disabled`, `delivery.exhausted`.
    pub kind: &'static str,
    pub endpoint_id: String,
    pub event_id: Option<String>,
    /// Why, in a few words (`gone`, `failing`, `exhausted after 13 attempts`).
    pub reason: String,
    pub at: Millis,
}

pub trait Notices: Send + Sync {
    fn notify(&self, notice: &Notice) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What one attempt saw: a response, or the failure that stopped it before one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    Response {
        status: u16,
        /// The raw `Retry-After` header.
        retry_after: Option<String>,
        /// The start of the body (at most the read cap).
        head: Vec<u8>,
    },
    /// A short stable name of the failure: `timeout`, `connect`, `tls`, `dns`, `reset`,
    /// `refused` (the SSRF guard), `io`, `protocol`, `invalid_url` (`http::Failure::class`).
    Failed { class: &'static str },
}

/// Sends one attempt: a POST of `body` with `headers` to `url`.
pub trait Transport: Send + Sync {
    fn post(
        &self,
        url: &str,
        headers: &http::HeaderMap,
        body: bytes::Bytes,
    ) -> impl Future<Output = Observed> + Send;
}

/// The delivery core's port: a response becomes what the attempt observed, a failure its class.
#[cfg(feature = "sender")]
impl Transport for crate::adapters::http::Client {
    async fn post(&self, url: &str, headers: &http::HeaderMap, body: bytes::Bytes) -> Observed {
        match crate::adapters::http::Client::post(self, url, headers, body).await {
            Ok(r) => Observed::Response {
                status: r.status,
                retry_after: r.retry_after,
                head: r.head,
            },
            Err(f) => Observed::Failed { class: f.class() },
        }
    }
}
