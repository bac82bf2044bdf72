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
//!
//! A sender whose handshake hands over the secret (Asana's `X-Hook-Secret`, Notion's
//! `verification_token`) may leave its source's secret at [`AWAIT_HANDSHAKE`]: the first such
//! handshake's value is then stored as the secret ([`SecretStore::claim`], through a
//! [`ClaimSecret`] port: Secrets Manager's `PutSecretValue` on the function's own secret, or the
//! local server's file), create-if-absent, and used from then on without a restart. Any other
//! value, or no writable store, refuses every such handshake.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tracing::{info, warn};

use crate::catalogue::sources::Source;
use crate::config::{ConfigError, Env, WEBHOOK_SECRET, WEBHOOK_SECRET_ARN};
pub use crate::core::handshake::{claimable, AWAIT_HANDSHAKE, HANDSHAKE_SECRET_LEN};
use crate::core::verify::{Secret, SecretSet};
use crate::ports::failure::StoreError;

/// How soon a secret that could not be read at all is asked for again.
const UNREAD_RETRY: Duration = Duration::from_secs(1);

/// The label of secrets that came from Secrets Manager: `secretsmanager[0]` is the newest.
const LABEL: &str = "secretsmanager";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretList {
    secrets: Vec<String>,
}

/// How long a Secrets Manager secret may await its handshake, from the moment the awaiting
/// value was stored: the operator sets it just before creating the subscription. An older
/// awaiting value takes no handshake (fail closed), so a forgotten one does not leave the
/// window open. (The local server's file has no such bound: it serves development.)
pub const AWAIT_WINDOW: Duration = Duration::from_secs(3600);

/// Whether an awaiting value stored at `since` (Unix seconds) is past [`AWAIT_WINDOW`] at `now`.
pub fn await_expired(since: i64, now: i64) -> bool {
    now.saturating_sub(since) > i64::try_from(AWAIT_WINDOW.as_secs()).unwrap_or(i64::MAX)
}

/// The label of the random key a source awaiting its handshake holds.
const AWAITING_LABEL: &str = "awaiting-handshake";

/// Whether `source`'s sender hands over its secret in a handshake (so its secret may await it).
pub fn stores_handshake_secret(source: &Source) -> bool {
    source.scheme().handshakes.iter().any(|h| h.stores_secret())
}

/// The secrets of a source awaiting its handshake: one random key (refusing every delivery),
/// labelled so that [`awaiting`] knows it.
fn awaiting_set() -> Result<SecretSet, String> {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness for the awaiting key: {e}"))?;
    SecretSet::new(vec![Secret::new(AWAITING_LABEL, key)])
}

/// Whether `set` is that of a source awaiting its handshake.
pub fn awaiting(set: &SecretSet) -> bool {
    let mut labels = set.iter().map(Secret::label);
    labels.next() == Some(AWAITING_LABEL) && labels.next().is_none()
}

/// Turns a Secrets Manager value into the active secrets for `source`.
pub fn parse_secret_value(source: &Source, value: &str) -> Result<SecretSet, String> {
    if value.trim() == AWAIT_HANDSHAKE {
        if !stores_handshake_secret(source) {
            return Err(format!(
                "the value is {AWAIT_HANDSHAKE}, but `{}` ({}) hands over no secret in a handshake: store the sender's secret itself",
                source.name(),
                source.scheme().title
            ));
        }
        return awaiting_set();
    }
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

/// Where a secret handed over in a handshake is stored: create-if-absent, so that of two
/// handshakes racing (in one process or several) exactly one is stored.
pub trait ClaimSecret: Send + Sync + fmt::Debug {
    /// Stores `value` as the secret if the store still awaits a handshake: `Ok(true)` when it
    /// was stored (or was already this very value, by the same claim), `Ok(false)` when the
    /// store holds another secret (set by the operator, or by a handshake that came first).
    fn claim<'a>(
        &'a self,
        value: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>>;
}

/// What [`SecretStore::claim`] came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// Stored, and the active secret from now on.
    Stored,
    /// Not stored: why, for the operator's log (never for the caller).
    Refused(&'static str),
}

/// The `ClientRequestToken` of the version a handshake stores over the awaiting version
/// `awaiting_version`: the same for every instance of the function, so that Secrets Manager
/// takes one value under it and refuses any other (`ResourceExistsException`). 48 characters
/// (Secrets Manager takes 32 to 64).
pub fn claim_token(awaiting_version: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("inlet-handshake:{awaiting_version}").as_bytes());
    format!("inlet-handshake-{}", &hex::encode(digest)[..32])
}

