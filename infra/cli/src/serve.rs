//! The local dev server: every source at `POST /webhooks/<source>`, through the same pipeline as
//! the Lambda functions, into a spool directory (or SQS when `QUEUE_URL` is set), with duplicates
//! recognised through an idempotency directory (or `IDEMPOTENCY_TABLE`).
//!
//! It is meant to run in a container too, so it bounds what a client can hold: a connection must
//! send its request within the read timeout, a body declared over the limit is refused before it
//! is read, and at most `--max-connections` are served at once.
//! It counts what each source's requests came to with the functions' metrics, served at
//! `GET /metrics` in Prometheus's text format, and prints a summary per source when it stops
//! (Ctrl-C or SIGTERM).
//! On a terminal it prints one readable line per request (`--log-format`), and it serves the
//! inspector page at `/_inlet/` (inspector.rs) unless `--no-inspector`.

use std::convert::Infallible;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use inlet::adapters::aws::{DynamoDbStore, S3Store, SdkConfig, SqsQueue};
use inlet::adapters::http::Client;
use inlet::adapters::local::{LocalStore, SecretFile, SpoolQueue};
use inlet::adapters::{AnyQueue, IdempotencyStore, PayloadStore};
use inlet::app::telemetry::{self, Meter};
use inlet::config::{self, Env, Settings};
use inlet::core::outcome::{Outcome, Trace};
use inlet::core::response::Rejection;
use inlet::core::verify::{Secret, SecretSet};
use inlet::outbound::local::LocalStore as OutboundStore;
use inlet::outbound::notices::QueueNotices;
use inlet::outbound::relay::{Relay, Relaying};
use inlet::outbound::settings::Outbound;
use inlet::outbound::worker::{LocalOutbox, Worker};
use inlet::ports::queue::{Message, Queue, QueueError};
use inlet::ports::secrets::{parse_secret_value, SecretStore, AWAIT_HANDSHAKE};
use inlet::{Inbound, Pipeline, Reply};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::args::{LogFormat, ServeArgs};
use crate::dev;
use crate::inspector::{self, Call, EventStream, Inspector, Raw, Record, Seen, Tap};

/// Each request's deadline, as a deployed function's 5 s timeout gives it: counted from when the
/// body is in, as a function's starts once API Gateway has the whole request.
const REQUEST_BUDGET: Duration = Duration::from_secs(5);

/// Each source's pipeline and its metrics.
type Pipelines = Arc<Vec<(Pipeline<Tap<Relaying<AnyQueue, RelayTarget>>>, Meter)>>;

/// An answer: a whole body, or the inspector's event stream.
type Answer = Response<Either<Full<Bytes>, EventStream>>;

/// Whether each request gets a readable line (and then whether in colour): asked for with
/// `--log-format`, else when stdout is a terminal. Colour needs a terminal, and no `NO_COLOR`
/// (<https://no-color.org>) nor `TERM=dumb`.
fn readable(format: LogFormat) -> Option<bool> {
    let terminal = std::io::stdout().is_terminal();
    let pretty = match format {
        LogFormat::Auto => terminal,
        LogFormat::Pretty => true,
        LogFormat::Json => false,
    };
    let colour = terminal
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    pretty.then_some(colour)
}

/// Installs the log subscriber `inlet serve` writes with.
pub fn init_logging(format: LogFormat) {
    inlet::logging::init_as(match readable(format) {
        Some(colour) => inlet::logging::Format::Pretty { colour },
        None => inlet::logging::Format::Json,
    });
}

/// Where relayed events go: the relay queue when `RELAY_QUEUE_URL` is set (with `QUEUE_URL`),
/// else the local outbound store the worker delivers from.
#[derive(Debug, Clone)]
enum RelayTarget {
    Sqs(SqsQueue),
    Local(LocalOutbox),
}

impl Queue for RelayTarget {
    fn max_message_bytes(&self) -> usize {
        match self {
            Self::Sqs(q) => q.max_message_bytes(),
            Self::Local(q) => q.max_message_bytes(),
        }
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        match self {
            Self::Sqs(q) => q.send(message).await,
            Self::Local(q) => q.send(message).await,
        }
    }
}

