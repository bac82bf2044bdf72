//! The outbound commands' arguments: `inlet endpoints …`, `inlet publish …`, `inlet deliveries …`.

use inlet::outbound::admin::{Settings, DEFAULT_ROTATION_OVERLAP};

pub const USAGE: &str = "\
SENDING WEBHOOKS (local: the SQLite file --db, default .inlet/outbound.db, which `inlet serve` delivers
from; with ENDPOINTS_TABLE set, a deployment: ENDPOINT_KEYS_KEY_ID, OUTBOX_QUEUE_URL, DELIVERIES_TABLE and
DELIVERY_QUEUE_URL from the stack's outputs, AWS credentials as usual):
  inlet endpoints add <url> [--filter TYPE]... [--description D] [--header NAME:VALUE]...
                      [--rate-limit N] [--ordered] [--v1a]
      Subscribes an endpoint (https; http and private addresses only with INLET_OUTBOUND_ALLOW_HTTP
      and INLET_OUTBOUND_ALLOW_NETWORKS) and prints its id and its new whsec_ secret (and, with
      --v1a, its Ed25519 public key): shown once. --filter takes invoice.paid, stripe.invoice.* or
      *; none means every event.
  inlet endpoints list | show <id> | delete <id> | enable <id> | disable <id>
  inlet endpoints update <id> [--url URL] [--filter TYPE]... [--all-events] [--description D]
                      [--header NAME:VALUE]... [--no-headers] [--rate-limit N|none] [--ordered true|false]
  inlet endpoints rotate-secret <id> [--overlap 24h] [--secret whsec_…]
      A new secret signs from now on; the old one also signs for --overlap (0 to stop at once).
  inlet endpoints test <id> [--type inlet.endpoint.test]
      Publishes a test event to that endpoint alone.
  inlet publish <type> [--data JSON | --file PATH] [--id ID] [--source SOURCE] [--subject S]
      Publishes a CloudEvent (data is JSON; the id defaults to a fresh one and makes publishing
      idempotent: an id published again is not delivered again).
  inlet deliveries list [--endpoint ID] [--event ID] [--state pending|delivered|parked] [--limit N]
  inlet deliveries show <endpoint id>/<event id>
      The task and every attempt (time, status, latency, verdict, the start of the response).
  inlet deliveries retry <endpoint id>/<event id>...
  inlet deliveries replay --since <RFC 3339 time | duration such as 2h>
      Puts parked deliveries back with a fresh schedule.
";

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

/// `--rate-limit 5` or `none`.
fn rate_limit(raw: &str) -> Result<Option<u32>, String> {
    if raw == "none" {
        return Ok(None);
    }
    raw.parse::<u32>()
        .map(Some)
        .map_err(|_| format!("--rate-limit takes deliveries per second or none, got {raw:?}"))
}

fn header(raw: &str) -> Result<(String, String), String> {
    raw.split_once(':')
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| format!("--header takes NAME:VALUE, got {raw:?}"))
}

