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

/// Signs a request as `source`'s sender would. `url` is where it will be sent (schemes that sign
/// the URL need it).
pub fn sign(source: &'static Source, args: &SignArgs, url: Option<&str>) -> Result<Signed, String> {
    let defaults = dev::defaults(source);
    let at = args.timestamp.unwrap_or_else(now_unix);
    let id = args.id.clone().unwrap_or_else(fresh_id);
    let event = args.event.clone().unwrap_or(defaults.event.clone());
    let body = match (&args.data, &args.file) {
        (Some(d), _) => d.clone().into_bytes(),
        (None, Some(path)) => {
            std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
        }
        (None, None) => match defaults.sample {
            Some(written) => written.as_bytes().to_vec(),
            None => dev::sample(source, &id, &event, at).into_bytes(),
        },
    };
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => dev::signing_secret(source),
    };
    let key = signing_key(source, &secret)?;
    let content_type = args.content_type.clone().unwrap_or_else(|| {
        if body.first() == Some(&b'{') || body.first() == Some(&b'[') {
            "application/json".into()
        } else {
            "application/x-www-form-urlencoded".into()
        }
    });
    let mut headers = vec![("content-type".to_owned(), content_type)];
    if let Some(h) = source.event_header() {
        if !event.is_empty() {
            headers.push((h.to_owned(), event.clone()));
        }
    }
    // Senders that sign inside the body (Adyen, Braintree) get it back with the signature in.
    let body =
        inlet::verify::engine::sign_body(source.scheme(), &key, &posted(&body, at, &id, url))
            .map_err(|e| format!("cannot sign as {}: {e}", source.name()))?
            .unwrap_or(body);
    let signing = posted(&body, at, &id, url);
    let mut extras = Vec::with_capacity(args.headers.len());
    for extra in &args.headers {
        let (k, v) = extra
            .split_once(':')
            .ok_or_else(|| format!("--header takes NAME:VALUE, got {extra:?}"))?;
        extras.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    // The extra headers go out with the request, and may say how it is signed (Twilio's
    // X-Twilio-Webhooks-Signature-Settings).
    headers.extend(
        inlet::verify::engine::sign_with_headers(source.scheme(), &key, &signing, &extras)
            .map_err(|e| format!("cannot sign as {}: {e}", source.name()))?,
    );
    headers.extend(extras);
    Ok(Signed { headers, body })
}

/// What a POST of `body` signs.
fn posted<'a>(
    body: &'a [u8],
    at: i64,
    id: &'a str,
    url: Option<&'a str>,
) -> inlet::verify::engine::Signing<'a> {
    inlet::verify::engine::Signing {
        body,
        at,
        id,
        url,
        method: "POST",
    }
}

/// The key to sign with: the secret decoded as the scheme decodes it, or for public-key
/// schemes the private key given in hex (32 bytes; for P-256 also PKCS#8 DER).
fn signing_key(source: &Source, secret: &str) -> Result<Vec<u8>, String> {
    use inlet::scheme::Algorithm;
    match source.scheme().algorithm {
        Algorithm::Ed25519 | Algorithm::EcdsaP256 => hex::decode(secret.trim()).map_err(|_| {
            format!(
                "{} signs with a private key: give it in hex (--secret or {})",
                source.name(),
                dev::secret_var(source)
            )
        }),
        _ => source
            .decode_secret(secret)
            .map_err(|e| format!("the secret for {}: {e}", source.name())),
    }
}