/// Where relayed events go, once any source relays.
async fn connect_relay_target(
    aws: Option<&Aws>,
    env: &Env,
    worker: Option<&Worker<Client, QueueNotices<AnyQueue>>>,
) -> Result<RelayTarget, String> {
    match (aws, env.get(config::RELAY_QUEUE_URL).filter(|u| !u.trim().is_empty()), worker) {
        (Some(aws), Some(url), _) => SqsQueue::connect(&aws.sdk, url.to_owned())
            .await
            .map(RelayTarget::Sqs)
            .map_err(|e| format!("{}: {e}", config::RELAY_QUEUE_URL)),
        (None, Some(_), _) => Err(format!(
            "{} is set without QUEUE_URL: the local server relays to the local outbound store, or to a deployment's relay queue beside its events queue",
            config::RELAY_QUEUE_URL
        )),
        (_, None, Some(worker)) => Ok(RelayTarget::Local(LocalOutbox {
            store: worker.store.clone(),
            wake: worker.wake.clone(),
        })),
        (_, None, None) => Err(format!(
            "{} relays events, but --no-outbound leaves no outbound store to relay them to (or set RELAY_QUEUE_URL with QUEUE_URL)",
            config::RELAY
        )),
    }
}

/// The secrets of a source whose variable is `inlet:await-handshake` (Asana, Notion): the
/// secret a handshake stored in `<spool>/../secrets/<source>` (created once, owner-only), else
/// awaiting one, stored there by the first handshake. The file is where the operator reads
/// Notion's token to paste it into Notion; it is never printed or logged.
fn awaiting_secret(source: &'static inlet::Source, spool: &str) -> Result<SecretStore, String> {
    let dir = std::path::Path::new(spool)
        .parent()
        .unwrap_or(std::path::Path::new("."));
    let file = SecretFile::new(dir.join("secrets").join(source.name()));
    let value = file.read()?;
    let set = parse_secret_value(source, value.as_deref().unwrap_or(AWAIT_HANDSHAKE))
        .map_err(|e| format!("{}: {e}", dev::secret_var(source)))?;
    println!(
        "  {:<9} secret: {} {}",
        source.name(),
        if value.is_some() {
            "stored by its handshake in"
        } else {
            "awaiting its handshake, to be stored in"
        },
        file.path().display()
    );
    Ok(SecretStore::from(set).with_writer(Box::new(file)))
}

/// Where events go when `QUEUE_URL` is set, and the stores the environment names.
struct Aws {
    queue: SqsQueue,
    table: Option<String>,
    bucket: Option<String>,
    sdk: SdkConfig,
}

async fn aws(env: &Env) -> Result<Option<Aws>, String> {
    if env.get(config::QUEUE_URL).is_none() {
        return Ok(None);
    }
    let url = config::queue_url(env).map_err(|e| e.to_string())?;
    let sdk = inlet::adapters::aws::sdk_config(env, inlet::adapters::aws::Trust::System)
        .await
        .map_err(|e| e.to_string())?;
    let queue = SqsQueue::connect(&sdk, url)
        .await
        .map_err(|e| format!("{}: {e}", config::QUEUE_URL))?;
    Ok(Some(Aws {
        queue,
        table: config::idempotency_table(env).map_err(|e| e.to_string())?,
        bucket: config::payload_bucket(env).map_err(|e| e.to_string())?,
        sdk,
    }))
}

/// DynamoDB when `IDEMPOTENCY_TABLE` is set, else the directory, unless turned off. The directory's
/// store is opened once (it locks the directory) and shared by every source.
fn idempotency(aws: Option<&Aws>, dir: Option<&str>) -> Result<IdempotencyStore, String> {
    Ok(
        match (aws.and_then(|a| a.table.as_ref().map(|t| (a, t))), dir) {
            (Some((aws, table)), _) => {
                IdempotencyStore::DynamoDb(DynamoDbStore::from_sdk(&aws.sdk, table))
            }
            (None, Some(dir)) => IdempotencyStore::Local(
                LocalStore::new(dir)
                    .map_err(|e| format!("cannot open idempotency directory {dir}: {e}"))?,
            ),
            (None, None) => IdempotencyStore::Off,
        },
    )
}