/// Parses the arguments after `inlet` whose first is `endpoints`, `publish` or `deliveries`.
pub fn parse(args: &[String]) -> Result<Parsed, String> {
    let (group, rest) = args.split_first().ok_or("no command")?;
    let mut db = ".inlet/outbound.db".to_owned();
    let mut positional: Vec<String> = vec![];
    let mut settings = Settings::default();
    let (mut filters, mut headers) = (None::<Vec<String>>, None::<Vec<(String, String)>>);
    let (mut v1a, mut secret, mut overlap_ms) = (false, None, DEFAULT_ROTATION_OVERLAP);
    let mut publish = Publish::default();
    let (mut ty, mut endpoint, mut event, mut state, mut limit, mut since) =
        (None, None, None, None, 50usize, None);
    let mut i = 0;
    while i < rest.len() {
        let flag = rest[i].as_str();
        let mut value = || {
            i += 1;
            rest.get(i)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--db" => db = value()?,
            "--url" => settings.url = Some(value()?),
            "--filter" => filters.get_or_insert_with(Vec::new).push(value()?),
            "--all-events" => filters = Some(vec![]),
            "--description" => settings.description = Some(value()?),
            "--header" | "-H" => headers
                .get_or_insert_with(Vec::new)
                .push(header(&value()?)?),
            "--no-headers" => headers = Some(vec![]),
            "--rate-limit" => settings.rate_limit = Some(rate_limit(&value()?)?),
            "--ordered"
                if group == "endpoints" && rest.first().map(String::as_str) == Some("update") =>
            {
                let raw = value()?;
                settings.ordered = Some(match raw.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("--ordered takes true or false, got {raw:?}")),
                });
            }
            "--ordered" => settings.ordered = Some(true),
            "--v1a" => v1a = true,
            "--secret" => secret = Some(value()?),
            "--overlap" => {
                let raw = value()?;
                overlap_ms = humantime::parse_duration(&raw)
                    .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
                    .or_else(|_| if raw == "0" { Ok(0) } else { Err(()) })
                    .map_err(|()| format!("--overlap takes a duration such as 24h, got {raw:?}"))?;
            }
            "--type" => ty = Some(value()?),
            "--data" => publish.data = Some(value()?),
            "--file" => publish.file = Some(value()?),
            "--id" => publish.id = Some(value()?),
            "--source" => publish.source = Some(value()?),
            "--subject" => publish.subject = Some(value()?),
            "--endpoint" => endpoint = Some(value()?),
            "--event" => event = Some(value()?),
            "--state" => state = Some(value()?),
            "--limit" => {
                let raw = value()?;
                limit = raw
                    .parse()
                    .map_err(|_| format!("--limit takes a number, got {raw:?}"))?;
            }
            "--since" => since = Some(value()?),
            f if f.starts_with('-') => return Err(format!("unknown option {f}")),
            p => positional.push(p.to_owned()),
        }
        i += 1;
    }
    settings.filters = filters;
    settings.headers = headers;
    let mut positional = positional.into_iter();
    let mut next = |what: &str| {
        positional
            .next()
            .ok_or_else(|| format!("`inlet {group}` needs {what}"))
    };
    let command = match group.as_str() {
        "publish" => {
            publish.ty = next("an event type")?;
            Command::Publish(publish)
        }
        "endpoints" => match next(
            "a subcommand: add, list, show, update, enable, disable, delete, rotate-secret or test",
        )?
        .as_str()
        {
            "add" => {
                settings.url = Some(next("a URL")?);
                Command::Add { settings, v1a }
            }
            "list" => Command::List,
            "show" => Command::Show(next("an endpoint id")?),
            "update" => Command::Update {
                id: next("an endpoint id")?,
                settings,
            },
            "enable" => Command::Enable(next("an endpoint id")?),
            "disable" => Command::Disable(next("an endpoint id")?),
            "delete" => Command::Delete(next("an endpoint id")?),
            "rotate-secret" => Command::Rotate {
                id: next("an endpoint id")?,
                secret,
                overlap_ms,
            },
            "test" => Command::Test {
                id: next("an endpoint id")?,
                ty: ty.unwrap_or_else(|| "inlet.endpoint.test".to_owned()),
            },
            other => return Err(format!("unknown subcommand `inlet endpoints {other}`")),
        },
        "deliveries" => Command::Deliveries(
            match next("a subcommand: list, show, retry or replay")?.as_str() {
                "list" => Deliveries::List {
                    endpoint,
                    event,
                    state,
                    limit,
                },
                "show" => Deliveries::Show(next("<endpoint id>/<event id>")?),
                "retry" => {
                    let keys: Vec<String> = positional.collect();
                    if keys.is_empty() {
                        return Err(
                            "`inlet deliveries retry` needs <endpoint id>/<event id>...".into()
                        );
                    }
                    Deliveries::Retry(keys)
                }
                "replay" => Deliveries::Replay {
                    since: since.ok_or("`inlet deliveries replay` needs --since")?,
                },
                other => return Err(format!("unknown subcommand `inlet deliveries {other}`")),
            },
        ),
        other => return Err(format!("unknown command {other:?}")),
    };
    Ok(Parsed { command, db })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_line(line: &str) -> Result<Parsed, String> {
        parse(&line.split(' ').map(str::to_owned).collect::<Vec<_>>())
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
