//! The outbound side's settings, read once at start-up like the receivers': anything invalid
//! stops the function (or `inlet serve`) with the variable named, and nothing unsafe is the
//! default (https only, no private addresses).

use std::time::Duration;

use super::circuit::Breaker;
use super::deliver::Policy;
use super::model::Millis;
use super::schedule::Schedule;
use crate::config::{ConfigError, Env};

// The names live with the rest of the environment's (config), which checks for unknown ones.
pub use crate::config::outbound::{
    ALLOW_HTTP, ALLOW_NETWORKS, ATTEMPTS_KEPT, CIRCUIT_THRESHOLD, DISABLE_AFTER, SCHEDULE,
    SETTINGS, TIMEOUT,
};

/// Default attempt timeout: the Standard Webhooks spec asks for 15 to 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// What the outbound settings say.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub policy: Policy,
    pub timeout: Duration,
    pub allow_http: bool,
    /// CIDR ranges, as written (the sender's guard reads them).
    pub allow_networks: Vec<String>,
}

fn invalid(var: &str, expected: &str) -> ConfigError {
    ConfigError::Invalid {
        var: var.into(),
        expected: expected.into(),
    }
}

fn duration(
    env: &Env,
    var: &str,
    default: Millis,
    range: (Duration, Duration),
) -> Result<Millis, ConfigError> {
    let Some(raw) = env.get(var).map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(default);
    };
    humantime::parse_duration(raw)
        .ok()
        .filter(|d| (range.0..=range.1).contains(d))
        .and_then(|d| Millis::try_from(d.as_millis()).ok())
        .ok_or_else(|| {
            invalid(
                var,
                &format!(
                    "a duration from {} to {} (such as 5d or 12h)",
                    humantime::format_duration(range.0),
                    humantime::format_duration(range.1)
                ),
            )
        })
}

impl Outbound {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut policy = Policy::default();
        if let Some(raw) = env.get(SCHEDULE).filter(|v| !v.trim().is_empty()) {
            policy.schedule =
                Schedule::parse(raw).map_err(|e| invalid(SCHEDULE, &e.to_string()))?;
        }
        const DAY: u64 = 86_400;
        policy.disable_after = duration(
            env,
            DISABLE_AFTER,
            policy.disable_after,
            (Duration::from_secs(3_600), Duration::from_secs(90 * DAY)),
        )?;
        policy.attempts_kept = duration(
            env,
            ATTEMPTS_KEPT,
            policy.attempts_kept,
            (Duration::from_secs(DAY), Duration::from_secs(365 * DAY)),
        )?;
        if let Some(raw) = env.get(CIRCUIT_THRESHOLD).filter(|v| !v.trim().is_empty()) {
            let threshold = raw
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|t| (1..=1000).contains(t))
                .ok_or_else(|| invalid(CIRCUIT_THRESHOLD, "a whole number from 1 to 1000"))?;
            policy.breaker = Breaker {
                threshold,
                ..policy.breaker
            };
        }
        let timeout = match env.get(TIMEOUT).map(str::trim).filter(|v| !v.is_empty()) {
            None => DEFAULT_TIMEOUT,
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs)
                .filter(|d| (Duration::from_secs(1)..=MAX_TIMEOUT).contains(d))
                .ok_or_else(|| invalid(TIMEOUT, "whole seconds from 1 to 60"))?,
        };
        // A probe holds the circuit for longer than an attempt can take.
        policy.probe_hold = Millis::try_from(timeout.as_millis()).unwrap_or(60_000) * 2;
        let allow_http = match env.get(ALLOW_HTTP).map(str::trim) {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(invalid(ALLOW_HTTP, "`true` or `false`")),
        };
        let allow_networks = env
            .get(ALLOW_NETWORKS)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            policy,
            timeout,
            allow_http,
            allow_networks,
        })
    }
}

#[cfg(feature = "sender")]
impl Outbound {
    /// The HTTP client these settings describe: its timeout and network policy (the ranges
    /// must parse).
    pub fn client(&self) -> Result<crate::adapters::http::Client, ConfigError> {
        let networks = self
            .allow_networks
            .iter()
            .map(|n| n.parse())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| {
                invalid(
                    ALLOW_NETWORKS,
                    "comma-separated CIDR ranges (10.1.0.0/16, fd00:1::/64)",
                )
            })?;
        crate::adapters::http::Client::new(crate::adapters::http::ClientConfig {
            timeout: self.timeout,
            policy: crate::adapters::http::Policy {
                allow_http: self.allow_http,
                allow_networks: networks,
            },
            ..crate::adapters::http::ClientConfig::default()
        })
        .map_err(|e| invalid(TIMEOUT, &e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let o = Outbound::from_env(&Env::default()).expect("defaults");
        assert!(!o.allow_http);
        assert!(o.allow_networks.is_empty());
        assert_eq!(o.timeout, DEFAULT_TIMEOUT);
        assert_eq!(o.policy.schedule, Schedule::default());
        assert_eq!(o.policy.disable_after, 5 * 86_400_000);
        assert_eq!(o.policy.probe_hold, 30_000);
    }

    #[test]
    fn settings_are_read() {
        let env = Env::from_pairs([
            (SCHEDULE, "1s,2s"),
            (TIMEOUT, "5"),
            (ALLOW_HTTP, "true"),
            (ALLOW_NETWORKS, "127.0.0.0/8, ::1/128"),
            (DISABLE_AFTER, "2h"),
            (ATTEMPTS_KEPT, "7d"),
            (CIRCUIT_THRESHOLD, "3"),
        ]);
        let o = Outbound::from_env(&env).expect("settings");
        assert_eq!(o.policy.schedule.attempts(), 3);
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert!(o.allow_http);
        assert_eq!(o.allow_networks, vec!["127.0.0.0/8", "::1/128"]);
        assert_eq!(o.policy.disable_after, 7_200_000);
        assert_eq!(o.policy.attempts_kept, 7 * 86_400_000);
        assert_eq!(o.policy.breaker.threshold, 3);
    }

    #[cfg(feature = "sender")]
    #[test]
    fn networks_must_be_cidr_ranges() {
        let env = Env::from_pairs([(ALLOW_NETWORKS, "10.0.0.0/8,private")]);
        let o = Outbound::from_env(&env).expect("read");
        assert_eq!(o.client().expect_err("not a range").var(), ALLOW_NETWORKS);
        let env = Env::from_pairs([(ALLOW_NETWORKS, "10.0.0.0/8, ::1/128")]);
        assert!(Outbound::from_env(&env).expect("read").client().is_ok());
    }

    #[test]
    fn invalid_settings_fail_closed() {
        for (var, value) in [
            (SCHEDULE, "soon"),
            (TIMEOUT, "0"),
            (TIMEOUT, "61"),
            (ALLOW_HTTP, "yes"),
            (ALLOW_HTTP, "TRUE"),
            (DISABLE_AFTER, "1m"),
            (ATTEMPTS_KEPT, "forever"),
            (CIRCUIT_THRESHOLD, "0"),
        ] {
            let err = Outbound::from_env(&Env::from_pairs([(var, value)])).expect_err(var);
            assert_eq!(err.var(), var, "{value}");
        }
    }
}
