//! The command line, parsed by clap: `inlet <command> --help` documents each command, `inlet
//! completions <shell>` prints a completion script.
//!
//! Exit status, for every command: 0 done; 1 it ran and the answer was a failure (a delivery not
//! answered 2xx, envelopes a replay refused or could not send); 2 it could not run (arguments,
//! an unknown source, settings a function would refuse, a file it cannot read, a server it cannot
//! reach). Errors go to stderr as `error: …`.

use clap::{Args, Parser, Subcommand};

use crate::outbound::args::{DeliveriesCli, EndpointsCli, PublishCli, Store};
use crate::signing::SignArgs;

const ABOUT: &str = "Run Inlet locally, sign test webhooks as each sender would, and send your own";

const AFTER_HELP: &str = "\
Sources are the names `inlet sources` lists (github, stripe, slack, standard, shopify, …), or a name
INLET_SOURCE_SETTINGS configures. Secrets: INLET_<SOURCE>_SECRET, else the development secret.

Exit status: 0 done; 1 it ran and the answer was a failure (a delivery not answered 2xx, a replay
that refused or failed envelopes); 2 it could not run (arguments, an unknown source, settings, files,
a server it cannot reach).";

#[derive(Debug, Parser)]
#[command(name = "inlet", version, about = ABOUT, after_help = AFTER_HELP)]
#[command(arg_required_else_help = true, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serves every source locally with the same pipeline as the Lambda functions
    ///
    /// POST /webhooks/<source> for every source. Without QUEUE_URL, each event is written to the
    /// spool directory as one JSON file; with QUEUE_URL it goes to that SQS queue (and
    /// PAYLOAD_BUCKET, IDEMPOTENCY_TABLE are used as the functions use them). Duplicates are
    /// recognised through the idempotency directory unless IDEMPOTENCY_TABLE is set or
    /// --no-idempotency is given. Secrets: INLET_<SOURCE>_SECRET, else the development secret
    /// (printed at start); other INLET_* variables are reported as warnings, and settings a
    /// function would refuse stop it. It also delivers what `inlet publish` puts in the outbound
    /// store to the endpoints `inlet endpoints add` subscribed, retrying on the schedule
    /// (INLET_OUTBOUND_SCHEDULE) divided by --time-scale; operational events go where events go.
    Serve(ServeArgs),
    /// Signs a payload as <SOURCE> would and POSTs it (default: to the local server)
    Send {
        #[arg(value_name = "SOURCE")]
        source: String,
        /// Send the sender's handshake instead of an event (Meta's GET hub.challenge, X's CRC,
        /// Dropbox's, Okta's, Graph's validationToken, Trello's HEAD, Braintree's, WooCommerce's
        /// ping, Asana's and Notion's secret), and check the answer as the sender would (exit 1 if
        /// it would not take it). Asana and Notion hand over the secret `send` signs with
        #[arg(long, conflicts_with_all = ["data", "file", "event", "id", "timestamp", "content_type", "headers"])]
        handshake: bool,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Prints the headers to send with a payload, one `Name: value` per line
    Sign {
        #[arg(value_name = "SOURCE")]
        source: String,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Prints an API Gateway REST (v1), HTTP API (v2) or function URL event for `sam local invoke`
    Event {
        #[arg(value_name = "SOURCE")]
        source: String,
        /// The event's shape: v1 (REST API), v2 (HTTP API) or url (function URL)
        #[arg(long, default_value = "v2", value_parser = ["v1", "rest", "v2", "http", "url", "function-url"])]
        format: String,
        /// Base64-encode the body, as API Gateway does for binary media types
        #[arg(long)]
        base64: bool,
        /// The request's method
        #[arg(long, default_value = "POST")]
        method: String,
        /// The request's path (default: /webhooks/<SOURCE>)
        #[arg(long)]
        path: Option<String>,
        #[command(flatten)]
        sign: SignArgs,
    },
    /// Lists the senders' samples: what `inlet send <SOURCE> --event <EVENT>` sends
    ///
    /// Each is a body as the sender posts it, written from the provider's documented payload, with
    /// the headers it sends (infra/samples/<SOURCE>/). `inlet send <SOURCE>` sends the default.
    Samples {
        /// Only this source's samples
        #[arg(value_name = "SOURCE")]
        source: Option<String>,
    },
    /// Sends the envelopes a function parked in the payload bucket back to the queue
    ///
    /// Parked envelopes are under undelivered/, because the queue refused them for good; each is
    /// deleted once the queue has it (--keep leaves them). An object that is not what its key says
    /// the function parked (another source, id or digest, a type of another source, data that does
    /// not hash to its digest, a dataref elsewhere) is refused with the reason and kept, and the
    /// exit status is 1. Data built from a form body cannot be re-hashed: it is refused too, unless
    /// --unchecked-data is given once you have looked at it. AWS credentials and region come from
    /// the usual places.
    Replay {
        /// Only this source's envelopes
        #[arg(value_name = "SOURCE")]
        source: Option<String>,
        /// The payload bucket (default: PAYLOAD_BUCKET)
        #[arg(long)]
        bucket: Option<String>,
        /// The queue (default: QUEUE_URL)
        #[arg(long)]
        queue_url: Option<String>,
        /// Keep each object once the queue has it
        #[arg(long)]
        keep: bool,
        /// Also send data built from form bodies, which cannot be re-hashed
        #[arg(long)]
        unchecked_data: bool,
    },
    /// Regenerates infra/env.json and the signed events in infra/events/ for `sam local invoke`
    ///
    /// For the deployment's Sources (the template's default unless given), with development
    /// secrets. Names that are not senders take their scheme from INLET_SOURCE_SETTINGS, as deployed.
    DevFiles {
        /// Where env.json and events/ go
        #[arg(long, default_value = "infra")]
        dir: String,
        /// The sources, comma-separated
        #[arg(long, value_delimiter = ',', default_values_t = crate::devfiles::TEMPLATE_SOURCES.map(String::from))]
        sources: Vec<String>,
    },
    /// Lists every sender Inlet knows: scheme, id, handshakes, methods and how our tests verify it
    ///
    /// Nothing matching is an error (exit status 2), with the closest name.
    Sources {
        /// Only senders whose name or title holds this (any case)
        name: Option<String>,
        /// Only senders whose algorithm or signature location holds this (ed25519, hmac-sha1,
        /// x-hub-signature; any case)
        #[arg(long)]
        scheme: Option<String>,
        /// Only senders with this kind of evidence
        #[arg(long, value_parser = ["sdk", "vectors", "docs", "configured"], ignore_case = true)]
        verified_by: Option<String>,
        /// The docs' table of supported senders, in Markdown
        #[arg(long)]
        markdown: bool,
    },
    /// Subscribes endpoints to your events and manages them (outbound webhooks)
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Endpoints {
        #[command(subcommand)]
        command: EndpointsCli,
        #[command(flatten)]
        store: Store,
    },
    /// Publishes a CloudEvent to the endpoints subscribed to its type
    ///
    /// Data is JSON; the id defaults to a fresh one and makes publishing idempotent: an id
    /// published again is not delivered again.
    Publish {
        #[command(flatten)]
        publish: PublishCli,
        #[command(flatten)]
        store: Store,
    },
    /// Lists, shows, retries and replays outbound deliveries
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Deliveries {
        #[command(subcommand)]
        command: DeliveriesCli,
        #[command(flatten)]
        store: Store,
    },
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell)
    ///
    /// bash: `inlet completions bash > ~/.local/share/bash-completion/completions/inlet`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How `inlet serve` runs.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: String,
    /// Where events are written, one JSON file each, when QUEUE_URL is not set
    #[arg(long, default_value = ".inlet/spool", value_name = "DIR")]
    pub spool: String,
    #[arg(
        long = "idempotency-dir",
        default_value = ".inlet/idempotency",
        value_name = "DIR",
        help = "Where idempotency marks are kept (unless IDEMPOTENCY_TABLE is set)"
    )]
    idempotency: String,
    /// Turn de-duplication off
    #[arg(long)]
    no_idempotency: bool,
    /// Seconds a connection has to send a whole request before it is closed
    #[arg(long, default_value_t = 10, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub read_timeout: u64,
    /// Connections served at once; more wait to be accepted
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    pub max_connections: usize,
    #[arg(
        long = "outbound-db",
        default_value = ".inlet/outbound.db",
        value_name = "PATH",
        help = "The outbound store deliveries are made from"
    )]
    outbound: String,
    /// Send no outbound deliveries
    #[arg(long, conflicts_with = "outbound")]
    no_outbound: bool,
    /// Divides the retry schedule, so it can be watched (3600: an hour is a second)
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub time_scale: u32,
    /// Relays received events of these types to the outbound subscriptions too, before spooling
    /// them (stripe.invoice.*,github.push; also INLET_RELAY, and per source in
    /// INLET_SOURCE_SETTINGS)
    #[arg(long, value_name = "TYPES")]
    pub relay: Option<String>,
    /// How requests are logged: `pretty`, one readable line per request (coloured unless NO_COLOR
    /// is set); `json`, JSON lines as the functions write them; `auto`, pretty when stdout is a
    /// terminal, else JSON
    #[arg(long, value_enum, default_value_t = LogFormat::Auto, value_name = "FORMAT")]
    pub log_format: LogFormat,
    /// Do not serve the inspector page (/_inlet/: recent deliveries, live, with resend)
    #[arg(long)]
    pub no_inspector: bool,
    /// Let the inspector answer peers other than this machine (it shows the deliveries' headers,
    /// secrets redacted, and their envelopes, and resends them); loopback only without it
    #[arg(long, conflicts_with = "no_inspector")]
    pub inspector_remote: bool,
}

