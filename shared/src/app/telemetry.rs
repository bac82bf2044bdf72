//! Each request's outcome as metrics, through the `metrics` facade: CloudWatch Embedded Metric
//! Format in the Lambda functions (`metrics_cloudwatch_embedded`), Prometheus text in the local
//! server (`metrics-exporter-prometheus`). Whatever recorder is installed, the names, units and
//! labels are these, and docs/src/operating.md and the template's dashboard and alarms
//! read them.
//!
//! Every metric carries the label `Source`; refusals also carry `Problem`, the problem type's
//! slug. Handles are registered once per source, so recording a request touches atomics only.

use metrics::{Counter, Histogram, Unit};

use crate::core::outcome::{Outcome, Verdict};

/// Events put on the queue.
pub const ACCEPTED: &str = "Accepted";
/// Deliveries recognised as a sender's retry and not enqueued again.
pub const DUPLICATES: &str = "Duplicates";
/// Handshakes answered.
pub const HANDSHAKES: &str = "Handshakes";
/// Accepted events whose body went to the payload bucket.
pub const CLAIM_CHECKED: &str = "ClaimChecked";
/// Events the queue refused for good, parked in the payload bucket for `inlet replay`.
pub const PARKED: &str = "Parked";
/// 4xx answers, by `Problem`.
pub const REJECTED: &str = "Rejected";
/// 5xx answers, by `Problem`.
pub const FAILED: &str = "Failed";
/// Milliseconds each queue send took.
pub const QUEUE_SEND_LATENCY: &str = "QueueSendLatency";
/// Body sizes of the requests that were not refused.
pub const BODY_BYTES: &str = "BodyBytes";
/// Function starts (Lambda) or server starts (local).
pub const COLD_STARTS: &str = "ColdStarts";

/// The label every metric carries.
pub const SOURCE: &str = "Source";
/// The label of `Rejected` and `Failed`.
pub const PROBLEM: &str = "Problem";

/// Every problem type a request can be refused with, by status class: the `Problem` values.
pub const REJECTED_PROBLEMS: &[&str] = &[
    "method-not-allowed",
    "handshake-refused",
    "payload-too-large",
    "invalid-event",
    "invalid-signature",
    "timestamp-out-of-tolerance",
    "unsupported-media-type",
    "invalid-json",
    "json-too-deep",
    "invalid-form",
    "missing-field",
    "invalid-field",
    "missing-header",
    "duplicate-header",
    // The local server's own refusals.
    "not-found",
    "request-timeout",
];
pub const FAILED_PROBLEMS: &[&str] = &[
    "queue-unavailable",
    "delivery-in-progress",
    "verification-unavailable",
    "queue-rejected",
];

/// Units, for recorders that keep them (CloudWatch does).
pub fn describe() {
    for name in [
        ACCEPTED,
        DUPLICATES,
        HANDSHAKES,
        CLAIM_CHECKED,
        PARKED,
        REJECTED,
        FAILED,
        COLD_STARTS,
    ] {
        metrics::describe_counter!(name, Unit::Count, "");
    }
    metrics::describe_histogram!(QUEUE_SEND_LATENCY, Unit::Milliseconds, "");
    metrics::describe_histogram!(BODY_BYTES, Unit::Bytes, "");
}

