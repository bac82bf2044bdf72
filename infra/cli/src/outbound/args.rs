//! The outbound commands' arguments: `inlet endpoints …`, `inlet publish …`, `inlet deliveries …`,
//! parsed by clap (their help is `inlet endpoints --help` and so on) into [`Parsed`].

use clap::{Args, Subcommand};
use inlet::outbound::admin::Settings;

/// Where the local store is: every outbound command takes it.
#[derive(Debug, Args)]
pub struct Store {
    /// The local outbound store (SQLite), which `inlet serve` delivers from. Ignored when
    /// ENDPOINTS_TABLE is set: the commands then act on that deployment (ENDPOINT_KEYS_KEY_ID,
    /// OUTBOX_QUEUE_URL, DELIVERIES_TABLE and DELIVERY_QUEUE_URL from the stack's outputs, AWS
    /// credentials as usual).
    #[arg(
        long,
        global = true,
        default_value = ".inlet/outbound.db",
        value_name = "PATH"
    )]
    pub db: String,
}

/// `inlet endpoints <subcommand>`.
#[derive(Debug, Subcommand)]
pub enum EndpointsCli {
    /// Subscribes an endpoint and prints its id and its new whsec_ secret (shown once)
    ///
    /// The URL must be https; http and private addresses only with INLET_OUTBOUND_ALLOW_HTTP and
    /// INLET_OUTBOUND_ALLOW_NETWORKS. With --v1a it also prints the endpoint's Ed25519 public key.
    Add {
        url: String,
        #[command(flatten)]
        settings: SettingsArgs,
        /// Always deliver in order (one at a time, oldest first)
        #[arg(long)]
        ordered: bool,
        /// Also sign with an Ed25519 key (Standard Webhooks v1a)
        #[arg(long)]
        v1a: bool,
    },
    /// Lists the endpoints
    List,
    /// Shows one endpoint (everything but its secrets)
    Show { id: String },
    /// Changes an endpoint's settings; what is not given stays
    Update {
        id: String,
        /// A new URL
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        settings: SettingsArgs,
        /// Deliver every event type (removes the filters)
        #[arg(long, conflicts_with = "filter")]
        all_events: bool,
        /// Remove the extra headers
        #[arg(long, conflicts_with = "header")]
        no_headers: bool,
        /// Deliver in order, or not
        #[arg(long, value_name = "true|false")]
        ordered: Option<bool>,
    },
    /// Enables a disabled endpoint
    Enable { id: String },
    /// Disables an endpoint: nothing is delivered to it until it is enabled
    Disable { id: String },
    /// Deletes an endpoint
    Delete { id: String },
    /// A new secret signs from now on; the old one also signs for --overlap
    RotateSecret {
        id: String,
        /// How long the old secret still signs (0 stops it at once)
        #[arg(long, default_value = "24h", value_parser = overlap)]
        overlap: i64,
        /// The new secret (default: a fresh one)
        #[arg(long, value_name = "whsec_…")]
        secret: Option<String>,
    },
    /// Publishes a test event to that endpoint alone
    Test {
        id: String,
        /// The test event's type
        #[arg(long = "type", default_value = "inlet.endpoint.test")]
        ty: String,
    },
}

/// The settings `add` and `update` share.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// An event type to deliver (repeatable): invoice.paid, stripe.invoice.* or *; none: every event
    #[arg(long, value_name = "TYPE")]
    filter: Vec<String>,
    /// A description
    #[arg(long)]
    description: Option<String>,
    /// An extra header sent with every delivery (repeatable)
    #[arg(long, short = 'H', value_name = "NAME:VALUE", value_parser = header)]
    header: Vec<(String, String)>,
    /// Deliveries per second at most, or none
    #[arg(long, value_name = "N|none", value_parser = rate_limit)]
    rate_limit: Option<RateLimit>,
}

impl SettingsArgs {
    fn settings(self, url: Option<String>, ordered: Option<bool>) -> Settings {
        Settings {
            url,
            description: self.description,
            filters: (!self.filter.is_empty()).then_some(self.filter),
            headers: (!self.header.is_empty()).then_some(self.header),
            rate_limit: self.rate_limit.map(|RateLimit(n)| n),
            ordered,
        }
    }
}

