//! A request as the verifier sees it (method, headers, the exact body, query, URL), the secrets
//! it is checked with, the clock of the replay window, and what verification gives:
//! [`Verified`] or a [`VerifyError`]. Plain data with no knowledge of any sender, so that a
//! scheme ([`crate::core::scheme`]) can name it and the verifier can read the scheme.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method};

/// Most secrets one source accepts at once: each failed delivery costs one HMAC per secret.
pub const MAX_SECRETS: usize = 10;

/// One signing key, as the scheme uses it (decoded where the scheme says so).
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct Secret {
    label: String,
    key: Vec<u8>,
}

impl Secret {
    /// A key with a label that says where it came from (e.g. `WEBHOOK_SECRET_2`); the label is logged, the key never.
    pub fn new(label: impl Into<String>, key: Vec<u8>) -> Self {
        Self {
            label: label.into(),
            key,
        }
    }

    /// Where this key came from; safe to log.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn key(&self) -> &[u8] {
        &self.key
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("label", &self.label)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The secrets a source accepts, newest first; never empty.
#[derive(Clone, Debug)]
pub struct SecretSet(Vec<Secret>);

impl SecretSet {
    /// Fails when there is no secret or more than [`MAX_SECRETS`].
    pub fn new(secrets: Vec<Secret>) -> Result<Self, String> {
        if secrets.is_empty() {
            return Err("at least one secret is required".into());
        }
        if secrets.len() > MAX_SECRETS {
            return Err(format!(
                "at most {MAX_SECRETS} secrets may be active at once, got {}",
                secrets.len()
            ));
        }
        Ok(Self(secrets))
    }

    /// The secrets, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter()
    }
}

/// The request as the sender sent it: method, headers, the exact body bytes, the query string,
/// and the public URL it was sent to (for schemes that sign it).
#[derive(Clone, Copy, Debug)]
pub struct Unverified<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// The URL the sender posted to, exactly as registered with it, when it is known.
    pub url: Option<&'a str>,
}

static POST: Method = Method::POST;

impl<'a> Unverified<'a> {
    /// A POST with no query string and no known URL.
    pub fn post(headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        Self {
            method: &POST,
            headers,
            body,
            query: "",
            url: None,
        }
    }
}

/// Replay protection for schemes that sign a timestamp.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// The current time, passed in so tests are deterministic.
    pub now: SystemTime,
    /// How far a signed timestamp may be from `now`, in either direction.
    pub tolerance: Duration,
}

/// A request whose signature checked out. Only the verifier in this module can make one, and
/// only a `Verified` request can become an envelope, so verification cannot be skipped.
#[derive(Debug)]
pub struct Verified<'a> {
    request: Unverified<'a>,
    /// The scheme's name and algorithm (`github`, `hmac-sha256`).
    scheme: &'static str,
    algorithm: &'static str,
    secret: Secret,
    timestamp: Option<i64>,
    signed_id: Option<String>,
}

impl<'a> Verified<'a> {
    /// Only the verifier ([`crate::core::verify::engine`]) makes one, once a signature matched.
    pub(crate) fn new(
        request: Unverified<'a>,
        (scheme, algorithm): (&'static str, &'static str),
        secret: &Secret,
        timestamp: Option<i64>,
    ) -> Self {
        Self {
            request,
            scheme,
            algorithm,
            secret: secret.clone(),
            timestamp,
            signed_id: None,
        }
    }

    /// Records the delivery id the signature covered (schemes that sign one).
    pub(crate) fn with_signed_id(mut self, id: String) -> Self {
        self.signed_id = Some(id);
        self
    }

    pub fn headers(&self) -> &'a HeaderMap {
        self.request.headers
    }

    /// The exact bytes that were verified.
    pub fn body(&self) -> &'a [u8] {
        self.request.body
    }

    /// The request as it was verified.
    pub fn request(&self) -> &Unverified<'a> {
        &self.request
    }

    /// Which scheme and algorithm passed, e.g. `github-hmac-sha256` (the envelope's `inletverification`).
    pub fn verification(&self) -> String {
        format!("{}-{}", self.scheme, self.algorithm)
    }

    /// Which of the active secrets matched (its label, never its value).
    pub fn secret_label(&self) -> &str {
        self.secret.label()
    }

    /// The key that matched, for handshakes that answer with a MAC.
    pub(crate) fn key(&self) -> &[u8] {
        self.secret.key()
    }

    /// The signed timestamp (unix seconds), for schemes that sign one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The delivery id the signature covered, for schemes that sign one. Normalizers take the
    /// id from here, never from a header the signature did not cover.
    pub fn signed_id(&self) -> Option<&str> {
        self.signed_id.as_deref()
    }
}