/// The active secrets, possibly refreshable; none yet when they could not be read at start-up.
#[derive(Debug)]
pub struct SecretStore {
    current: RwLock<Option<Arc<SecretSet>>>,
    refresher: Option<Refresher>,
    /// Where a handshake's secret is stored, for sources that may await one.
    writer: Option<Box<dyn ClaimSecret>>,
    /// One claim at a time in this process.
    claiming: tokio::sync::Mutex<()>,
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
            writer: None,
            claiming: tokio::sync::Mutex::new(()),
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
            writer: None,
            claiming: tokio::sync::Mutex::new(()),
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
            writer: None,
            claiming: tokio::sync::Mutex::new(()),
        }
    }

    /// With `writer` as the store a handshake's secret goes to: without one, every handshake
    /// that hands over a secret is refused.
    pub fn with_writer(mut self, writer: Box<dyn ClaimSecret>) -> Self {
        self.writer = Some(writer);
        self
    }

    /// Stores `value`, handed over by a handshake, as `source`'s secret, if and only if the
    /// source awaits one ([`AWAIT_HANDSHAKE`]), there is a writable store, `value` is
    /// [`claimable`] and the store takes it first; the stored secret is active at once. `Err`
    /// when the store could not be asked or answered with an error.
    pub async fn claim(&self, source: &Source, value: &str) -> Result<Claimed, StoreError> {
        let Some(writer) = self.writer.as_ref() else {
            return Ok(Claimed::Refused(
                "no writable secret store: only a Secrets Manager secret (or the local server's file) can await a handshake",
            ));
        };
        if !stores_handshake_secret(source) {
            return Ok(Claimed::Refused("the sender hands over no secret"));
        }
        let _one = self.claiming.lock().await;
        if !self.current().is_some_and(|set| awaiting(&set)) {
            return Ok(Claimed::Refused(
                "the source's secret is set: a handshake cannot replace it (set it to inlet:await-handshake to take the next one)",
            ));
        }
        if !claimable(value) {
            return Ok(Claimed::Refused(
                "the handshake's value cannot be a secret (16 to 512 printable characters)",
            ));
        }
        let set = parse_secret_value(source, value).map_err(StoreError::permanent)?;
        if !writer.claim(value).await? {
            return Ok(Claimed::Refused(
                "the secret store no longer awaits a handshake: another one, or the operator, set it first",
            ));
        }
        info!(
            source = source.name(),
            "a handshake's secret was stored as the source's secret; deliveries are verified with it from now on"
        );
        self.set_current(Arc::new(set));
        Ok(Claimed::Stored)
    }

    fn set_current(&self, set: Arc<SecretSet>) {
        match self.current.write() {
            Ok(mut guard) => *guard = Some(set),
            Err(poisoned) => *poisoned.into_inner() = Some(set),
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
        let tried = self.current();
        self.refresh_fetching(tried.as_ref()).await.1
    }

    /// [`SecretStore::refresh`] for a request that `tried` these secrets (`None`: none were read
    /// yet), and whether the secrets were fetched for it (the store was asked: a call to Secrets
    /// Manager), for the request's trace. Secrets that replaced `tried` since (another request's
    /// refresh, or a handshake's claim) are new to this request: `Ok(Some)` without a fetch.
    pub async fn refresh_fetching(
        &self,
        tried: Option<&Arc<SecretSet>>,
    ) -> (bool, Result<Option<Arc<SecretSet>>, String>) {
        let Some(refresher) = self.refresher.as_ref() else {
            return (false, Ok(None));
        };
        // One refresh at a time; concurrent failures wait, then verify with what it fetched (a
        // request that waited would otherwise see the interval has not passed, or fetch the same
        // value again, and refuse a delivery signed with the rotated secret: a 401 the sender may
        // not retry). Secrets never read are asked for again sooner.
        let mut last = refresher.last.lock().await;
        if let Some(current) = self.current() {
            if tried.is_none_or(|tried| !Arc::ptr_eq(tried, &current)) {
                return (false, Ok(Some(current)));
            }
        }
        // A source awaiting its handshake asks as often: another instance may have stored it.
        let interval = match self.current() {
            Some(set) if !awaiting(&set) => refresher.min_interval,
            _ => refresher.min_interval.min(UNREAD_RETRY),
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
    // Two awaiting sets are the same state, whatever their random keys.
    if awaiting(a) && awaiting(b) {
        return true;
    }
    a.iter().count() == b.iter().count() && a.iter().zip(b.iter()).all(|(x, y)| x.key() == y.key())
}

/// Where the secrets come from.
#[derive(Debug)]
pub enum SecretsConfig {
    /// Given in the environment.
    Env(SecretSet),
    /// To be read from Secrets Manager (an ARN or name).
    SecretsManager(String),
}

/// `WEBHOOK_SECRET_ARN` (Secrets Manager), or the secrets in the environment; exactly one of the
/// two. An empty variable counts as unset (templates declare both so either can be overridden).
pub fn secrets_config(source: &Source, env: &Env) -> Result<SecretsConfig, ConfigError> {
    let arn = env.get(WEBHOOK_SECRET_ARN).filter(|a| !a.trim().is_empty());
    let plain = env.get(WEBHOOK_SECRET).filter(|s| !s.is_empty());
    match (arn, plain) {
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            var: WEBHOOK_SECRET_ARN.into(),
            expected: format!("set either {WEBHOOK_SECRET_ARN} or {WEBHOOK_SECRET}, not both"),
        }),
        (Some(arn), None) => Ok(SecretsConfig::SecretsManager(arn.trim().to_owned())),
        (None, _) => secrets(source, env).map(SecretsConfig::Env),
    }
}

