//! Builds a request exactly as a sender would: body, content type, signature and id headers.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use inlet::core::verify::engine::Signing;
use inlet::Source;
use sha2::{Digest, Sha256};

use crate::dev;

/// How a request is signed: `inlet send`, `sign` and `event`.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "Signing")]
pub struct SignArgs {
    /// Signing secret (default: INLET_<SOURCE>_SECRET, else the development secret). For Ed25519
    /// and ECDSA senders (Discord, Telnyx, SendGrid), the private key in hex
    #[arg(long)]
    pub secret: Option<String>,
    /// The body (default: the sender's sample, or one generated from its scheme)
    #[arg(long, conflicts_with = "file")]
    pub data: Option<String>,
    /// The body, from a file
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
    /// The event, as its type reads after <SOURCE>. (GitHub: pull_request; Twitch:
    /// notification.channel.follow): its words fill the type's parts, in the sender's event
    /// header (X-GitHub-Event) and in a generated body
    #[arg(long, value_name = "NAME")]
    pub event: Option<String>,
    /// Delivery id (default: a fresh one)
    #[arg(long)]
    pub id: Option<String>,
    /// Signing time, unix seconds (default: now)
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,
    /// Content type (default: JSON if the body starts with { or [, else form-encoded)
    #[arg(long, value_name = "CT")]
    pub content_type: Option<String>,
    /// Extra header, repeatable (Twilio: X-Twilio-Webhooks-Signature-Settings with
    /// algorithm=HMAC_SHA256 signs as a SharedKey, --secret being its secret)
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE")]
    pub headers: Vec<String>,
    /// The URL the request goes to: `send` posts there (default: the local server); senders that
    /// sign the URL (Twilio, Square, HubSpot, Trello) sign it
    #[arg(long)]
    pub url: Option<String>,
}

/// A signed request, ready to send or to wrap in an API Gateway event.
#[derive(Debug)]
pub struct Signed {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL the sender posts to, when it is not the one given: Twilio adds `bodySHA256` to
    /// the query for a JSON body.
    pub url: Option<String>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A fresh delivery id in GUID shape: a version 4 UUID, as the functions make for deliveries
/// nothing identifies.
fn fresh_id() -> String {
    inlet::core::normalize::engine::unique_id()
}

/// Signs a request as `source`'s sender would. `url` is where it will be sent (schemes that sign
/// the URL need it).
pub fn sign(source: &'static Source, args: &SignArgs, url: Option<&str>) -> Result<Signed, String> {
    let defaults = dev::defaults(source);
    let at = args.timestamp.unwrap_or_else(now_unix);
    let id = args.id.clone().unwrap_or_else(fresh_id);
    // With no body given: the sender's sample of the event (its default sample when no event is
    // named), else one generated from its scheme.
    let given = args.data.is_some() || args.file.is_some();
    let sample = (!given)
        .then(|| crate::samples::find(source.scheme().name, args.event.as_deref()))
        .flatten();
    if let (None, Some(event), false) = (&sample, &args.event, given) {
        let known = crate::samples::events(source.scheme().name);
        if !known.is_empty() {
            eprintln!(
                "inlet: {} has no sample of {event:?} (it has {}); sending a generated body",
                source.name(),
                known.join(", ")
            );
        }
    }
    let event = match (&sample, &args.event) {
        (Some(s), _) => s.event.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => defaults.event.clone(),
    };
    let body = match (&args.data, &args.file, &sample) {
        (Some(d), _, _) => d.clone().into_bytes(),
        (None, Some(path), _) => {
            std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?
        }
        (None, None, Some(s)) => dev::fresh_timestamp(source, s.body, at).into_bytes(),
        (None, None, None) => dev::sample(source, &id, &event, at).into_bytes(),
    };
    let secret = match &args.secret {
        Some(s) => s.clone(),
        None => dev::signing_secret(source),
    };
    let sample_type = sample.as_ref().map(|s| s.content_type.to_owned());
    let sample_headers = sample.map(|s| s.headers).unwrap_or_default();
    // Senders whose keys are fetched (SNS, PayPal, Plaid) sign with the development key pairs.
    let request = crate::devkeys::Request {
        body: &body,
        given: given || sample_type.is_some(),
        at,
        id: &id,
        event: &event,
    };
    if let Some(delivery) = crate::devkeys::sign(source, &secret, &request) {
        let mut delivery = delivery?;
        if let (Some(ct), Some(first)) = (&args.content_type, delivery.headers.first_mut()) {
            first.1 = ct.clone();
        }
        delivery.headers.extend(sample_headers);
        delivery.headers.extend(extra_headers(args)?);
        return Ok(Signed {
            headers: delivery.headers,
            body: delivery.body,
            url: None,
        });
    }
    let key = signing_key(source, &secret)?;
    let content_type = args
        .content_type
        .clone()
        .or(sample_type)
        .unwrap_or_else(|| {
            // A sender whose body is its token (Wix) posts it as text.
            if source
                .scheme()
                .signature
                .at
                .contains(&inlet::core::scheme::Loc::Body)
            {
                "text/plain".into()
            } else if body.first() == Some(&b'{') || body.first() == Some(&b'[') {
                "application/json".into()
            } else {
                "application/x-www-form-urlencoded".into()
            }
        });
    let mut headers = vec![("content-type".to_owned(), content_type)];
    // The event's words that the sender sends in a header (GitHub's X-GitHub-Event), unless the
    // sample says what the sender sends there.
    for (loc, word) in dev::type_values(source.scheme(), &event) {
        if let inlet::core::scheme::Loc::Header(h) = loc {
            if !sample_headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(h))
            {
                headers.push((h.to_owned(), word));
            }
        }
    }
    headers.extend(sample_headers);
    // Senders that sign inside the body (Adyen, Braintree, Mailgun, Graph) get it back with the
    // signature in.
    let body = inlet::core::verify::engine::sign_body(
        source.scheme(),
        &key,
        &Signing::post(&body, at, &id, url),
    )
    .map_err(|e| format!("cannot sign as {}: {e}", source.name()))?
    .unwrap_or(body);
    let moved = url.and_then(|u| sender_url(source, u, &body));
    let signing = Signing::post(&body, at, &id, moved.as_deref().or(url));
    let extras = extra_headers(args)?;
    // The extra headers go out with the request, and may say how it is signed (Twilio's
    // X-Twilio-Webhooks-Signature-Settings).
    headers.extend(
        inlet::core::verify::engine::sign_with_headers(source.scheme(), &key, &signing, &extras)
            .map_err(|e| format!("cannot sign as {}: {e}", source.name()))?,
    );
    headers.extend(extras);
    Ok(Signed {
        headers,
        body,
        url: moved,
    })
}

