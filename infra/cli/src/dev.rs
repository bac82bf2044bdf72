//! Development defaults: a well-known secret and a sample payload per source, so the local server
//! and the CLI work with no setup. Never use these secrets for a deployed receiver.

use inlet::Source;

/// Defaults for one source.
#[derive(Debug)]
pub struct Defaults {
    pub source: &'static str,
    /// The development signing secret, as the sender would show it.
    pub secret: &'static str,
    /// A realistic payload.
    pub sample: &'static str,
    /// The event name the sample is (for senders that put it in a header).
    pub event: &'static str,
}

pub const DEFAULTS: [Defaults; 4] = [
    Defaults {
        source: "github",
        secret: "inlet-dev-github-secret",
        sample: include_str!("../../samples/github.json"),
        event: "pull_request",
    },
    Defaults {
        source: "stripe",
        secret: "whsec_inlet_dev_stripe_secret",
        sample: include_str!("../../samples/stripe.json"),
        event: "",
    },
    Defaults {
        source: "slack",
        secret: "inlet-dev-slack-signing-secret",
        sample: include_str!("../../samples/slack.json"),
        event: "",
    },
    Defaults {
        source: "standard",
        secret: "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
        sample: include_str!("../../samples/standard.json"),
        event: "",
    },
];

pub fn defaults(source: &dyn Source) -> &'static Defaults {
    DEFAULTS
        .iter()
        .find(|d| d.source == source.name())
        .expect("every source has development defaults")
}

/// `INLET_<SOURCE>_SECRET`, the variable that overrides a source's development secret.
pub fn secret_var(source: &dyn Source) -> String {
    format!("INLET_{}_SECRET", source.name().to_ascii_uppercase())
}

/// The secret to use for `source`: the override variable if set, else the development default.
pub fn secret(source: &dyn Source) -> (String, bool) {
    match std::env::var(secret_var(source)) {
        Ok(s) => (s, false),
        Err(_) => (defaults(source).secret.to_owned(), true),
    }
}
