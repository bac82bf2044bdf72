//! One delivery task, looked at once: whether it may go now (its endpoint, the circuit, the rate
//! limit), the signed attempt, its verdict, and what becomes of the task and the endpoint. The
//! runtimes (the delivery function, `inlet serve`) hand tasks here and apply the [`Settle`] the
//! store was given; everything they log and count reads the returned [`Delivery`].

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::circuit::{Breaker, Gate};
use super::classify::{classify, Verdict};
use super::model::{
    task_key, Attempt, Disabled, DisabledReason, Endpoint, Health, Millis, State, Task,
};
use super::ports::{Attempts, Endpoints, Notice, Notices, Observed, Settle, Tasks, Transport};
use super::schedule::Schedule;
use super::signing::{KeyPair, Secret, Signer};
use crate::ports::failure::StoreError;

/// Most bytes of a response the attempt log keeps.
pub const RESPONSE_KEPT_BYTES: usize = 1024;
/// Headers an endpoint's extra headers may not set: Inlet's own, and what HTTP itself decides.
const RESERVED_HEADERS: [&str; 8] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "content-type",
    "content-length",
    "host",
    "user-agent",
    "transfer-encoding",
];

/// What deliveries follow.
#[derive(Debug, Clone)]
pub struct Policy {
    pub schedule: Schedule,
    pub breaker: Breaker,
    /// An endpoint failing without a success for this long is disabled (default 5 days).
    pub disable_after: Millis,
    /// How long the attempt log keeps an attempt (default 30 days).
    pub attempts_kept: Millis,
    /// How long a probe holds a half-open circuit: longer than an attempt can take.
    pub probe_hold: Millis,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            schedule: Schedule::default(),
            breaker: Breaker::default(),
            disable_after: 5 * 86_400_000,
            attempts_kept: 30 * 86_400_000,
            probe_hold: 60_000,
        }
    }
}

impl Policy {
    /// The same policy with its waits divided by `factor` (the schedule's steps, the circuit's
    /// cool-downs): `inlet serve --time-scale`, so that hours can be watched in seconds.
    pub fn scaled(mut self, factor: u32) -> Self {
        let factor = Millis::from(factor.max(1));
        self.schedule = self.schedule.scaled(factor as u32);
        self.breaker.cooldown = (self.breaker.cooldown / factor).max(1);
        self.breaker.max_cooldown = (self.breaker.max_cooldown / factor).max(1);
        self
    }
}

/// The ports one delivery uses.
#[derive(Debug)]
pub struct Ports<'a, E, T, A, N, X> {
    pub endpoints: &'a E,
    pub tasks: &'a T,
    pub attempts: &'a A,
    pub notices: &'a N,
    pub transport: &'a X,
}

/// What became of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// What the task store was told.
    pub settle: Settle,
    /// The attempt, if one was made.
    pub attempt: Option<Attempt>,
    pub verdict: Option<Verdict>,
    /// The endpoint this delivery switched off, and why.
    pub disabled: Option<DisabledReason>,
    /// The schedule ran out on this attempt.
    pub exhausted: bool,
    /// Why nothing was sent, when nothing was: `duplicate`, `endpoint-missing`,
    /// `endpoint-disabled`, `circuit-open`, `rate-limited`.
    pub skipped: Option<&'static str>,
}

impl Delivery {
    fn skipped(settle: Settle, why: &'static str) -> Self {
        Self {
            settle,
            attempt: None,
            verdict: None,
            disabled: None,
            exhausted: false,
            skipped: Some(why),
        }
    }
}

/// Why a delivery could not be attempted at all.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The endpoint's stored keys do not read (never quoted).
    #[error("endpoint {0}'s signing keys cannot be read")]
    Keys(String),
}

/// How stale a healthy endpoint's `last_success` may grow before a success writes it again.
const LAST_SUCCESS_REFRESH: Millis = 60_000;