/// The `--header NAME:VALUE` options, names lower-cased.
fn extra_headers(args: &SignArgs) -> Result<Vec<(String, String)>, String> {
    let mut extras = Vec::with_capacity(args.headers.len());
    for extra in &args.headers {
        let (k, v) = extra
            .split_once(':')
            .ok_or_else(|| format!("--header takes NAME:VALUE, got {extra:?}"))?;
        extras.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
    }
    Ok(extras)
}

/// The URL `source`'s sender posts `body` to, when it adds to the one it was given: Twilio signs
/// a JSON body through its hash, `bodySHA256=<hex SHA-256>` in the query (unless the URL already
/// has one). `None` when the request goes to `url` as it is.
fn sender_url(source: &Source, url: &str, body: &[u8]) -> Option<String> {
    let json = matches!(body.first(), Some(b'{' | b'['))
        && serde_json::from_slice::<serde_json::Value>(body).is_ok();
    if source.scheme().name != "twilio" || !json {
        return None;
    }
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(b, f)| (b, Some(f)));
    let query = base.split_once('?').map_or("", |(_, q)| q);
    if form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "bodySHA256") {
        return None;
    }
    let hash = hex::encode(Sha256::digest(body));
    let sep = if base.contains('?') { "&" } else { "?" };
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    Some(format!("{base}{sep}bodySHA256={hash}{fragment}"))
}

/// A private key's DER from PEM (any label, lines of any width), base64, or hex.
fn private_key(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = text.trim();
    let b64: String = if text.starts_with("-----BEGIN") {
        text.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat()
    } else if text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return hex::decode(text).ok();
    } else {
        text.to_owned()
    };
    base64::engine::general_purpose::STANDARD
        .decode(b64.split_ascii_whitespace().collect::<String>())
        .ok()
}

/// The key to sign with: the secret decoded as the scheme decodes it, or for public-key
/// schemes the private key given in hex (32 bytes; for P-256 also PKCS#8 DER).
fn signing_key(source: &Source, secret: &str) -> Result<Vec<u8>, String> {
    use inlet::core::scheme::Algorithm;
    match source.scheme().algorithm {
        Algorithm::Ed25519 | Algorithm::EcdsaP256 => hex::decode(secret.trim()).map_err(|_| {
            format!(
                "{} signs with a private key: give it in hex (--secret or {})",
                source.name(),
                dev::secret_var(source)
            )
        }),
        // RSA and the other public-key schemes: a PKCS#8 (or PKCS#1) private key as PEM, base64
        // DER, or an EC scalar in hex.
        a if a.public_key() => private_key(secret).ok_or_else(|| {
            format!(
                "{} signs with a private key: give it as PEM, base64 DER or hex (--secret or {})",
                source.name(),
                dev::secret_var(source)
            )
        }),
        _ => source
            .decode_secret(secret)
            .map_err(|e| format!("the secret for {}: {e}", source.name())),
    }
}
