//! The circuit breaker: after `threshold` failures in a row an endpoint's deliveries wait instead
//! of all hitting it; once the cool-down has passed, one delivery (the probe) is let through, and
//! its success closes the circuit while its failure opens it again for twice as long (up to a
//! bound). Its state is the endpoint's [`Health`], which the store updates atomically, so every
//! function instance sees the same circuit.

use super::model::{Health, Millis};

/// The breaker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    /// Failures in a row that open the circuit.
    pub threshold: u32,
    /// The first cool-down; each failed probe doubles it.
    pub cooldown: Millis,
    pub max_cooldown: Millis,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            threshold: 5,
            cooldown: 30_000,
            max_cooldown: 600_000,
        }
    }
}

/// Whether a delivery may go to the endpoint now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Closed,
    /// Nothing goes until then.
    Open {
        until: Millis,
    },
    /// One probe may go: whoever takes it from the store.
    HalfOpen,
}

impl Breaker {
    /// How long the circuit stays open after `failures` in a row.
    pub fn cooldown(&self, failures: u32) -> Millis {
        let doublings = failures.saturating_sub(self.threshold).min(30);
        self.cooldown
            .saturating_mul(1 << doublings)
            .min(self.max_cooldown)
    }

    pub fn gate(&self, health: &Health, now: Millis) -> Gate {
        if health.consecutive_failures < self.threshold {
            return Gate::Closed;
        }
        let cooldown = self.cooldown(health.consecutive_failures);
        let reopens = health.last_failure.unwrap_or(now).saturating_add(cooldown);
        match health.probe_until {
            _ if now < reopens => Gate::Open { until: reopens },
            // A probe is out: look again after a cool-down, by when it has usually answered (its
            // hold, which outlasts any attempt, only matters if it never does).
            Some(held) if now < held => Gate::Open {
                until: held.min(now.saturating_add(cooldown)),
            },
            _ => Gate::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(failures: u32, last: Millis) -> Health {
        Health {
            consecutive_failures: failures,
            failing_since: Some(0),
            last_failure: Some(last),
            ..Health::default()
        }
    }

    #[test]
    fn opens_after_the_threshold_then_lets_one_probe_through() {
        let b = Breaker::default();
        assert_eq!(b.gate(&failing(4, 1_000), 1_000), Gate::Closed);
        assert_eq!(
            b.gate(&failing(5, 1_000), 1_000),
            Gate::Open { until: 31_000 }
        );
        assert_eq!(
            b.gate(&failing(5, 1_000), 30_999),
            Gate::Open { until: 31_000 }
        );
        assert_eq!(b.gate(&failing(5, 1_000), 31_000), Gate::HalfOpen);
        let probing = Health {
            probe_until: Some(50_000),
            ..failing(5, 1_000)
        };
        assert_eq!(b.gate(&probing, 40_000), Gate::Open { until: 50_000 });
        assert_eq!(
            b.gate(&probing, 31_000),
            Gate::Open { until: 50_000 },
            "the hold ends first"
        );
        let long_hold = Health {
            probe_until: Some(100_000),
            ..failing(5, 1_000)
        };
        assert_eq!(
            b.gate(&long_hold, 40_000),
            Gate::Open { until: 70_000 },
            "a cool-down, not the hold"
        );
        assert_eq!(
            b.gate(&probing, 50_000),
            Gate::HalfOpen,
            "a lost probe's hold ends"
        );
        assert_eq!(b.gate(&Health::default(), 0), Gate::Closed);
    }

    #[test]
    fn each_failed_probe_doubles_the_cooldown_up_to_the_bound() {
        let b = Breaker::default();
        assert_eq!(b.cooldown(5), 30_000);
        assert_eq!(b.cooldown(6), 60_000);
        assert_eq!(b.cooldown(7), 120_000);
        assert_eq!(b.cooldown(10), 600_000);
        assert_eq!(b.cooldown(u32::MAX), 600_000);
        assert_eq!(b.gate(&failing(6, 0), 59_999), Gate::Open { until: 60_000 });
    }
}