/// What a sender puts in a request it signs (the CLI's and the tests' side of a scheme).
#[derive(Debug, Clone, Copy)]
pub struct Signing<'s> {
    pub body: &'s [u8],
    /// Unix seconds.
    pub at: i64,
    pub id: &'s str,
    /// The URL the request goes to (schemes that sign it).
    pub url: Option<&'s str>,
    pub method: &'s str,
}

impl<'s> Signing<'s> {
    /// What a POST of `body` to `url` signs, sent at `at` (Unix seconds) with delivery id `id`.
    pub fn post(body: &'s [u8], at: i64, id: &'s str, url: Option<&'s str>) -> Self {
        Signing {
            body,
            at,
            id,
            url,
            method: "POST",
        }
    }
}

/// Why a request was not verified. Messages never contain an expected signature.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the {header} header is missing; the request is not signed")]
    MissingSignature { header: &'static str },
    #[error("the {header} header is not in the format this source signs with")]
    MalformedSignature { header: &'static str },
    #[error("no signature in {header} matches the body with any active secret")]
    SignatureMismatch { header: &'static str },
    #[error("the {header} header is required")]
    MissingHeader { header: &'static str },
    #[error("the {header} header must appear exactly once")]
    DuplicateHeader { header: &'static str },
    #[error("the {header} timestamp is not in the format this source sends")]
    InvalidTimestamp { header: &'static str },
    #[error(
        "the signed timestamp is {skew_seconds} s from now, outside the allowed {tolerance_seconds} s"
    )]
    TimestampOutsideTolerance {
        skew_seconds: i64,
        tolerance_seconds: u64,
    },
}

impl VerifyError {
    /// True when no signature matched (401): every check but the replay window happens before a
    /// signature matches, so the caller is unauthenticated and learns only "not verified".
    /// A stale or future timestamp is found after a match: the caller holds a valid signature.
    pub fn is_unauthenticated(&self) -> bool {
        !matches!(self, Self::TimestampOutsideTolerance { .. })
    }
}

/// A header that must appear at most once: `Ok(None)` when absent. Repeated headers (separate
/// values, or values API Gateway HTTP APIs joined with commas) are rejected rather than guessed at.
pub(crate) fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, VerifyError> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(VerifyError::DuplicateHeader { header: name });
    }
    let value = first
        .to_str()
        .map_err(|_| VerifyError::MalformedSignature { header: name })?;
    Ok(Some(value.trim()))
}

/// Every value of a list-valued header, joined with commas the way HTTP (and API Gateway) joins repeats.
pub(crate) fn joined_header(headers: &HeaderMap, name: &'static str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Rejects timestamps too old or too far in the future.
pub(crate) fn check_window(timestamp: i64, clock: &Clock) -> Result<(), VerifyError> {
    let now = unix_seconds(clock.now);
    let skew = now - timestamp;
    let tolerance = clock.tolerance.as_secs();
    if skew.unsigned_abs() > tolerance {
        return Err(VerifyError::TimestampOutsideTolerance {
            skew_seconds: skew,
            tolerance_seconds: tolerance,
        });
    }
    Ok(())
}

/// Seconds since the Unix epoch (negative before it).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use http::{HeaderName, HeaderValue};

    pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        map
    }

    pub fn clock_at(unix: u64) -> Clock {
        Clock {
            now: UNIX_EPOCH + Duration::from_secs(unix),
            tolerance: Duration::from_secs(300),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("WEBHOOK_SECRET", b"hunter2".to_vec());
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("WEBHOOK_SECRET"));
    }

    #[test]
    fn secret_set_bounds() {
        assert!(SecretSet::new(vec![]).is_err());
        let many = (0..=MAX_SECRETS)
            .map(|i| Secret::new(i.to_string(), vec![1]))
            .collect();
        assert!(SecretSet::new(many).is_err());
    }

    #[test]
    fn window_rejects_old_and_future() {
        let clock = clock_at(10_000);
        assert!(check_window(10_000 - 300, &clock).is_ok());
        assert!(check_window(10_000 + 300, &clock).is_ok());
        assert_eq!(
            check_window(10_000 - 301, &clock),
            Err(VerifyError::TimestampOutsideTolerance {
                skew_seconds: 301,
                tolerance_seconds: 300
            })
        );
        assert!(check_window(10_000 + 301, &clock).is_err());
    }

    #[test]
    fn repeated_single_header_is_rejected() {
        let h = headers(&[("x-a", "1"), ("x-a", "2")]);
        assert_eq!(
            single_header(&h, "x-a"),
            Err(VerifyError::DuplicateHeader { header: "x-a" })
        );
        let h = headers(&[("X-A", " 1 ")]);
        assert_eq!(single_header(&h, "x-a"), Ok(Some("1")));
    }
}
