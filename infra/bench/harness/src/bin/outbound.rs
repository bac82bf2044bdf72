//! `bench-outbound`: the sender's benchmark. In one process: a loopback subscriber (HTTPS with a
//! test CA made at start, or plain HTTP; answers `204` at once or after `--subscriber-ms`) on a
//! thread of its own, and the delivery core (`inlet::outbound::deliver::deliver`) driven
//! `--deliveries` times with the real `http::Client` (the SSRF guard on, `127.0.0.0/8` allowed),
//! real Standard Webhooks signing, a CloudEvent body of `--body-bytes`, and the in-memory ports of
//! `inlet::outbound::memory`, each call held back `--store-latency-ms` (DynamoDB in one region).
//! Every delivery is a distinct event, and each attempt opens its own connection (TCP, TLS), as
//! the client does in production.
//!
//! Measured, for each `--concurrency` level (1: deliveries one after another; 10: a batch
//! overlapped, as the delivery function handles a standard queue's): deliveries per second, p50/p99
//! of one delivery (the two calls `SqsTasks::receive` makes before `deliver` are modelled as two
//! more store waits), CPU per delivery, and the process's peak RSS.
//!
//! CPU is user+system time from `/proc/self/stat` (clock ticks, 100 per second) less the
//! subscriber thread's own (`/proc/self/task/<tid>/stat`), over the whole series, divided by
//! the deliveries: the sender's share only, DNS look-ups on tokio's blocking pool included.
//! Peak RSS is `VmHWM` from `/proc/self/status` (the subscriber and the in-memory stores, which
//! keep every attempt, are in it: an upper bound).
//!
//! `--sdk-calls N` also measures what the memory ports leave out: the CPU of the AWS SDK's
//! DynamoDB calls a delivery makes on the deployed path (4 `GetItem`, 3 `UpdateItem`, 1
//! `PutItem`: see `REQUESTS` below), with the functions' own SDK configuration
//! (`inlet::adapters::aws::function_sdk_config`: SigV4, retries, timeouts), against a loopback endpoint
//! over plain HTTP on the subscriber's thread (its CPU excluded) that answers a 2 KB item. In
//! AWS the connection is TLS, kept alive: record encryption adds a little.
//!
//!   bench-outbound [--deliveries 2000] [--concurrency 1,10] [--subscriber-ms 0]
//!                  [--store-latency-ms 0] [--body-bytes 1536] [--http] [--sdk-calls 0]
//!
//! Prints one JSON object.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use inlet::adapters::http::{Client, ClientConfig};
use inlet::outbound::deliver::{deliver, Policy, Ports};
use inlet::outbound::memory::{MemoryAttempts, MemoryEndpoints, MemoryNotices, MemoryTasks};
use inlet::outbound::model::{
    Attempt, Body, Disabled, Endpoint, Health, Millis, SecretText, State, Task,
};
use inlet::outbound::ports::{AttemptQuery, Attempts, Endpoints, Notice, Notices, Settle, Tasks};
use inlet::outbound::signing::Secret;
use inlet::ports::failure::StoreError;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The AWS requests one first-attempt, successful delivery makes on the deployed path (one
/// endpoint per event, standard delivery queue, no rate limit, circuit closed, body inline),
/// read from `outbound::lambda`, `outbound::sqs` and `outbound::dynamodb`. Per delivery; `/10`
/// where a request serves a batch of 10 (the event source mappings' batches, full).
/// (service, request, count per delivery, billed units each, where it happens)
pub const REQUESTS: &[(&str, &str, f64, &str, &str)] = &[
    (
        "SQS FIFO",
        "SendMessage to the outbox",
        1.0,
        "1 (< 64 KB)",
        "publish (the app or `inlet publish`)",
    ),
    (
        "SQS FIFO",
        "ReceiveMessage + DeleteMessageBatch (event source mapping)",
        0.2,
        "1 each",
        "outbox → fan-out",
    ),
    ("Lambda", "fan-out invocation", 0.1, "1 request", "fan-out"),
    (
        "DynamoDB",
        "Scan of the endpoints table (consistent)",
        0.1,
        "1 RRU per 4 KB scanned",
        "fan-out, once per batch",
    ),
    (
        "DynamoDB",
        "PutItem task record (conditional)",
        1.0,
        "⌈record ÷ 1 KB⌉ WRU (no body: it travels in the messages)",
        "fan-out",
    ),
    (
        "SQS standard",
        "SendMessage to the delivery queue",
        1.0,
        "1 (< 64 KB)",
        "fan-out",
    ),
    (
        "DynamoDB",
        "UpdateItem task record → pending",
        1.0,
        "⌈record ÷ 1 KB⌉ WRU",
        "fan-out",
    ),
    (
        "SQS standard",
        "ReceiveMessage + DeleteMessageBatch (event source mapping)",
        0.2,
        "1 each",
        "delivery queue → delivery",
    ),
    (
        "Lambda",
        "delivery invocation",
        0.1,
        "1 request",
        "delivery",
    ),
    (
        "DynamoDB",
        "GetItem task record (consistent; SqsTasks::receive)",
        1.0,
        "1 RRU",
        "delivery",
    ),
    (
        "DynamoDB",
        "UpdateItem claim (conditional)",
        1.0,
        "⌈record ÷ 1 KB⌉ WRU",
        "delivery",
    ),
    (
        "DynamoDB",
        "GetItem task record (consistent; deliver's Tasks::state)",
        1.0,
        "1 RRU",
        "delivery",
    ),
    (
        "DynamoDB",
        "GetItem endpoint (consistent; Endpoints::get)",
        1.0,
        "1 RRU",
        "delivery",
    ),
    (
        "KMS",
        "Decrypt the endpoint's keys",
        0.0,
        "cached 5 min per instance and endpoint",
        "delivery",
    ),
    (
        "DynamoDB",
        "GetItem endpoint health (consistent; Endpoints::health)",
        1.0,
        "1 RRU",
        "delivery",
    ),
    (
        "DynamoDB",
        "UpdateItem endpoint health (Endpoints::record): not on a healthy endpoint's success",
        0.0,
        "1 WRU when written",
        "delivery",
    ),
    (
        "DynamoDB",
        "PutItem attempt (+ its two GSIs, projection ALL)",
        1.0,
        "3 WRU",
        "delivery",
    ),
    (
        "DynamoDB",
        "UpdateItem task record → delivered (Tasks::settle)",
        1.0,
        "⌈record ÷ 1 KB⌉ WRU",
        "delivery",
    ),
];

/// DynamoDB calls the delivery function makes per delivery, in order (all sequential): 4 GetItem,
/// 2 UpdateItem (claim, delivered), the attempt's PutItem; a healthy endpoint's success writes no
/// health.
const DELIVERY_DYNAMODB_CALLS: u64 = 7;
/// DynamoDB calls before `deliver` (`SqsTasks::receive`: GetItem and the claim's UpdateItem).
const RECEIVE_CALLS: u32 = 2;

#[derive(Clone)]
struct Args {
    deliveries: u64,
    concurrency: Vec<u64>,
    subscriber: Duration,
    store: Duration,
    body_bytes: usize,
    https: bool,
    sdk_calls: u64,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        deliveries: 2000,
        concurrency: vec![1, 10],
        subscriber: Duration::ZERO,
        store: Duration::ZERO,
        body_bytes: 1536,
        https: true,
        sdk_calls: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--deliveries" => a.deliveries = value()?.parse()?,
            "--concurrency" => {
                a.concurrency = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--subscriber-ms" => a.subscriber = Duration::from_millis(value()?.parse()?),
            "--store-latency-ms" => a.store = Duration::from_millis(value()?.parse()?),
            "--body-bytes" => a.body_bytes = value()?.parse()?,
            "--http" => a.https = false,
            "--sdk-calls" => a.sdk_calls = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if a.deliveries == 0 || a.concurrency.contains(&0) {
        return Err("--deliveries and --concurrency must be more than zero".into());
    }
    Ok(a)
}

// ---------------------------------------------------------------- measuring

/// User+system clock ticks of a `/proc/.../stat` file (fields 14 and 15).
fn ticks(path: &str) -> Result<u64, Error> {
    let stat = std::fs::read_to_string(path)?;
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("unreadable stat")?
        .1
        .split_whitespace()
        .collect();
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

/// Clock ticks per second of `/proc`'s times (USER_HZ: 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// The sender's CPU seconds so far: the process's, less the peer thread's.
fn sender_cpu(peer_tid: &str) -> Result<f64, Error> {
    let all = ticks("/proc/self/stat")?;
    let peer = ticks(&format!("/proc/self/task/{peer_tid}/stat"))?;
    Ok(all.saturating_sub(peer) as f64 / TICKS_PER_SECOND)
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

// ---------------------------------------------------------------- the peer thread

/// What the peer thread serves: the subscriber, and the fake DynamoDB of the SDK probe.
struct Peer {
    tid: String,
    subscriber: SocketAddr,
    dynamodb: SocketAddr,
    ca_pem: Option<String>,
    received: Arc<AtomicU64>,
}

/// Starts the peer thread (its own current-thread runtime, so all its work is on one thread
/// whose CPU can be told apart).
fn start_peer(https: bool, delay: Duration) -> Result<Peer, Error> {
    let (tx, rx) = std::sync::mpsc::channel::<Result<Peer, String>>();
    std::thread::Builder::new()
        .name("bench-peer".into())
        .spawn(move || {
            let started = (|| -> Result<_, Error> {
                let tid = std::fs::read_link("/proc/thread-self")?
                    .file_name()
                    .ok_or("no thread id")?
                    .to_string_lossy()
                    .into_owned();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Ok((tid, rt))
            })();
            let (tid, rt) = match started {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                let ready = async {
                    let tls = if https {
                        let (ca_pem, cert, key) =
                            inlet_bench::certificates("Inlet outbound benchmark test CA")?;
                        let provider = Arc::new(rustls::crypto::ring::default_provider());
                        let config = rustls::ServerConfig::builder_with_provider(provider)
                            .with_safe_default_protocol_versions()?
                            .with_no_client_auth()
                            .with_single_cert(vec![cert], key)?;
                        Some((ca_pem, TlsAcceptor::from(Arc::new(config))))
                    } else {
                        None
                    };
                    let subscriber =
                        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                    let dynamodb = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
                    Ok::<_, Error>((tls, subscriber, dynamodb))
                }
                .await;
                let (tls, subscriber, dynamodb) = match ready {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let received = Arc::new(AtomicU64::new(0));
                let peer = Peer {
                    tid,
                    subscriber: subscriber.local_addr().expect("bound"),
                    dynamodb: dynamodb.local_addr().expect("bound"),
                    ca_pem: tls.as_ref().map(|(pem, _)| pem.clone()),
                    received: received.clone(),
                };
                let _ = tx.send(Ok(peer));
                let acceptor = tls.map(|(_, a)| a);
                tokio::spawn(serve_dynamodb(dynamodb));
                loop {
                    let Ok((tcp, _)) = subscriber.accept().await else {
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    let received = received.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |req: Request<Incoming>| {
                            let received = received.clone();
                            async move {
                                // Read the whole body, as a subscriber verifying it would.
                                let _ = req.into_body().collect().await;
                                if !delay.is_zero() {
                                    tokio::time::sleep(delay).await;
                                }
                                received.fetch_add(1, Ordering::Relaxed);
                                let mut r = Response::new(Full::new(Bytes::new()));
                                *r.status_mut() = StatusCode::NO_CONTENT;
                                Ok::<_, Infallible>(r)
                            }
                        });
                        let http = hyper::server::conn::http1::Builder::new();
                        match acceptor {
                            Some(acceptor) => {
                                if let Ok(tls) = acceptor.accept(tcp).await {
                                    let _ = http.serve_connection(TokioIo::new(tls), service).await;
                                }
                            }
                            None => {
                                let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                            }
                        }
                    });
                }
            });
        })?;
    rx.recv()?.map_err(Into::into)
}

/// A DynamoDB endpoint over plain HTTP: `GetItem` answers a task record (about 2 KB, as the
/// real one, which carries the body), `UpdateItem` its attributes, `PutItem` nothing.
async fn serve_dynamodb(listener: TcpListener) {
    let item = json!({
        "pk": {"S": "ep_2NfbQ1x7kXwYdJd3mR8t/evt_2NfbQ1x7kXwYdJd3mR8u"},
        "sk": {"S": "task"}, "state": {"S": "pending"}, "attempt": {"N": "1"},
        "due_at": {"N": "1795417200000"}, "created_at": {"N": "1795417200000"},
        "endpoint_id": {"S": "ep_2NfbQ1x7kXwYdJd3mR8t"}, "event_id": {"S": "evt_2NfbQ1x7kXwYdJd3mR8u"},
        "event_type": {"S": "invoice.paid"}, "ordered": {"BOOL": false},
        "body": {"S": serde_json::to_string(&Body::Inline(String::from_utf8_lossy(&cloud_event(0, 1536)).into_owned())).unwrap_or_default()},
    });
    let get = Bytes::from(json!({ "Item": item }).to_string());
    let update = Bytes::from(json!({ "Attributes": {"consecutive_failures": {"N": "0"}, "last_success": {"N": "1795417200000"}} }).to_string());
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (get, update) = (get.clone(), update.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let (get, update) = (get.clone(), update.clone());
                async move {
                    let target = req
                        .headers()
                        .get("x-amz-target")
                        .and_then(|t| t.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let _ = req.into_body().collect().await;
                    let body = match target.as_str() {
                        "DynamoDB_20120810.GetItem" => get,
                        "DynamoDB_20120810.UpdateItem" => update,
                        _ => Bytes::from_static(b"{}"),
                    };
                    let mut r = Response::new(Full::new(body));
                    r.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("application/x-amz-json-1.0"),
                    );
                    Ok::<_, Infallible>(r)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

// ---------------------------------------------------------------- the ports, held back

/// A port of `inlet::outbound::memory` whose every call waits `delay` first, as a DynamoDB
/// call in the same region does; counts the calls.
struct Held<P> {
    inner: P,
    delay: Duration,
    calls: AtomicU64,
}

impl<P> Held<P> {
    fn new(inner: P, delay: Duration) -> Self {
        Self {
            inner,
            delay,
            calls: AtomicU64::new(0),
        }
    }

    async fn wait(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

impl<P: Endpoints> Endpoints for Held<P> {
    async fn create(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        self.inner.create(endpoint).await
    }
    async fn get(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        self.wait().await;
        self.inner.get(id).await
    }
    async fn list(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.wait().await;
        self.inner.list().await
    }
    async fn update(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.update(endpoint).await
    }
    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.delete(id).await
    }
    async fn disable(&self, id: &str, disabled: Disabled) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.disable(id, disabled).await
    }
    async fn enable(&self, id: &str) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.enable(id).await
    }
    async fn health(&self, id: &str) -> Result<Health, StoreError> {
        self.wait().await;
        self.inner.health(id).await
    }
    async fn record(&self, id: &str, success: bool, now: Millis) -> Result<Health, StoreError> {
        self.wait().await;
        self.inner.record(id, success, now).await
    }
    async fn acquire_probe(
        &self,
        id: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.acquire_probe(id, now, until).await
    }
    async fn take_token(&self, id: &str, limit: u32, now: Millis) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.take_token(id, limit, now).await
    }
}

impl<P: Tasks<Lease = ()>> Tasks for Held<P> {
    type Lease = ();
    async fn create(&self, task: &Task) -> Result<bool, StoreError> {
        self.wait().await;
        self.inner.create(task).await
    }
    async fn state(&self, key: &str) -> Result<Option<State>, StoreError> {
        self.wait().await;
        self.inner.state(key).await
    }
    async fn settle(&self, task: &Task, lease: &(), settle: Settle) -> Result<(), StoreError> {
        self.wait().await;
        self.inner.settle(task, lease, settle).await
    }
}

impl<P: Attempts> Attempts for Held<P> {
    async fn record(&self, attempt: &Attempt, expires: Millis) -> Result<(), StoreError> {
        self.wait().await;
        self.inner.record(attempt, expires).await
    }
    async fn list(&self, query: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        self.wait().await;
        self.inner.list(query).await
    }
}

impl<P: Notices> Notices for Held<P> {
    async fn notify(&self, notice: &Notice) -> Result<(), StoreError> {
        self.wait().await;
        self.inner.notify(notice).await
    }
}

// ---------------------------------------------------------------- the deliveries

/// A CloudEvent of exactly `size` bytes (an invoice, padded with one string member).
fn cloud_event(n: u64, size: usize) -> Vec<u8> {
    let mut doc = json!({
        "specversion": "1.0", "id": format!("evt_{n:020}"), "source": "/billing/invoices",
        "type": "invoice.paid", "time": "2026-12-01T10:15:00.000Z", "subject": "in_1QxYz2AbCdEf",
        "datacontenttype": "application/json",
        "data": {"invoice": {"id": "in_1QxYz2AbCdEf", "customer": "cus_9s6XKzkNRiz8i3",
                 "customer_email": "ada@example.com", "currency": "eur", "amount_due": 12995,
                 "amount_paid": 12995, "status": "paid", "period_start": 1795417200,
                 "period_end": 1798095600, "lines": [
                     {"id": "il_1", "description": "Pro plan × 1", "amount": 9900, "quantity": 1},
                     {"id": "il_2", "description": "Extra seats × 3", "amount": 3095, "quantity": 3}]},
                 "padding": ""},
    });
    let base = doc.to_string().len();
    doc["data"]["padding"] = Value::from("x".repeat(size.saturating_sub(base)));
    doc.to_string().into_bytes()
}

/// The size DynamoDB bills a task record at while a delivery holds it (attribute names plus
/// values; a number is 1 byte per two digits plus 1), as `SqsTasks` writes it: the body travels
/// in the messages and joins the record only when the task is parked, so it is not counted.
fn task_record_bytes(_body: &[u8]) -> usize {
    let text = |name: &str, value: &str| name.len() + value.len();
    let number = |name: &str, digits: usize| name.len() + digits.div_ceil(2) + 1;
    let endpoint = "ep_2NfbQ1x7kXwYdJd3mR8t";
    let event = "evt_2NfbQ1x7kXwYdJd3mR8u";
    text("pk", &format!("{endpoint}/{event}"))
        + text("sk", "task")
        + text("state", "pending")
        + number("attempt", 1)
        + number("due_at", 13)
        + number("created_at", 13)
        + text("endpoint_id", endpoint)
        + text("event_id", event)
        + text("event_type", "invoice.paid")
        + "ordered".len()
        + 1
        + number("leased_until", 13)
        + text("lease_id", "0b6f2d3e-1a4c-4f7e-9d2a-6c1b8e5f4a3d")
}

fn now() -> Millis {
    inlet::outbound::model::now()
}

/// One series: `n` deliveries by `concurrency` workers.
async fn series(
    a: &Args,
    client: &Client,
    url: &str,
    peer: &Peer,
    concurrency: u64,
    first: u64,
) -> Result<Value, Error> {
    let endpoints = Held::new(MemoryEndpoints::default(), a.store);
    let tasks = Held::new(MemoryTasks::default(), a.store);
    let attempts = Held::new(MemoryAttempts::default(), a.store);
    let notices = Held::new(MemoryNotices::default(), a.store);
    let endpoint = Endpoint {
        id: "ep_2NfbQ1x7kXwYdJd3mR8t".into(),
        url: url.to_owned(),
        description: "bench".into(),
        filters: vec![],
        headers: vec![("X-Team".into(), "billing".into())],
        disabled: None,
        rate_limit: None,
        ordered: false,
        secret: SecretText::new(Secret::generate()?.expose()),
        previous: None,
        ed25519: None,
        created_at: now(),
    };
    endpoints.create(&endpoint).await?;
    let ports = Ports {
        endpoints: &endpoints,
        tasks: &tasks,
        attempts: &attempts,
        notices: &notices,
        transport: client,
    };
    let policy = Policy::default();
    let bodies: Vec<Vec<u8>> = (0..a.deliveries)
        .map(|i| cloud_event(first + i, a.body_bytes))
        .collect();
    let next = AtomicU64::new(0);
    let received_before = peer.received.load(Ordering::Relaxed);
    let cpu_before = sender_cpu(&peer.tid)?;
    let started = Instant::now();
    let worker = || async {
        let mut latencies = Vec::new();
        let mut failed = 0u64;
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= a.deliveries {
                break;
            }
            let body = &bodies[usize::try_from(i).unwrap_or(0)];
            let task = Task {
                event_id: format!("evt_{:020}", first + i),
                event_type: "invoice.paid".into(),
                endpoint_id: endpoint.id.clone(),
                attempt: 1,
                created_at: now(),
                due_at: now(),
                body: Body::Inline(String::from_utf8_lossy(body).into_owned()),
                ordered: false,
            };
            let t0 = Instant::now();
            // SqsTasks::receive: GetItem of the record and the claim's UpdateItem.
            if !a.store.is_zero() {
                tokio::time::sleep(a.store * RECEIVE_CALLS).await;
            }
            match deliver(&ports, &policy, &task, &(), body, &now, 0.5).await {
                Ok(d) if d.settle == Settle::Delivered => {}
                _ => failed += 1,
            }
            latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        (latencies, failed)
    };
    let results = futures_util::future::join_all((0..concurrency).map(|_| worker())).await;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = sender_cpu(&peer.tid)? - cpu_before;
    let mut latencies: Vec<f64> = results
        .iter()
        .flat_map(|(l, _)| l.iter().copied())
        .collect();
    let failed: u64 = results.iter().map(|(_, f)| f).sum();
    if failed > 0 {
        return Err(format!("{failed} of {} deliveries were not delivered", a.deliveries).into());
    }
    let received = peer.received.load(Ordering::Relaxed) - received_before;
    if received != a.deliveries {
        return Err(format!(
            "the subscriber received {received} of {} deliveries",
            a.deliveries
        )
        .into());
    }
    latencies.sort_by(f64::total_cmp);
    let port_calls = endpoints.calls.load(Ordering::Relaxed)
        + tasks.calls.load(Ordering::Relaxed)
        + attempts.calls.load(Ordering::Relaxed)
        + notices.calls.load(Ordering::Relaxed);
    Ok(json!({
        "concurrency": concurrency,
        "deliveries": a.deliveries,
        "seconds": seconds,
        "deliveries_per_second": a.deliveries as f64 / seconds,
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
        "cpu_us_per_delivery": cpu / a.deliveries as f64 * 1e6,
        "port_calls_per_delivery": port_calls as f64 / a.deliveries as f64 + f64::from(RECEIVE_CALLS),
    }))
}

/// The CPU of the SDK's DynamoDB calls of one delivery (4 GetItem, 3 UpdateItem, 1 PutItem),
/// `rounds` times, with the functions' SDK configuration.
async fn sdk_probe(peer: &Peer, rounds: u64) -> Result<Value, Error> {
    use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
    let env = inlet::config::Env::from_pairs([
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://{}", peer.dynamodb)),
    ]);
    let sdk = inlet::adapters::aws::function_sdk_config(&env)?;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let key = |pk: &str| {
        [
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S("task".to_owned())),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let one = |i: u64| {
        let client = &client;
        let pk = format!("ep_2NfbQ1x7kXwYdJd3mR8t/evt_{i:020}");
        async move {
            for _ in 0..4 {
                client
                    .get_item()
                    .table_name("inlet-deliveries")
                    .set_key(Some(key(&pk)))
                    .consistent_read(true)
                    .send()
                    .await?;
            }
            for _ in 0..2 {
                client
                    .update_item()
                    .table_name("inlet-deliveries")
                    .set_key(Some(key(&pk)))
                    .update_expression("SET leased_until = :until, lease_id = :id, #state = :pending")
                    .condition_expression("attribute_exists(pk) AND #state IN (:pending, :queuing) AND attempt = :attempt")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":until", AttributeValue::N("1795417500000".into()))
                    .expression_attribute_values(":id", AttributeValue::S("0b6f2d3e-1a4c-4f7e-9d2a-6c1b8e5f4a3d".into()))
                    .expression_attribute_values(":pending", AttributeValue::S("pending".into()))
                    .expression_attribute_values(":queuing", AttributeValue::S("queuing".into()))
                    .expression_attribute_values(":attempt", AttributeValue::N("1".into()))
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await?;
            }
            client
                .put_item()
                .table_name("inlet-deliveries")
                .item("pk", AttributeValue::S(pk.clone()))
                .item("sk", AttributeValue::S("attempt#000001".into()))
                .item(
                    "endpoint_id",
                    AttributeValue::S("ep_2NfbQ1x7kXwYdJd3mR8t".into()),
                )
                .item("event_id", AttributeValue::S(format!("evt_{i:020}")))
                .item("number", AttributeValue::N("1".into()))
                .item("at", AttributeValue::N("1795417200000".into()))
                .item("status", AttributeValue::N("204".into()))
                .item("latency_ms", AttributeValue::N("52".into()))
                .item("verdict", AttributeValue::S("delivered".into()))
                .item("class", AttributeValue::S("http".into()))
                .item("expires_at", AttributeValue::N("1798009200".into()))
                .send()
                .await?;
            Ok::<_, Error>(())
        }
    };
    // Warm: the connection pool and the identity cache.
    one(0).await?;
    let cpu_before = sender_cpu(&peer.tid)?;
    let started = Instant::now();
    for i in 0..rounds {
        one(i + 1).await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = sender_cpu(&peer.tid)? - cpu_before;
    let calls = rounds * DELIVERY_DYNAMODB_CALLS;
    Ok(json!({
        "deliveries": rounds,
        "calls": calls,
        "cpu_us_per_call": cpu / calls as f64 * 1e6,
        "cpu_us_per_delivery": cpu / rounds as f64 * 1e6,
        "ms_per_call_loopback": seconds / calls as f64 * 1000.0,
    }))
}

fn main() -> Result<(), Error> {
    let a = args()?;
    // The SDK probe's credentials, read from the environment as the functions read them.
    if a.sdk_calls > 0 {
        for (k, v) in [
            ("AWS_ACCESS_KEY_ID", "bench"),
            ("AWS_SECRET_ACCESS_KEY", "bench"),
        ] {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
    }
    let peer = start_peer(a.https, a.subscriber)?;
    // The delivery function's runtime: one thread (functions/*/src/main.rs), plus tokio's
    // blocking pool for getaddrinfo.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(async {
        let mut policy = inlet::adapters::http::Policy {
            allow_http: !a.https,
            ..Default::default()
        };
        policy.allow_networks.push("127.0.0.0/8".parse()?);
        let client = Client::new(ClientConfig {
            policy,
            extra_roots_pem: peer.ca_pem.as_ref().map(|p| p.as_bytes().to_vec()),
            ..ClientConfig::default()
        })?;
        let scheme = if a.https { "https" } else { "http" };
        let url = format!("{scheme}://localhost:{}/webhooks/inlet", peer.subscriber.port());
        // Warm-up: the first connection, the resolver's thread, the allocator.
        let warm = Args { deliveries: 20.min(a.deliveries), concurrency: vec![1], ..a.clone() };
        series(&warm, &client, &url, &peer, 1, 1_000_000_000).await?;
        let rss_warm = status_kib("VmRSS:") / 1024.0;
        let mut runs = Vec::new();
        for (k, &c) in a.concurrency.iter().enumerate() {
            runs.push(series(&a, &client, &url, &peer, c, (k as u64 + 1) * 10_000_000).await?);
        }
        let sdk = if a.sdk_calls > 0 {
            Some(sdk_probe(&peer, a.sdk_calls).await?)
        } else {
            None
        };
        Ok::<_, Error>(json!({
            "scheme": scheme,
            "body_bytes": cloud_event(0, a.body_bytes).len(),
            "subscriber_ms": a.subscriber.as_millis() as u64,
            "store_latency_ms": a.store.as_millis() as u64,
            "runs": runs,
            "rss_after_warmup_mib": rss_warm,
            "peak_rss_mib": status_kib("VmHWM:") / 1024.0,
            "sdk_dynamodb": sdk,
            "dynamodb_calls_per_delivery": DELIVERY_DYNAMODB_CALLS,
            "task_record_bytes": task_record_bytes(&cloud_event(0, a.body_bytes)),
            "cpu_source": "/proc/self/stat utime+stime less the subscriber thread's /proc/self/task/<tid>/stat",
            "requests": REQUESTS.iter().map(|(service, request, count, units, side)| json!({
                "service": service, "request": request, "per_delivery": count, "billed": units, "where": side,
            })).collect::<Vec<_>>(),
        }))
    })?;
    println!("{out}");
    Ok(())
}
