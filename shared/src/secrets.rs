//! Where a function's secrets come from: the environment, or AWS Secrets Manager, fetched once at
//! start-up and re-fetched (at most once per interval) when a signature fails to match, so a
//! rotated secret takes effect without a redeploy.
//!
//! A Secrets Manager value is either the secret itself, verbatim, or JSON listing several
//! secrets for rotation, newest first: `{"secrets": ["new", "old"]}`. A value that looks like JSON
//! (it starts with `{` or `[`) must be exactly that shape: the console's key/value form
//! (`{"WEBHOOK_SECRET": "…"}`), a trailing comma or an extra member is refused with a message
//! rather than taken as one verbatim secret that would refuse every delivery.
//!
//! A secret that cannot be read because Secrets Manager cannot be reached (throttled, failing,
//! unreachable) is read again on the next request, at most once a second, and until it is the
//! function answers 503 with `Retry-After`; one that cannot be read for good (no such secret,
//! access denied, a value of the wrong shape) stops the function at start-up.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::{info, warn};

use crate::failure::StoreError;
use crate::sources::Source;
use crate::verify::{Secret, SecretSet};

/// How soon a secret that could not be read at all is asked for again.
const UNREAD_RETRY: Duration = Duration::from_secs(1);

/// The label of secrets that came from Secrets Manager: `secretsmanager[0]` is the newest.
const LABEL: &str = "secretsmanager";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretList {
    secrets: Vec<String>,
}

/// Turns a Secrets Manager value into the active secrets for `source`.
pub fn parse_secret_value(source: &Source, value: &str) -> Result<SecretSet, String> {
    let looks_like_json = matches!(value.trim_start().as_bytes().first(), Some(b'{' | b'['));
    let listed = if looks_like_json {
        Some(serde_json::from_str::<SecretList>(value).map_err(|_| {
            "the value looks like JSON but is not {\"secrets\": [\"newest\", …]}: store the secret \
             itself as plaintext (not the console's key/value form), or that list"
                .to_owned()
        })?)
    } else {
        None
    };
    let raw: Vec<&str> = match &listed {
        Some(list) => list.secrets.iter().map(String::as_str).collect(),
        None => vec![value],
    };
    let mut keys = Vec::with_capacity(raw.len());
    for (i, secret) in raw.into_iter().enumerate() {
        let key = source
            .decode_secret(secret)
            .map_err(|e| format!("secret {i} in the value: {e}"))?;
        keys.push(Secret::new(format!("{LABEL}[{i}]"), key));
    }
    SecretSet::new(keys)
}

/// A way to fetch the current secrets again. A transient error may clear up (the store is
/// throttled or unreachable); a permanent one will not (no such secret, no access, a bad value).
pub trait FetchSecrets: Send + Sync + fmt::Debug {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>>;
}

/// Reads one secret from AWS Secrets Manager.
#[cfg(feature = "aws")]
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    source: &'static Source,
}

#[cfg(feature = "aws")]
impl SecretsManager {
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        source: &'static Source,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            source,
        }
    }
}

#[cfg(feature = "aws")]
impl FetchSecrets for SecretsManager {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>> {
        Box::pin(async move {
            let out = self
                .client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send()
                .await
                .map_err(|e| {
                    let failure = crate::aws::classify(&e);
                    StoreError {
                        failure: failure.failure,
                        detail: format!("cannot read the secret: {failure}"),
                    }
                })?;
            let value = out.secret_string().ok_or_else(|| {
                StoreError::permanent(
                    "the secret has no string value (binary secrets are not supported)",
                )
            })?;
            parse_secret_value(self.source, value).map_err(StoreError::permanent)
        })
    }
}

/// The active secrets, possibly refreshable; none yet when they could not be read at start-up.
#[derive(Debug)]
pub struct SecretStore {
    current: RwLock<Option<Arc<SecretSet>>>,
    refresher: Option<Refresher>,
}

#[derive(Debug)]
struct Refresher {
    fetch: Box<dyn FetchSecrets>,
    min_interval: Duration,
    last: tokio::sync::Mutex<Instant>,
}

impl From<SecretSet> for SecretStore {
    fn from(set: SecretSet) -> Self {
        Self {
            current: RwLock::new(Some(Arc::new(set))),
            refresher: None,
        }
    }
}

impl SecretStore {
    /// Secrets fetched at `fetched_at`, which may be fetched again once `min_interval` has passed.
    pub fn refreshing(
        set: SecretSet,
        fetch: Box<dyn FetchSecrets>,
        min_interval: Duration,
    ) -> Self {
        Self {
            current: RwLock::new(Some(Arc::new(set))),
            refresher: Some(Refresher {
                fetch,
                min_interval,
                last: tokio::sync::Mutex::new(Instant::now()),
            }),
        }
    }

    /// Secrets that could not be read yet (Secrets Manager unreachable at start-up): each
    /// request asks again, at most once a second, until they are.
    pub fn unread(fetch: Box<dyn FetchSecrets>, min_interval: Duration) -> Self {
        Self {
            current: RwLock::new(None),
            refresher: Some(Refresher {
                fetch,
                min_interval,
                last: tokio::sync::Mutex::new(Instant::now() - UNREAD_RETRY),
            }),
        }
    }

