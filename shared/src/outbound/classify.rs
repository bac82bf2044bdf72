//! One attempt becomes one [`Verdict`], as Svix's worker and the Standard Webhooks spec do it:
//! 2xx is delivered; 410 Gone means the subscriber wants no more; 429 and 503 that say when to
//! come back (`Retry-After`, clamped) are retried then; everything else (3xx, which is never
//! followed, other 4xx and 5xx, timeouts, resets, TLS and DNS failures, the SSRF guard's
//! refusals) is retried on the schedule. Metrics, logs, the attempt log, the endpoint's health
//! and the next attempt all read the verdict.

use time::format_description::well_known::Rfc2822;
use time::OffsetDateTime;

use super::model::Millis;
use super::ports::Observed;

/// Bounds on a `Retry-After` that is honoured: at least 5 s (a receiver cannot make Inlet spin),
/// at most 6 h (nor park a delivery for days with one answer).
pub const RETRY_AFTER_BOUNDS: (Millis, Millis) = (5_000, 6 * 3_600_000);

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// 429 or 503 with a `Retry-After`: try again after this many milliseconds.
    Throttled {
        after: Millis,
    },
    /// Try again on the schedule.
    Retry,
    /// 410 Gone: disable the endpoint.
    Gone,
}

impl Verdict {
    /// The name logs, metrics and the attempt log use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Throttled { .. } => "throttled",
            Self::Retry => "retry",
            Self::Gone => "gone",
        }
    }

    pub fn success(self) -> bool {
        self == Self::Delivered
    }
}

/// The verdict on `observed`, at `now`.
pub fn classify(observed: &Observed, now: Millis) -> Verdict {
    match observed {
        Observed::Response { status, .. } if (200..300).contains(status) => Verdict::Delivered,
        Observed::Response { status: 410, .. } => Verdict::Gone,
        Observed::Response {
            status: 429 | 503,
            retry_after: Some(value),
            ..
        } => match retry_after(value, now) {
            Some(after) => Verdict::Throttled {
                after: after.clamp(RETRY_AFTER_BOUNDS.0, RETRY_AFTER_BOUNDS.1),
            },
            None => Verdict::Retry,
        },
        _ => Verdict::Retry,
    }
}

/// A `Retry-After` (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds, or an
/// HTTP-date. `None` if it is neither.
pub fn retry_after(value: &str, now: Millis) -> Option<Millis> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // A number too long for an i64 is "a very long time": the clamp makes it the longest wait.
        return Some(
            value
                .parse::<i64>()
                .map_or(Millis::MAX, |s| s.saturating_mul(1000)),
        );
    }
    let at = OffsetDateTime::parse(value, &Rfc2822).ok()?;
    let at = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    Some(at.saturating_sub(now).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> Observed {
        Observed::Response {
            status,
            retry_after: retry_after.map(str::to_owned),
            head: vec![],
        }
    }

    // 1994-11-06T08:49:37Z, the RFC's example date.
    const NOW: Millis = 784_111_777_000;

    #[test]
    fn statuses_and_failures() {
        let cases = [
            (response(200, None), Verdict::Delivered),
            (response(204, None), Verdict::Delivered),
            (response(299, None), Verdict::Delivered),
            (response(301, None), Verdict::Retry),
            (response(302, None), Verdict::Retry),
            (response(304, None), Verdict::Retry),
            (response(400, None), Verdict::Retry),
            (response(404, None), Verdict::Retry),
            (response(410, None), Verdict::Gone),
            (response(410, Some("60")), Verdict::Gone),
            (response(429, None), Verdict::Retry),
            (
                response(429, Some("60")),
                Verdict::Throttled { after: 60_000 },
            ),
            (
                response(503, Some("120")),
                Verdict::Throttled { after: 120_000 },
            ),
            (response(503, Some("soon")), Verdict::Retry),
            (response(500, Some("60")), Verdict::Retry),
            (response(502, None), Verdict::Retry),
            (response(504, None), Verdict::Retry),
            (Observed::Failed { class: "timeout" }, Verdict::Retry),
            (Observed::Failed { class: "refused" }, Verdict::Retry),
        ];
        for (observed, want) in cases {
            assert_eq!(classify(&observed, NOW), want, "{observed:?}");
        }
    }

    #[test]
    fn retry_after_is_clamped() {
        assert_eq!(
            classify(&response(429, Some("0")), NOW),
            Verdict::Throttled { after: 5_000 }
        );
        assert_eq!(
            classify(&response(429, Some("999999999999999999999999")), NOW),
            Verdict::Throttled { after: 21_600_000 }
        );
        assert_eq!(
            classify(&response(429, Some("86400")), NOW),
            Verdict::Throttled { after: 21_600_000 }
        );
    }

    #[test]
    fn retry_after_reads_http_dates() {
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:50:37 GMT", NOW),
            Some(60_000)
        );
        assert_eq!(retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW), Some(0));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", NOW),
            Some(0),
            "past: now"
        );
        assert_eq!(retry_after(" 30 ", NOW), Some(30_000));
        for bad in ["", "-1", "1.5", "tomorrow", "06 Nov 1994"] {
            assert_eq!(retry_after(bad, NOW), None, "{bad:?}");
        }
    }
}