/// `inlet publish`'s arguments.
#[derive(Debug, Args)]
pub struct PublishCli {
    /// The event's type (invoice.paid)
    #[arg(value_name = "TYPE")]
    ty: String,
    /// The event's data (JSON)
    #[arg(long, conflicts_with = "file")]
    data: Option<String>,
    /// The event's data from a file (JSON)
    #[arg(long, value_name = "PATH")]
    file: Option<String>,
    /// The event's id (default: a fresh one); an id published again is not delivered again
    #[arg(long)]
    id: Option<String>,
    /// The event's source
    #[arg(long)]
    source: Option<String>,
    /// The event's subject
    #[arg(long)]
    subject: Option<String>,
}

/// `inlet deliveries <subcommand>`.
#[derive(Debug, Subcommand)]
pub enum DeliveriesCli {
    /// Lists deliveries, newest first
    List {
        /// Only those to this endpoint
        #[arg(long, value_name = "ID")]
        endpoint: Option<String>,
        /// Only those of this event
        #[arg(long, value_name = "ID")]
        event: Option<String>,
        /// Only those in this state
        #[arg(long, value_parser = ["pending", "delivered", "parked"])]
        state: Option<String>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The task and every attempt (time, status, latency, verdict, the start of the response)
    Show {
        #[arg(value_name = "ENDPOINT_ID/EVENT_ID")]
        key: String,
    },
    /// Tries parked or pending deliveries again now
    Retry {
        #[arg(value_name = "ENDPOINT_ID/EVENT_ID", required = true)]
        keys: Vec<String>,
    },
    /// Puts parked deliveries back with a fresh schedule
    Replay {
        /// Those parked since an RFC 3339 time or a duration ago (2h)
        #[arg(long, value_name = "TIME|DURATION")]
        since: String,
    },
}

impl EndpointsCli {
    pub fn command(self) -> Command {
        match self {
            Self::Add {
                url,
                settings,
                ordered,
                v1a,
            } => Command::Add {
                settings: settings.settings(Some(url), ordered.then_some(true)),
                v1a,
            },
            Self::List => Command::List,
            Self::Show { id } => Command::Show(id),
            Self::Update {
                id,
                url,
                settings,
                all_events,
                no_headers,
                ordered,
            } => {
                let mut settings = settings.settings(url, ordered);
                if all_events {
                    settings.filters = Some(vec![]);
                }
                if no_headers {
                    settings.headers = Some(vec![]);
                }
                Command::Update { id, settings }
            }
            Self::Enable { id } => Command::Enable(id),
            Self::Disable { id } => Command::Disable(id),
            Self::Delete { id } => Command::Delete(id),
            Self::RotateSecret {
                id,
                overlap,
                secret,
            } => Command::Rotate {
                id,
                secret,
                overlap_ms: overlap,
            },
            Self::Test { id, ty } => Command::Test { id, ty },
        }
    }
}

impl PublishCli {
    pub fn command(self) -> Command {
        Command::Publish(Publish {
            ty: self.ty,
            data: self.data,
            file: self.file,
            id: self.id,
            source: self.source,
            subject: self.subject,
        })
    }
}

impl DeliveriesCli {
    pub fn command(self) -> Command {
        Command::Deliveries(match self {
            Self::List {
                endpoint,
                event,
                state,
                limit,
            } => Deliveries::List {
                endpoint,
                event,
                state,
                limit,
            },
            Self::Show { key } => Deliveries::Show(key),
            Self::Retry { keys } => Deliveries::Retry(keys),
            Self::Replay { since } => Deliveries::Replay { since },
        })
    }
}

/// One outbound command.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Add {
        settings: Settings,
        v1a: bool,
    },
    List,
    Show(String),
    Update {
        id: String,
        settings: Settings,
    },
    Enable(String),
    Disable(String),
    Delete(String),
    Rotate {
        id: String,
        secret: Option<String>,
        overlap_ms: i64,
    },
    Test {
        id: String,
        ty: String,
    },
    Publish(Publish),
    Deliveries(Deliveries),
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Publish {
    pub ty: String,
    pub data: Option<String>,
    pub file: Option<String>,
    pub id: Option<String>,
    pub source: Option<String>,
    pub subject: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Deliveries {
    List {
        endpoint: Option<String>,
        event: Option<String>,
        state: Option<String>,
        limit: usize,
    },
    Show(String),
    Retry(Vec<String>),
    Replay {
        since: String,
    },
}

/// The parsed command and the store's path.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed {
    pub command: Command,
    pub db: String,
}