/// The active secrets: `WEBHOOK_SECRET` (the newest), then `WEBHOOK_SECRET_2`, `WEBHOOK_SECRET_3`, …
/// in numeric order, each used verbatim (no trimming) and decoded as the source requires.
pub fn secrets(source: &Source, env: &Env) -> Result<SecretSet, ConfigError> {
    let first = env.get(WEBHOOK_SECRET).filter(|s| !s.is_empty()).ok_or_else(|| ConfigError::Missing {
        var: WEBHOOK_SECRET.into(),
        expected: format!(
            "set it to the {} webhook signing secret, exactly as the sender shows it, or set {WEBHOOK_SECRET_ARN} to a Secrets Manager secret",
            source.name()
        ),
    })?;
    let mut numbered: Vec<(u32, &str, &str)> = env
        .vars()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix("WEBHOOK_SECRET_")?;
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Some((n.parse().ok()?, k, v)))?
        })
        .collect();
    numbered.sort_by_key(|(n, _, _)| *n);
    let all = std::iter::once((WEBHOOK_SECRET, first))
        .chain(numbered.into_iter().map(|(_, k, v)| (k, v)));
    let mut keys = Vec::new();
    for (var, value) in all {
        let key = source
            .decode_secret(value)
            .map_err(|problem| ConfigError::Invalid {
                var: var.into(),
                expected: problem,
            })?;
        keys.push(Secret::new(var, key));
    }
    SecretSet::new(keys).map_err(|problem| ConfigError::Invalid {
        var: WEBHOOK_SECRET.into(),
        expected: problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::sources::{by_name, Source};

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

    fn asana() -> &'static Source {
        by_name("asana").expect("asana")
    }

    #[test]
    fn only_a_sender_that_hands_over_its_secret_may_await_it() {
        let set = parse_secret_value(asana(), AWAIT_HANDSHAKE).expect("awaiting");
        assert!(awaiting(&set));
        assert_eq!(set.iter().next().map(|s| s.key().len()), Some(32));
        let again =
            parse_secret_value(asana(), &format!(" {AWAIT_HANDSHAKE}\n")).expect("awaiting");
        assert_ne!(
            set.iter().next().map(|s| s.key().to_vec()),
            again.iter().next().map(|s| s.key().to_vec()),
            "the awaiting key is random, never the public value"
        );
        assert!(same_keys(&set, &again));
        let err = parse_secret_value(github(), AWAIT_HANDSHAKE).expect_err("github");
        assert!(err.contains("hands over no secret"), "{err}");
        // Anywhere else (the environment, `inlet serve`'s variables) it is refused as a key.
        let err = asana()
            .decode_secret(AWAIT_HANDSHAKE)
            .expect_err("not a key");
        assert!(err.contains("not a secret"), "{err}");
        assert!(!awaiting(
            &parse_secret_value(asana(), "a-real-secret").expect("set")
        ));
    }

    #[test]
    fn what_a_handshake_may_store() {
        assert!(claimable(
            "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
        ));
        assert!(claimable(
            "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
        ));
        for bad in [
            "",
            "fifteen-chars-x",
            AWAIT_HANDSHAKE,
            "{\"secrets\": [\"abcdefghijklmnopq\"]}",
            "[abcdefghijklmnopq]",
            "abcdefghijklmnop\r\nx-injected: 1",
            "with a space in it",
        ] {
            assert!(!claimable(bad), "{bad:?}");
        }
        assert!(!claimable(&"x".repeat(513)));
    }

    #[test]
    fn an_awaiting_value_takes_a_handshake_for_an_hour() {
        let t = 1_700_000_000;
        assert!(!await_expired(t, t));
        assert!(!await_expired(t, t + 3600));
        assert!(await_expired(t, t + 3601));
        assert!(
            !await_expired(t, t - 5),
            "a clock slightly behind is not expiry"
        );
    }

    #[test]
    fn the_claim_token_is_one_per_awaiting_version() {
        let a = claim_token("a1b2c3d4-0000-4000-8000-000000000001");
        assert_eq!(a, claim_token("a1b2c3d4-0000-4000-8000-000000000001"));
        assert_ne!(a, claim_token("a1b2c3d4-0000-4000-8000-000000000002"));
        assert!((32..=64).contains(&a.len()), "{a}");
    }

    #[tokio::test]
    async fn of_concurrent_handshakes_one_is_stored() {
        use crate::core::handshake::testing::MemorySecret;
        let stored = MemorySecret::default();
        let store = SecretStore::from(parse_secret_value(asana(), AWAIT_HANDSHAKE).expect("set"))
            .with_writer(Box::new(stored.clone()));
        let (a, b) = tokio::join!(
            store.claim(asana(), "first-handshake-secret-0001"),
            store.claim(asana(), "second-handshake-secret-002")
        );
        let outcomes = [a.expect("a"), b.expect("b")];
        assert_eq!(
            outcomes.iter().filter(|c| **c == Claimed::Stored).count(),
            1,
            "{outcomes:?}"
        );
        let winner = stored.value().expect("stored");
        let active = store.current().expect("set");
        assert!(!awaiting(&active));
        assert_eq!(
            active.iter().next().map(|s| s.key().to_vec()),
            Some(winner.into_bytes())
        );
        // Without a writable store nothing is ever claimed.
        let fixed = SecretStore::from(parse_secret_value(asana(), AWAIT_HANDSHAKE).expect("set"));
        assert!(matches!(
            fixed.claim(asana(), "first-handshake-secret-0001").await,
            Ok(Claimed::Refused(_))
        ));
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

    /// Fetches `value` after `delay` (a slow Secrets Manager).
    #[derive(Debug)]
    struct Slow(AtomicUsize, &'static str, Duration);

    impl FetchSecrets for Slow {
        fn fetch(
            &self,
        ) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                tokio::time::sleep(self.2).await;
                parse_secret_value(github(), self.1).map_err(StoreError::permanent)
            })
        }
    }

    #[tokio::test]
    async fn a_request_that_waited_for_another_refresh_gets_its_secrets() {
        // Two requests signed with the rotated secret both fail to verify with the old set; the
        // first re-reads it (slowly), the second waits for that re-read. Whether the interval has
        // passed by then (1 s: no) or not (10 ms: yes, and a second fetch finds the same value),
        // the second gets the new set to verify with, not "nothing new" (a 401).
        for interval in [Duration::from_secs(1), Duration::from_millis(10)] {
            let initial = parse_secret_value(github(), "old").expect("set");
            let fetcher = Box::new(Slow(AtomicUsize::new(0), "new", Duration::from_millis(100)));
            let store = Arc::new(SecretStore::refreshing(initial, fetcher, interval));
            let old = store.current().expect("read");
            tokio::time::sleep(interval + Duration::from_millis(5)).await;
            let first = tokio::spawn({
                let (store, old) = (store.clone(), old.clone());
                async move { store.refresh_fetching(Some(&old)).await }
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
            let (fetched, second) = store.refresh_fetching(Some(&old)).await;
            let (first_fetched, first) = first.await.expect("joined");
            let key = |set: Arc<SecretSet>| set.iter().next().map(|s| s.key().to_vec());
            assert!(first_fetched, "{interval:?}");
            assert_eq!(
                first.expect("fetched").map(key),
                Some(Some(b"new".to_vec()))
            );
            assert!(!fetched, "the second request asks no one: {interval:?}");
            assert_eq!(second.expect("new").map(key), Some(Some(b"new".to_vec())));
            // A request that already verified with the new set finds nothing newer.
            let new = store.current().expect("read");
            assert_eq!(
                store
                    .refresh_fetching(Some(&new))
                    .await
                    .1
                    .map(|s| s.is_none()),
                Ok(true)
            );
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

    #[test]
    fn secrets_are_verbatim_and_ordered() {
        let env = Env::from_pairs([
            ("WEBHOOK_SECRET", " spaced, \"quoted\" $ecret "),
            ("WEBHOOK_SECRET_10", "ten"),
            ("WEBHOOK_SECRET_2", "two"),
            ("WEBHOOK_SECRET_ARN", "ignored-here"),
        ]);
        let set = secrets(github(), &env).expect("valid");
        let labels: Vec<&str> = set.iter().map(|s| s.label()).collect();
        assert_eq!(
            labels,
            ["WEBHOOK_SECRET", "WEBHOOK_SECRET_2", "WEBHOOK_SECRET_10"]
        );
        assert_eq!(
            set.iter().next().map(|s| s.key().to_vec()),
            Some(b" spaced, \"quoted\" $ecret ".to_vec())
        );
    }

    #[test]
    fn missing_and_invalid_secrets_name_the_variable() {
        let err = secrets(github(), &Env::default()).expect_err("missing");
        assert!(
            err.to_string().starts_with("WEBHOOK_SECRET is not set"),
            "{err}"
        );
        let err = secrets(github(), &Env::from_pairs([("WEBHOOK_SECRET", "")])).expect_err("empty");
        assert!(
            err.to_string().starts_with("WEBHOOK_SECRET is not set"),
            "{err}"
        );
        let err = secrets(
            standard(),
            &Env::from_pairs([
                ("WEBHOOK_SECRET", "whsec_ok+/AA=="),
                ("WEBHOOK_SECRET_2", "whsec_!!"),
            ]),
        )
        .expect_err("bad b64");
        assert!(
            err.to_string().starts_with("WEBHOOK_SECRET_2 is invalid"),
            "{err}"
        );
    }

    #[test]
    fn secret_arn_or_secret_but_not_both() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:github-AbCdEf";
        let env = Env::from_pairs([(WEBHOOK_SECRET_ARN, arn), (WEBHOOK_SECRET, "")]);
        assert!(
            matches!(secrets_config(github(), &env), Ok(SecretsConfig::SecretsManager(a)) if a == arn)
        );
        let env = Env::from_pairs([(WEBHOOK_SECRET_ARN, ""), (WEBHOOK_SECRET, "s")]);
        assert!(matches!(
            secrets_config(github(), &env),
            Ok(SecretsConfig::Env(_))
        ));
        let env = Env::from_pairs([(WEBHOOK_SECRET_ARN, arn), (WEBHOOK_SECRET, "s")]);
        let err = secrets_config(github(), &env).expect_err("both");
        assert!(
            err.to_string().starts_with("WEBHOOK_SECRET_ARN is invalid"),
            "{err}"
        );
        let err = secrets_config(github(), &Env::default()).expect_err("neither");
        assert!(err.to_string().contains("WEBHOOK_SECRET_ARN"), "{err}");
    }
}
