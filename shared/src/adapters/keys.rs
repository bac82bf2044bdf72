//! The key port's production adapter: [`HttpKeys`] fetches a sender's published keys over
//! HTTPS with the outbound sender's client, cached and bounded (see [`crate::ports::fetched`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::verify::fetch::{CheckedUrl, KeyRequest};
use crate::ports::fetched::{
    FetchError, KeySource, CACHE_FOR, FAILED_FOR, FETCH_WINDOW, MAX_CACHED, MAX_FAILED,
    MAX_FETCHES, MAX_KEY_BYTES, TEST_ONLY_KEY_SERVER,
};

/// Fetched keys by cache key, with when each stops being used.
#[cfg_attr(not(feature = "sender"), allow(dead_code))]
#[derive(Debug, Default)]
struct Cache(Mutex<HashMap<String, Entry>>);

/// A fetched key's bytes, and when it stops being used.
type Entry = (Arc<[u8]>, std::time::Instant);

#[cfg_attr(not(feature = "sender"), allow(dead_code))]
impl Cache {
    fn get(&self, key: &str) -> Option<Arc<[u8]>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(_, until)| *until > std::time::Instant::now())
            .map(|(bytes, _)| bytes.clone())
    }

    fn put(&self, key: &str, bytes: Arc<[u8]>, max_age: Duration) {
        let now = std::time::Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, until)| *until > now);
        while map.len() >= MAX_CACHED {
            let oldest = map
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(key.to_owned(), (bytes, now + max_age));
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The bounds on what unverified requests can make a process fetch: a negative cache of failed
/// fetches ([`FAILED_FOR`], at most [`MAX_FAILED`] entries) and a cap on the fetches started
/// ([`MAX_FETCHES`] per [`FETCH_WINDOW`]). Shared by every invocation the process serves.
#[derive(Debug, Default)]
pub struct Bounds {
    failed: Mutex<HashMap<String, (FetchError, Instant)>>,
    started: Mutex<VecDeque<Instant>>,
}

impl Bounds {
    /// Runs `fetch` for the key cached under `key`, unless that key failed within
    /// [`FAILED_FOR`] (its error again) or [`MAX_FETCHES`] fetches started within
    /// [`FETCH_WINDOW`] ([`FetchError::Throttled`]); neither polls `fetch`, which must do
    /// nothing until polled (an `async` block or fn). A failure is remembered.
    pub async fn fetch<F>(&self, key: &str, fetch: F) -> Result<Arc<[u8]>, FetchError>
    where
        F: std::future::Future<Output = Result<Arc<[u8]>, FetchError>>,
    {
        self.admit(key, Instant::now())?;
        let result = fetch.await;
        if let Err(e) = &result {
            self.failed(key, e.clone(), Instant::now());
        }
        result
    }

    /// Whether a fetch of `key` may start at `now`; counts it when it may.
    fn admit(&self, key: &str, now: Instant) -> Result<(), FetchError> {
        {
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            failed.retain(|_, (_, until)| *until > now);
            if let Some((e, _)) = failed.get(key) {
                return Err(e.clone());
            }
        }
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        while started
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= FETCH_WINDOW)
        {
            started.pop_front();
        }
        if started.len() >= MAX_FETCHES {
            return Err(FetchError::Throttled);
        }
        started.push_back(now);
        Ok(())
    }

    /// Remembers that fetching `key` failed with `e` at `now`, for [`FAILED_FOR`].
    fn failed(&self, key: &str, e: FetchError, now: Instant) {
        let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
        failed.retain(|_, (_, until)| *until > now);
        while failed.len() >= MAX_FAILED {
            let oldest = failed
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => failed.remove(&k),
                None => break,
            };
        }
        failed.insert(key.to_owned(), (e, now + FAILED_FOR));
    }
}

/// Production's key port: HTTPS through the outbound client, cached.
#[cfg(feature = "sender")]
#[derive(Debug)]
pub struct HttpKeys {
    client: crate::adapters::http::Client,
    cache: Cache,
    bounds: Bounds,
}

/// The test-only setting's parts: the loopback address every fetch connects to, and the PEM CA
/// trusted besides Mozilla's roots.
#[cfg_attr(not(feature = "sender"), allow(dead_code))]
fn test_only(value: &str) -> Result<(std::net::SocketAddr, String), String> {
    let (addr, ca) = value
        .split_once(',')
        .ok_or("expected <loopback ip:port>,<CA PEM path>")?;
    let addr: std::net::SocketAddr = addr
        .trim()
        .parse()
        .map_err(|_| "the address is not ip:port".to_owned())?;
    if !addr.ip().is_loopback() {
        return Err("the address must be loopback: this setting is for tests only".into());
    }
    Ok((addr, ca.trim().to_owned()))
}

