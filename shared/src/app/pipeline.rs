//! The request path every front end shares: method and size checks, verification,
//! normalization, idempotency, the claim check and the queue; one `Reply` out, whatever happened.
//!
//! Every request has one deadline (the Lambda invocation's, or the local server's budget), and
//! every call that can wait (secret refresh, idempotency store, payload bucket, queue) runs inside
//! it, so the answer always leaves before the deadline: 503 + `Retry-After` when there was not
//! time enough to queue the event.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::stream::{self, StreamExt};
use http::{HeaderMap, Method};
use serde::Serialize;
use tokio::time::{timeout_at, Instant};
use tracing::{error, info, warn};

use crate::adapters::{IdempotencyStore, PayloadStore};
use crate::catalogue::sources::Source;
use crate::config::Settings;
use crate::core::envelope::Envelope;
use crate::core::normalize::Disposition;
use crate::core::outcome::{Call, Outcome, Step, Trace, Verdict};
use crate::core::response::{Rejection, Reply};
use crate::core::verify::{Clock, Unverified, VerifyError};
use crate::ports::failure::Failure;
use crate::ports::fetched::KeySource;
use crate::ports::idempotency::{Begin, Claim, Done, Times};
use crate::ports::payloads;
use crate::ports::queue::{Message, Queue, QueueError};
use crate::ports::secrets::SecretStore;

/// Time kept back from the deadline to write the answer and hand it to the runtime.
pub const RESPONSE_MARGIN: Duration = Duration::from_millis(250);
/// How long after its holder's deadline an in-progress mark keeps blocking duplicates.
const LEASE_GRACE: Duration = Duration::from_secs(2);
/// Most time one idempotency call may take: a slow table must not eat the queue's time.
const IDEMPOTENCY_CALL_BUDGET: Duration = Duration::from_secs(1);
/// How often a duplicate waits to see whether the request holding its mark has finished.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(100);
/// Characters of an id or type kept in a log line.
const LOGGED_CHARS: usize = 128;

/// A request as it arrived: method, headers and the exact body bytes (base64 already undone
/// once), the raw query string, and the URL it was sent to as the front end saw it.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The raw query string, without `?` (empty when there is none).
    pub query: &'a str,
    /// The URL rebuilt from the request (scheme, host, path and query), for schemes that sign
    /// it when no `PUBLIC_URL` is configured.
    pub url: Option<&'a str>,
}

impl<'a> Inbound<'a> {
    /// A POST with no query string and no URL (tests, and senders that do not sign the URL).
    pub fn post(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        static POST: Method = Method::POST;
        Self {
            method: &POST,
            headers,
            body,
            query: "",
            url: None,
        }
    }
}

/// Everything one source needs to serve requests, built once at start-up.
#[derive(Debug)]
pub struct Pipeline<Q> {
    source: &'static Source,
    secrets: Arc<SecretStore>,
    settings: Settings,
    queue: Q,
    idempotency: IdempotencyStore,
    payloads: PayloadStore,
    /// Where a sender's published keys are fetched (SNS, PayPal, Plaid); without one such a
    /// sender is answered 503.
    keys: Option<Arc<dyn KeySource>>,
}

/// The 202 body: the envelope id lets a sender or operator find the event downstream.
#[derive(Serialize)]
struct Accepted<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    #[serde(rename = "messageId", skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    /// An earlier delivery with the same key was queued; nothing was enqueued this time.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
    /// The queue refused the event; it is kept in the payload bucket for replay.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    parked: bool,
}

/// How an event was kept.
enum Kept {
    /// On the queue, with its message id; `claim_checked` when its body is in the payload bucket.
    Queued {
        message_id: String,
        claim_checked: bool,
    },
    /// In the payload bucket, because the queue refused it for good.
    Parked,
}