pub async fn serve(args: &ServeArgs) -> Result<(), String> {
    let mut env = Env::from_process();
    if let Some(relay) = &args.relay {
        env = Env::from_pairs(env.vars().chain([(config::RELAY, relay.as_str())]));
    }
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| format!("cannot set up the metrics: {e}"))?;
    telemetry::describe();
    let mut settings = Settings::from_env(&env).map_err(|e| e.to_string())?;
    let aws = aws(&env).await?;
    if let Some(aws) = &aws {
        settings.fit_body_limit(&env, aws.bucket.is_some(), aws.queue.max_message_bytes());
    }
    let worker = match args.outbound_db() {
        Some(db) => {
            let notices =
                match &aws {
                    Some(aws) => AnyQueue::Sqs(aws.queue.clone()),
                    None => AnyQueue::Spool(SpoolQueue::new(&args.spool).map_err(|e| {
                        format!("cannot create spool directory {}: {e}", args.spool)
                    })?),
                };
            Some(outbound_worker(args, &env, db, notices)?)
        }
        None => None,
    };
    let mut relay_target: Option<RelayTarget> = None;
    // Each relay's filters, and the sources it is theirs.
    let mut relayed: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    let mut pipelines = Vec::new();
    let mut defaults = Vec::new();
    // The senders whose keys are fetched (SNS, PayPal, Plaid) get the development key pairs,
    // after their host checks; `inlet send` signs with them (devkeys.rs).
    let dev_keys = Arc::new(crate::devkeys::DevKeys::default());
    let mut keyed = Vec::new();
    let mut configured = dev::settings()?;
    dev::warn_unread(&configured);
    let idempotency = idempotency(aws.as_ref(), args.idempotency_dir())?;
    for name in dev::configured_names(&configured) {
        let source = dev::configured(&name, &mut configured)?;
        let (secret, is_default) = dev::secret(source);
        let awaits = secret.trim() == AWAIT_HANDSHAKE;
        let secrets = if awaits {
            awaiting_secret(source, &args.spool)?
        } else {
            let key = source
                .decode_secret(&secret)
                .map_err(|e| format!("{}: {e}", dev::secret_var(source)))?;
            SecretStore::from(SecretSet::new(vec![Secret::new(
                dev::secret_var(source),
                key,
            )])?)
        };
        let queue = match &aws {
            Some(aws) => AnyQueue::Sqs(aws.queue.clone()),
            None => AnyQueue::Spool(
                SpoolQueue::new(&args.spool)
                    .map_err(|e| format!("cannot create spool directory {}: {e}", args.spool))?,
            ),
        };
        // As a function reads it: the deployment-wide value, or the source's entry.
        let source_env = env
            .clone()
            .with_source_settings(source.name())
            .map_err(|e| e.to_string())?;
        let relay = Relay::from_env(&source_env, source.name())
            .map_err(|e| format!("{}: {e}", source.name()))?;
        let queue = match relay {
            Some(relay) => {
                if relay_target.is_none() {
                    relay_target =
                        Some(connect_relay_target(aws.as_ref(), &env, worker.as_ref()).await?);
                }
                relayed
                    .entry(relay.to_string())
                    .or_default()
                    .push(source.name());
                let target = relay_target.clone().ok_or("no relay target")?;
                Relaying::new(queue, relay, target)
            }
            None => Relaying::off(queue),
        };
        let idempotency = idempotency.clone();
        let payloads = match aws.as_ref().and_then(|a| a.bucket.as_ref().map(|b| (a, b))) {
            Some((aws, bucket)) => PayloadStore::S3(S3Store::from_sdk(&aws.sdk, &env, bucket)),
            None => PayloadStore::Off,
        };
        if is_default {
            defaults.push(source.name());
        } else if !awaits {
            println!(
                "  {:<9} secret: from {}",
                source.name(),
                dev::secret_var(source)
            );
        }
        let meter = Meter::new(source.name());
        meter.cold_start();
        if crate::devkeys::signs(source) {
            keyed.push(source.name());
        }
        pipelines.push((
            Pipeline::new(source, secrets, settings, Tap(queue))
                .with_idempotency(idempotency)
                .with_payloads(payloads)
                .with_keys(dev_keys.clone()),
            meter,
        ));
    }
    println!(
        "  {} sources use the development secret (see README; set INLET_<SOURCE>_SECRET to override): {}",
        defaults.len(),
        defaults.join(", ")
    );
    if !keyed.is_empty() {
        println!(
            "  {} sources verify with the development key pairs, not their senders' keys (SNS's SubscribeURL is logged, not visited): {}",
            keyed.len(),
            keyed.join(", ")
        );
    }
    let listener = TcpListener::bind(&args.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    match &aws {
        Some(aws) => println!(
            "Inlet is listening on http://{local}/webhooks/<source>, enqueueing to {}",
            aws.queue.url()
        ),
        None => println!(
            "Inlet is listening on http://{local}/webhooks/<source>, spooling to {}/",
            args.spool
        ),
    }
    match (
        aws.as_ref().and_then(|a| a.table.as_ref()),
        args.idempotency_dir(),
    ) {
        (Some(table), _) => {
            println!("Duplicates are recognised through the DynamoDB table {table}")
        }
        (None, Some(dir)) => println!("Duplicates are recognised through {dir}/"),
        (None, None) => println!("Duplicates are not recognised (--no-idempotency)"),
    }
    println!("Metrics: http://{local}/metrics (Prometheus text)");
    let inspector = (!args.no_inspector).then(|| {
        Arc::new(Inspector::new(
            args.inspector_remote,
            worker.as_ref().map(|w| w.store.clone()),
        ))
    });
    if inspector.is_some() {
        println!(
            "Inspector: http://{local}/_inlet/ ({})",
            if args.inspector_remote {
                "open to every peer: --inspector-remote"
            } else {
                "this machine only"
            }
        );
    }
    let to = match &relay_target {
        Some(RelayTarget::Sqs(q)) => q.url().to_owned(),
        _ => "the endpoints `inlet endpoints add` subscribed".to_owned(),
    };
    for (filters, sources) in &relayed {
        let from = if sources.len() == pipelines.len() {
            "every source".to_owned()
        } else {
            sources.join(", ")
        };
        println!("Relaying events of types {filters} from {from} to {to}");
    }
    let outbound = worker.map(|w| tokio::spawn(deliver(w)));
    println!("Try: cargo run -p inlet-cli -- send github");
    let pipelines: Pipelines = Arc::new(pipelines);
    let server = Arc::new(Server {
        pipelines: pipelines.clone(),
        metrics: metrics.clone(),
        read_timeout: Duration::from_secs(args.read_timeout),
        inspector,
        lines: readable(args.log_format),
    });
    let read_timeout = server.read_timeout;
    let slots = Arc::new(Semaphore::new(args.max_connections));
    // The recorder drains its histograms when asked to: every few seconds, and at each scrape.
    let upkeep = metrics.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let stop = stopped();
    tokio::pin!(stop);
    loop {
        // Wait for a free slot before accepting: extra clients wait in the listen backlog.
        let accepted = tokio::select! {
            () = &mut stop => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => tokio::select! {
                    () = &mut stop => break,
                    conn = listener.accept() => conn.map(|(stream, peer)| (stream, peer, slot)),
                },
                Err(_) => break,
            },
        };
        let (stream, peer, slot) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| route(server.clone(), peer, req));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(slot);
        });
    }
    if let Some(worker) = outbound {
        // A delivery cut short is looked at again once its lease ends: at least once.
        worker.abort();
    }
    println!("{}", summary(&metrics.render(), &pipelines));
    Ok(())
}