/// One source's metric handles, registered with whatever recorder is installed.
#[derive(Debug)]
pub struct Meter {
    accepted: Counter,
    duplicates: Counter,
    handshakes: Counter,
    claim_checked: Counter,
    parked: Counter,
    cold_starts: Counter,
    rejected: Vec<(&'static str, Counter)>,
    failed: Vec<(&'static str, Counter)>,
    queue_send_latency: Histogram,
    body_bytes: Histogram,
}

impl Meter {
    /// Handles for `source`; install the recorder first.
    pub fn new(source: &'static str) -> Self {
        let counter = |name: &'static str| metrics::counter!(name, SOURCE => source);
        let by_problem = |name: &'static str, problems: &[&'static str]| {
            problems
                .iter()
                .map(|&p| (p, metrics::counter!(name, SOURCE => source, PROBLEM => p)))
                .collect()
        };
        Self {
            accepted: counter(ACCEPTED),
            duplicates: counter(DUPLICATES),
            handshakes: counter(HANDSHAKES),
            claim_checked: counter(CLAIM_CHECKED),
            parked: counter(PARKED),
            cold_starts: counter(COLD_STARTS),
            rejected: by_problem(REJECTED, REJECTED_PROBLEMS),
            failed: by_problem(FAILED, FAILED_PROBLEMS),
            queue_send_latency: metrics::histogram!(QUEUE_SEND_LATENCY, SOURCE => source),
            body_bytes: metrics::histogram!(BODY_BYTES, SOURCE => source),
        }
    }

    /// A start of the function or server.
    pub fn cold_start(&self) {
        self.cold_starts.increment(1);
    }

    /// What one request came to. A refused request counts only as refused (its size is not
    /// recorded), so that each request's metrics share one set of labels: in Lambda, one EMF
    /// document per invocation.
    pub fn record(&self, outcome: &Outcome) {
        let find = |counters: &[(&'static str, Counter)], problem: &str| {
            if let Some((_, c)) = counters.iter().find(|(p, _)| *p == problem) {
                c.increment(1);
            }
        };
        match outcome.verdict {
            Verdict::Rejected { problem, .. } => return find(&self.rejected, problem),
            Verdict::Failed { problem, .. } => find(&self.failed, problem),
            Verdict::Handshake => self.handshakes.increment(1),
            Verdict::Enqueued { .. } | Verdict::Duplicate | Verdict::Parked => {}
        }
        // What the events came to: for a batch that failed part-way, the events it did queue.
        let e = outcome.events;
        for (counter, n) in [
            (&self.accepted, e.queued),
            (&self.claim_checked, e.claim_checked),
            (&self.duplicates, e.duplicates),
            (&self.parked, e.parked),
        ] {
            if n > 0 {
                counter.increment(u64::from(n));
            }
        }
        if let Verdict::Failed { .. } = outcome.verdict {
            return;
        }
        self.body_bytes.record(outcome.body_bytes as f64);
        if let Some(latency) = outcome.queue_latency() {
            self.queue_send_latency
                .record(latency.as_secs_f64() * 1000.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::response::Rejection;

    /// Every problem type `Rejection::status_and_slug` can give is a `Problem` value with a
    /// registered counter, in the list of its status class, and documented in the book's
    /// "Responses and errors" (docs/src/responses.md).
    #[test]
    fn every_problem_type_has_its_counter() {
        let mapping = include_str!("../core/response.rs");
        let mut seen = std::collections::BTreeSet::new();
        // Each `(status, "slug")`, alone on its line or after `=>`.
        for (at, _) in mapping.match_indices('(') {
            let rest = &mapping[at + 1..];
            let Some((status, slug)) = rest.split_once(", \"") else {
                continue;
            };
            let (Ok(status), Some((slug, _))) = (status.parse::<u16>(), slug.split_once('"'))
            else {
                continue;
            };
            let list = if status >= 500 {
                FAILED_PROBLEMS
            } else {
                REJECTED_PROBLEMS
            };
            assert!(list.contains(&slug), "{status} {slug}");
            seen.insert(slug);
        }
        assert_eq!(
            seen.len(),
            REJECTED_PROBLEMS.len() + FAILED_PROBLEMS.len(),
            "every listed problem is mapped"
        );
        assert_eq!(
            Rejection::QueueRejected.verdict(),
            Verdict::Failed {
                status: 500,
                problem: "queue-rejected"
            }
        );
        assert_eq!(
            Rejection::HandshakeRefused.verdict(),
            Verdict::Rejected {
                status: 403,
                problem: "handshake-refused"
            }
        );
        let responses = include_str!("../../../docs/src/responses.md");
        for problem in REJECTED_PROBLEMS.iter().chain(FAILED_PROBLEMS) {
            assert!(
                responses.contains(&format!("`urn:inlet:problem:{problem}`")),
                "{problem} is documented"
            );
        }
    }
}
