//! `bench-hmac`: how fast Inlet's verifier checks a signature over a large body, for each source
//! named, next to the `hmac` crate alone over the same bytes (the most it could reach). Prints
//! one JSON object: MB/s (10^6 bytes) per source, and for the bare HMAC.
//!
//!   bench-hmac [--bytes 4194304] [--seconds 1] [github standard …]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};
use inlet::core::verify::engine::Signing;
use inlet::core::verify::{unix_seconds, Clock, Secret, SecretSet, Unverified};
use serde_json::{json, Map, Value};
use sha2::Sha256;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs `f` repeatedly for at least `seconds` and returns bytes per second over `bytes` each.
fn throughput(bytes: usize, seconds: f64, mut f: impl FnMut()) -> f64 {
    f(); // warm the caches once
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < budget || runs < 3 {
        f();
        runs += 1;
    }
    (bytes as f64 * runs as f64) / start.elapsed().as_secs_f64() / 1e6
}

fn main() -> Result<(), Error> {
    let mut bytes: usize = 4 * 1024 * 1024;
    let mut seconds = 1.0;
    let mut names = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bytes" => bytes = it.next().ok_or("--bytes needs a value")?.parse()?,
            "--seconds" => seconds = it.next().ok_or("--seconds needs a value")?.parse()?,
            name => names.push(name.to_owned()),
        }
    }
    if names.is_empty() {
        names = vec!["github".into(), "standard".into()];
    }
    // A JSON body of the requested size: what the verifier sees is bytes, so their content is moot.
    let mut body = b"{\"pad\":\"".to_vec();
    body.resize(bytes.saturating_sub(2), b'x');
    body.extend_from_slice(b"\"}");

    let key = b"inlet-bench-secret-0123456789abcdef".to_vec();
    let mut out = Map::new();
    out.insert("bytes".into(), json!(body.len()));
    out.insert(
        "hmac_crate_mb_per_s".into(),
        json!(throughput(body.len(), seconds, || {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
            mac.update(black_box(&body));
            black_box(mac.finalize());
        })),
    );
    let now = SystemTime::now();
    let clock = Clock {
        now,
        tolerance: Duration::from_secs(300),
    };
    let mut sources = Map::new();
    for name in &names {
        let source = inlet::catalogue::sources::by_name(name).ok_or(format!("no sender {name}"))?;
        let signing = Signing::post(&body, unix_seconds(now), "msg_bench", None);
        let mut headers = HeaderMap::new();
        for (k, v) in source.sign(&key, &signing)? {
            headers.insert(HeaderName::try_from(k)?, HeaderValue::try_from(v)?);
        }
        headers.insert("x-github-delivery", HeaderValue::from_static("msg_bench"));
        let secrets = SecretSet::new(vec![Secret::new("bench", key.clone())])?;
        source
            .verify(&secrets, Unverified::post(&headers, &body), &clock)
            .map_err(|e| format!("{name}: its own signature did not verify: {e}"))?;
        let rate = throughput(body.len(), seconds, || {
            let verified = source.verify(
                &secrets,
                Unverified::post(&headers, black_box(&body)),
                &clock,
            );
            black_box(verified.is_ok());
        });
        sources.insert(name.clone(), json!(rate));
    }
    out.insert("inlet_verify_mb_per_s".into(), Value::Object(sources));
    println!("{}", Value::Object(out));
    Ok(())
}