/// The outbound worker over the local store: the settings a delivery function reads, the
/// schedule divided by `--time-scale`.
fn outbound_worker(
    args: &ServeArgs,
    env: &Env,
    db: &str,
    notices: AnyQueue,
) -> Result<Worker<Client, QueueNotices<AnyQueue>>, String> {
    let settings = Outbound::from_env(env).map_err(|e| e.to_string())?;
    if let Some(parent) = std::path::Path::new(db).parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let store = OutboundStore::open(db).map_err(|e| format!("{db}: {e}"))?;
    let transport = settings.client().map_err(|e| e.to_string())?;
    let policy = settings.policy.scaled(args.time_scale);
    println!(
        "Outbound: delivering from {db} to the endpoints `inlet endpoints add` subscribed{}{}",
        if args.time_scale > 1 {
            format!(
                ", the retry schedule and the circuit's cool-downs {}× faster",
                args.time_scale
            )
        } else {
            String::new()
        },
        if settings.allow_http {
            ""
        } else {
            " (https only: INLET_OUTBOUND_ALLOW_HTTP=true and INLET_OUTBOUND_ALLOW_NETWORKS=127.0.0.0/8 let it reach a local receiver)"
        }
    );
    inlet::outbound::telemetry::describe();
    Ok(Worker {
        store,
        transport,
        notices: QueueNotices(notices),
        policy,
        concurrency: 16,
        wake: Arc::new(tokio::sync::Notify::new()),
    })
}

/// Runs the worker until the server stops (the task is aborted).
async fn deliver(worker: Worker<Client, QueueNotices<AnyQueue>>) {
    worker
        .run(std::future::pending(), &inlet::outbound::telemetry::record)
        .await;
}

