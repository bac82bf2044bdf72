//! What one request came to: the pipeline reports it beside its reply, and the adapters turn it
//! into metrics (CloudWatch EMF in Lambda, Prometheus counters in the local server) and X-Ray
//! subsegments, after the answer has left. Nothing in it holds a body, a secret or a signature.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// On the queue (its body in the payload bucket when `claim_checked`).
    Enqueued { claim_checked: bool },
    /// A sender's retry of a delivery already queued: answered, not enqueued again.
    Duplicate,
    /// A handshake answered; nothing enqueued.
    Handshake,
    /// The queue refused the event for good; it is parked in the payload bucket.
    Parked,
    /// Refused with a 4xx: the sender's request was at fault.
    Rejected { status: u16, problem: &'static str },
    /// Answered 5xx: Inlet could not keep the event (the sender retries).
    Failed { status: u16, problem: &'static str },
}

impl Verdict {
    /// The `outcome` field of the request's log line.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Enqueued { .. } => "enqueued",
            Self::Duplicate => "duplicate",
            Self::Handshake => "handshake",
            Self::Parked => "parked",
            Self::Rejected { .. } => "rejected",
            Self::Failed { .. } => "failed",
        }
    }
}

/// A call the pipeline made to a store or the queue while serving a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Re-reading the signing secrets after a signature mismatch.
    SecretRefresh,
    /// Marking the delivery in progress (idempotency).
    MarkInProgress,
    /// Marking it done once queued.
    MarkDone,
    /// Releasing the mark after a failure.
    ReleaseMark,
    /// Storing a body too large for a message (the claim check).
    StorePayload,
    /// Parking an envelope the queue refused.
    ParkEnvelope,
    /// Sending the message.
    QueueSend,
    /// Sending several events of one batch delivery at once.
    QueueSendBatch,
}

/// What a request's events came to: one for most deliveries, one per event of a batch (whose
/// request may end in a 503 after some of its events were queued).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Events {
    /// Put on the queue.
    pub queued: u32,
    /// Of those, with their body in the payload bucket.
    pub claim_checked: u32,
    /// Recognised as already queued, not queued again.
    pub duplicates: u32,
    /// Refused by the queue for good and parked in the payload bucket.
    pub parked: u32,
}

/// One call: when it started, how long it took, and whether it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub step: Step,
    pub started: SystemTime,
    pub elapsed: Duration,
    pub ok: bool,
}

/// What the pipeline notes while it serves one request: the calls it makes, in order, and the
/// event's type once known. Shared by the pipeline's steps, which borrow the pipeline immutably;
/// one request's steps never run at once, so the lock is never contended.
#[derive(Debug, Default)]
pub struct Trace {
    calls: Mutex<Vec<Call>>,
    event_type: OnceLock<String>,
    events: Mutex<Events>,
}

impl Trace {
    pub fn push(&self, call: Call) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }

    pub fn set_event_type(&self, ty: &str) {
        let _ = self.event_type.set(ty.to_owned());
    }

    /// Counts what happened to the request's events.
    pub fn count(&self, change: impl FnOnce(&mut Events)) {
        if let Ok(mut events) = self.events.lock() {
            change(&mut events);
        }
    }

    /// The request's outcome, with what was noted.
    pub fn finish(self, verdict: Verdict, body_bytes: usize) -> Outcome {
        Outcome {
            verdict,
            event_type: self.event_type.into_inner(),
            body_bytes,
            calls: self.calls.into_inner().unwrap_or_default(),
            events: self.events.into_inner().unwrap_or_default(),
        }
    }
}

/// What one request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The envelope's type, once the request was verified and normalized.
    pub event_type: Option<String>,
    /// The body's size in bytes.
    pub body_bytes: usize,
    /// The calls made, in order.
    pub calls: Vec<Call>,
    /// What its events came to.
    pub events: Events,
}

impl Outcome {
    /// How long the queue took to take the message (the last send), when one was sent.
    pub fn queue_latency(&self) -> Option<Duration> {
        self.calls
            .iter()
            .rev()
            .find(|c| matches!(c.step, Step::QueueSend | Step::QueueSendBatch))
            .map(|c| c.elapsed)
    }
}