#[cfg(feature = "sender")]
mod http_keys {
    use std::io;
    use std::net::{IpAddr, SocketAddr};

    use bytes::Bytes;
    use futures_util::future::BoxFuture;
    use http::{HeaderMap, HeaderValue, Method};

    use super::*;
    use crate::adapters::http::{Client, ClientConfig, Connect, Policy, Resolve};

    /// Tests only: every name resolves to the test server's address.
    #[derive(Debug)]
    struct ToTestServer(SocketAddr);

    impl Resolve for ToTestServer {
        fn resolve(&self, _host: &str, _port: u16) -> BoxFuture<'_, io::Result<Vec<IpAddr>>> {
            let ip = self.0.ip();
            Box::pin(async move { Ok(vec![ip]) })
        }
    }

    impl Connect for ToTestServer {
        fn connect(&self, _addr: SocketAddr) -> BoxFuture<'_, io::Result<tokio::net::TcpStream>> {
            Box::pin(tokio::net::TcpStream::connect(self.0))
        }
    }

    impl HttpKeys {
        /// Mozilla's roots, HTTPS only, globally routable addresses only, each attempt at most
        /// `timeout` (the pipeline's deadline bounds it further).
        pub fn new(timeout: Duration) -> Result<Self, String> {
            Self::build(timeout, None)
        }

        /// [`HttpKeys::new`], or with [`TEST_ONLY_KEY_SERVER`] set, the test server's.
        pub fn from_env(env: &crate::config::Env, timeout: Duration) -> Result<Self, String> {
            match env.given(TEST_ONLY_KEY_SERVER) {
                None => Self::new(timeout),
                Some(value) => {
                    let (addr, ca) = test_only(value)?;
                    let pem = std::fs::read(&ca).map_err(|e| format!("{ca}: {e}"))?;
                    tracing::warn!(
                        setting = TEST_ONLY_KEY_SERVER,
                        "keys are fetched from a loopback test server: tests only"
                    );
                    Self::build(timeout, Some((addr, pem)))
                }
            }
        }

        fn build(timeout: Duration, test: Option<(SocketAddr, Vec<u8>)>) -> Result<Self, String> {
            let mut config = ClientConfig {
                timeout,
                read_cap: MAX_KEY_BYTES + 1,
                ..ClientConfig::default()
            };
            if let Some((addr, pem)) = &test {
                config.extra_roots_pem = Some(pem.clone());
                config.policy = Policy {
                    allow_http: false,
                    allow_networks: vec![ipnet::IpNet::from(addr.ip())],
                };
            }
            let mut client = Client::new(config).map_err(|e| e.to_string())?;
            if let Some((addr, _)) = test {
                let to = Arc::new(ToTestServer(addr));
                client = client.with_resolver(to.clone()).with_connector(to);
            }
            Ok(Self {
                client,
                cache: Cache::default(),
                bounds: Bounds::default(),
            })
        }

        /// How many keys are cached (tests).
        pub fn cached(&self) -> usize {
            self.cache.len()
        }
    }

    impl KeySource for HttpKeys {
        fn fetch<'a>(
            &'a self,
            req: &'a KeyRequest,
        ) -> BoxFuture<'a, Result<Arc<[u8]>, FetchError>> {
            Box::pin(async move {
                if let Some(bytes) = self.cache.get(&req.cache_key) {
                    return Ok(bytes);
                }
                let bytes = self.bounds.fetch(&req.cache_key, self.get(req)).await?;
                self.cache.put(&req.cache_key, bytes.clone(), CACHE_FOR);
                Ok(bytes)
            })
        }

        fn visit<'a>(&'a self, url: &'a CheckedUrl) -> BoxFuture<'a, Result<(), FetchError>> {
            Box::pin(async move {
                let response = self
                    .client
                    .send(Method::GET, &url.url(), &HeaderMap::new(), Bytes::new())
                    .await
                    .map_err(|f| FetchError::Failed(f.class().to_owned()))?;
                if (200..300).contains(&response.status) {
                    Ok(())
                } else {
                    Err(FetchError::Status(response.status))
                }
            })
        }
    }

    impl HttpKeys {
        /// One fetch of the key `req` names, uncached and unbounded.
        async fn get(&self, req: &KeyRequest) -> Result<Arc<[u8]>, FetchError> {
            let mut headers = HeaderMap::new();
            let (method, body) = match &req.body {
                Some(body) => {
                    headers.insert(
                        http::header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    );
                    (Method::POST, Bytes::from(body.clone()))
                }
                None => (Method::GET, Bytes::new()),
            };
            let response = self
                .client
                .send(method, &req.url.url(), &headers, body)
                .await
                .map_err(|f| FetchError::Failed(f.class().to_owned()))?;
            if !(200..300).contains(&response.status) {
                return Err(FetchError::Status(response.status));
            }
            if response.head.len() > MAX_KEY_BYTES {
                return Err(FetchError::TooLarge);
            }
            Ok(response.head.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::fetched::MemoryKeys;
    use futures_util::future::BoxFuture;

    #[test]
    fn the_cache_is_bounded_and_expires() {
        let cache = Cache::default();
        for i in 0..(MAX_CACHED + 5) {
            let age = CACHE_FOR + Duration::from_secs(i as u64);
            cache.put(&format!("k{i}"), Arc::from(&b"x"[..]), age);
        }
        assert_eq!(cache.len(), MAX_CACHED);
        assert!(cache.get("k0").is_none(), "the oldest was dropped");
        assert!(cache.get(&format!("k{}", MAX_CACHED + 4)).is_some());
        cache.put("stale", Arc::from(&b"x"[..]), Duration::ZERO);
        assert!(cache.get("stale").is_none(), "an expired key is not used");
    }

    /// Runs `bounds.fetch` on a fake that counts its calls and answers `answer`.
    fn counted(
        bounds: &Bounds,
        key: &str,
        calls: &std::sync::atomic::AtomicUsize,
        answer: Result<&'static [u8], FetchError>,
    ) -> Result<Arc<[u8]>, FetchError> {
        let fake = async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer.map(Arc::from)
        };
        futures_util::FutureExt::now_or_never(bounds.fetch(key, fake)).expect("ready")
    }

    #[test]
    fn a_failed_fetch_is_not_repeated_for_a_minute() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let bounds = Bounds::default();
        let calls = AtomicUsize::new(0);
        assert_eq!(
            counted(&bounds, "a", &calls, Err(FetchError::Status(404))),
            Err(FetchError::Status(404))
        );
        // The same key again: the remembered error, nothing fetched, even were it there now.
        for _ in 0..3 {
            assert_eq!(
                counted(&bounds, "a", &calls, Ok(b"key")),
                Err(FetchError::Status(404))
            );
        }
        assert_eq!(calls.load(SeqCst), 1);
        // Another key is fetched.
        assert_eq!(
            counted(&bounds, "b", &calls, Ok(b"key")).as_deref(),
            Ok(&b"key"[..])
        );
        assert_eq!(calls.load(SeqCst), 2);
        // Once FAILED_FOR has passed, the key is fetched again.
        let later = Instant::now() + FAILED_FOR + Duration::from_secs(1);
        assert_eq!(bounds.admit("a", later), Ok(()));
        // The negative cache holds at most MAX_FAILED keys, dropping the oldest.
        let now = Instant::now();
        for i in 0..(MAX_FAILED + 3) {
            bounds.failed(
                &format!("k{i}"),
                FetchError::TooLarge,
                now + Duration::from_millis(i as u64),
            );
        }
        let held = bounds.failed.lock().expect("lock").len();
        assert_eq!(held, MAX_FAILED);
        assert!(bounds.admit("k0", now).is_ok(), "the oldest was forgotten");
        assert_eq!(
            bounds.admit(&format!("k{}", MAX_FAILED + 2), now),
            Err(FetchError::TooLarge)
        );
    }

    #[test]
    fn at_most_max_fetches_start_per_window() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let bounds = Bounds::default();
        let calls = AtomicUsize::new(0);
        // Distinct keys (fresh URLs or kids): each would be a new fetch.
        for i in 0..MAX_FETCHES {
            let failing = if i % 2 == 0 {
                Ok(&b"key"[..])
            } else {
                Err(FetchError::Status(500))
            };
            let _ = counted(&bounds, &format!("url{i}"), &calls, failing);
        }
        assert_eq!(calls.load(SeqCst), MAX_FETCHES);
        for i in 0..5 {
            assert_eq!(
                counted(&bounds, &format!("more{i}"), &calls, Ok(b"key")),
                Err(FetchError::Throttled)
            );
        }
        assert_eq!(
            calls.load(SeqCst),
            MAX_FETCHES,
            "nothing fetched beyond the cap"
        );
        // A throttled key is not remembered as failed: once the window has passed it is fetched.
        let later = Instant::now() + FETCH_WINDOW + Duration::from_secs(1);
        assert_eq!(bounds.admit("more0", later), Ok(()));
        for i in 1..MAX_FETCHES {
            assert_eq!(bounds.admit(&format!("again{i}"), later), Ok(()));
        }
        assert_eq!(
            bounds.admit("one-too-many", later),
            Err(FetchError::Throttled)
        );
    }

    /// A key port bounded as [`HttpKeys`] is, over [`MemoryKeys`].
    #[derive(Debug, Default)]
    struct Bounded {
        bounds: Bounds,
        inner: MemoryKeys,
    }

    impl KeySource for Bounded {
        fn fetch<'a>(
            &'a self,
            req: &'a KeyRequest,
        ) -> BoxFuture<'a, Result<Arc<[u8]>, FetchError>> {
            // Lazily: MemoryKeys records the ask when called, not when polled.
            Box::pin(
                self.bounds
                    .fetch(&req.cache_key, async move { self.inner.fetch(req).await }),
            )
        }

        fn visit<'a>(&'a self, url: &'a CheckedUrl) -> BoxFuture<'a, Result<(), FetchError>> {
            self.inner.visit(url)
        }
    }

    #[test]
    fn requests_naming_fresh_urls_are_answered_503_without_fetching_beyond_the_cap() {
        use std::time::UNIX_EPOCH;
        let source: &'static crate::Source = Box::leak(Box::new(crate::Source::new(
            "paypal",
            &crate::catalogue::senders::paypal::SCHEME,
        )));
        let set = crate::core::verify::SecretSet::new(vec![crate::core::verify::Secret::new(
            "WEBHOOK_SECRET",
            b"WEBHOOK1".to_vec(),
        )])
        .expect("secrets");
        let keys = Arc::new(Bounded::default());
        let pipeline = crate::Pipeline::new(
            source,
            set,
            crate::config::Settings::default(),
            crate::ports::queue::MemoryQueue::default(),
        )
        .with_keys(keys.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        // Unverified requests, each naming a certificate URL on PayPal's hosts that serves none.
        let post = |cert: &str| {
            let h = crate::core::verify::testing::headers(&[
                ("content-type", "application/json"),
                ("paypal-transmission-id", "t-1"),
                ("paypal-transmission-time", "2026-01-01T00:00:00Z"),
                ("paypal-auth-algo", "SHA256withRSA"),
                ("paypal-transmission-sig", "AAAA"),
                ("paypal-cert-url", cert),
            ]);
            runtime.block_on(pipeline.handle(
                crate::Inbound::post(&h, br#"{"id":"WH-1","event_type":"X"}"#),
                UNIX_EPOCH + Duration::from_secs(1_767_225_600),
                tokio::time::Instant::now() + Duration::from_secs(5),
            ))
        };
        let url = |i: usize| format!("https://api.paypal.com/v1/notifications/certs/CERT-{i}");
        for i in 0..(MAX_FETCHES + 5) {
            let reply = post(&url(i));
            assert_eq!(
                (reply.status, reply.header("retry-after")),
                (503, Some("30"))
            );
        }
        assert_eq!(
            keys.inner.asked().len(),
            MAX_FETCHES,
            "fetched up to the cap only"
        );
        // A URL that failed is not fetched again either.
        assert_eq!(post(&url(0)).status, 503);
        assert_eq!(keys.inner.asked().len(), MAX_FETCHES);
        assert!(pipeline.queue().messages().is_empty());
    }

    #[test]
    fn the_test_only_setting_takes_loopback_only() {
        assert_eq!(
            test_only("127.0.0.1:8443,/tmp/ca.pem"),
            Ok((([127, 0, 0, 1], 8443).into(), "/tmp/ca.pem".to_owned()))
        );
        assert!(test_only("[::1]:8443, ca.pem").is_ok());
        assert!(test_only("10.0.0.1:443,/tmp/ca.pem").is_err());
        assert!(test_only("sns.us-east-1.amazonaws.com:443,/tmp/ca.pem").is_err());
        assert!(test_only("127.0.0.1:8443").is_err());
    }
}