/// How `inlet serve` writes its log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Pretty when stdout is a terminal, else JSON
    Auto,
    /// One readable line per request
    Pretty,
    /// JSON lines, as the functions write them
    Json,
}

impl ServeArgs {
    /// Where idempotency marks are kept; `None`: de-duplication is off (`--no-idempotency`).
    pub fn idempotency_dir(&self) -> Option<&str> {
        (!self.no_idempotency).then_some(self.idempotency.as_str())
    }

    /// The outbound store deliveries are made from; `None` sends nothing (`--no-outbound`).
    pub fn outbound_db(&self) -> Option<&str> {
        (!self.no_outbound).then_some(self.outbound.as_str())
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        Cli::parse_from(["inlet", "serve"]).serve()
    }
}

impl Cli {
    fn serve(self) -> ServeArgs {
        match self.command {
            Command::Serve(args) => args,
            other => unreachable!("`inlet serve` parsed as {other:?}"),
        }
    }
}

/// A whole number of at least 1.
fn at_least_one(raw: &str) -> Result<usize, String> {
    raw.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| "takes a whole number of at least 1".to_owned())
}

/// The outbound commands alone, from the words after `inlet` (their unit tests).
#[cfg(test)]
pub fn outbound<'a>(
    words: impl IntoIterator<Item = &'a str>,
) -> Result<crate::outbound::args::Parsed, clap::Error> {
    use crate::outbound::args::Parsed;
    let cli = Cli::try_parse_from(std::iter::once("inlet").chain(words))?;
    match cli.command {
        Command::Endpoints { command, store } => Ok(Parsed {
            command: command.command(),
            db: store.db,
        }),
        Command::Publish { publish, store } => Ok(Parsed {
            command: publish.command(),
            db: store.db,
        }),
        Command::Deliveries { command, store } => Ok(Parsed {
            command: command.command(),
            db: store.db,
        }),
        other => panic!("not an outbound command: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn parse(line: &str) -> Result<Command, clap::Error> {
        Cli::try_parse_from(std::iter::once("inlet").chain(line.split(' '))).map(|c| c.command)
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_and_switches() {
        let d = ServeArgs::default();
        assert_eq!(
            (d.addr.as_str(), d.spool.as_str(), d.read_timeout),
            ("127.0.0.1:3000", ".inlet/spool", 10)
        );
        assert_eq!(d.idempotency_dir(), Some(".inlet/idempotency"));
        assert_eq!(d.outbound_db(), Some(".inlet/outbound.db"));
        let Command::Serve(s) =
            parse("serve --no-idempotency --no-outbound --time-scale 60").expect("parses")
        else {
            panic!("not serve")
        };
        assert_eq!((s.idempotency_dir(), s.outbound_db()), (None, None));
        assert_eq!(s.time_scale, 60);
        for bad in [
            "serve --read-timeout 0",
            "serve --max-connections 0",
            "serve --time-scale x",
            "serve --outbound-db a --no-outbound",
            "serve --nope",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sign_options_and_their_errors() {
        let Command::Send { source, sign, .. } =
            parse("send stripe --event invoice.paid -H X-A:1 --header X-B:2 --timestamp -5")
                .expect("parses")
        else {
            panic!("not send")
        };
        assert_eq!(source, "stripe");
        assert_eq!(sign.event.as_deref(), Some("invoice.paid"));
        assert_eq!(sign.headers, ["X-A:1", "X-B:2"]);
        assert_eq!(sign.timestamp, Some(-5));
        for bad in [
            "send",
            "send stripe --data {} --file x",
            "send stripe --timestamp soon",
            "event stripe --format v3",
            "sources --verified-by hearsay",
            "frobnicate",
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn a_mistyped_command_gets_a_suggestion() {
        let e = parse("sned stripe").expect_err("no such command");
        assert!(
            e.to_string().contains("similar subcommand exists: 'send'"),
            "{e}"
        );
    }

    #[test]
    fn dev_files_takes_a_comma_separated_list() {
        let Command::DevFiles { sources, .. } = parse("dev-files").expect("parses") else {
            panic!("not dev-files")
        };
        assert_eq!(sources, ["github", "stripe", "slack", "standard"]);
        let Command::DevFiles { sources, .. } = parse("dev-files --sources a,b").expect("parses")
        else {
            panic!("not dev-files")
        };
        assert_eq!(sources, ["a", "b"]);
    }

    #[test]
    fn every_command_has_help() {
        for sub in Cli::command().get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no help", sub.get_name());
            for nested in sub.get_subcommands() {
                assert!(
                    nested.get_about().is_some() || nested.get_name() == "help",
                    "{} {} has no help",
                    sub.get_name(),
                    nested.get_name()
                );
            }
        }
    }
}
