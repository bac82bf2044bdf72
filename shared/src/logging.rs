//! Structured JSON logs to stdout (CloudWatch), filtered by `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL`;
//! and, for the local server on a terminal, the same lines as readable text ([`Format::Pretty`]).
//!
//! Whatever the level asked for, other crates log at most at `debug`: at `trace` the Lambda
//! runtime prints every raw event and the AWS SDK every request and answer, which would put
//! bodies, signatures and secrets in the logs. Inlet's own lines never hold them at any level.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object a line (what the functions write, and CloudWatch reads).
    Json,
    /// `time level message key=value…`, for a person at a terminal; `colour` adds ANSI colours.
    /// The lines about one request's outcome (those with an `outcome` field) are left out: the
    /// local server prints its own line per request in this format.
    Pretty { colour: bool },
}

/// `level` or `target=level,…` from `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL`, else `info`.
fn targets() -> Targets {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_else(|_| "info".into());
    // `level` or `target=level,…` directives (tracing-subscriber's `Targets`: no regex engine to
    // build at start-up, unlike `EnvFilter`, which would also cost the binary its size).
    filter
        .parse::<Targets>()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    init_as(Format::Json);
}

/// Installs the subscriber for `format` once; later calls do nothing.
pub fn init_as(format: Format) {
    let targets = targets();
    match format {
        Format::Json => {
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
        Format::Pretty { colour } => {
            let layer = pretty(colour, std::io::stdout, targets);
            let _ = tracing_subscriber::registry().with(layer).try_init();
        }
    }
}

/// Whether a line reports what one request came to (the pipeline's `enqueued`, `request
/// rejected`, `handshake answered`…: each has an `outcome` field).
pub fn is_request_outcome(meta: &Metadata<'_>) -> bool {
    meta.is_event() && meta.fields().field("outcome").is_some()
}

/// ANSI colours for [`Format::Pretty`] lines (and the local server's request lines).
pub mod colour {
    pub const DIM: &str = "2";
    pub const BOLD: &str = "1";
    pub const RED: &str = "31";
    pub const GREEN: &str = "32";
    pub const YELLOW: &str = "33";
    pub const BLUE: &str = "34";
    pub const MAGENTA: &str = "35";
    pub const CYAN: &str = "36";

    /// `text` in the SGR colour `code` when `on`, else as it is.
    pub fn paint(on: bool, code: &str, text: &str) -> String {
        if on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// `HH:MM:SS.mmm` of `at`, in UTC (no time-zone database to read).
pub fn time_of_day(at: SystemTime) -> String {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}

/// The readable layer, writing to `writer`, with the filters every line passes and without the
/// lines about one request's outcome.
fn pretty<S, W>(colour: bool, writer: W, targets: Targets) -> impl Layer<S>
where
    S: Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    Pretty { colour, writer }.with_filter(
        targets
            .and(filter_fn(allowed))
            .and(filter_fn(|meta| !is_request_outcome(meta))),
    )
}

/// The readable layer: one line an event.
struct Pretty<W> {
    colour: bool,
    writer: W,
}

/// An event's message and its other fields, as `key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else if value.contains(char::is_whitespace) || value.is_empty() {
            let _ = write!(self.pairs, " {}={value:?}", field.name());
        } else {
            let _ = write!(self.pairs, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            let _ = write!(self.pairs, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber, W: for<'w> MakeWriter<'w> + 'static> Layer<S> for Pretty<W> {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = *event.metadata().level();
        let (code, name) = match level {
            Level::ERROR => (colour::RED, "error"),
            Level::WARN => (colour::YELLOW, "warn "),
            Level::INFO => (colour::GREEN, "info "),
            Level::DEBUG => (colour::BLUE, "debug"),
            Level::TRACE => (colour::DIM, "trace"),
        };
        let line = format!(
            "{} {} {}{}",
            colour::paint(self.colour, colour::DIM, &time_of_day(SystemTime::now())),
            colour::paint(self.colour, code, name),
            fields.message,
            colour::paint(self.colour, colour::DIM, &fields.pairs)
        );
        let _ = writeln!(self.writer.make_writer(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_of_day_is_utc_with_millis() {
        let at = UNIX_EPOCH + std::time::Duration::from_millis(86_400_000 * 3 + 3_723_045);
        assert_eq!(time_of_day(at), "01:02:03.045");
    }

    /// What the readable layer wrote.
    #[derive(Clone, Default)]
    struct Written(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Written {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut out) = self.0.lock() {
                out.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Written {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().map(|o| o.clone()).unwrap_or_default())
                .into_owned()
        }
    }

    #[test]
    fn pretty_lines_read_as_text_and_leave_out_request_outcomes() {
        let written = Written::default();
        let to = written.clone();
        let targets = Targets::new().with_default(LevelFilter::INFO);
        let subscriber =
            tracing_subscriber::registry().with(pretty(false, move || to.clone(), targets));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "inlet::serve", error = "connection reset", port = 3000, "accept failed");
            tracing::info!(target: "inlet::app::pipeline", source = "stripe", outcome = "enqueued", status = 202, "enqueued");
            tracing::debug!(target: "inlet::serve", "below the level");
        });
        let text = written.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let (time, rest) = lines[0].split_once(' ').expect("a time first");
        assert_eq!(time.len(), "00:00:00.000".len());
        assert_eq!(
            rest,
            "warn  accept failed error=\"connection reset\" port=3000"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn paint_only_when_asked() {
        assert_eq!(colour::paint(false, colour::RED, "x"), "x");
        assert_eq!(colour::paint(true, colour::RED, "x"), "\x1b[31mx\x1b[0m");
    }
}