/// Ctrl-C, or SIGTERM (a container being stopped).
async fn stopped() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                // No SIGTERM handler to be had: Ctrl-C still stops it.
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What each source's requests came to, from the counters the server exposes: a table, one row
/// per source that saw a request.
fn summary(prometheus: &str, pipelines: &Pipelines) -> String {
    const COLUMNS: [&str; 6] = [
        telemetry::ACCEPTED,
        telemetry::DUPLICATES,
        telemetry::HANDSHAKES,
        telemetry::REJECTED,
        telemetry::FAILED,
        telemetry::PARKED,
    ];
    let mut counts = vec![[0u64; COLUMNS.len()]; pipelines.len()];
    for line in prometheus.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, rest)) = line.split_once('{') else {
            continue;
        };
        let Some(column) = COLUMNS.iter().position(|c| *c == name) else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let source = labels
            .split(',')
            .find_map(|l| l.strip_prefix("Source=\""))
            .and_then(|v| v.strip_suffix('"'));
        let at = pipelines
            .iter()
            .position(|(p, _)| Some(p.source().name()) == source);
        if let (Some(at), Ok(value)) = (at, value.trim().parse::<f64>()) {
            counts[at][column] += value as u64;
        }
    }
    let mut out = format!(
        "Inlet stopped. Requests by source:\n  {:<20} {:>9} {:>10} {:>10} {:>9} {:>7} {:>7}",
        "source", "accepted", "duplicates", "handshakes", "rejected", "failed", "parked"
    );
    let mut any = false;
    for ((pipeline, _), row) in pipelines.iter().zip(&counts) {
        if row.iter().all(|n| *n == 0) {
            continue;
        }
        any = true;
        out += &format!(
            "\n  {:<20} {:>9} {:>10} {:>10} {:>9} {:>7} {:>7}",
            pipeline.source().name(),
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5]
        );
    }
    if !any {
        out += "\n  (no requests)";
    }
    out
}

/// What every connection's requests share.
struct Server {
    pipelines: Pipelines,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    read_timeout: Duration,
    inspector: Option<Arc<Inspector>>,
    /// `Some(colour)` when each request gets a readable line.
    lines: Option<bool>,
}

async fn route(
    server: Arc<Server>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let path = req.uri().path().to_owned();
    if let Some(call) = Call::of(req.method(), &path) {
        if let Some(inspector) = &server.inspector {
            return Ok(inspect(&server, inspector, peer, req, call).await);
        }
    }
    let pipelines = &server.pipelines;
    let Some(at) = path.strip_prefix("/webhooks/").and_then(|name| {
        pipelines
            .iter()
            .position(|(p, _)| p.source().name() == name.trim_end_matches('/'))
    }) else {
        if path == "/healthz" {
            return Ok(whole(to_response(Reply::text(200, "ok".into()))));
        }
        if path == "/metrics" && req.method() == http::Method::GET {
            server.metrics.run_upkeep();
            let mut reply = Reply::text(200, server.metrics.render());
            reply.headers = vec![(
                "content-type",
                "text/plain; version=0.0.4; charset=utf-8".into(),
            )];
            return Ok(whole(to_response(reply)));
        }
        let names: Vec<&str> = pipelines.iter().map(|(p, _)| p.source().name()).collect();
        let reply = Rejection::NotFound(names.join(", ")).to_reply();
        if path.starts_with("/webhooks/") {
            server.observe(
                Seen {
                    at: SystemTime::now(),
                    elapsed: Duration::ZERO,
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                    source: None,
                    reply: &reply,
                    outcome: "rejected",
                    event_type: None,
                    queued: Vec::new(),
                    bytes: 0,
                    resend_of: None,
                },
                None,
            );
        }
        return Ok(whole(to_response(reply)));
    };
    let (pipeline, _) = &pipelines[at];
    let started = Instant::now();
    let now = SystemTime::now();
    let (parts, body) = req.into_parts();
    let limit = pipeline.settings().max_body_bytes;
    // A Content-Length over the limit is answered before a byte of the body is read, and so
    // before hyper sends the `100 Continue` an `Expect` asks for (it does on the body's first read).
    if let Some(declared) = body.size_hint().exact() {
        let size = usize::try_from(declared).unwrap_or(usize::MAX);
        if size > limit {
            let rejection = Rejection::PayloadTooLarge { size, limit };
            return Ok(whole(
                server.refuse_unread(at, &parts, &rejection, started, now),
            ));
        }
    }
    // Never buffer more than the limit allows: one byte over is enough to answer 413 (a chunked
    // body declares no length).
    let read =
        tokio::time::timeout(server.read_timeout, Limited::new(body, limit + 1).collect()).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let rejection = Rejection::PayloadTooLarge {
                size: limit + 1,
                limit,
            };
            return Ok(whole(
                server.refuse_unread(at, &parts, &rejection, started, now),
            ));
        }
        // The client went away or broke the framing: nobody is left to read an answer.
        Ok(Err(_)) | Err(_) => {
            let rejection = Rejection::RequestTimeout;
            return Ok(whole(
                server.refuse_unread(at, &parts, &rejection, started, now),
            ));
        }
    };
    let (response, _) = server
        .deliver(
            at,
            &parts.method,
            &parts.uri,
            &parts.headers,
            bytes,
            started,
            None,
        )
        .await;
    Ok(whole(response))
}

