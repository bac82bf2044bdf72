//! The local dev server: every source at `POST /webhooks/<source>`, through the same pipeline as
//! the Lambda functions, into a spool directory (or SQS when `QUEUE_URL` is set), with duplicates
//! recognised through an idempotency directory (or `IDEMPOTENCY_TABLE`).
//!
//! It is meant to run in a container too, so it bounds what a client can hold: a connection must
//! send its request within the read timeout, and at most `--max-connections` are served at once.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use inlet::aws::SdkConfig;
use inlet::config::{self, Env, Settings};
use inlet::idempotency::{DynamoDbStore, IdempotencyStore, LocalStore};
use inlet::payloads::{PayloadStore, S3Store};
use inlet::queue::{AnyQueue, Queue, SpoolQueue, SqsQueue};
use inlet::response::Rejection;
use inlet::verify::{Secret, SecretSet};
use inlet::{Inbound, Pipeline, Reply};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::args::ServeArgs;
use crate::dev;

/// Each request's deadline, as a deployed function's 5 s timeout gives it.
const REQUEST_BUDGET: Duration = Duration::from_secs(5);

type Pipelines = Arc<Vec<Pipeline<AnyQueue>>>;

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
    let sdk = inlet::aws::sdk_config(env, inlet::aws::Trust::System)
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

/// DynamoDB when `IDEMPOTENCY_TABLE` is set, else the directory, unless turned off.
fn idempotency(aws: Option<&Aws>, dir: Option<&String>) -> Result<IdempotencyStore, String> {
    Ok(
        match (aws.and_then(|a| a.table.as_ref().map(|t| (a, t))), dir) {
            (Some((aws, table)), _) => {
                IdempotencyStore::DynamoDb(DynamoDbStore::from_sdk(&aws.sdk, table))
            }
            (None, Some(dir)) => IdempotencyStore::Local(
                LocalStore::new(dir)
                    .map_err(|e| format!("cannot create idempotency directory {dir}: {e}"))?,
            ),
            (None, None) => IdempotencyStore::Off,
        },
    )
}

pub async fn serve(args: &ServeArgs) -> Result<(), String> {
    let env = Env::from_process();
    let mut settings = Settings::from_env(&env).map_err(|e| e.to_string())?;
    let aws = aws(&env).await?;
    if let Some(aws) = &aws {
        settings.fit_body_limit(&env, aws.bucket.is_some(), aws.queue.max_message_bytes());
    }
    let mut pipelines = Vec::new();
    let mut defaults = Vec::new();
    let mut configured = dev::settings()?;
    for name in dev::configured_names(&configured) {
        let source = dev::configured(&name, &mut configured)?;
        let (secret, is_default) = dev::secret(source);
        let key = source
            .decode_secret(&secret)
            .map_err(|e| format!("{}: {e}", dev::secret_var(source)))?;
        let secrets = SecretSet::new(vec![Secret::new(dev::secret_var(source), key)])?;
        let queue = match &aws {
            Some(aws) => AnyQueue::Sqs(aws.queue.clone()),
            None => AnyQueue::Spool(
                SpoolQueue::new(&args.spool)
                    .map_err(|e| format!("cannot create spool directory {}: {e}", args.spool))?,
            ),
        };
        let idempotency = idempotency(aws.as_ref(), args.idempotency_dir.as_ref())?;
        let payloads = match aws.as_ref().and_then(|a| a.bucket.as_ref().map(|b| (a, b))) {
            Some((aws, bucket)) => PayloadStore::S3(S3Store::from_sdk(&aws.sdk, &env, bucket)),
            None => PayloadStore::Off,
        };
        if is_default {
            defaults.push(source.name());
        } else {
            println!(
                "  {:<9} secret: from {}",
                source.name(),
                dev::secret_var(source)
            );
        }
        pipelines.push(
            Pipeline::new(source, secrets, settings, queue)
                .with_idempotency(idempotency)
                .with_payloads(payloads),
        );
    }
    println!(
        "  {} sources use the development secret (see README; set INLET_<SOURCE>_SECRET to override): {}",
        defaults.len(),
        defaults.join(", ")
    );
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
        &args.idempotency_dir,
    ) {
        (Some(table), _) => {
            println!("Duplicates are recognised through the DynamoDB table {table}")
        }
        (None, Some(dir)) => println!("Duplicates are recognised through {dir}/"),
        (None, None) => println!("Duplicates are not recognised (--no-idempotency)"),
    }
    println!("Try: cargo run -p inlet-cli -- send github");
    let pipelines: Pipelines = Arc::new(pipelines);
    let read_timeout = Duration::from_secs(args.read_timeout);
    let slots = Arc::new(Semaphore::new(args.max_connections));
    loop {
        // Wait for a free slot before accepting: extra clients wait in the listen backlog.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let pipelines = pipelines.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| route(pipelines.clone(), req, read_timeout));
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
}

async fn route(
    pipelines: Pipelines,
    req: Request<Incoming>,
    read_timeout: Duration,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(pipeline) = path.strip_prefix("/webhooks/").and_then(|name| {
        pipelines
            .iter()
            .find(|p| p.source().name() == name.trim_end_matches('/'))
    }) else {
        if path == "/healthz" {
            return Ok(to_response(Reply::text(200, "ok".into())));
        }
        let names: Vec<&str> = pipelines.iter().map(|p| p.source().name()).collect();
        return Ok(to_response(
            Rejection::NotFound(names.join(", ")).to_reply(),
        ));
    };
    let deadline = Instant::now() + REQUEST_BUDGET;
    let (parts, body) = req.into_parts();
    // Never buffer more than the limit allows: one byte over is enough to answer 413.
    let limit = pipeline.settings().max_body_bytes;
    let read = tokio::time::timeout(read_timeout, Limited::new(body, limit + 1).collect()).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => {
            let rejection = Rejection::PayloadTooLarge {
                size: limit + 1,
                limit,
            };
            return Ok(to_response(rejection.to_reply()));
        }
        // The client went away or broke the framing: nobody is left to read an answer.
        Ok(Err(_)) | Err(_) => return Ok(to_response(Rejection::RequestTimeout.to_reply())),
    };
    let query = parts.uri.query().unwrap_or("");
    // The URL as the sender called it, for schemes that sign it (PUBLIC_URL is not set locally).
    let url = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("http://{host}{}", parts.uri));
    let inbound = Inbound {
        method: &parts.method,
        headers: &parts.headers,
        body: &bytes,
        query,
        url: url.as_deref(),
    };
    Ok(to_response(
        pipeline.handle(inbound, SystemTime::now(), deadline).await,
    ))
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