/// Whether a success at `now` has nothing to record in `health` (read before the attempt): no
/// failures, no probe, and a last success under [`LAST_SUCCESS_REFRESH`] old. A busy endpoint's
/// successes then cost no health write (a DynamoDB write unit each, 9 % of a delivery's cost). A
/// failure recorded meanwhile by another delivery is cleared by the next success that reads it.
fn quiet(health: &Health, now: Millis) -> bool {
    health.consecutive_failures == 0
        && health.failing_since.is_none()
        && health.probe_until.is_none()
        && health
            .last_success
            .is_some_and(|at| (0..LAST_SUCCESS_REFRESH).contains(&(now - at)))
}

/// Longest event id sent as `webhook-id` as it is: receivers keep it, often in a short column.
const MAX_WEBHOOK_ID_BYTES: usize = 256;

/// The `webhook-id` of an event: its id, unless that holds a `.`, which would let one signed
/// content (`id.timestamp.body`) pose as another's, or is longer than 256 bytes; then `msg_` and
/// 40 hex digits of its SHA-256, as stable across retries as the id itself.
pub fn webhook_id(event_id: &str) -> String {
    if event_id.contains('.') || event_id.len() > MAX_WEBHOOK_ID_BYTES {
        format!(
            "msg_{}",
            &hex::encode(Sha256::digest(event_id.as_bytes()))[..40]
        )
    } else {
        event_id.to_owned()
    }
}

/// Whether `name` may be one of an endpoint's extra headers.
pub fn extra_header_allowed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    HeaderName::from_bytes(lower.as_bytes()).is_ok()
        && !RESERVED_HEADERS.contains(&lower.as_str())
        && !lower.starts_with("webhook-")
}

/// The signer for `endpoint`'s keys at `now`.
pub fn signer(endpoint: &Endpoint, now: Millis) -> Result<Signer, DeliverError> {
    let bad = || DeliverError::Keys(endpoint.id.clone());
    let mut secrets = endpoint.secrets_at(now);
    let current = secrets.next().ok_or_else(bad)?;
    let mut signer = Signer::new(Secret::parse(current.expose()).map_err(|_| bad())?);
    for previous in secrets {
        signer = signer.with_previous(Secret::parse(previous.expose()).map_err(|_| bad())?);
    }
    if let Some(key) = &endpoint.ed25519 {
        signer = signer.with_key_pair(KeyPair::parse(key.expose()).map_err(|_| bad())?);
    }
    Ok(signer)
}