impl Server {
    /// Serves one request to the pipeline at `at`, as it came or again (`resend_of`), and notes
    /// what it came to.
    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        &self,
        at: usize,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        bytes: Bytes,
        started: Instant,
        resend_of: Option<u64>,
    ) -> (Response<Full<Bytes>>, Option<Arc<Record>>) {
        let (pipeline, meter) = &self.pipelines[at];
        let now = SystemTime::now();
        // Reading a slow upload does not eat into the time the pipeline has to queue it.
        let deadline = Instant::now() + REQUEST_BUDGET;
        // The URL as the sender called it, for schemes that sign it (PUBLIC_URL is not set locally).
        let url = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|host| format!("http://{host}{uri}"));
        let inbound = Inbound {
            method,
            headers,
            body: &bytes,
            query: uri.query().unwrap_or(""),
            url: url.as_deref(),
        };
        // Boxed: the pipeline's future is large, and a debug build polls it on a worker's stack.
        let serving = Box::pin(pipeline.serve(inbound, now, deadline));
        let ((reply, outcome), queued) = if self.inspector.is_some() {
            inspector::capture(serving).await
        } else {
            (serving.await, Vec::new())
        };
        meter.record(&outcome);
        let record = self.observe(
            Seen {
                at: now,
                elapsed: started.elapsed(),
                method,
                uri,
                headers,
                source: Some(pipeline.source()),
                reply: &reply,
                outcome: outcome.verdict.as_str(),
                event_type: outcome.event_type.clone(),
                queued,
                bytes: bytes.len(),
                resend_of,
            },
            Some(bytes),
        );
        (to_response(reply), record)
    }

    /// Prints the request's line when lines are readable, and keeps it for the inspector with
    /// its body (for resend), when there is one.
    fn observe(&self, seen: Seen<'_>, body: Option<Bytes>) -> Option<Arc<Record>> {
        if self.lines.is_none() && self.inspector.is_none() {
            return None;
        }
        let raw = match (&self.inspector, body) {
            (Some(_), Some(body)) => Some(Raw {
                method: seen.method.clone(),
                uri: seen.uri.clone(),
                headers: seen.headers.clone(),
                body,
            }),
            _ => None,
        };
        let record = Record::new(seen);
        if let Some(colour) = self.lines {
            let _ = writeln!(std::io::stdout().lock(), "{}", record.line(colour));
        }
        self.inspector.as_ref()?.publish(record, raw)
    }

    /// A refusal that leaves the rest of the body unread, which closes the connection: hyper
    /// reads on only what it already holds before it closes, and `Connection: close` tells the
    /// client so, instead of it sending on or reusing the connection. Counted as the pipeline
    /// counts refusals.
    fn refuse_unread(
        &self,
        at: usize,
        parts: &http::request::Parts,
        rejection: &Rejection,
        started: Instant,
        now: SystemTime,
    ) -> Response<Full<Bytes>> {
        let (pipeline, meter) = &self.pipelines[at];
        let outcome: Outcome = Trace::default().finish(rejection.verdict(), 0);
        meter.record(&outcome);
        let reply = rejection.to_reply();
        self.observe(
            Seen {
                at: now,
                elapsed: started.elapsed(),
                method: &parts.method,
                uri: &parts.uri,
                headers: &parts.headers,
                source: Some(pipeline.source()),
                reply: &reply,
                outcome: outcome.verdict.as_str(),
                event_type: None,
                queued: Vec::new(),
                bytes: 0,
                resend_of: None,
            },
            None,
        );
        let mut response = to_response(reply);
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    }
}

