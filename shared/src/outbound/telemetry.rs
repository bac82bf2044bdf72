//! The outbound side's metrics, through the same `metrics` facade as the receivers' (CloudWatch
//! EMF in the functions, Prometheus text in the local server). Each reads a [`Delivery`]: the
//! verdict is decided once, in `classify`.

use metrics::{counter, histogram, Unit};

use super::deliver::Delivery;

/// Attempts, by `Outcome` (the verdict: delivered, throttled, retry, gone) and `Class` (`http`
/// for a response, else the failure: timeout, connect, tls, refused, …).
pub const ATTEMPTS: &str = "OutboundAttempts";
/// Tasks delivered.
pub const DELIVERED: &str = "OutboundDelivered";
/// Tasks whose schedule ran out (parked).
pub const EXHAUSTED: &str = "OutboundExhausted";
/// Milliseconds each attempt took.
pub const LATENCY: &str = "OutboundLatency";
/// Endpoints disabled, by `Reason` (gone, failing).
pub const ENDPOINTS_DISABLED: &str = "OutboundEndpointsDisabled";
/// Tasks held back without an attempt, by `Reason` (circuit-open, rate-limited, …).
pub const HELD: &str = "OutboundHeld";
/// Tasks created by fan-out.
pub const FANNED_OUT: &str = "OutboundTasksCreated";
/// Published events that were not CloudEvents Inlet can deliver (dropped, logged).
pub const INVALID_EVENTS: &str = "OutboundInvalidEvents";
/// Received events a receiver relayed to the outbox (`INLET_RELAY`).
pub const RELAYED: &str = "OutboundRelayed";
/// Received events the relay takes whose outbound copy could not be made (they went to the events
/// queue only; logged).
pub const NOT_RELAYED: &str = "OutboundNotRelayed";

/// Units, for recorders that keep them.
pub fn describe() {
    for name in [
        ATTEMPTS,
        DELIVERED,
        EXHAUSTED,
        ENDPOINTS_DISABLED,
        HELD,
        FANNED_OUT,
        INVALID_EVENTS,
        RELAYED,
        NOT_RELAYED,
    ] {
        metrics::describe_counter!(name, Unit::Count, "");
    }
    metrics::describe_histogram!(LATENCY, Unit::Milliseconds, "");
}

/// Counts what one look at a task came to.
pub fn record(delivery: &Delivery) {
    if let Some(why) = delivery.skipped {
        counter!(HELD, "Reason" => why).increment(1);
    }
    if let (Some(verdict), Some(attempt)) = (delivery.verdict, &delivery.attempt) {
        counter!(ATTEMPTS, "Outcome" => verdict.name(), "Class" => attempt.class.clone())
            .increment(1);
        histogram!(LATENCY).record(attempt.latency_ms as f64);
        if verdict.success() {
            counter!(DELIVERED).increment(1);
        }
    }
    if delivery.exhausted {
        counter!(EXHAUSTED).increment(1);
    }
    if let Some(reason) = delivery.disabled {
        counter!(ENDPOINTS_DISABLED, "Reason" => reason.as_str()).increment(1);
    }
}
