//! The local dev server: every source at `POST /webhooks/<source>`, through the same pipeline as
//! the Lambda functions, into a spool directory (or SQS when `QUEUE_URL` is set).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use inlet::config::{self, Env, Settings};
use inlet::queue::{AnyQueue, SpoolQueue, SqsQueue};
use inlet::response::Rejection;
use inlet::verify::{Secret, SecretSet};
use inlet::{Inbound, Pipeline, Reply};
use tokio::net::TcpListener;

use crate::dev;

/// Reads at most this much of a body: API Gateway's own ceiling. The pipeline applies `MAX_BODY_BYTES`.
const READ_LIMIT: usize = 10 * 1024 * 1024;

type Pipelines = Arc<Vec<Pipeline<AnyQueue>>>;

pub async fn serve(addr: &str, spool: &str) -> Result<(), String> {
    let env = Env::from_process();
    let settings = Settings::from_env(&env).map_err(|e| e.to_string())?;
    let queue_url = env.get(config::QUEUE_URL).map(str::to_owned);
    let sqs = match &queue_url {
        Some(_) => Some(
            SqsQueue::from_environment(config::queue_url(&env).map_err(|e| e.to_string())?).await,
        ),
        None => None,
    };
    let mut pipelines = Vec::new();
    for source in inlet::sources::ALL {
        let (secret, is_default) = dev::secret(source);
        let key = source
            .decode_secret(&secret)
            .map_err(|e| format!("{}: {e}", dev::secret_var(source)))?;
        let secrets = SecretSet::new(vec![Secret::new(dev::secret_var(source), key)])?;
        let queue = match &sqs {
            Some(q) => AnyQueue::Sqs(q.clone()),
            None => AnyQueue::Spool(
                SpoolQueue::new(spool)
                    .map_err(|e| format!("cannot create spool directory {spool}: {e}"))?,
            ),
        };
        if is_default {
            println!(
                "  {:<9} secret: the development default (see README; set {} to override)",
                source.name(),
                dev::secret_var(source)
            );
        } else {
            println!(
                "  {:<9} secret: from {}",
                source.name(),
                dev::secret_var(source)
            );
        }
        pipelines.push(Pipeline::new(source, secrets, settings, queue));
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    match &queue_url {
        Some(url) => {
            println!("Inlet is listening on http://{local}/webhooks/<source>, enqueueing to {url}")
        }
        None => {
            println!("Inlet is listening on http://{local}/webhooks/<source>, spooling to {spool}/")
        }
    }
    println!("Try: cargo run -p inlet-cli -- send github");
    let pipelines: Pipelines = Arc::new(pipelines);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let pipelines = pipelines.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| route(pipelines.clone(), req));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

async fn route(
    pipelines: Pipelines,
    req: Request<Incoming>,
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
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, READ_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let rejection = Rejection::PayloadTooLarge {
                size: READ_LIMIT + 1,
                limit: READ_LIMIT,
            };
            return Ok(to_response(rejection.to_reply()));
        }
    };
    let inbound = Inbound {
        method: &parts.method,
        headers: &parts.headers,
        body: &bytes,
    };
    Ok(to_response(
        pipeline.handle(inbound, SystemTime::now()).await,
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