/// The inspector's routes: this machine only unless `--inspector-remote`.
async fn inspect(
    server: &Server,
    inspector: &Inspector,
    peer: SocketAddr,
    req: Request<Incoming>,
    call: Call,
) -> Answer {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    let allowed =
        inspector.remote || (inspector::local_peer(peer.ip()) && inspector::local_host(host));
    if !allowed {
        return plain(
            403,
            "The inspector answers this machine only, at an address or localhost (inlet serve --inspector-remote lets others in).",
        );
    }
    match call {
        Call::Redirect => {
            let mut answer = plain(308, "/_inlet/");
            answer
                .headers_mut()
                .insert(http::header::LOCATION, HeaderValue::from_static("/_inlet/"));
            answer
        }
        Call::Page => page(inspector::PAGE, "text/html; charset=utf-8"),
        Call::Script => page(inspector::SCRIPT, "text/javascript; charset=utf-8"),
        Call::Deliveries => json(200, &inspector.list()),
        Call::Delivery(n) => match inspector.get(n) {
            Some((record, _)) => json(200, &record.to_json()),
            None => plain(404, "No such delivery (the inspector keeps the last 200)."),
        },
        Call::Outbound => json(200, &inspector.outbound().await),
        Call::Events => {
            let last = req
                .headers()
                .get("last-event-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            match inspector.watch(last) {
                Some(stream) => Response::builder()
                    .header(http::header::CONTENT_TYPE, "text/event-stream")
                    .header(http::header::CACHE_CONTROL, "no-store")
                    .header("x-content-type-options", "nosniff")
                    .body(Either::Right(stream))
                    .unwrap_or_else(|_| plain(500, "")),
                None => plain(503, "Too many pages are watching; close one."),
            }
        }
        Call::Resend(n) => {
            // A header a page elsewhere cannot send without asking first (CORS): no resend from
            // another site's form.
            if req.headers().get("x-inlet-inspector").is_none() {
                return plain(403, "Resend asks for the X-Inlet-Inspector header.");
            }
            let Some((record, raw)) = inspector.get(n) else {
                return plain(404, "No such delivery (the inspector keeps the last 200).");
            };
            let Some(raw) = raw else {
                return plain(
                    410,
                    "This delivery's body is no longer kept (the inspector keeps 64 MiB of bodies).",
                );
            };
            let at = record.source.and_then(|name| {
                server
                    .pipelines
                    .iter()
                    .position(|(p, _)| p.source().name() == name)
            });
            let Some(at) = at else {
                return plain(404, "This delivery reached no source.");
            };
            let (_, resent) = server
                .deliver(
                    at,
                    &raw.method,
                    &raw.uri,
                    &raw.headers,
                    raw.body.clone(),
                    Instant::now(),
                    Some(n),
                )
                .await;
            match resent {
                Some(record) => json(200, &record.to_json()),
                None => plain(500, "The resend was not recorded."),
            }
        }
        Call::NotFound => plain(404, "Not found."),
        Call::MethodNotAllowed(allow) => {
            let mut answer = plain(405, "Method not allowed.");
            answer
                .headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static(allow));
            answer
        }
    }
}

/// A whole body, as an [`Answer`].
fn whole(response: Response<Full<Bytes>>) -> Answer {
    response.map(Either::Left)
}

fn answer(status: u16, content_type: &'static str, body: Bytes) -> Answer {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CACHE_CONTROL, "no-store")
        .header("x-content-type-options", "nosniff")
        .body(Either::Left(Full::new(body)))
        .unwrap_or_else(|_| Response::new(Either::Left(Full::new(Bytes::new()))))
}

fn plain(status: u16, text: &'static str) -> Answer {
    answer(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(text.as_bytes()),
    )
}

fn json(status: u16, value: &serde_json::Value) -> Answer {
    answer(status, "application/json", Bytes::from(value.to_string()))
}

/// The page or its script: scripts from this origin only, nothing framed, nothing sent elsewhere.
fn page(text: &'static str, content_type: &'static str) -> Answer {
    let mut answer = answer(200, content_type, Bytes::from_static(text.as_bytes()));
    let headers = answer.headers_mut();
    headers.insert(
        http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    answer
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::from(reply.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
