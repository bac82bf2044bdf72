//! Structured JSON logs to stdout (CloudWatch), filtered by `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL`.
//!
//! Whatever the level asked for, other crates log at most at `debug`: at `trace` the Lambda
//! runtime prints every raw event and the AWS SDK every request and answer, which would put
//! bodies, signatures and secrets in the logs. Inlet's own lines never hold them at any level.

use tracing::level_filters::LevelFilter;
use tracing::Metadata;
use tracing_subscriber::filter::{filter_fn, FilterExt, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Whether a line may be written at all, before the level filter: Inlet's own crates at any
/// level, every other crate at `debug` or above.
pub fn allowed(meta: &Metadata<'_>) -> bool {
    let target = meta.target();
    let ours = target == "inlet"
        || target.starts_with("inlet::")
        || target.starts_with("inlet_")
        || target.contains("_webhook");
    ours || *meta.level() <= LevelFilter::DEBUG
}

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_else(|_| "info".into());
    // `level` or `target=level,…` directives (tracing-subscriber's `Targets`: no regex engine to
    // build at start-up, unlike `EnvFilter`, which would also cost the binary its size).
    let targets = filter
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        // The invocation's span: its Lambda request id and X-Ray trace id, on every line.
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stdout)
        .with_filter(targets.and(filter_fn(allowed)));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