    /// The active secrets; `None` until they have been read.
    pub fn current(&self) -> Option<Arc<SecretSet>> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Fetches the secrets again if allowed (a refreshable store, and `min_interval` since the
    /// last fetch). `Ok(Some)` is a new set; `Ok(None)` means nothing new (not refreshable, not
    /// due yet, or the same value); `Err` means the fetch was tried and failed, so whether the
    /// request was signed with a rotated secret cannot be known yet.
    pub async fn refresh(&self) -> Result<Option<Arc<SecretSet>>, String> {
        self.refresh_fetching().await.1
    }

    /// [`SecretStore::refresh`], and whether the secrets were fetched for it (the store was asked:
    /// a call to Secrets Manager), for the request's trace.
    pub async fn refresh_fetching(&self) -> (bool, Result<Option<Arc<SecretSet>>, String>) {
        let Some(refresher) = self.refresher.as_ref() else {
            return (false, Ok(None));
        };
        // One refresh at a time; concurrent failures wait and then see the interval has not passed.
        // Secrets never read are asked for again sooner.
        let mut last = refresher.last.lock().await;
        let interval = match self.current() {
            Some(_) => refresher.min_interval,
            None => refresher.min_interval.min(UNREAD_RETRY),
        };
        if last.elapsed() < interval {
            return (false, Ok(None));
        }
        *last = Instant::now();
        (true, self.fetch(refresher).await)
    }

    async fn fetch(&self, refresher: &Refresher) -> Result<Option<Arc<SecretSet>>, String> {
        match refresher.fetch.fetch().await {
            Ok(set) => {
                let fresh = Arc::new(set);
                let first = match self.current() {
                    Some(current) if same_keys(&fresh, &current) => return Ok(None),
                    Some(_) => false,
                    None => true,
                };
                info!(
                    secrets = fresh.iter().count(),
                    "{}",
                    if first {
                        "secrets read; requests are verified from now on"
                    } else {
                        "secrets refreshed after a signature mismatch"
                    }
                );
                match self.current.write() {
                    Ok(mut guard) => *guard = Some(fresh.clone()),
                    Err(poisoned) => *poisoned.into_inner() = Some(fresh.clone()),
                }
                Ok(Some(fresh))
            }
            Err(e) => {
                warn!(error = %e, failure = e.failure.as_str(), "could not read the secrets; keeping the current ones, if any");
                Err(e.detail)
            }
        }
    }
}

fn same_keys(a: &SecretSet, b: &SecretSet) -> bool {
    a.iter().count() == b.iter().count() && a.iter().zip(b.iter()).all(|(x, y)| x.key() == y.key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::{by_name, Source};

    fn github() -> &'static Source {
        by_name("github").expect("github")
    }

    fn standard() -> &'static Source {
        by_name("standard").expect("standard")
    }
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn plain_and_listed_values() {
        let set = parse_secret_value(github(), " not {json} ").expect("verbatim");
        assert_eq!(
            set.iter().map(|s| s.key().to_vec()).collect::<Vec<_>>(),
            vec![b" not {json} ".to_vec()]
        );
        // Anything that looks like JSON must be the documented list: the console's key/value
        // form, a trailing comma or an extra member would otherwise be one verbatim secret that
        // refuses every delivery (issue 16).
        for bad in [
            r#"{"WEBHOOK_SECRET": "whsec_x"}"#,
            r#"{"secrets": ["new", "old"],}"#,
            r#"{"secrets": ["new"], "note": "rotated"}"#,
            r#" {not json} "#,
            r#"["new", "old"]"#,
        ] {
            let err = parse_secret_value(github(), bad).expect_err(bad);
            assert!(err.contains("looks like JSON"), "{bad}: {err}");
        }
        let set = parse_secret_value(github(), r#"{"secrets": ["new", "old"]}"#).expect("list");
        let labels: Vec<&str> = set.iter().map(|s| s.label()).collect();
        assert_eq!(labels, ["secretsmanager[0]", "secretsmanager[1]"]);
        assert!(parse_secret_value(github(), r#"{"secrets": []}"#).is_err());
        assert!(parse_secret_value(standard(), r#"{"secrets": ["whsec_!!"]}"#).is_err());
    }

    #[derive(Debug)]
    struct Counting(AtomicUsize, &'static str);

    impl FetchSecrets for Counting {
        fn fetch(
            &self,
        ) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(
                async move { parse_secret_value(github(), self.1).map_err(StoreError::permanent) },
            )
        }
    }

    #[tokio::test]
    async fn refresh_is_bounded_and_reports_changes_only() {
        let initial = parse_secret_value(github(), "old").expect("set");
        let fetcher = Box::new(Counting(AtomicUsize::new(0), "new"));
        let store = SecretStore::refreshing(initial, fetcher, Duration::from_millis(50));
        assert_eq!(
            store.refresh().await.map(|s| s.is_none()),
            Ok(true),
            "too soon after start-up"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        let fresh = store.refresh().await.expect("fetched").expect("changed");
        assert_eq!(
            fresh.iter().next().map(|s| s.key().to_vec()),
            Some(b"new".to_vec())
        );
        assert_eq!(
            store.refresh().await.map(|s| s.is_none()),
            Ok(true),
            "bounded"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            store.refresh().await.map(|s| s.is_none()),
            Ok(true),
            "unchanged value is not a change"
        );
        assert_eq!(
            SecretStore::from(parse_secret_value(github(), "x").expect("set"))
                .refresh()
                .await
                .map(|s| s.is_none()),
            Ok(true)
        );
    }
}
