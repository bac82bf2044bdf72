//! The key port: fetches the keys a sender publishes (SNS's signing certificates, PayPal's,
//! Plaid's JWKs) and visits the URLs a verified request asks to be visited (SNS's
//! `SubscribeURL`). The pure half, which URL and whether it may be fetched at all, is
//! [`crate::core::verify::fetch`]; this is the I/O.
//!
//! Why a port: the verify and normalize engines are pure and synchronous, a fetch is async I/O
//! that must fit in the request's deadline. The pipeline asks the sender's code which key the
//! unverified request names (checked against the sender's documented hosts before anything is
//! connected to), asks this port for its bytes within the deadline, and hands them to the pure
//! verifier. [`HttpKeys`] is production's: the outbound sender's HTTPS client (hyper + rustls,
//! Mozilla's roots, the SSRF guard, no redirects followed), and a cache shared by every
//! invocation the process serves, bounded in entries and in age. [`MemoryKeys`] serves tests.
//!
//! What a request can make the process fetch is bounded ([`Bounds`]): the key URL (or Plaid's
//! `kid`) comes from a request that is not yet verified, so anyone can name any URL that passes
//! the sender's host check. A fetch that failed is answered from a negative cache for
//! [`FAILED_FOR`] (the same error, nothing fetched), and at most [`MAX_FETCHES`] fetches start
//! per [`FETCH_WINDOW`]; beyond that the request is answered 503 + `Retry-After` without
//! fetching. A cached key is served whatever the cap says.
//!
//! The test-only setting [`TEST_ONLY_KEY_SERVER`] (`<loopback ip:port>,<CA PEM path>`) sends
//! every fetch to a loopback HTTPS server whose certificate a test CA signed, trusting that CA
//! besides Mozilla's roots; the host checks are unchanged (a test proves a URL off the list is
//! never fetched). It is ignored unless set, and refused unless the address is loopback.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;

pub use crate::config::TEST_ONLY_KEY_SERVER;
use crate::core::verify::fetch::{CheckedUrl, KeyRequest};

/// Most keys kept at once; the oldest is dropped for a new one.
pub const MAX_CACHED: usize = 32;
/// How long a fetched key is kept: SNS and PayPal name a new certificate by a new URL, and
/// Plaid's keys are named by `kid`, so a key's bytes do not change under its name.
pub const CACHE_FOR: Duration = Duration::from_secs(3600);
/// Most bytes of a key read (a PEM certificate chain, a JWK).
pub const MAX_KEY_BYTES: usize = 64 * 1024;
/// How long a failed fetch is remembered: the same key is not fetched again before then.
pub const FAILED_FOR: Duration = Duration::from_secs(60);
/// Most failed fetches remembered at once; the oldest is forgotten for a new one.
pub const MAX_FAILED: usize = 64;
/// Most fetches a process starts per [`FETCH_WINDOW`] (cache hits are not fetches).
pub const MAX_FETCHES: usize = 10;
/// The window [`MAX_FETCHES`] counts in.
pub const FETCH_WINDOW: Duration = Duration::from_secs(60);

/// Why a key could not be fetched (or a URL visited): the request is answered 503 +
/// `Retry-After`, never accepted. Messages name no URL (it came from the request) or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the key could not be fetched: {0}")]
    Failed(String),
    #[error("the key's server answered {0}")]
    Status(u16),
    #[error("the key is larger than {MAX_KEY_BYTES} bytes")]
    TooLarge,
    #[error("no key port is configured")]
    Off,
    #[error("too many keys were fetched in the last minute")]
    Throttled,
}

/// Fetches keys and visits URLs. Each call is one attempt; the pipeline bounds it by the
/// request's deadline.
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The key's bytes (2xx only), from the cache when it holds them.
    fn fetch<'a>(&'a self, req: &'a KeyRequest) -> BoxFuture<'a, Result<Arc<[u8]>, FetchError>>;
    /// GETs `url` and says whether it answered 2xx (SNS's `SubscribeURL`).
    fn visit<'a>(&'a self, url: &'a CheckedUrl) -> BoxFuture<'a, Result<(), FetchError>>;
}

/// Keys served from memory, recording what was asked (tests, and `inlet` commands that must
/// not reach the network).
#[derive(Debug, Default)]
pub struct MemoryKeys {
    keys: Mutex<HashMap<String, Vec<u8>>>,
    asked: Mutex<Vec<String>>,
    visited: Mutex<Vec<String>>,
}

impl MemoryKeys {
    /// Serves `bytes` for the key cached under `cache_key` (a GET's URL).
    pub fn with(self, cache_key: &str, bytes: &[u8]) -> Self {
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(cache_key.to_owned(), bytes.to_vec());
        self
    }

    /// The cache keys fetched, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The URLs visited, in order.
    pub fn visited(&self) -> Vec<String> {
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl KeySource for MemoryKeys {
    fn fetch<'a>(&'a self, req: &'a KeyRequest) -> BoxFuture<'a, Result<Arc<[u8]>, FetchError>> {
        self.asked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(req.cache_key.clone());
        let found = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&req.cache_key)
            .map(|b| Arc::from(b.as_slice()));
        Box::pin(async move { found.ok_or(FetchError::Status(404)) })
    }

    fn visit<'a>(&'a self, url: &'a CheckedUrl) -> BoxFuture<'a, Result<(), FetchError>> {
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(url.url());
        Box::pin(async { Ok(()) })
    }
}
