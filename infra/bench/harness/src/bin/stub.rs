//! `bench-stub`: an AWS endpoint on loopback, over HTTPS with a test CA, that answers at once, so
//! the benchmark measures the functions and not a queue. It speaks just enough of four services
//! for the functions under test:
//! - SQS (JSON protocol): `SendMessage` and `SendMessageBatch` (with the bodies' MD5s, which SDKs
//!   check) and `GetQueueAttributes`;
//! - Secrets Manager: `GetSecretValue`, answering the secret given with `--secret`;
//! - S3 (path-style): `PutObject`, with the body's MD5 as its ETag;
//! - DynamoDB: `PutItem`, `UpdateItem`, `DeleteItem` (each written) and `GetItem` (nothing found),
//!   for the idempotency marks.
//!
//! `--latency-ms N` holds every answer back N ms, as a call to AWS in the same region takes.
//!
//! `GET /__stats` (over the same TLS) answers the number of calls per operation and the last
//! message body, so the benchmark can check every function really sent what it was asked to.
//!
//!   bench-stub --ca-out <file> --secret <value> [--latency-ms N]
//!
//! Writes the test CA's certificate (PEM) to `--ca-out`, then prints `listening on 127.0.0.1:<port>`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Default)]
struct Stats {
    calls: Mutex<BTreeMap<String, u64>>,
    last_message: Mutex<String>,
    messages: AtomicU64,
}

struct Args {
    ca_out: String,
    secret: String,
    latency: std::time::Duration,
}

fn args() -> Result<Args, Error> {
    let mut ca_out = None;
    let mut secret = None;
    let mut latency = 0;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--ca-out" => ca_out = it.next(),
            "--secret" => secret = it.next(),
            "--latency-ms" => {
                latency = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--latency-ms takes a whole number of milliseconds")?
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Args {
        ca_out: ca_out.ok_or("--ca-out is required")?,
        secret: secret.ok_or("--secret is required")?,
        latency: std::time::Duration::from_millis(latency),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args = args()?;
    let (ca_pem, cert, key) = inlet_bench::certificates("Inlet benchmark test CA")?;
    std::fs::write(&args.ca_out, ca_pem)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    println!("listening on {}", listener.local_addr()?);
    let secret: Arc<str> = args.secret.into();
    let stats = Arc::new(Stats::default());
    let latency = args.latency;
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let secret = secret.clone();
        let stats = stats.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = service_fn(move |req| {
                let secret = secret.clone();
                let stats = stats.clone();
                async move {
                    let answered = answer(req, &secret, &stats).await;
                    if !latency.is_zero() {
                        tokio::time::sleep(latency).await;
                    }
                    Ok::<_, Infallible>(answered)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

async fn answer(req: Request<Incoming>, secret: &str, stats: &Stats) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return reply(
            StatusCode::BAD_REQUEST,
            "text/plain",
            "unreadable body".into(),
        );
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let operation = match (&parts.method, target.as_str()) {
        (&http::Method::GET, _) if parts.uri.path() == "/__stats" => {
            let calls = stats.calls.lock().map(|c| c.clone()).unwrap_or_default();
            let last = stats
                .last_message
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default();
            let body = json!({ "calls": calls, "last_message": last }).to_string();
            return reply(StatusCode::OK, "application/json", body.into());
        }
        (&http::Method::PUT, _) => "s3.PutObject".to_owned(),
        (_, t) if !t.is_empty() => t.to_owned(),
        _ => "unknown".to_owned(),
    };
    if let Ok(mut calls) = stats.calls.lock() {
        *calls.entry(operation.clone()).or_default() += 1;
    }
    let json_reply = |v: Value| {
        reply(
            StatusCode::OK,
            "application/x-amz-json-1.0",
            v.to_string().into(),
        )
    };
    match operation.as_str() {
        "AmazonSQS.SendMessage" => {
            let Ok(input) = serde_json::from_slice::<Value>(&body) else {
                return reply(StatusCode::BAD_REQUEST, "text/plain", "bad JSON".into());
            };
            let message = input["MessageBody"].as_str().unwrap_or_default();
            let n = stats.messages.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = stats.last_message.lock() {
                message.clone_into(&mut last);
            }
            json_reply(json!({
                "MessageId": format!("00000000-0000-4000-8000-{n:012x}"),
                "MD5OfMessageBody": hex::encode(Md5::digest(message.as_bytes())),
            }))
        }
        "AmazonSQS.SendMessageBatch" => {
            let Ok(input) = serde_json::from_slice::<Value>(&body) else {
                return reply(StatusCode::BAD_REQUEST, "text/plain", "bad JSON".into());
            };
            let mut successful = Vec::new();
            for entry in input["Entries"].as_array().into_iter().flatten() {
                let message = entry["MessageBody"].as_str().unwrap_or_default();
                let n = stats.messages.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut last) = stats.last_message.lock() {
                    message.clone_into(&mut last);
                }
                successful.push(json!({
                    "Id": entry["Id"],
                    "MessageId": format!("00000000-0000-4000-8000-{n:012x}"),
                    "MD5OfMessageBody": hex::encode(Md5::digest(message.as_bytes())),
                }));
            }
            json_reply(json!({ "Successful": successful, "Failed": [] }))
        }
        "DynamoDB_20120810.PutItem"
        | "DynamoDB_20120810.UpdateItem"
        | "DynamoDB_20120810.DeleteItem"
        | "DynamoDB_20120810.GetItem" => json_reply(json!({})),
        "AmazonSQS.GetQueueAttributes" => json_reply(json!({
            "Attributes": { "MaximumMessageSize": "262144" }
        })),
        "secretsmanager.GetSecretValue" => {
            let id = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["SecretId"].as_str().map(str::to_owned))
                .unwrap_or_default();
            json_reply(json!({
                "ARN": id,
                "Name": "inlet-bench",
                "SecretString": secret,
                "VersionId": "00000000-0000-4000-8000-000000000001",
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": 1_795_000_000.0,
            }))
        }
        "s3.PutObject" => {
            let mut r = reply(StatusCode::OK, "application/xml", Bytes::new());
            if let Ok(etag) = format!("\"{}\"", hex::encode(Md5::digest(&body))).parse() {
                r.headers_mut().insert(http::header::ETAG, etag);
            }
            r
        }
        _ => reply(
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            json!({"__type": "UnknownOperationException"})
                .to_string()
                .into(),
        ),
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    r
}