/// At most [`LOGGED_CHARS`] characters of `s`, for logs.
fn clip(s: &str) -> &str {
    match s.char_indices().nth(LOGGED_CHARS) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `fut`, unless `until` passes first.
async fn within<T>(until: Instant, fut: impl Future<Output = T>) -> Option<T> {
    timeout_at(until, fut).await.ok()
}

/// When a call started, by the wall clock (for traces) and the monotonic one (for its length).
#[derive(Clone, Copy)]
struct Stopwatch(SystemTime, Instant);

impl Stopwatch {
    fn start() -> Self {
        Self(SystemTime::now(), Instant::now())
    }

    /// Notes the call `step`, started at this stopwatch and ended now, in `trace`.
    fn note(self, trace: &Trace, step: Step, ok: bool) {
        trace.push(Call {
            step,
            started: self.0,
            elapsed: self.1.elapsed(),
            ok,
        });
    }
}

/// [`within`], noted in `trace` as `step`: when it started, how long it took, whether it succeeded.
async fn timed<T, E>(
    trace: &Trace,
    step: Step,
    until: Instant,
    fut: impl Future<Output = Result<T, E>>,
) -> Option<Result<T, E>> {
    let watch = Stopwatch::start();
    let out = within(until, fut).await;
    watch.note(trace, step, matches!(out, Some(Ok(_))));
    out
}

impl<Q: Queue> Pipeline<Q> {
    /// `secrets` is a `SecretSet` (fixed) or a refreshable `SecretStore`. Idempotency and the
    /// payload bucket are off until given.
    pub fn new(
        source: &'static Source,
        secrets: impl Into<SecretStore>,
        settings: Settings,
        queue: Q,
    ) -> Self {
        Self {
            source,
            secrets: Arc::new(secrets.into()),
            settings,
            queue,
            idempotency: IdempotencyStore::Off,
            payloads: PayloadStore::Off,
            keys: None,
        }
    }

    /// Fetches the keys of senders that publish theirs through `keys` ([`crate::ports::fetched`]).
    pub fn with_keys(mut self, keys: Arc<dyn KeySource>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// De-duplicates deliveries in `store`.
    pub fn with_idempotency(mut self, store: IdempotencyStore) -> Self {
        self.idempotency = store;
        self
    }

    /// Claim-checks bodies that do not fit the queue, and parks refused envelopes, in `store`.
    pub fn with_payloads(mut self, store: PayloadStore) -> Self {
        self.payloads = store;
        self
    }

    pub fn source(&self) -> &'static Source {
        self.source
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    pub fn payloads(&self) -> &PayloadStore {
        &self.payloads
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Serves one request that must be answered by `deadline`. `now` is passed in so tests
    /// control the replay window.
    pub async fn handle(&self, req: Inbound<'_>, now: SystemTime, deadline: Instant) -> Reply {
        self.serve(req, now, deadline).await.0
    }

    /// [`Pipeline::handle`], with what the request came to (for metrics and traces).
    pub async fn serve(
        &self,
        req: Inbound<'_>,
        now: SystemTime,
        deadline: Instant,
    ) -> (Reply, Outcome) {
        let respond_by = deadline.checked_sub(RESPONSE_MARGIN).unwrap_or(deadline);
        let trace = Trace::default();
        let (reply, verdict) = match self.process(req, now, respond_by, &trace).await {
            Ok(served) => served,
            Err(rejection) => {
                let verdict = rejection.verdict();
                self.log_rejection(&req, &rejection, verdict);
                (rejection.to_reply(), verdict)
            }
        };
        (reply, trace.finish(verdict, req.body.len()))
    }

    fn log_rejection(&self, req: &Inbound<'_>, rejection: &Rejection, verdict: Verdict) {
        let source = self.source.name();
        let (status, problem) = rejection.status_and_slug();
        let outcome = verdict.as_str();
        // Unverified, so only logged as a hint, shortened.
        let delivery_id = self
            .source
            .delivery_header()
            .and_then(|h| req.headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(clip);
        if let Verdict::Failed { .. } = verdict {
            let alert = matches!(rejection, Rejection::QueueRejected).then_some("queue-rejected");
            error!(source, status, problem, outcome, alert, delivery_id, reason = %rejection, "request failed");
        } else {
            warn!(source, status, problem, outcome, delivery_id, reason = %rejection, bytes = req.body.len(), "request rejected");
        }
    }

    async fn process(
        &self,
        req: Inbound<'_>,
        now: SystemTime,
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<(Reply, Verdict), Rejection> {
        let methods = self.source.methods();
        if !methods.contains(req.method) {
            let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
            return Err(Rejection::MethodNotAllowed(allow.join(", ")));
        }
        if req.body.len() > self.settings.max_body_bytes {
            return Err(Rejection::PayloadTooLarge {
                size: req.body.len(),
                limit: self.settings.max_body_bytes,
            });
        }
        let clock = Clock {
            now,
            tolerance: self
                .settings
                .tolerance
                .unwrap_or_else(|| self.source.default_tolerance()),
        };
        let unverified = Unverified {
            method: req.method,
            headers: req.headers,
            body: req.body,
            query: req.query,
            url: self.source.public_url().or(req.url),
        };
        // Secrets not read yet (Secrets Manager unreachable since start-up): ask again, and
        // until they can be read, answer 503 + Retry-After rather than anything a sender gives up on.
        let secrets = match self.secrets.current() {
            Some(secrets) => secrets,
            None => match self.refresh(None, respond_by, trace).await? {
                Some(fresh) => fresh,
                None => self
                    .secrets
                    .current()
                    .ok_or(Rejection::VerificationUnavailable)?,
            },
        };
        // A handshake that hands over the secret: answered only if it is stored as the secret.
        if let Some(claim) = crate::core::handshake::stateful(self.source.scheme(), &unverified) {
            return self.claim_secret(claim?, respond_by).await;
        }
        if let Some(answer) = self.source.handshake(&unverified, &secrets) {
            let reply = answer?;
            info!(
                source = self.source.name(),
                status = reply.status,
                outcome = "handshake",
                "handshake answered"
            );
            return Ok((reply, Verdict::Handshake));
        }
        if req.method != Method::POST {
            // A GET or HEAD that is not the handshake this sender makes.
            let first = self.source.scheme().signature.at.first();
            return Err(Rejection::Verify(VerifyError::MissingSignature {
                header: first.map_or("signature", crate::core::verify::engine::label),
            }));
        }
        let scheme = self.source.scheme();
        let verified = match crate::core::verify::fetch::key_request(scheme, &unverified, &secrets)
        {
            // A key the sender publishes: named by the unverified request, checked against the
            // sender's hosts (a 401 before any connection when it is not), fetched within the
            // deadline, then the same pure check.
            Some(request) => {
                let fetched = self.fetch_key(&request?, respond_by).await?;
                let check = |secrets: &crate::core::verify::SecretSet| {
                    crate::core::verify::fetch::verify(
                        scheme, secrets, unverified, &clock, &fetched,
                    )
                };
                match check(&secrets) {
                    Err(VerifyError::SignatureMismatch { header }) => {
                        match self.refresh(Some(&secrets), respond_by, trace).await? {
                            Some(fresh) => check(&fresh)?,
                            None => return Err(VerifyError::SignatureMismatch { header }.into()),
                        }
                    }
                    other => other?,
                }
            }
            None => match self.source.verify(&secrets, unverified, &clock) {
                // The secret may have been rotated since start-up: re-fetch (bounded) and try once more.
                Err(VerifyError::SignatureMismatch { header }) => {
                    match self.refresh(Some(&secrets), respond_by, trace).await? {
                        Some(fresh) => self.source.verify(&fresh, unverified, &clock)?,
                        None => return Err(VerifyError::SignatureMismatch { header }.into()),
                    }
                }
                other => other?,
            },
        };
        let source = self.source.name();
        // A verified request that asks for a URL to be visited (SNS's SubscriptionConfirmation):
        // visited only now, only on the sender's hosts, and answered without queueing anything.
        if let Some(visit) = scheme.custom.and_then(|c| c.visit(&verified)) {
            let url = visit?;
            let keys = self.keys.as_ref().ok_or(Rejection::KeyUnavailable)?;
            match within(respond_by, keys.visit(&url)).await {
                Some(Ok(())) => {
                    info!(
                        source,
                        status = 200,
                        outcome = "handshake",
                        "subscription confirmed"
                    );
                    return Ok((Reply::text(200, "confirmed".into()), Verdict::Handshake));
                }
                Some(Err(e)) => {
                    warn!(source, error = %e, "the subscription could not be confirmed");
                    return Err(Rejection::KeyUnavailable);
                }
                None => return Err(Rejection::KeyUnavailable),
            }
        }
        let mut envelope = match self.source.normalize(&verified, now)? {
            Disposition::Reply(reply) => {
                info!(
                    source,
                    status = reply.status,
                    outcome = "handshake",
                    secret = verified.secret_label(),
                    "handshake answered"
                );
                return Ok((reply, Verdict::Handshake));
            }
            Disposition::Enqueue(envelope) => *envelope,
            Disposition::Batch(envelopes) => {
                // Boxed: the batch path's future is deep, and a batch is rare beside one event.
                return Box::pin(self.keep_batch(req.body, envelopes, now, respond_by, trace))
                    .await;
            }
        };
        trace.set_event_type(envelope.event_type());
        let message = Message::from(&envelope);
        let limit = self.queue.max_message_bytes();
        if message.size() > limit && !self.payloads.is_on() {
            return Err(Rejection::EventTooLarge {
                size: message.size(),
                limit,
            });
        }
        let claim = match self.claim(&envelope, now, respond_by, trace).await? {
            Ok(claim) => claim,
            Err(done) => {
                info!(
                    source,
                    delivery_id = clip(envelope.id()),
                    event_type = clip(envelope.event_type()),
                    message_id = clip(&done.message_id),
                    outcome = "duplicate",
                    status = 202,
                    "duplicate delivery; already queued"
                );
                let reply = accepted(
                    self.source.scheme().accepted,
                    &done.id,
                    &done.event_type,
                    &done.message_id,
                    true,
                );
                trace.count(|e| e.duplicates += 1);
                return Ok((reply, Verdict::Duplicate));
            }
        };
        let kept = match self
            .keep(&mut envelope, message, req.body, respond_by, trace)
            .await
        {
            Ok(kept) => kept,
            Err(rejection) => {
                if let Some(claim) = &claim {
                    self.release(claim, respond_by, trace).await;
                }
                return Err(rejection);
            }
        };
        let message_id = match &kept {
            Kept::Queued { message_id, .. } => message_id.as_str(),
            Kept::Parked => PARKED,
        };
        if let Some(claim) = &claim {
            let done = Done {
                message_id: message_id.to_owned(),
                id: envelope.id().to_owned(),
                event_type: envelope.event_type().to_owned(),
            };
            self.complete(claim, &done, respond_by, trace).await;
        }
        match &kept {
            Kept::Queued { claim_checked, .. } => info!(
                source,
                delivery_id = clip(envelope.id()),
                event_type = clip(envelope.event_type()),
                secret = verified.secret_label(),
                message_id = clip(message_id),
                bytes = req.body.len(),
                claim_checked,
                outcome = "enqueued",
                status = 202,
                "enqueued"
            ),
            Kept::Parked => error!(
                source,
                delivery_id = clip(envelope.id()),
                event_type = clip(envelope.event_type()),
                bytes = req.body.len(),
                outcome = "parked",
                alert = "queue-rejected",
                status = 202,
                "the queue refused the event for good; parked in the payload bucket for `inlet replay`"
            ),
        }
        let reply = accepted(
            self.source.scheme().accepted,
            envelope.id(),
            envelope.event_type(),
            message_id,
            false,
        );
        let verdict = match kept {
            Kept::Queued { claim_checked, .. } => {
                trace.count(|e| {
                    e.queued += 1;
                    e.claim_checked += u32::from(claim_checked);
                });
                Verdict::Enqueued { claim_checked }
            }
            Kept::Parked => {
                trace.count(|e| e.parked += 1);
                Verdict::Parked
            }
        };
        Ok((reply, verdict))
    }

    /// Answers a handshake that hands over the source's secret: 200 once the secret store has
    /// taken it as the secret (see [`crate::ports::secrets::SecretStore::claim`]), else refused as an
    /// unsigned request is, or 503 when the store could not be asked in time. The value is
    /// never logged.
    async fn claim_secret(
        &self,
        claim: crate::core::handshake::Claim,
        respond_by: Instant,
    ) -> Result<(Reply, Verdict), Rejection> {
        let source = self.source.name();
        let handshake = claim.handshake.name();
        match within(respond_by, self.secrets.claim(self.source, &claim.secret)).await {
            Some(Ok(crate::ports::secrets::Claimed::Stored)) => {
                info!(
                    source,
                    handshake,
                    status = 200,
                    outcome = "handshake",
                    "handshake answered; its secret is the source's secret from now on"
                );
                Ok((
                    crate::core::handshake::claimed_reply(&claim),
                    Verdict::Handshake,
                ))
            }
            Some(Ok(crate::ports::secrets::Claimed::Refused(why))) => {
                warn!(source, handshake, reason = why, "handshake refused");
                Err(crate::core::handshake::refused(self.source.scheme()))
            }
            Some(Err(e)) if e.failure == Failure::Transient => {
                warn!(source, handshake, error = %e, "the handshake's secret could not be stored; it is not answered");
                Err(Rejection::VerificationUnavailable)
            }
            Some(Err(e)) => {
                error!(source, handshake, error = %e, "the handshake's secret could not be stored; it is refused");
                Err(crate::core::handshake::refused(self.source.scheme()))
            }
            None => {
                warn!(
                    source,
                    handshake, "storing the handshake's secret did not finish in time"
                );
                Err(Rejection::VerificationUnavailable)
            }
        }
    }

    /// The key `request` names, from the key port within the deadline: 503 + `Retry-After` when
    /// it cannot be had (no port, a failed or slow fetch), never an accept.
    async fn fetch_key(
        &self,
        request: &crate::core::verify::fetch::KeyRequest,
        respond_by: Instant,
    ) -> Result<Arc<[u8]>, Rejection> {
        let keys = self.keys.as_ref().ok_or(Rejection::KeyUnavailable)?;
        match within(respond_by, keys.fetch(request)).await {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(e)) => {
                warn!(source = self.source.name(), error = %e, "the sender's key could not be fetched");
                Err(Rejection::KeyUnavailable)
            }
            None => {
                warn!(
                    source = self.source.name(),
                    "fetching the sender's key did not finish in time"
                );
                Err(Rejection::KeyUnavailable)
            }
        }
    }

    /// Re-reads the secrets (bounded by `SECRET_REFRESH_SECONDS`) in a task of its own, so a
    /// refresh that outlasts this request still completes for the sender's retry. A re-read that
    /// failed or did not finish leaves it unknown whether the request was signed with a rotated
    /// secret: 503 and a retry, rather than a 401 the sender may not retry. `tried`: the secrets
    /// the request failed to verify with (`None`: none were read yet).
    async fn refresh(
        &self,
        tried: Option<&Arc<crate::core::verify::SecretSet>>,
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<Option<Arc<crate::core::verify::SecretSet>>, Rejection> {
        let store = self.secrets.clone();
        let tried = tried.cloned();
        let task = tokio::spawn(async move { store.refresh_fetching(tried.as_ref()).await });
        let watch = Stopwatch::start();
        let refreshed = within(respond_by, task).await;
        // Noted only when the store was asked: a fixed secret, or one read too recently, is not.
        let fetched = match &refreshed {
            Some(Ok((fetched, result))) => fetched.then_some(result.is_ok()),
            Some(Err(_)) | None => Some(false),
        };
        if let Some(ok) = fetched {
            watch.note(trace, Step::SecretRefresh, ok);
        }
        match refreshed {
            Some(Ok((_, Ok(fresh)))) => Ok(fresh),
            Some(Ok((_, Err(_)))) | Some(Err(_)) => Err(Rejection::VerificationUnavailable),
            None => {
                warn!(
                    source = self.source.name(),
                    "re-reading the secrets did not finish in time; it continues in the background"
                );
                Err(Rejection::VerificationUnavailable)
            }
        }
    }

    /// Marks the delivery in progress. `Ok(Ok(Some))` holds the mark; `Ok(Ok(None))` goes on
    /// without one (idempotency off, or its store failing: an event is never refused because
    /// duplicates cannot be recognised); `Ok(Err)` is an earlier delivery already queued.
    async fn claim(
        &self,
        envelope: &Envelope<'_>,
        now: SystemTime,
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<Result<Option<Claim>, Done>, Rejection> {
        // Off, or a sender whose repeats nothing can recognise (every delivery is queued).
        let Some(key) = envelope.key().filter(|_| self.idempotency.is_on()) else {
            return Ok(Ok(None));
        };
        let pk = format!("{}#{key}", envelope.source());
        let times = self.mark_times(now, respond_by);
        // Once another request is seen holding the mark, a later look that fails or is cut short
        // by the deadline still means "in progress": never a reason to queue a second copy.
        let mut held_elsewhere = false;
        loop {
            let until = respond_by.min(Instant::now() + IDEMPOTENCY_CALL_BUDGET);
            match timed(
                trace,
                Step::MarkInProgress,
                until,
                self.idempotency.begin(&pk, times),
            )
            .await
            {
                Some(Ok(Begin::Claimed(claim))) => return Ok(Ok(Some(claim))),
                Some(Ok(Begin::Done(done))) => return Ok(Err(done)),
                Some(Ok(Begin::InProgress)) => {
                    // Another request is queueing this delivery right now: wait for its outcome.
                    held_elsewhere = true;
                    if Instant::now() + IN_PROGRESS_POLL >= respond_by {
                        return Err(Rejection::DeliveryInProgress);
                    }
                    tokio::time::sleep(IN_PROGRESS_POLL).await;
                }
                _ if held_elsewhere => return Err(Rejection::DeliveryInProgress),
                outcome => {
                    let error = match outcome {
                        Some(Err(e)) => e.detail,
                        _ => "timed out".to_owned(),
                    };
                    warn!(
                        source = self.source.name(),
                        delivery_id = clip(envelope.id()),
                        idempotency = self.idempotency.kind(),
                        error,
                        "the idempotency store is unavailable; queueing without de-duplication"
                    );
                    return Ok(Ok(None));
                }
            }
        }
    }

    /// The times an in-progress mark taken now is written with: its lease ends shortly after
    /// this request's deadline, and it is forgotten at the end of the idempotency window.
    fn mark_times(&self, now: SystemTime, respond_by: Instant) -> Times {
        let lease = respond_by.saturating_duration_since(Instant::now()) + RESPONSE_MARGIN;
        Times {
            now,
            lease_until: now + lease + LEASE_GRACE,
            expires_at: now + self.settings.idempotency_window,
        }
    }

    async fn complete(&self, claim: &Claim, done: &Done, respond_by: Instant, trace: &Trace) {
        let until = respond_by.min(Instant::now() + IDEMPOTENCY_CALL_BUDGET);
        if !matches!(
            timed(
                trace,
                Step::MarkDone,
                until,
                self.idempotency.complete(claim, done)
            )
            .await,
            Some(Ok(()))
        ) {
            warn!(
                source = self.source.name(),
                idempotency = self.idempotency.kind(),
                "the event is queued, but could not be marked done; a retry after the lease may queue it again"
            );
        }
    }

    async fn release(&self, claim: &Claim, respond_by: Instant, trace: &Trace) {
        let until = respond_by.min(Instant::now() + IDEMPOTENCY_CALL_BUDGET);
        if !matches!(
            timed(
                trace,
                Step::ReleaseMark,
                until,
                self.idempotency.release(claim)
            )
            .await,
            Some(Ok(()))
        ) {
            warn!(
                source = self.source.name(),
                idempotency = self.idempotency.kind(),
                "could not release the in-progress mark; the sender's retry waits for its lease to end"
            );
        }
    }

    /// Puts the event on the queue, its body in the payload bucket first when the envelope does
    /// not fit; parks the envelope when the queue refuses it for good.
    async fn keep(
        &self,
        envelope: &mut Envelope<'_>,
        mut message: Message,
        body: &[u8],
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<Kept, Rejection> {
        let limit = self.queue.max_message_bytes();
        if message.size() > limit {
            message = self.claim_check(envelope, body, respond_by, trace).await?;
            if message.size() > limit {
                return self
                    .park(
                        envelope,
                        "even its claim check is over the queue's size limit",
                        respond_by,
                        trace,
                    )
                    .await;
            }
        }
        let mut size = message.size();
        let sent = match timed(trace, Step::QueueSend, respond_by, self.queue.send(message)).await {
            Some(Err(e))
                if e.too_large && self.payloads.is_on() && !envelope.is_claim_checked() =>
            {
                // The queue's limit shrank since start-up: claim-check and send once more.
                let message = self.claim_check(envelope, body, respond_by, trace).await?;
                size = message.size();
                timed(trace, Step::QueueSend, respond_by, self.queue.send(message)).await
            }
            other => other,
        };
        match sent {
            Some(Ok(message_id)) => Ok(Kept::Queued {
                message_id,
                claim_checked: envelope.is_claim_checked(),
            }),
            None => {
                self.log_queue_error(
                    envelope,
                    &QueueError::transient("no answer before the deadline"),
                );
                Err(Rejection::QueueUnavailable)
            }
            Some(Err(e)) => {
                self.log_queue_error(envelope, &e);
                match e.failure {
                    Failure::Transient => Err(Rejection::QueueUnavailable),
                    Failure::Permanent if e.too_large && !self.payloads.is_on() => {
                        Err(Rejection::EventTooLarge { size, limit })
                    }
                    Failure::Permanent => {
                        self.park(envelope, "the queue refused it", respond_by, trace)
                            .await
                    }
                }
            }
        }
    }

    fn log_queue_error(&self, envelope: &Envelope<'_>, e: &QueueError) {
        error!(
            source = self.source.name(),
            delivery_id = clip(envelope.id()),
            event_type = clip(envelope.event_type()),
            failure = e.failure.as_str(),
            error = %e,
            "queue send failed"
        );
    }

    /// Moves the envelope's body to the payload bucket; the message to send instead.
    async fn claim_check(
        &self,
        envelope: &mut Envelope<'_>,
        body: &[u8],
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<Message, Rejection> {
        let key = payloads::body_key(envelope);
        let put = timed(
            trace,
            Step::StorePayload,
            respond_by,
            self.payloads.put(&key, body, envelope.body_content_type()),
        )
        .await;
        match put {
            Some(Ok(uri)) => {
                envelope.claim_check(uri);
                Ok(Message::from(&*envelope))
            }
            failed => {
                let (failure, error) = match failed {
                    Some(Err(e)) => (e.failure, e.detail),
                    _ => (
                        Failure::Transient,
                        "no answer before the deadline".to_owned(),
                    ),
                };
                error!(
                    source = self.source.name(),
                    delivery_id = clip(envelope.id()),
                    failure = failure.as_str(),
                    error,
                    "could not store the body in the payload bucket"
                );
                Err(match failure {
                    Failure::Transient => Rejection::QueueUnavailable,
                    Failure::Permanent => Rejection::QueueRejected,
                })
            }
        }
    }

    /// Keeps an envelope the queue will never take in the payload bucket, for `inlet replay`.
    async fn park(
        &self,
        envelope: &Envelope<'_>,
        why: &'static str,
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<Kept, Rejection> {
        if !self.payloads.is_on() {
            return Err(Rejection::QueueRejected);
        }
        let key = payloads::parked_key(envelope);
        let json = envelope.encode();
        match timed(
            trace,
            Step::ParkEnvelope,
            respond_by,
            self.payloads
                .put(&key, json.as_bytes(), "application/cloudevents+json"),
        )
        .await
        {
            Some(Ok(_)) => Ok(Kept::Parked),
            Some(Err(e)) if e.failure == Failure::Transient => Err(Rejection::QueueUnavailable),
            None => Err(Rejection::QueueUnavailable),
            Some(Err(e)) => {
                error!(source = self.source.name(), delivery_id = clip(envelope.id()), why, error = %e, "could not park the event either");
                Err(Rejection::QueueRejected)
            }
        }
    }
}

/// How many calls one batch delivery has under way at once, to the idempotency store and to the
/// queue each: a 1,000-event delivery is 1,000 marks and 100 `SendMessageBatch` calls.
const BATCH_CONCURRENCY: usize = 16;

/// One event of a batch delivery on its way through the pipeline.
struct Pending<'b> {
    envelope: Envelope<'b>,
    /// The message, until it is handed to the queue.
    message: Option<Message>,
    /// The in-progress mark this request holds for it.
    claim: Option<Claim>,
    fate: Fate,
    /// Another request was seen holding its mark: never a reason to queue a second copy.
    held_elsewhere: bool,
}

/// One `SendMessageBatch`: the events it carried (by position) and each one's result.
type Sent = (Vec<usize>, Vec<Result<String, QueueError>>);

/// What became of one event of a batch.
enum Fate {
    /// Not decided yet: to be sent (with its mark, or with none when idempotency is off or failing).
    Waiting,
    /// Another request holds its mark right now.
    Held,
    /// Already queued by an earlier delivery.
    Duplicate,
    Queued {
        message_id: String,
    },
    Parked,
    Failed(Failure),
}

impl<Q: Queue> Pipeline<Q> {
    /// Queues every event of a batch delivery before answering: each de-duplicated on its own key,
    /// the ones to send in `SendMessageBatch` calls, several at once. A sender's retry of a batch
    /// that was partly queued (an answer of 503) queues only what is missing.
    async fn keep_batch(
        &self,
        body: &[u8],
        envelopes: Vec<Envelope<'_>>,
        now: SystemTime,
        respond_by: Instant,
        trace: &Trace,
    ) -> Result<(Reply, Verdict), Rejection> {
        if let Some(first) = envelopes.first() {
            trace.set_event_type(first.event_type());
        }
        let limit = self.queue.max_message_bytes();
        let mut events: Vec<Pending<'_>> = envelopes
            .into_iter()
            .map(|envelope| Pending {
                message: Some(Message::from(&envelope)),
                envelope,
                claim: None,
                fate: Fate::Waiting,
                held_elsewhere: false,
            })
            .collect();
        if !self.payloads.is_on() {
            if let Some(size) = events
                .iter()
                .filter_map(|e| e.message.as_ref().map(Message::size))
                .find(|size| *size > limit)
            {
                return Err(Rejection::EventTooLarge { size, limit });
            }
        }
        // The same key twice in one delivery is the same event twice: queued once.
        if self.idempotency.is_on() {
            let mut seen = std::collections::HashSet::new();
            for event in &mut events {
                if let Some(key) = event.envelope.key() {
                    if !seen.insert(key.to_owned()) {
                        event.fate = Fate::Duplicate;
                    }
                }
            }
        }
        let mut round: Vec<usize> = (0..events.len())
            .filter(|i| matches!(events[*i].fate, Fate::Waiting))
            .collect();
        loop {
            self.claim_events(&mut events, &round, now, respond_by, trace)
                .await;
            let ready: Vec<usize> = round
                .iter()
                .copied()
                .filter(|i| matches!(events[*i].fate, Fate::Waiting))
                .collect();
            self.send_events(&mut events, &ready, body, respond_by, trace)
                .await;
            self.settle_events(&events, &ready, respond_by, trace).await;
            // The ones another request is queueing right now: look again until it is done.
            round.retain(|i| matches!(events[*i].fate, Fate::Held));
            if round.is_empty() || Instant::now() + IN_PROGRESS_POLL >= respond_by {
                break;
            }
            tokio::time::sleep(IN_PROGRESS_POLL).await;
            for i in &round {
                events[*i].fate = Fate::Waiting;
            }
        }
        self.answer_batch(&events, trace)
    }

    /// Marks each event of `round` in progress, several at once: the ones already queued become
    /// duplicates, the ones another request holds wait; a failing store marks nothing (an event
    /// is never refused because duplicates cannot be recognised).
    async fn claim_events(
        &self,
        events: &mut [Pending<'_>],
        round: &[usize],
        now: SystemTime,
        respond_by: Instant,
        trace: &Trace,
    ) {
        if !self.idempotency.is_on() {
            return;
        }
        let source = self.source.name();
        let keys: Vec<(usize, String)> = round
            .iter()
            .filter_map(|&i| {
                events[i]
                    .envelope
                    .key()
                    .map(|k| (i, format!("{source}#{k}")))
            })
            .collect();
        if keys.is_empty() {
            return;
        }
        let times = self.mark_times(now, respond_by);
        let watch = Stopwatch::start();
        let results: Vec<(
            usize,
            Option<Result<Begin, crate::ports::failure::StoreError>>,
        )> = stream::iter(keys)
            .map(|(i, pk)| async move {
                let until = respond_by.min(Instant::now() + IDEMPOTENCY_CALL_BUDGET);
                (i, within(until, self.idempotency.begin(&pk, times)).await)
            })
            .buffer_unordered(BATCH_CONCURRENCY)
            .collect()
            .await;
        let all_ok = results.iter().all(|(_, r)| matches!(r, Some(Ok(_))));
        watch.note(trace, Step::MarkInProgress, all_ok);
        let mut unavailable = 0usize;
        for (i, result) in results {
            let event = &mut events[i];
            match result {
                Some(Ok(Begin::Claimed(claim))) => event.claim = Some(claim),
                Some(Ok(Begin::Done(_))) => event.fate = Fate::Duplicate,
                Some(Ok(Begin::InProgress)) => {
                    event.held_elsewhere = true;
                    event.fate = Fate::Held;
                }
                _ if event.held_elsewhere => event.fate = Fate::Held,
                _ => unavailable += 1,
            }
        }
        if unavailable > 0 {
            warn!(
                source,
                events = unavailable,
                idempotency = self.idempotency.kind(),
                "the idempotency store is unavailable; queueing these events without de-duplication"
            );
        }
    }

    /// Sends the events at `ready`: those too large for a message claim-checked first, the rest
    /// in batches within the queue's limits, several batches at once.
    async fn send_events(
        &self,
        events: &mut [Pending<'_>],
        ready: &[usize],
        body: &[u8],
        respond_by: Instant,
        trace: &Trace,
    ) {
        let limit = self.queue.max_message_bytes();
        // Rare: an event too large for a message. Its bytes go to the payload bucket.
        for &i in ready {
            if events[i].message.as_ref().is_some_and(|m| m.size() > limit) {
                self.send_one(&mut events[i], body, respond_by, trace).await;
            }
        }
        let (max_count, max_bytes) = self.queue.batch_limits();
        let mut batches: Vec<Vec<(usize, Message)>> = Vec::new();
        let mut bytes = 0usize;
        for &i in ready {
            let Some(message) = events[i].message.take() else {
                continue;
            };
            let size = message.size();
            let fits = batches
                .last()
                .is_some_and(|b| b.len() < max_count && bytes + size <= max_bytes);
            if !fits {
                batches.push(Vec::new());
                bytes = 0;
            }
            bytes += size;
            if let Some(batch) = batches.last_mut() {
                batch.push((i, message));
            }
        }
        let sent: Vec<Sent> = stream::iter(batches)
            .map(|batch| async move {
                let (at, messages): (Vec<usize>, Vec<Message>) = batch.into_iter().unzip();
                let count = messages.len();
                let watch = Stopwatch::start();
                let results = within(respond_by, self.queue.send_batch(messages))
                    .await
                    .unwrap_or_else(|| {
                        (0..count)
                            .map(|_| Err(QueueError::transient("no answer before the deadline")))
                            .collect()
                    });
                watch.note(
                    trace,
                    Step::QueueSendBatch,
                    results.iter().all(Result::is_ok),
                );
                (at, results)
            })
            // A FIFO queue keeps a group's order only if its batches go one after another.
            .buffer_unordered(if self.queue.ordered() {
                1
            } else {
                BATCH_CONCURRENCY
            })
            .collect()
            .await;
        for (at, results) in sent {
            // One line for a batch call's failures, not one per event.
            if let Some((first, e)) = at
                .iter()
                .zip(&results)
                .find_map(|(i, r)| r.as_ref().err().map(|e| (*i, e)))
            {
                let failed = results.iter().filter(|r| r.is_err()).count();
                error!(
                    source = self.source.name(),
                    events = failed,
                    first_id = clip(events[first].envelope.id()),
                    failure = e.failure.as_str(),
                    error = %e,
                    "queue send failed"
                );
            }
            for (i, result) in at.into_iter().zip(results) {
                match result {
                    Ok(message_id) => events[i].fate = Fate::Queued { message_id },
                    Err(e) => {
                        events[i].fate = match e.failure {
                            Failure::Transient => Fate::Failed(Failure::Transient),
                            // Refused for good (too large since start-up included): one at a time,
                            // claim-checked or parked.
                            Failure::Permanent => {
                                events[i].message = Some(Message::from(&events[i].envelope));
                                self.send_one(&mut events[i], body, respond_by, trace).await;
                                continue;
                            }
                        };
                    }
                }
            }
        }
    }

    /// One event through the single-delivery path: claim-checked when too large, parked when
    /// refused for good.
    async fn send_one(
        &self,
        event: &mut Pending<'_>,
        body: &[u8],
        respond_by: Instant,
        trace: &Trace,
    ) {
        let Some(message) = event.message.take() else {
            return;
        };
        let bytes = event.envelope.event_bytes().unwrap_or(body);
        event.fate = match self
            .keep(&mut event.envelope, message, bytes, respond_by, trace)
            .await
        {
            Ok(Kept::Queued { message_id, .. }) => Fate::Queued { message_id },
            Ok(Kept::Parked) => Fate::Parked,
            Err(Rejection::QueueRejected) => Fate::Failed(Failure::Permanent),
            Err(_) => Fate::Failed(Failure::Transient),
        };
    }

    /// Marks the queued (and parked) events done and releases the marks of the ones that failed,
    /// several at once.
    async fn settle_events(
        &self,
        events: &[Pending<'_>],
        ready: &[usize],
        respond_by: Instant,
        trace: &Trace,
    ) {
        let mut done: Vec<(Claim, Done)> = Vec::new();
        let mut released: Vec<Claim> = Vec::new();
        for &i in ready {
            let event = &events[i];
            let Some(claim) = &event.claim else {
                continue;
            };
            let message_id = match &event.fate {
                Fate::Queued { message_id } => message_id.as_str(),
                Fate::Parked => PARKED,
                Fate::Failed(_) => {
                    released.push(claim.clone());
                    continue;
                }
                _ => continue,
            };
            done.push((
                claim.clone(),
                Done {
                    message_id: message_id.to_owned(),
                    id: event.envelope.id().to_owned(),
                    event_type: event.envelope.event_type().to_owned(),
                },
            ));
        }
        if !done.is_empty() {
            let watch = Stopwatch::start();
            let oks: Vec<bool> = stream::iter(done)
                .map(|(claim, done)| async move {
                    let until = respond_by.min(Instant::now() + IDEMPOTENCY_CALL_BUDGET);
                    matches!(
                        within(until, self.idempotency.complete(&claim, &done)).await,
                        Some(Ok(()))
                    )
                })
                .buffer_unordered(BATCH_CONCURRENCY)
                .collect()
                .await;
            let failed = oks.iter().filter(|ok| !**ok).count();
            watch.note(trace, Step::MarkDone, failed == 0);
            if failed > 0 {
                warn!(
                    source = self.source.name(),
                    events = failed,
                    idempotency = self.idempotency.kind(),
                    "these events are queued, but could not be marked done; a retry after the lease may queue them again"
                );
            }
        }
        if !released.is_empty() {
            let watch = Stopwatch::start();
            let oks: Vec<bool> = stream::iter(released)
                .map(|claim| async move {
                    let until = respond_by.min(Instant::now() + IDEMPOTENCY_CALL_BUDGET);
                    matches!(
                        within(until, self.idempotency.release(&claim)).await,
                        Some(Ok(()))
                    )
                })
                .buffer_unordered(BATCH_CONCURRENCY)
                .collect()
                .await;
            watch.note(trace, Step::ReleaseMark, oks.iter().all(|ok| *ok));
        }
    }

    /// The answer to a batch: 202 once every event is queued (or was already, or is parked);
    /// 503 while some could not be queued yet (the sender's retry queues only those); 500 when the
    /// queue refused some for good and there is nowhere to park them.
    fn answer_batch(
        &self,
        events: &[Pending<'_>],
        trace: &Trace,
    ) -> Result<(Reply, Verdict), Rejection> {
        let count = |f: fn(&Fate) -> bool| events.iter().filter(|e| f(&e.fate)).count();
        let queued = count(|f| matches!(f, Fate::Queued { .. }));
        let duplicates = count(|f| matches!(f, Fate::Duplicate));
        let parked = count(|f| matches!(f, Fate::Parked));
        let held = count(|f| matches!(f, Fate::Held));
        let transient = count(|f| matches!(f, Fate::Failed(Failure::Transient)));
        let permanent = count(|f| matches!(f, Fate::Failed(Failure::Permanent)));
        let claim_checked = events
            .iter()
            .filter(|e| matches!(e.fate, Fate::Queued { .. }) && e.envelope.is_claim_checked())
            .count();
        let n = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
        trace.count(|e| {
            e.queued += n(queued);
            e.claim_checked += n(claim_checked);
            e.duplicates += n(duplicates);
            e.parked += n(parked);
        });
        let source = self.source.name();
        let first = events.first().map(|e| clip(e.envelope.id()));
        let summary = |outcome: &'static str, status: u16| {
            info!(
                source,
                events = events.len(),
                queued,
                duplicates,
                parked,
                claim_checked,
                held,
                failed = transient + permanent,
                first_id = first,
                outcome,
                status,
                "batch delivery"
            )
        };
        if transient > 0 || held > 0 || permanent > 0 {
            summary(
                "failed",
                if permanent > 0 && transient + held == 0 {
                    500
                } else {
                    503
                },
            );
            return Err(if transient > 0 {
                Rejection::QueueUnavailable
            } else if held > 0 {
                Rejection::DeliveryInProgress
            } else {
                Rejection::QueueRejected
            });
        }
        let status = self.source.scheme().accepted;
        summary("enqueued", status);
        let verdict = if queued > 0 {
            Verdict::Enqueued {
                claim_checked: claim_checked > 0,
            }
        } else if parked > 0 {
            Verdict::Parked
        } else {
            Verdict::Duplicate
        };
        let reply = Reply::json(
            status,
            &BatchAccepted {
                events: events.len(),
                queued,
                duplicates,
                parked,
            },
        );
        Ok((reply, verdict))
    }
}

/// The 202 body of a batch delivery: what its events came to.
#[derive(Serialize)]
struct BatchAccepted {
    events: usize,
    queued: usize,
    duplicates: usize,
    parked: usize,
}

/// What a parked delivery's message id is recorded as.
const PARKED: &str = "parked";

/// The 202 for a delivery kept under `message_id` (now, or earlier for a duplicate).
fn accepted(status: u16, id: &str, ty: &str, message_id: &str, duplicate: bool) -> Reply {
    let parked = message_id == PARKED;
    Reply::json(
        status,
        &Accepted {
            id,
            ty,
            message_id: (!parked).then_some(message_id),
            duplicate,
            parked,
        },
    )
}
