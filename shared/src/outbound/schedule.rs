//! When a failed delivery is tried again: a list of steps, each the wait after one failed
//! attempt, spread by ±20 % jitter so that an endpoint that comes back is not hit by every
//! waiting delivery in the same second.
//!
//! The default runs 13 attempts over about 3 days and 6 hours: 5 s, 1 min, 5 min, 30 min, 2 h,
//! 5 h, 10 h, then 12 h five times. Svix stops after about 28 hours and EventBridge API
//! destinations after 24; a subscriber down over a weekend still gets every event.

use std::time::Duration;

use super::model::Millis;

/// The default steps, in seconds.
pub const DEFAULT_STEPS: [u64; 12] = [
    5, 60, 300, 1_800, 7_200, 18_000, 36_000, 43_200, 43_200, 43_200, 43_200, 43_200,
];
/// The default jitter: each wait is drawn from ±20 % of its step.
pub const DEFAULT_JITTER_PERCENT: u8 = 20;
/// Longest step: a week.
const MAX_STEP: Duration = Duration::from_secs(7 * 86_400);
/// Most steps.
const MAX_STEPS: usize = 50;

/// A retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    steps: Vec<Duration>,
    jitter_percent: u8,
}

/// Why a schedule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a retry schedule is 1 to 50 comma-separated durations (5s,1m,5m,30m,2h,…), each from 1 s to 7 days")]
pub struct ScheduleError;

impl Default for Schedule {
    fn default() -> Self {
        Self {
            steps: DEFAULT_STEPS
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            jitter_percent: DEFAULT_JITTER_PERCENT,
        }
    }
}

impl Schedule {
    /// Reads `5s,1m,5m,30m,2h` (humantime durations).
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let steps = text
            .split(',')
            .map(|s| humantime::parse_duration(s.trim()).map_err(|_| ScheduleError))
            .collect::<Result<Vec<_>, _>>()?;
        if steps.is_empty()
            || steps.len() > MAX_STEPS
            || steps
                .iter()
                .any(|s| *s < Duration::from_secs(1) || *s > MAX_STEP)
        {
            return Err(ScheduleError);
        }
        Ok(Self {
            steps,
            jitter_percent: DEFAULT_JITTER_PERCENT,
        })
    }

    /// The same schedule with every step divided by `factor` (at least 1 ms): `inlet serve
    /// --time-scale 3600` makes an hour a second, so the schedule can be watched.
    pub fn scaled(mut self, factor: u32) -> Self {
        for s in &mut self.steps {
            *s = (*s / factor.max(1)).max(Duration::from_millis(1));
        }
        self
    }

    /// How many attempts a delivery gets in all: the first and one per step.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.steps.len() + 1).unwrap_or(u32::MAX)
    }

    /// The sum of the steps: how long a delivery is retried for, before jitter.
    pub fn span(&self) -> Duration {
        self.steps.iter().sum()
    }

    /// The wait after failed attempt `attempt` (from 1), with `unit` (uniform in [0, 1)) choosing
    /// where in the jitter it falls; `None` when that was the last attempt.
    pub fn wait_after(&self, attempt: u32, unit: f64) -> Option<Millis> {
        let step = self
            .steps
            .get(usize::try_from(attempt).ok()?.checked_sub(1)?)?;
        let spread = f64::from(self.jitter_percent) / 100.0;
        let factor = 1.0 - spread + 2.0 * spread * unit.clamp(0.0, 1.0);
        // A step is at most a week: the product is far inside an i64 of milliseconds.
        Some(((step.as_millis() as f64) * factor).round().max(1.0) as Millis)
    }

    pub fn steps(&self) -> &[Duration] {
        &self.steps
    }
}

/// A uniform number in [0, 1) from the OS's entropy, for jitter.
pub fn unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_retries_for_more_than_three_days() {
        let s = Schedule::default();
        assert_eq!(s.attempts(), 13);
        assert!(s.span() > Duration::from_secs(3 * 86_400), "{:?}", s.span());
        assert!(s.span() < Duration::from_secs(4 * 86_400), "{:?}", s.span());
    }

    #[test]
    fn waits_follow_the_steps_within_the_jitter() {
        let s = Schedule::default();
        assert_eq!(s.wait_after(1, 0.5), Some(5_000));
        assert_eq!(s.wait_after(1, 0.0), Some(4_000));
        assert_eq!(s.wait_after(1, 1.0), Some(6_000));
        assert_eq!(s.wait_after(7, 0.5), Some(36_000_000));
        assert_eq!(s.wait_after(12, 0.5), Some(43_200_000));
        assert_eq!(s.wait_after(13, 0.5), None, "13 attempts, then no more");
        assert_eq!(s.wait_after(0, 0.5), None);
        for _ in 0..1000 {
            let w = s.wait_after(2, unit()).expect("step");
            assert!((48_000..=72_000).contains(&w), "{w}");
        }
    }

    #[test]
    fn parses_and_scales() {
        let s = Schedule::parse("5s, 1m,2h").expect("schedule");
        assert_eq!(s.attempts(), 4);
        assert_eq!(s.wait_after(3, 0.5), Some(7_200_000));
        let fast = s.scaled(3600);
        assert_eq!(fast.wait_after(3, 0.5), Some(2_000));
        assert_eq!(
            fast.wait_after(1, 0.5),
            Some(1),
            "never below a millisecond"
        );
        for bad in ["", "5", "0s", "8days", "5s,,1m", "soon"] {
            assert_eq!(Schedule::parse(bad), Err(ScheduleError), "{bad:?}");
        }
        assert!(Schedule::parse(&vec!["1s"; 51].join(",")).is_err());
    }

    #[test]
    fn jitter_spreads_waits() {
        let s = Schedule::default();
        let waits: std::collections::BTreeSet<_> =
            (0..50).filter_map(|_| s.wait_after(5, unit())).collect();
        assert!(waits.len() > 40, "{} distinct waits of 50", waits.len());
    }
}