/// Deliveries per second at most; `None` removes the limit.
#[derive(Debug, Clone, Copy)]
struct RateLimit(Option<u32>);

/// `--rate-limit 5` or `none`.
fn rate_limit(raw: &str) -> Result<RateLimit, String> {
    if raw == "none" {
        return Ok(RateLimit(None));
    }
    raw.parse::<u32>()
        .map(|n| RateLimit(Some(n)))
        .map_err(|_| "takes deliveries per second or none".to_owned())
}

fn header(raw: &str) -> Result<(String, String), String> {
    raw.split_once(':')
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| "takes NAME:VALUE".to_owned())
}

/// `--overlap 24h` (or 0), in milliseconds.
fn overlap(raw: &str) -> Result<i64, String> {
    if raw == "0" {
        return Ok(0);
    }
    humantime::parse_duration(raw)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .map_err(|_| "takes a duration such as 24h".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Parsed, String> {
        crate::args::outbound(line.split(' ')).map_err(|e| e.to_string())
    }

    #[test]
    fn endpoints_add_takes_its_settings() {
        let p = parse_line("endpoints add https://h/in --filter invoice.* --filter a.b -H X-A:1 --rate-limit 5 --ordered --v1a --db x.db")
            .expect("parse");
        assert_eq!(p.db, "x.db");
        let Command::Add { settings, v1a } = p.command else {
            panic!("{:?}", p.command)
        };
        assert!(v1a);
        assert_eq!(settings.url.as_deref(), Some("https://h/in"));
        assert_eq!(
            settings.filters,
            Some(vec!["invoice.*".into(), "a.b".into()])
        );
        assert_eq!(settings.headers, Some(vec![("X-A".into(), "1".into())]));
        assert_eq!(
            (settings.rate_limit, settings.ordered),
            (Some(Some(5)), Some(true))
        );
    }

    #[test]
    fn the_other_commands() {
        assert_eq!(
            parse_line("endpoints update ep_1 --ordered false --rate-limit none --all-events")
                .expect("parse")
                .command,
            Command::Update {
                id: "ep_1".into(),
                settings: Settings {
                    ordered: Some(false),
                    rate_limit: Some(None),
                    filters: Some(vec![]),
                    ..Settings::default()
                }
            }
        );
        assert_eq!(
            parse_line("endpoints rotate-secret ep_1 --overlap 0")
                .expect("parse")
                .command,
            Command::Rotate {
                id: "ep_1".into(),
                secret: None,
                overlap_ms: 0
            }
        );
        assert_eq!(
            parse_line("endpoints rotate-secret ep_1 --overlap 2h")
                .expect("parse")
                .command,
            Command::Rotate {
                id: "ep_1".into(),
                secret: None,
                overlap_ms: 7_200_000
            }
        );
        assert_eq!(
            parse_line("deliveries retry ep_1/e1 ep_1/e2")
                .expect("parse")
                .command,
            Command::Deliveries(Deliveries::Retry(vec!["ep_1/e1".into(), "ep_1/e2".into()]))
        );
        assert_eq!(
            parse_line("publish invoice.paid --data {} --id e1")
                .expect("parse")
                .command,
            Command::Publish(Publish {
                ty: "invoice.paid".into(),
                data: Some("{}".into()),
                id: Some("e1".into()),
                ..Publish::default()
            })
        );
        for bad in [
            "endpoints",
            "endpoints add",
            "endpoints frob x",
            "deliveries replay",
            "publish",
            "endpoints add h --rate-limit x",
            "endpoints list --nope",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}