/// The headers of one attempt: the endpoint's extra headers, then the JSON content type and the
/// three Standard Webhooks headers; `None` for the signature value when a header cannot hold it.
fn request_headers(
    endpoint: &Endpoint,
    signer: &Signer,
    msg_id: &str,
    now: Millis,
    body: &[u8],
) -> (HeaderMap, String) {
    let mut headers = HeaderMap::new();
    for (name, value) in &endpoint.headers {
        if let (true, Ok(n), Ok(v)) = (
            extra_header_allowed(name),
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(n, v);
        }
    }
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut signature = String::new();
    for (name, value) in signer.headers(msg_id, now.div_euclid(1000), body) {
        if name == super::signing::SIGNATURE_HEADER {
            signature.clone_from(&value);
        }
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    (headers, signature)
}

/// The start of a response as the attempt log keeps it: at most [`RESPONSE_KEPT_BYTES`], lossy
/// UTF-8, with every signature the attempt carried and every secret it was signed with (and any
/// other value given in `secrets` of 8 bytes or more) replaced by `[redacted]`: a receiver that
/// echoes its request must not put them in the log.
pub fn kept_response(head: &[u8], secrets: &[&str], signature: &str) -> String {
    let mut text =
        String::from_utf8_lossy(&head[..head.len().min(RESPONSE_KEPT_BYTES)]).into_owned();
    let signatures = signature
        .split(' ')
        .filter_map(|s| s.split_once(',').map(|(_, sig)| sig));
    for needle in secrets.iter().copied().chain(signatures) {
        if needle.len() >= 8 {
            text = text.replace(needle, "[redacted]");
        }
    }
    text
}

/// Looks at `task` once: sends it if it may go, and settles it with the task store.
pub async fn deliver<E, T, A, N, X>(
    ports: &Ports<'_, E, T, A, N, X>,
    policy: &Policy,
    task: &Task,
    lease: &T::Lease,
    body: &[u8],
    now: &(dyn Fn() -> Millis + Sync),
    unit: f64,
) -> Result<Delivery, DeliverError>
where
    E: Endpoints,
    T: Tasks,
    A: Attempts,
    N: Notices,
    X: Transport,
{
    let key = task_key(&task.event_id, &task.endpoint_id);
    let settle = |s: Settle| async move {
        ports.tasks.settle(task, lease, s.clone()).await?;
        Ok::<_, StoreError>(s)
    };
    if matches!(
        ports.tasks.state(&key).await?,
        Some(State::Delivered | State::Parked)
    ) {
        // A second copy of a settled task (SQS delivers at least once): nothing more to do.
        return Ok(Delivery::skipped(
            settle(Settle::Duplicate).await?,
            "duplicate",
        ));
    }
    let Some(endpoint) = ports.endpoints.get(&task.endpoint_id).await? else {
        return Ok(Delivery::skipped(
            settle(Settle::Dropped).await?,
            "endpoint-missing",
        ));
    };
    if !endpoint.enabled() {
        let s = settle(Settle::Parked {
            reason: "endpoint disabled",
        })
        .await?;
        return Ok(Delivery::skipped(s, "endpoint-disabled"));
    }
    let start = now();
    // A little jitter on every wait, so the deliveries that wait together do not return together.
    let spread = |base: Millis, width: Millis| base + (unit * width as f64) as Millis;
    let health = ports.endpoints.health(&endpoint.id).await?;
    let gate = policy.breaker.gate(&health, start);
    if let Gate::Open { until } = gate {
        let s = settle(Settle::Wait {
            until: spread(until, 1_000),
        })
        .await?;
        return Ok(Delivery::skipped(s, "circuit-open"));
    }
    if let Some(limit) = endpoint.rate_limit {
        if !ports
            .endpoints
            .take_token(&endpoint.id, limit, start)
            .await?
        {
            let next_second = (start.div_euclid(1000) + 1) * 1000;
            let s = settle(Settle::Wait {
                until: spread(next_second, 1_000),
            })
            .await?;
            return Ok(Delivery::skipped(s, "rate-limited"));
        }
    }
    if gate == Gate::HalfOpen
        && !ports
            .endpoints
            .acquire_probe(&endpoint.id, start, start + policy.probe_hold)
            .await?
    {
        // Another delivery is the probe: look again after a cool-down, by when it has usually
        // answered (its hold, which outlasts any attempt, only matters if it never does).
        let cooldown = policy.breaker.cooldown(health.consecutive_failures);
        let s = settle(Settle::Wait {
            until: spread(start + cooldown, cooldown.min(1_000)),
        })
        .await?;
        return Ok(Delivery::skipped(s, "circuit-open"));
    }

    let signer = signer(&endpoint, start)?;
    let msg_id = webhook_id(&task.event_id);
    let (headers, signature) = request_headers(&endpoint, &signer, &msg_id, start, body);
    let observed = ports
        .transport
        .post(&endpoint.url, &headers, Bytes::copy_from_slice(body))
        .await;
    let end = now();
    let verdict = classify(&observed, end);
    let health = if verdict.success() && quiet(&health, end) {
        // Nothing for a success to change but a last success under a minute old: no write.
        health
    } else {
        ports
            .endpoints
            .record(&endpoint.id, verdict.success(), end)
            .await?
    };
    let (status, class, head) = match &observed {
        Observed::Response { status, head, .. } => (Some(*status), "http", head.as_slice()),
        Observed::Failed { class } => (None, *class, &[][..]),
    };
    // What the log must never show, should the receiver echo its request: the keys, and the
    // extra headers' values (an Authorization header is a credential).
    let secrets: Vec<&str> = endpoint
        .secrets_at(start)
        .chain(endpoint.ed25519.as_ref())
        .map(|s| s.expose())
        .chain(endpoint.headers.iter().map(|(_, v)| v.as_str()))
        .collect();
    let attempt = Attempt {
        event_id: task.event_id.clone(),
        endpoint_id: endpoint.id.clone(),
        number: task.attempt,
        at: start,
        status,
        latency_ms: u64::try_from(end - start).unwrap_or(0),
        verdict: verdict.name().to_owned(),
        class: class.to_owned(),
        response: kept_response(head, &secrets, &signature),
    };
    ports
        .attempts
        .record(&attempt, end + policy.attempts_kept)
        .await?;
    info!(
        endpoint = %endpoint.id,
        event = %task.event_id,
        attempt = task.attempt,
        verdict = verdict.name(),
        status,
        class,
        latency_ms = attempt.latency_ms,
        "delivery attempt"
    );

    let mut delivery = Delivery {
        settle: Settle::Delivered,
        attempt: Some(attempt),
        verdict: Some(verdict),
        disabled: None,
        exhausted: false,
        skipped: None,
    };
    let endpoint = &endpoint;
    let disable = |reason: DisabledReason| async move {
        let switched = ports
            .endpoints
            .disable(&endpoint.id, Disabled { reason, at: end })
            .await?;
        if switched {
            warn!(endpoint = %endpoint.id, reason = reason.as_str(), "endpoint disabled");
            ports
                .notices
                .notify(&Notice {
                    kind: "endpoint.disabled",
                    endpoint_id: endpoint.id.clone(),
                    event_id: Some(task.event_id.clone()),
                    reason: reason.as_str().to_owned(),
                    at: end,
                })
                .await?;
        }
        Ok::<_, StoreError>(switched.then_some(reason))
    };
    delivery.settle = match verdict {
        Verdict::Delivered => Settle::Delivered,
        Verdict::Gone => {
            delivery.disabled = disable(DisabledReason::Gone).await?;
            Settle::Parked { reason: "gone" }
        }
        Verdict::Retry | Verdict::Throttled { .. } if failing_too_long(&health, end, policy) => {
            delivery.disabled = disable(DisabledReason::Failing).await?;
            Settle::Parked {
                reason: "endpoint disabled",
            }
        }
        Verdict::Retry | Verdict::Throttled { .. } => {
            let wait = match verdict {
                Verdict::Throttled { after } if task.attempt < policy.schedule.attempts() => {
                    Some(after)
                }
                _ => policy.schedule.wait_after(task.attempt, unit),
            };
            match wait {
                Some(wait) => Settle::Retry {
                    attempt: task.attempt + 1,
                    due_at: end + wait,
                },
                None => {
                    delivery.exhausted = true;
                    warn!(endpoint = %endpoint.id, event = %task.event_id, attempts = task.attempt, "delivery exhausted its schedule; parked");
                    ports
                        .notices
                        .notify(&Notice {
                            kind: "delivery.exhausted",
                            endpoint_id: endpoint.id.clone(),
                            event_id: Some(task.event_id.clone()),
                            reason: format!("no success in {} attempts", task.attempt),
                            at: end,
                        })
                        .await?;
                    Settle::Parked {
                        reason: "exhausted",
                    }
                }
            }
        }
    };
    settle(delivery.settle.clone()).await?;
    Ok(delivery)
}

/// Whether an endpoint has failed without a success for longer than the policy allows.
fn failing_too_long(health: &Health, now: Millis, policy: &Policy) -> bool {
    health
        .failing_since
        .is_some_and(|since| now.saturating_sub(since) >= policy.disable_after)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::outbound::memory::{MemoryAttempts, MemoryEndpoints, MemoryNotices, MemoryTasks};
    use crate::outbound::model::{random_id, Body, Previous, SecretText};

    /// Answers each request with the next scripted observation and keeps what it was sent.
    #[derive(Debug, Default)]
    struct Script {
        answers: Mutex<VecDeque<Observed>>,
        sent: Mutex<Vec<(String, HeaderMap, Bytes)>>,
    }

    impl Script {
        fn answering(answers: impl IntoIterator<Item = Observed>) -> Self {
            Self {
                answers: Mutex::new(answers.into_iter().collect()),
                ..Self::default()
            }
        }

        fn sent(&self) -> Vec<(String, HeaderMap, Bytes)> {
            self.sent.lock().expect("lock").clone()
        }
    }

    impl Transport for Script {
        async fn post(&self, url: &str, headers: &HeaderMap, body: Bytes) -> Observed {
            self.sent
                .lock()
                .expect("lock")
                .push((url.to_owned(), headers.clone(), body));
            self.answers
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or(Observed::Failed { class: "connect" })
        }
    }

    fn status(status: u16) -> Observed {
        Observed::Response {
            status,
            retry_after: None,
            head: b"ok".to_vec(),
        }
    }

    struct World {
        endpoints: MemoryEndpoints,
        tasks: MemoryTasks,
        attempts: MemoryAttempts,
        notices: MemoryNotices,
        script: Script,
        endpoint: Endpoint,
    }

    const NOW: Millis = 1_700_000_000_000;
    const BODY: &[u8] =
        br#"{"specversion":"1.0","id":"evt_1","type":"invoice.paid","source":"/b"}"#;

    impl World {
        async fn new(answers: impl IntoIterator<Item = Observed>) -> Self {
            let endpoint = Endpoint {
                id: random_id("ep_"),
                url: "https://hooks.example.com/in?token=t".into(),
                description: String::new(),
                filters: vec![],
                headers: vec![
                    ("X-Team".into(), "billing".into()),
                    ("webhook-id".into(), "forged".into()),
                    ("Host".into(), "elsewhere".into()),
                ],
                disabled: None,
                rate_limit: None,
                ordered: false,
                secret: SecretText::new(Secret::generate().expect("secret").expose()),
                previous: None,
                ed25519: None,
                created_at: 0,
            };
            let world = Self {
                endpoints: MemoryEndpoints::default(),
                tasks: MemoryTasks::default(),
                attempts: MemoryAttempts::default(),
                notices: MemoryNotices::default(),
                script: Script::answering(answers),
                endpoint,
            };
            world
                .endpoints
                .create(&world.endpoint)
                .await
                .expect("create");
            world
        }

        fn task(&self, event_id: &str, attempt: u32) -> Task {
            Task {
                event_id: event_id.into(),
                event_type: "invoice.paid".into(),
                endpoint_id: self.endpoint.id.clone(),
                attempt,
                created_at: NOW,
                due_at: NOW,
                body: Body::Inline(String::from_utf8_lossy(BODY).into_owned()),
                ordered: false,
            }
        }

        async fn run(&self, task: &Task, policy: &Policy, at: Millis) -> Delivery {
            let ports = Ports {
                endpoints: &self.endpoints,
                tasks: &self.tasks,
                attempts: &self.attempts,
                notices: &self.notices,
                transport: &self.script,
            };
            self.tasks.create(task).await.expect("task");
            deliver(&ports, policy, task, &(), BODY, &move || at, 0.5)
                .await
                .expect("deliver")
        }
    }

    #[tokio::test]
    async fn a_2xx_is_delivered_signed_once() {
        let w = World::new([status(204)]).await;
        let d = w.run(&w.task("evt_1", 1), &Policy::default(), NOW).await;
        assert_eq!(d.settle, Settle::Delivered);
        assert_eq!(d.verdict, Some(Verdict::Delivered));
        let sent = w.script.sent();
        assert_eq!(sent.len(), 1);
        let (url, headers, body) = &sent[0];
        assert_eq!(url, &w.endpoint.url);
        assert_eq!(body.as_ref(), BODY);
        assert_eq!(headers["webhook-id"], "evt_1");
        assert_eq!(
            headers["webhook-timestamp"],
            (NOW / 1000).to_string().as_str()
        );
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers["x-team"], "billing");
        assert!(
            headers.get("host").is_none(),
            "an extra header cannot set Host"
        );
        let want = Signer::new(Secret::parse(w.endpoint.secret.expose()).expect("secret"))
            .signature("evt_1", NOW / 1000, BODY);
        assert_eq!(headers["webhook-signature"], want.as_str());
        let attempts = w.attempts.list(&Default::default()).await.expect("list");
        assert_eq!(attempts.len(), 1);
        assert_eq!((attempts[0].number, attempts[0].status), (1, Some(204)));
        assert_eq!(
            w.endpoints
                .health(&w.endpoint.id)
                .await
                .expect("h")
                .last_success,
            Some(NOW)
        );
    }

    #[tokio::test]
    async fn a_healthy_endpoints_successes_write_its_health_once_a_minute() {
        let w = World::new([
            status(204),
            status(204),
            status(500),
            status(204),
            status(204),
        ])
        .await;
        let health = || async { w.endpoints.health(&w.endpoint.id).await.expect("health") };
        let policy = Policy::default();
        w.run(&w.task("evt_1", 1), &policy, NOW).await;
        assert_eq!(
            health().await.last_success,
            Some(NOW),
            "the first success is written"
        );
        w.run(&w.task("evt_2", 1), &policy, NOW + 10_000).await;
        assert_eq!(
            health().await.last_success,
            Some(NOW),
            "nothing to change: not written"
        );
        let failed = w.run(&w.task("evt_3", 1), &policy, NOW + 20_000).await;
        assert!(matches!(failed.settle, Settle::Retry { .. }));
        assert_eq!(
            health().await.consecutive_failures,
            1,
            "a failure is always written"
        );
        w.run(&w.task("evt_4", 1), &policy, NOW + 30_000).await;
        let after = health().await;
        assert_eq!((after.consecutive_failures, after.failing_since), (0, None));
        assert_eq!(
            after.last_success,
            Some(NOW + 30_000),
            "a success after a failure clears it"
        );
        w.run(&w.task("evt_5", 1), &policy, NOW + 91_000).await;
        assert_eq!(
            health().await.last_success,
            Some(NOW + 91_000),
            "a minute on, written again"
        );
        assert_eq!(w.script.sent().len(), 5);
    }

    #[tokio::test]
    async fn an_echoed_request_leaves_no_credential_in_the_log() {
        let w = World::new([]).await;
        let mut endpoint = w.endpoint.clone();
        endpoint.headers = vec![("Authorization".into(), "Bearer s3cr3t-t0ken".into())];
        w.endpoints.update(&endpoint).await.expect("update");
        let echo = format!(
            "you sent Authorization: Bearer s3cr3t-t0ken and {}",
            w.endpoint.secret.expose()
        );
        *w.script.answers.lock().expect("lock") = [Observed::Response {
            status: 400,
            retry_after: None,
            head: echo.into_bytes(),
        }]
        .into();
        w.run(&w.task("evt_1", 1), &Policy::default(), NOW).await;
        let [attempt] = &w.attempts.list(&Default::default()).await.expect("list")[..] else {
            panic!("one attempt")
        };
        assert_eq!(
            attempt.response,
            "you sent Authorization: [redacted] and [redacted]"
        );
    }

    #[tokio::test]
    async fn failures_follow_the_schedule_and_retry_after() {
        let w = World::new([
            status(500),
            Observed::Failed { class: "timeout" },
            Observed::Response {
                status: 429,
                retry_after: Some("60".into()),
                head: vec![],
            },
            status(302),
        ])
        .await;
        let policy = Policy::default();
        let want = [
            (1, NOW + 5_000),
            (2, NOW + 60_000),
            (3, NOW + 60_000),
            (4, NOW + 1_800_000),
        ];
        for (attempt, due_at) in want {
            let d = w.run(&w.task("evt_1", attempt), &policy, NOW).await;
            assert_eq!(
                d.settle,
                Settle::Retry {
                    attempt: attempt + 1,
                    due_at
                },
                "attempt {attempt}"
            );
        }
        assert_eq!(w.script.sent().len(), 4, "a 302 is not followed");
    }

    #[tokio::test]
    async fn the_last_attempt_parks_and_says_so() {
        let w = World::new([status(500)]).await;
        let policy = Policy::default();
        let d = w.run(&w.task("evt_1", 13), &policy, NOW).await;
        assert!(d.exhausted);
        assert_eq!(
            d.settle,
            Settle::Parked {
                reason: "exhausted"
            }
        );
        let notices = w.notices.all();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, "delivery.exhausted");
        assert_eq!(notices[0].event_id.as_deref(), Some("evt_1"));
    }

    #[tokio::test]
    async fn gone_disables_the_endpoint_and_stops_its_other_tasks() {
        let w = World::new([status(410), status(200)]).await;
        let policy = Policy::default();
        let d = w.run(&w.task("evt_1", 1), &policy, NOW).await;
        assert_eq!(d.settle, Settle::Parked { reason: "gone" });
        assert_eq!(d.disabled, Some(DisabledReason::Gone));
        let e = w
            .endpoints
            .get(&w.endpoint.id)
            .await
            .expect("get")
            .expect("endpoint");
        assert_eq!(e.disabled.map(|d| d.reason), Some(DisabledReason::Gone));
        let d = w.run(&w.task("evt_2", 1), &policy, NOW).await;
        assert_eq!(d.skipped, Some("endpoint-disabled"));
        assert_eq!(w.script.sent().len(), 1, "nothing more is sent");
        assert_eq!(w.notices.all().len(), 1);
    }

    #[tokio::test]
    async fn an_endpoint_failing_for_five_days_is_disabled() {
        let w = World::new((0..2).map(|_| status(503))).await;
        let policy = Policy::default();
        w.run(&w.task("evt_1", 1), &policy, NOW).await;
        let later = NOW + policy.disable_after;
        let d = w.run(&w.task("evt_2", 1), &policy, later).await;
        assert_eq!(d.disabled, Some(DisabledReason::Failing));
        assert_eq!(
            d.settle,
            Settle::Parked {
                reason: "endpoint disabled"
            }
        );
        assert_eq!(w.notices.all()[0].reason, "failing");
    }

    #[tokio::test]
    async fn an_open_circuit_holds_tasks_until_one_probe_succeeds() {
        let w = World::new((0..5).map(|_| status(500)).chain([status(200)])).await;
        let policy = Policy::default();
        for n in 0..5 {
            w.run(&w.task(&format!("evt_{n}"), 1), &policy, NOW).await;
        }
        let d = w.run(&w.task("evt_held", 1), &policy, NOW + 1).await;
        assert_eq!(d.skipped, Some("circuit-open"));
        assert_eq!(
            d.settle,
            Settle::Wait {
                until: NOW + 30_500
            }
        );
        assert_eq!(w.script.sent().len(), 5);
        // The cool-down over, one probe goes; a second delivery meanwhile waits for it.
        let probe_at = NOW + 30_000;
        assert!(w
            .endpoints
            .acquire_probe(&w.endpoint.id, probe_at, probe_at + 10)
            .await
            .expect("probe"));
        let d = w.run(&w.task("evt_other", 1), &policy, probe_at + 1).await;
        assert_eq!(d.skipped, Some("circuit-open"), "the probe is held");
        let d = w.run(&w.task("evt_held", 1), &policy, probe_at + 10).await;
        assert_eq!(
            d.verdict,
            Some(Verdict::Delivered),
            "the probe went and succeeded"
        );
        assert_eq!(
            w.endpoints
                .health(&w.endpoint.id)
                .await
                .expect("h")
                .consecutive_failures,
            0
        );
        let d = w.run(&w.task("evt_after", 1), &policy, probe_at + 11).await;
        assert!(d.skipped.is_none(), "the circuit is closed again");
    }

    #[tokio::test]
    async fn the_rate_limit_holds_the_rest_to_the_next_second() {
        let mut w = World::new((0..3).map(|_| status(200))).await;
        w.endpoint.rate_limit = Some(2);
        w.endpoints.update(&w.endpoint).await.expect("update");
        let policy = Policy::default();
        let at = NOW + 250;
        for n in 0..2 {
            let d = w.run(&w.task(&format!("evt_{n}"), 1), &policy, at).await;
            assert_eq!(d.settle, Settle::Delivered);
        }
        let d = w.run(&w.task("evt_2", 1), &policy, at).await;
        assert_eq!(d.skipped, Some("rate-limited"));
        assert_eq!(d.settle, Settle::Wait { until: NOW + 1_500 });
        let d = w.run(&w.task("evt_2", 1), &policy, NOW + 1_000).await;
        assert_eq!(d.settle, Settle::Delivered);
    }

    #[tokio::test]
    async fn settled_tasks_and_missing_endpoints_send_nothing() {
        let w = World::new([status(200), status(200)]).await;
        let policy = Policy::default();
        w.run(&w.task("evt_1", 1), &policy, NOW).await;
        let d = w.run(&w.task("evt_1", 1), &policy, NOW).await;
        assert_eq!(d.skipped, Some("duplicate"));
        w.endpoints.delete(&w.endpoint.id).await.expect("delete");
        let d = w.run(&w.task("evt_2", 1), &policy, NOW).await;
        assert_eq!(d.settle, Settle::Dropped);
        assert_eq!(w.script.sent().len(), 1);
    }

    #[tokio::test]
    async fn a_rotation_signs_with_both_secrets_until_the_previous_ends() {
        let mut w = World::new([status(200), status(200)]).await;
        let old = Secret::generate().expect("secret");
        w.endpoint.previous = Some(Previous {
            secret: SecretText::new(old.expose()),
            until: NOW + 1_000,
        });
        w.endpoints.update(&w.endpoint).await.expect("update");
        let policy = Policy::default();
        w.run(&w.task("evt_1", 1), &policy, NOW).await;
        w.run(&w.task("evt_2", 1), &policy, NOW + 1_000).await;
        let sent = w.script.sent();
        let entries = |i: usize| {
            sent[i].1["webhook-signature"]
                .to_str()
                .expect("ascii")
                .split(' ')
                .count()
        };
        assert_eq!((entries(0), entries(1)), (2, 1));
    }

    #[test]
    fn the_log_keeps_no_signature_or_secret() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,AAAAAAAAAAAA";
        let echoed = format!("got {signature} with {secret}");
        let kept = kept_response(echoed.as_bytes(), &[secret], signature);
        assert_eq!(kept, "got v1,[redacted] v1,[redacted] with [redacted]");
        assert_eq!(
            kept_response(&[b'x'; 5000], &[], "").len(),
            RESPONSE_KEPT_BYTES
        );
        assert_eq!(
            kept_response(b"\xff\xfe ok", &[], ""),
            "\u{fffd}\u{fffd} ok"
        );
    }

    #[test]
    fn webhook_ids_never_hold_a_dot() {
        assert_eq!(webhook_id("evt_1"), "evt_1");
        let dotted = webhook_id("a.1");
        assert!(dotted.starts_with("msg_") && !dotted.contains('.') && dotted.len() == 44);
        assert_eq!(dotted, webhook_id("a.1"), "stable across retries");
        assert_ne!(dotted, webhook_id("a.2"));
        let long = "k".repeat(300);
        assert!(webhook_id(&long).starts_with("msg_") && webhook_id(&long).len() == 44);
        assert_eq!(webhook_id(&"k".repeat(256)), "k".repeat(256));
    }

    #[test]
    fn extra_headers_cannot_pose_as_inlets() {
        for name in [
            "webhook-id",
            "Webhook-Signature",
            "webhook-anything",
            "Host",
            "content-type",
            "bad header",
        ] {
            assert!(!extra_header_allowed(name), "{name}");
        }
        assert!(extra_header_allowed("X-Team"));
        assert!(extra_header_allowed("Authorization"));
    }
}
