//! Command-line parsing (small enough not to need a parser crate).

pub const USAGE: &str = "\
inlet: run Inlet locally and sign test webhooks

USAGE:
  inlet serve [--addr 127.0.0.1:3000] [--spool .inlet/spool] [--idempotency-dir .inlet/idempotency]
              [--no-idempotency] [--read-timeout 10] [--max-connections 256]
              [--outbound-db .inlet/outbound.db | --no-outbound] [--time-scale 1]
              [--relay stripe.invoice.*,github.push]
      Serves POST /webhooks/<source> for every source with the same pipeline as the Lambda
      functions. Without QUEUE_URL, each event is written to the spool directory as one JSON
      file; with QUEUE_URL it goes to that SQS queue (and PAYLOAD_BUCKET, IDEMPOTENCY_TABLE are
      used as the functions use them). Duplicates are recognised through the idempotency
      directory unless IDEMPOTENCY_TABLE is set or --no-idempotency is given. A connection that
      does not send its request within --read-timeout seconds is closed; at most
      --max-connections are served at once. Secrets: INLET_<SOURCE>_SECRET, else the
      development secret (printed at start); other INLET_* variables are reported as warnings,
      and settings a function would refuse stop it. It also delivers what `inlet publish` puts in
      the outbound store to the endpoints `inlet endpoints add` subscribed, retrying on the schedule
      (INLET_OUTBOUND_SCHEDULE) divided by --time-scale; operational events go where events go.
      --relay (or INLET_RELAY, also per source in INLET_SOURCE_SETTINGS) relays received events
      of those types to the subscriptions too, before spooling them.
  inlet send <source> [--url URL] [SIGN OPTIONS]
      Signs a payload as <source> would and POSTs it (default URL: the local server).
  inlet sign <source> [SIGN OPTIONS]
      Prints the headers to send with the payload, one `Name: value` per line.
  inlet event <source> [--format v1|v2|url] [--base64] [--method POST] [--path P] [SIGN OPTIONS]
      Prints an API Gateway REST (v1), HTTP API (v2) or function URL event for sam local invoke.
  inlet replay [<source>] [--bucket B] [--queue-url URL] [--keep] [--unchecked-data]
      Sends the envelopes a function parked in the payload bucket (under undelivered/, because
      the queue refused them for good) to the queue, and deletes each one once the queue has it
      (--keep leaves them). An object that is not what its key says the function parked (another
      source, id or digest, a type of another source, data that does not hash to its digest, a
      dataref elsewhere) is refused with the reason and kept, and the exit status is 1. Data
      built from a form body cannot be re-hashed: it is refused too, unless --unchecked-data is
      given once you have looked at it. B defaults to PAYLOAD_BUCKET, URL to QUEUE_URL; AWS
      credentials and region come from the usual places.
  inlet dev-files [--dir infra] [--sources github,stripe,slack,standard]
      Regenerates infra/env.json and the signed events in infra/events/ (development secrets) for
      the deployment's Sources (the template's default unless given): `sam local invoke` inputs.
      Names that are not senders take their scheme from INLET_SOURCE_SETTINGS, as deployed.

  inlet sources [<name>] [--scheme S] [--verified-by sdk|vectors|docs|configured] [--markdown]
      Lists every sender Inlet knows: its scheme, id, handshakes, routed methods and how our tests
      verify it (--markdown: the README's table of supported senders). <name> narrows it to senders
      whose name or title holds it, --scheme to those whose algorithm or signature location holds
      S (`ed25519`, `hmac-sha1`, `x-hub-signature`), --verified-by to one kind of evidence; any
      case. Nothing matching is an error (exit status 2).

SOURCES: every name `inlet sources` lists (github, stripe, slack, standard, shopify, …).

SIGN OPTIONS:
  --secret S          signing secret (default: INLET_<SOURCE>_SECRET, else the development secret)
  --data TEXT         body (default: the sample in infra/samples/<source>.json for the first four
                      senders, else one generated from the sender's scheme: for senders that post
                      batches, a batch of one event)
  --file PATH         body from a file
  --event NAME        the event, as its type reads after <source>. (GitHub: pull_request; Twitch:
                      notification.channel.follow): its words, in order, fill the type's parts, in
                      the sender's event header (X-GitHub-Event) and in a generated body
  --id ID             delivery id (default: a fresh one)
  --timestamp UNIX    signing time (default: now)
  --content-type CT   (default: JSON if the body starts with { or [, else form-encoded)
  --header NAME:VALUE extra header, repeatable (Twilio: X-Twilio-Webhooks-Signature-Settings with
                      algorithm=HMAC_SHA256 signs as a SharedKey, --secret being its secret)
  --url URL           the URL it is sent to, for senders that sign it (Twilio, Square, HubSpot, Trello)
  For Ed25519 and ECDSA senders (Discord, Telnyx, SendGrid) --secret is the private key in hex;
  the development key pair's public half is what `inlet serve` and dev-files configure.
  Adyen, Braintree, Mailgun and Microsoft Graph sign inside the body, which send and event write
  in (sign prints the headers only). Twilio signs a JSON body through bodySHA256 in the URL's
  query, which send and event add (sign says where to send it).
";

#[derive(Debug, Default, Clone)]
pub struct SignArgs {
    pub secret: Option<String>,
    pub data: Option<String>,
    pub file: Option<String>,
    pub event: Option<String>,
    pub id: Option<String>,
    pub timestamp: Option<i64>,
    pub content_type: Option<String>,
    pub headers: Vec<String>,
    /// The URL the request is sent to, for schemes that sign it (`inlet sign`, `inlet event`).
    pub url: Option<String>,
}

/// How `inlet serve` runs.
#[derive(Debug, Clone)]
pub struct ServeArgs {
    pub addr: String,
    pub spool: String,
    /// Where idempotency marks are kept; `None` turns de-duplication off.
    pub idempotency_dir: Option<String>,
    /// Seconds a connection has to send a whole request.
    pub read_timeout: u64,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// The outbound store deliveries are made from; `None` sends nothing.
    pub outbound_db: Option<String>,
    /// Divides the retry schedule, so it can be watched (3600: an hour is a second).
    pub time_scale: u32,
    /// Which received events also go to the outbound subscriptions (`INLET_RELAY`'s value).
    pub relay: Option<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:3000".into(),
            spool: ".inlet/spool".into(),
            idempotency_dir: Some(".inlet/idempotency".into()),
            read_timeout: 10,
            max_connections: 256,
            outbound_db: Some(".inlet/outbound.db".into()),
            time_scale: 1,
            relay: None,
        }
    }
}

#[derive(Debug)]
pub enum Command {
    Serve(ServeArgs),
    DevFiles {
        dir: String,
        sources: Vec<String>,
    },
    Send {
        source: String,
        url: Option<String>,
        sign: SignArgs,
    },
    Sign {
        source: String,
        sign: SignArgs,
    },
    Event {
        source: String,
        format: String,
        base64: bool,
        method: String,
        path: Option<String>,
        sign: SignArgs,
    },
    Replay {
        source: Option<String>,
        bucket: Option<String>,
        queue_url: Option<String>,
        keep: bool,
        unchecked_data: bool,
    },
    Sources {
        markdown: bool,
        filter: crate::catalogue::Filter,
    },
    Help,
}

/// A whole number of at least 1.
fn positive(flag: &str, raw: &str) -> Result<u64, String> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag} takes a whole number of at least 1, got {raw:?}"))
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let Some(command) = args.next() else {
        return Ok(Command::Help);
    };
    if matches!(command.as_str(), "-h" | "--help" | "help") {
        return Ok(Command::Help);
    }
    let mut source = None;
    let mut sign = SignArgs::default();
    let mut serve = ServeArgs::default();
    let mut dir = "infra".to_owned();
    let mut markdown = false;
    let mut filter = crate::catalogue::Filter::default();
    let mut sources = crate::devfiles::TEMPLATE_SOURCES
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>();
    let (mut bucket, mut queue_url, mut keep, mut unchecked_data) = (None, None, false, false);
    let (mut url, mut format, mut base64, mut method, mut path) =
        (None, "v2".to_owned(), false, "POST".to_owned(), None);
    let args: Vec<String> = args.collect();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let mut value = || {
            i += 1;
            args.get(i)
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--addr" => serve.addr = value()?,
            "--spool" => serve.spool = value()?,
            "--idempotency-dir" => serve.idempotency_dir = Some(value()?),
            "--no-idempotency" => serve.idempotency_dir = None,
            "--read-timeout" => serve.read_timeout = positive(flag, &value()?)?,
            "--max-connections" => {
                serve.max_connections = usize::try_from(positive(flag, &value()?)?)
                    .map_err(|_| format!("{flag} is too large"))?
            }
            "--outbound-db" => serve.outbound_db = Some(value()?),
            "--no-outbound" => serve.outbound_db = None,
            "--relay" => serve.relay = Some(value()?),
            "--time-scale" => {
                serve.time_scale = u32::try_from(positive(flag, &value()?)?)
                    .map_err(|_| format!("{flag} is too large"))?
            }
            "--dir" => dir = value()?,
            "--markdown" => markdown = true,
            "--scheme" => filter.scheme = Some(value()?),
            "--verified-by" => {
                filter.verified_by = Some(crate::catalogue::VerifiedBy::parse(&value()?)?)
            }
            "--sources" => {
                sources = value()?.split(',').map(|s| s.trim().to_owned()).collect();
            }
            "--bucket" => bucket = Some(value()?),
            "--queue-url" => queue_url = Some(value()?),
            "--keep" => keep = true,
            "--unchecked-data" => unchecked_data = true,
            "--url" => {
                url = Some(value()?);
                sign.url.clone_from(&url);
            }
            "--format" => format = value()?,
            "--method" => method = value()?,
            "--path" => path = Some(value()?),
            "--base64" => base64 = true,
            "--secret" => sign.secret = Some(value()?),
            "--data" => sign.data = Some(value()?),
            "--file" => sign.file = Some(value()?),
            "--event" => sign.event = Some(value()?),
            "--id" => sign.id = Some(value()?),
            "--timestamp" => {
                let raw = value()?;
                sign.timestamp = Some(
                    raw.parse()
                        .map_err(|_| format!("--timestamp takes unix seconds, got {raw:?}"))?,
                );
            }
            "--content-type" => sign.content_type = Some(value()?),
            "--header" | "-H" => sign.headers.push(value()?),
            f if f.starts_with('-') => return Err(format!("unknown option {f}")),
            positional if source.is_none() => source = Some(positional.to_owned()),
            extra => return Err(format!("unexpected argument {extra:?}")),
        }
        i += 1;
    }
    let need_source = || {
        source
            .clone()
            .ok_or_else(|| format!("`inlet {command}` needs a source (`inlet sources` lists them)"))
    };
    Ok(match command.as_str() {
        "serve" => Command::Serve(serve),
        "sources" => Command::Sources {
            markdown,
            filter: crate::catalogue::Filter {
                name: source,
                ..filter
            },
        },
        "dev-files" => Command::DevFiles { dir, sources },
        "replay" => Command::Replay {
            source,
            bucket,
            queue_url,
            keep,
            unchecked_data,
        },
        "send" => Command::Send {
            source: need_source()?,
            url,
            sign,
        },
        "sign" => Command::Sign {
            source: need_source()?,
            sign,
        },
        "event" => Command::Event {
            source: need_source()?,
            format,
            base64,
            method,
            path,
            sign,
        },
        other => return Err(format!("unknown command {other:?}")),
    })
}
