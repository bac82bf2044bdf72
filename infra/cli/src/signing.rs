//! Builds a request exactly as a sender would: body, content type, signature and id headers.

use std::time::{SystemTime, UNIX_EPOCH};

use inlet::Source;

use crate::args::SignArgs;
use crate::dev;

/// A signed request, ready to send or to wrap in an API Gateway event.
#[derive(Debug)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A fresh delivery id in GUID shape, unique enough for test deliveries.
fn fresh_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let h = format!(
        "{:016x}{:08x}{:08x}",
        nanos.reverse_bits() ^ nanos,
        std::process::id(),
        nanos as u32
    );
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

pub fn sign(source: &'static dyn Source, args: &SignArgs) -> Result<Signed, String> {
    let defaults = dev::defaults(source);
    let body = match (&args.data, &args.file) {
        (Some(d), _) => d.clone().into_bytes(),
        (None, Some(path)) => {
            std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
        }
        (None, None) => defaults.sample.as_bytes().to_vec(),
    };
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => dev::secret(source).0,
    };
    let key = source
        .decode_secret(&secret)
        .map_err(|e| format!("the secret for {}: {e}", source.name()))?;
    let at = args.timestamp.unwrap_or_else(now_unix);
    let id = args.id.clone().unwrap_or_else(fresh_id);
    let content_type = args.content_type.clone().unwrap_or_else(|| {
        if body.first() == Some(&b'{') || body.first() == Some(&b'[') {
            "application/json".into()
        } else {
            "application/x-www-form-urlencoded".into()
        }
    });
    let mut headers = vec![("content-type".to_owned(), content_type)];
    let event = args.event.as_deref().unwrap_or(defaults.event);
    if !event.is_empty() {
        headers.extend(
            source
                .event_headers(event)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v)),
        );
    }
    headers.extend(
        source
            .sign(&key, &body, at, &id)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
    );
    for extra in &args.headers {
        let (k, v) = extra
            .split_once(':')
            .ok_or_else(|| format!("--header takes NAME:VALUE, got {extra:?}"))?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    Ok(Signed { headers, body })
}
