//! `bench-load`: a bounded, closed-loop load generator for `inlet serve`. `--concurrency` workers
//! each keep one HTTP/1.1 connection and send GitHub deliveries back to back until `--requests`
//! have been sent in all. Every delivery is distinct (its body carries a sequence number, and it
//! has its own delivery id), so none is suppressed as a duplicate, and each is signed as GitHub
//! signs it. Prints one JSON object: requests per second, latency percentiles, status counts.
//!
//!   bench-load --url http://127.0.0.1:3000/webhooks/github --secret <s> --body <file.json>
//!              [--concurrency 10] [--requests 2000] [--first 0]
//!
//! Sequence numbers run from `--first`, so runs against one server never repeat a delivery.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use sha2::Sha256;
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    url: Uri,
    secret: String,
    body: Vec<u8>,
    concurrency: u64,
    requests: u64,
    first: u64,
}

fn args() -> Result<Args, Error> {
    let (mut url, mut secret, mut body) = (None, None, None);
    let (mut concurrency, mut requests, mut first) = (10, 2000, 0);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(value()?.parse()?),
            "--secret" => secret = Some(value()?),
            "--body" => body = Some(std::fs::read(value()?)?),
            "--concurrency" => concurrency = value()?.parse()?,
            "--requests" => requests = value()?.parse()?,
            "--first" => first = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let body: Vec<u8> = body.ok_or("--body is required")?;
    if body.first() != Some(&b'{') {
        return Err("--body must be a JSON object".into());
    }
    Ok(Args {
        url: url.ok_or("--url is required")?,
        secret: secret.ok_or("--secret is required")?,
        body,
        concurrency: concurrency.max(1),
        requests,
        first,
    })
}

/// The `n`th delivery: the sample with `"bench_seq":n` as its first member, and its headers.
fn delivery(args: &Args, n: u64) -> Result<Request<Full<Bytes>>, Error> {
    let mut body = format!("{{\"bench_seq\":{n},").into_bytes();
    body.extend_from_slice(&args.body[1..]);
    let mut mac = Hmac::<Sha256>::new_from_slice(args.secret.as_bytes())?;
    mac.update(&body);
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let authority = args.url.authority().ok_or("--url needs a host")?.as_str();
    Ok(Request::post(args.url.path())
        .header("host", authority)
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", format!("bench-{n:016x}"))
        .header("x-hub-signature-256", signature)
        .body(Full::new(Bytes::from(body)))?)
}

async fn worker(
    args: Arc<Args>,
    next: Arc<AtomicU64>,
) -> Result<(Vec<Duration>, BTreeMap<u16, u64>), Error> {
    let authority = args.url.authority().ok_or("--url needs a host")?.as_str();
    let mut latencies = Vec::new();
    let mut statuses = BTreeMap::new();
    let mut conn = None;
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= args.requests {
            return Ok((latencies, statuses));
        }
        let request = delivery(&args, args.first + n)?;
        let start = Instant::now();
        if conn.is_none() {
            let tcp = TcpStream::connect(authority).await?;
            tcp.set_nodelay(true)?;
            let (sender, connection) =
                hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            tokio::spawn(connection);
            conn = Some(sender);
        }
        let Some(sender) = conn.as_mut() else {
            continue;
        };
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let close = response
            .headers()
            .get(http::header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        response.into_body().collect().await?;
        latencies.push(start.elapsed());
        *statuses.entry(status).or_default() += 1;
        if close {
            conn = None;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Arc::new(args()?);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| tokio::spawn(worker(args.clone(), next.clone())))
        .collect();
    let mut latencies = Vec::new();
    let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
    for w in workers {
        let (l, s) = w.await??;
        latencies.extend(l);
        for (status, count) in s {
            *statuses.entry(status).or_default() += count;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "{}",
        json!({
            "concurrency": args.concurrency,
            "requests": latencies.len(),
            "seconds": seconds,
            "requests_per_second": latencies.len() as f64 / seconds,
            "p50_ms": percentile(&latencies, 50.0),
            "p99_ms": percentile(&latencies, 99.0),
            "max_ms": percentile(&latencies, 100.0),
            "statuses": statuses,
        })
    );
    Ok(())
}
