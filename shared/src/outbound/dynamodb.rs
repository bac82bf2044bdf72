//! The AWS adapters of the outbound side's endpoints and attempt log: DynamoDB tables, with each
//! endpoint's signing keys encrypted by KMS.
//!
//! # Tables (what the template creates)
//!
//! **Endpoints** (`DynamoEndpoints`): `BillingMode: PAY_PER_REQUEST`, key schema `pk` HASH,
//! attribute definitions `pk` S, TTL on `expires_at`. It holds two kinds of item:
//! - an endpoint, `pk = ep_…` (its id): `url` S, `description` S (absent when empty), `filters`
//!   L of S, `headers` L of L `[name S, value S]`, `ordered` BOOL, `created_at` N,
//!   `rate_limit` N, `disabled_reason` S and `disabled_at` N (absent when not set), `keys` B
//!   (the KMS ciphertext of the signing keys), and its health: `consecutive_failures` N,
//!   `failing_since` N, `last_failure` N, `last_success` N, `probe_until` N. No `expires_at`.
//! - a rate-limit window, `pk = rate#<endpoint id>#<unix second>`: `n` N (the deliveries taken
//!   in that second) and `expires_at` N (epoch seconds, a minute on), which TTL deletes.
//!
//! **Deliveries** (`DynamoAttempts`): `BillingMode: PAY_PER_REQUEST`, key schema `pk` HASH,
//! `sk` RANGE; attribute definitions `pk` S, `sk` S, `endpoint_id` S, `event_id` S, `at` N;
//! TTL on `expires_at`; two global secondary indexes, both with projection `ALL`:
//! `by-endpoint` (`endpoint_id` HASH, `at` RANGE) and `by-event` (`event_id` HASH, `at` RANGE).
//! An attempt is `pk = <endpoint id>/<event id>` ([`task_key`]), `sk = attempt#<at, 13 digits>#<number, six
//! digits>`, with `endpoint_id` S, `event_id` S, `number` N, `at` N (Unix ms), `status` N
//! (absent without a response), `latency_ms` N, `verdict` S, `class` S, `response` S (absent
//! when empty) and `expires_at` N.
//!
//! # Health is one write
//!
//! Every change to an endpoint's health is a single `UpdateItem` (an `ADD`, an
//! `if_not_exists`, a condition), so deliveries on many function instances count every failure,
//! and exactly one of them takes a probe, a rate-limit token or the disabling of an endpoint.
//! Each is conditional on the endpoint existing, so a delivery that finishes after its endpoint
//! was deleted does not bring back a fragment of it.
//!
//! # Keys: KMS, not Secrets Manager
//!
//! An endpoint's `secret`, `previous` secret and `ed25519` key are serialized together (JSON) and
//! encrypted by KMS `Encrypt` under the stack's customer-managed key, with the encryption context
//! `{"inlet:endpoint": <endpoint id>}`: KMS refuses to decrypt a ciphertext copied onto another
//! endpoint's item, so whoever can write the table cannot make endpoint B sign with A's secret.
//! A secret per endpoint in Secrets Manager would cost $0.40 per endpoint-month and a
//! `GetSecretValue` per cold delivery; one KMS key costs $1 a month whatever the number of
//! endpoints, the ciphertext travels in the item the delivery reads anyway, and `kms:Decrypt` is
//! a permission of its own: the fan-out function, which reads endpoints only for their filters
//! and state ([`DynamoEndpoints::list_without_keys`]), is not granted it and cannot read a key.
//! Decrypted keys are cached per (endpoint id, ciphertext digest), at most [`KEY_CACHE_ENTRIES`]
//! for [`KEY_CACHE_TTL`], so a warm function does not call KMS for every delivery, and a
//! rotated secret (a new ciphertext) is never served from the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::Blob;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::filter::Filter;
use super::model::{
    task_key, Attempt, Disabled, DisabledReason, Endpoint, Health, Millis, Previous, SecretText,
};
use super::ports::{AttemptQuery, Attempts, Endpoints};
use crate::adapters::aws::classify;
use crate::ports::failure::StoreError;

type Item = HashMap<String, AttributeValue>;

/// The prefix of every endpoint id, and so of every endpoint item's key.
pub const ENDPOINT_PREFIX: &str = "ep_";
/// The encryption context's key; its value is the endpoint's id.
pub const CONTEXT_KEY: &str = "inlet:endpoint";
/// Most decrypted key sets kept in memory.
pub const KEY_CACHE_ENTRIES: usize = 1_000;
/// How long a decrypted key set is kept: the time a disabled KMS key or a revoked grant takes to
/// stop a warm function signing.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(300);
/// The global secondary index of the attempt log by endpoint.
pub const BY_ENDPOINT: &str = "by-endpoint";
/// The global secondary index of the attempt log by event.
pub const BY_EVENT: &str = "by-event";
/// How long a rate-limit window outlives its second before TTL removes it.
const WINDOW_TTL_SECONDS: i64 = 60;
/// KMS calls at once while a listing decrypts.
const DECRYPT_CONCURRENCY: usize = 8;

const HEALTH: [&str; 5] = [
    "consecutive_failures",
    "failing_since",
    "last_failure",
    "last_success",
    "probe_until",
];

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A failed call as a [`StoreError`], saying which call failed (never what it carried).
fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
) -> impl FnOnce(SdkError<E, Response>) -> StoreError + '_ {
    move |e| {
        let f = classify(&e);
        StoreError {
            failure: f.failure,
            detail: format!("{call}: {}", f.detail),
        }
    }
}

/// A conditional write's outcome: `Ok(Some(output))` written, `Ok(None)` its condition did not hold.
fn written<T, E: ProvideErrorMetadata + std::error::Error + 'static>(
    call: &str,
    result: Result<T, SdkError<E, Response>>,
) -> Result<Option<T>, StoreError> {
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(failed(call)(e)),
    }
}

/// Every item of `table` that `filter` (an expression on `:v`) keeps, page by page, read
/// consistently: for the CLI and fan-out's endpoint list, not a per-delivery path.
pub(crate) async fn scan_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    filter: &str,
    value: AttributeValue,
    call: &'static str,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .filter_expression(filter)
            .expression_attribute_values(":v", value.clone())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(failed(call))?;
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

fn malformed(what: &str, id: &str, attribute: &str) -> StoreError {
    StoreError::permanent(format!(
        "the {what} item {id} has a missing or malformed `{attribute}` attribute"
    ))
}

/// Reads typed attributes of one item, naming the item in errors.
struct Reader<'a> {
    item: &'a Item,
    what: &'static str,
    id: String,
}

impl<'a> Reader<'a> {
    fn new(item: &'a Item, what: &'static str) -> Self {
        let id = item
            .get("pk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        Self { item, what, id }
    }

    fn error(&self, attribute: &str) -> StoreError {
        malformed(self.what, &self.id, attribute)
    }

    fn text(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.item
            .get(name)
            .map(|v| v.as_s().cloned().map_err(|_| self.error(name)))
            .transpose()
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.item
            .get(name)
            .map(|v| {
                v.as_n()
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| self.error(name))
            })
            .transpose()
    }

    fn required_text(&self, name: &str) -> Result<String, StoreError> {
        self.text(name)?.ok_or_else(|| self.error(name))
    }

    fn required_number<T: std::str::FromStr>(&self, name: &str) -> Result<T, StoreError> {
        self.number(name)?.ok_or_else(|| self.error(name))
    }
}

fn health_of(item: &Item) -> Result<Health, StoreError> {
    let r = Reader::new(item, "endpoint");
    Ok(Health {
        consecutive_failures: r.number("consecutive_failures")?.unwrap_or(0),
        failing_since: r.number("failing_since")?,
        last_failure: r.number("last_failure")?,
        last_success: r.number("last_success")?,
        probe_until: r.number("probe_until")?,
    })
}

/// An endpoint's signing keys, and its extra headers' values (an `Authorization` header is a
/// credential too): what KMS encrypts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Keys {
    secret: SecretText,
    previous: Option<Previous>,
    ed25519: Option<SecretText>,
    #[serde(default)]
    headers: Vec<(String, SecretText)>,
}

impl Keys {
    fn of(endpoint: &Endpoint) -> Self {
        Self {
            secret: endpoint.secret.clone(),
            previous: endpoint.previous.clone(),
            ed25519: endpoint.ed25519.clone(),
            headers: endpoint
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), SecretText::new(v.clone())))
                .collect(),
        }
    }

    /// What an endpoint read without its keys carries: none.
    fn none() -> Self {
        Self {
            secret: SecretText::new(""),
            previous: None,
            ed25519: None,
            headers: Vec::new(),
        }
    }
}

/// Decrypted keys by (endpoint id, SHA-256 of the ciphertext), each for a while; the time is
/// passed in so the rules are tested without waiting.
#[derive(Debug)]
struct KeyCache {
    entries: HashMap<(String, [u8; 32]), (Instant, Keys)>,
    capacity: usize,
    ttl: Duration,
}

impl KeyCache {
    fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            capacity,
            ttl,
        }
    }

    fn get(&mut self, id: &str, digest: &[u8; 32], now: Instant) -> Option<Keys> {
        let key = (id.to_owned(), *digest);
        match self.entries.get(&key) {
            Some((at, keys)) if now.duration_since(*at) < self.ttl => Some(keys.clone()),
            Some(_) => {
                self.entries.remove(&key);
                None
            }
            None => None,
        }
    }

    fn put(&mut self, id: &str, digest: [u8; 32], keys: Keys, now: Instant) {
        if self.entries.len() >= self.capacity {
            let ttl = self.ttl;
            self.entries
                .retain(|_, (at, _)| now.duration_since(*at) < ttl);
        }
        if self.entries.len() >= self.capacity {
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert((id.to_owned(), digest), (now, keys));
    }
}

/// The KMS key endpoints' keys are encrypted under, and what has been decrypted lately.
#[derive(Debug)]
struct Kms {
    client: aws_sdk_kms::Client,
    key_id: String,
    cache: Mutex<KeyCache>,
}

impl Kms {
    fn cache(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn encrypt(&self, endpoint: &Endpoint) -> Result<Vec<u8>, StoreError> {
        let plaintext = serde_json::to_vec(&Keys::of(endpoint))
            .map_err(|_| StoreError::permanent("an endpoint's keys could not be serialized"))?;
        let out = self
            .client
            .encrypt()
            .key_id(&self.key_id)
            .plaintext(Blob::new(plaintext))
            .encryption_context(CONTEXT_KEY, &endpoint.id)
            .send()
            .await
            .map_err(|e| {
                let f = classify(&e);
                StoreError {
                    failure: f.failure,
                    detail: format!(
                        "KMS Encrypt of endpoint {}'s keys under the configured key: {}",
                        endpoint.id, f.detail
                    ),
                }
            })?;
        out.ciphertext_blob
            .map(Blob::into_inner)
            .ok_or_else(|| StoreError::transient("KMS Encrypt answered without a ciphertext"))
    }

    async fn decrypt(&self, id: &str, ciphertext: &[u8]) -> Result<Keys, StoreError> {
        let digest: [u8; 32] = Sha256::digest(ciphertext).into();
        let cached = self.cache().get(id, &digest, Instant::now());
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let out = self
            .client
            .decrypt()
            // Only a ciphertext made under this key: one made under another key the role may
            // use is refused.
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_context(CONTEXT_KEY, id)
            .send()
            .await
            .map_err(|e| {
                let f = classify(&e);
                let hint = match f.code.as_deref() {
                    Some("InvalidCiphertextException") => {
                        " (the ciphertext was not made for this endpoint, or is damaged)"
                    }
                    Some("IncorrectKeyException") | Some("AccessDeniedException") => {
                        " (made under another key, or the role may not use this one)"
                    }
                    Some("DisabledException") | Some("KMSInvalidStateException") => {
                        " (the key is disabled or pending deletion)"
                    }
                    _ => "",
                };
                StoreError {
                    failure: f.failure,
                    detail: format!(
                        "the keys of endpoint {id} could not be decrypted: KMS Decrypt: {}{hint}",
                        f.detail
                    ),
                }
            })?;
        let plaintext = out.plaintext.ok_or_else(|| {
            StoreError::transient(format!(
                "KMS Decrypt of endpoint {id}'s keys answered without a plaintext"
            ))
        })?;
        let keys: Keys = serde_json::from_slice(plaintext.as_ref()).map_err(|_| {
            StoreError::permanent(format!(
                "the keys of endpoint {id} decrypted to something that is not a key set"
            ))
        })?;
        self.cache().put(id, digest, keys.clone(), Instant::now());
        Ok(keys)
    }
}

/// Endpoints and their health in a DynamoDB table, their keys encrypted by KMS.
///
/// Built with a KMS key ([`DynamoEndpoints::new`]) it implements [`Endpoints`] in full. Built
/// without one ([`DynamoEndpoints::without_keys`], for fan-out, whose role has no
/// `kms:Decrypt`), it reads endpoints through [`DynamoEndpoints::list_without_keys`] and
/// [`DynamoEndpoints::get_without_keys`], and the [`Endpoints`] methods that need keys (`get`,
/// `list`, `create`, `update`) answer a permanent [`StoreError`] saying so.
#[derive(Debug, Clone)]
pub struct DynamoEndpoints {
    client: aws_sdk_dynamodb::Client,
    table: String,
    kms: Option<Arc<Kms>>,
}

impl DynamoEndpoints {
    /// Endpoints in `table`, their keys encrypted and decrypted under the KMS key `key_id` (an
    /// id, ARN, alias name or alias ARN).
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        kms: aws_sdk_kms::Client,
        key_id: impl Into<String>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            kms: Some(Arc::new(Kms {
                client: kms,
                key_id: key_id.into(),
                cache: Mutex::new(KeyCache::new(KEY_CACHE_ENTRIES, KEY_CACHE_TTL)),
            })),
        }
    }

    /// [`DynamoEndpoints::new`] with clients built from `sdk`.
    pub fn from_sdk(
        sdk: &crate::adapters::aws::SdkConfig,
        table: impl Into<String>,
        key_id: impl Into<String>,
    ) -> Self {
        Self::new(
            aws_sdk_dynamodb::Client::new(sdk),
            table,
            aws_sdk_kms::Client::new(sdk),
            key_id,
        )
    }

    /// Endpoints in `table`, read without their keys: no KMS client, so no KMS call.
    pub fn without_keys(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            kms: None,
        }
    }

    /// Every endpoint, ordered by id, with its settings and without its keys: `secret` is empty
    /// and `previous` and `ed25519` are `None`. For fan-out, which reads filters and whether an
    /// endpoint is enabled; never calls KMS. Nothing must sign with what this returns.
    pub async fn list_without_keys(&self) -> Result<Vec<Endpoint>, StoreError> {
        let mut endpoints = self
            .scan_endpoints()
            .await?
            .iter()
            .map(|item| endpoint_of(item, Keys::none()))
            .collect::<Result<Vec<_>, _>>()?;
        endpoints.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(endpoints)
    }

    /// One endpoint without its keys, as [`DynamoEndpoints::list_without_keys`] reads them.
    pub async fn get_without_keys(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        self.get_item(id)
            .await?
            .map(|item| endpoint_of(&item, Keys::none()))
            .transpose()
    }

    fn kms(&self) -> Result<&Kms, StoreError> {
        self.kms.as_deref().ok_or_else(|| {
            StoreError::permanent(
                "this endpoint store has no KMS key, so it cannot read or write endpoints' keys \
                 (build it with a key, or read with list_without_keys)",
            )
        })
    }

    async fn get_item(&self, id: &str) -> Result<Option<Item>, StoreError> {
        // A rate-limit window is not an endpoint, whatever id is asked for.
        if !id.starts_with(ENDPOINT_PREFIX) {
            return Ok(None);
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(failed("DynamoDB GetItem on the endpoints table"))?;
        Ok(out.item)
    }

    async fn scan_endpoints(&self) -> Result<Vec<Item>, StoreError> {
        scan_all(
            &self.client,
            &self.table,
            "begins_with(pk, :v)",
            s(ENDPOINT_PREFIX),
            "DynamoDB Scan of the endpoints table",
        )
        .await
    }

    /// The endpoint `item` holds, its keys decrypted.
    async fn decrypted(&self, kms: &Kms, item: &Item) -> Result<Endpoint, StoreError> {
        let r = Reader::new(item, "endpoint");
        let ciphertext = item
            .get("keys")
            .and_then(|v| v.as_b().ok())
            .ok_or_else(|| r.error("keys"))?;
        let keys = kms.decrypt(&r.id, ciphertext.as_ref()).await?;
        endpoint_of(item, keys)
    }

    /// An update of `id`'s item, conditional on it existing; `false` if it does not.
    async fn update_existing(
        &self,
        id: &str,
        expression: &str,
        names: Vec<(String, String)>,
        values: Vec<(String, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)");
        for (k, v) in names {
            update = update.expression_attribute_names(k, v);
        }
        for (k, v) in values {
            update = update.expression_attribute_values(k, v);
        }
        Ok(written(
            "DynamoDB UpdateItem on the endpoints table",
            update.send().await,
        )?
        .is_some())
    }
}

/// An endpoint's settings as attributes: those it has, and those it has not (to remove).
fn settings(
    endpoint: &Endpoint,
    keys: Vec<u8>,
) -> (Vec<(&'static str, AttributeValue)>, Vec<&'static str>) {
    let mut set = vec![
        ("url", s(&endpoint.url)),
        (
            "filters",
            AttributeValue::L(endpoint.filters.iter().map(|f| s(&f.to_string())).collect()),
        ),
        // The names only: the values are with the keys.
        (
            "headers",
            AttributeValue::L(endpoint.headers.iter().map(|(k, _)| s(k)).collect()),
        ),
        ("ordered", AttributeValue::Bool(endpoint.ordered)),
        ("created_at", n(endpoint.created_at)),
        ("keys", AttributeValue::B(Blob::new(keys))),
    ];
    let mut remove = Vec::new();
    if endpoint.description.is_empty() {
        remove.push("description");
    } else {
        set.push(("description", s(&endpoint.description)));
    }
    match endpoint.rate_limit {
        Some(limit) => set.push(("rate_limit", n(limit))),
        None => remove.push("rate_limit"),
    }
    match endpoint.disabled {
        Some(d) => {
            set.push(("disabled_reason", s(d.reason.as_str())));
            set.push(("disabled_at", n(d.at)));
        }
        None => remove.extend(["disabled_reason", "disabled_at"]),
    }
    (set, remove)
}

fn endpoint_of(item: &Item, keys: Keys) -> Result<Endpoint, StoreError> {
    let r = Reader::new(item, "endpoint");
    let filters = match item.get("filters") {
        None => Vec::new(),
        Some(v) => v
            .as_l()
            .map_err(|_| r.error("filters"))?
            .iter()
            .map(|f| {
                f.as_s()
                    .ok()
                    .and_then(|f| Filter::parse(f).ok())
                    .ok_or_else(|| r.error("filters"))
            })
            .collect::<Result<_, _>>()?,
    };
    let names: Vec<String> = match item.get("headers") {
        None => Vec::new(),
        Some(v) => v
            .as_l()
            .map_err(|_| r.error("headers"))?
            .iter()
            .map(|h| h.as_s().cloned().map_err(|_| r.error("headers")))
            .collect::<Result<_, _>>()?,
    };
    // Read without keys, an endpoint's extra headers are their names with empty values.
    let headers = if keys.secret.expose().is_empty() {
        names.into_iter().map(|n| (n, String::new())).collect()
    } else {
        keys.headers
            .into_iter()
            .map(|(n, v)| (n, v.expose().to_owned()))
            .collect()
    };
    let disabled = match r.text("disabled_reason")?.as_deref() {
        None => None,
        Some(reason) => Some(Disabled {
            reason: DisabledReason::parse(reason).ok_or_else(|| r.error("disabled_reason"))?,
            at: r.number("disabled_at")?.unwrap_or(0),
        }),
    };
    let ordered = match item.get("ordered") {
        None => false,
        Some(v) => *v.as_bool().map_err(|_| r.error("ordered"))?,
    };
    Ok(Endpoint {
        id: r.id.clone(),
        url: r.required_text("url")?,
        description: r.text("description")?.unwrap_or_default(),
        filters,
        headers,
        disabled,
        rate_limit: r.number("rate_limit")?,
        ordered,
        secret: keys.secret,
        previous: keys.previous,
        ed25519: keys.ed25519,
        created_at: r.required_number("created_at")?,
    })
}

impl Endpoints for DynamoEndpoints {
    async fn create(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        if !endpoint.id.starts_with(ENDPOINT_PREFIX) {
            return Err(StoreError::permanent(format!(
                "an endpoint id starts with {ENDPOINT_PREFIX}"
            )));
        }
        let keys = self.kms()?.encrypt(endpoint).await?;
        let (set, _) = settings(endpoint, keys);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(
                set.into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .chain([("pk".to_owned(), s(&endpoint.id))])
                    .collect(),
            ))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match written("DynamoDB PutItem on the endpoints table", put)? {
            Some(_) => Ok(()),
            None => Err(StoreError::permanent("an endpoint with this id exists")),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        let kms = self.kms()?;
        match self.get_item(id).await? {
            Some(item) => Ok(Some(self.decrypted(kms, &item).await?)),
            None => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<Endpoint>, StoreError> {
        let kms = self.kms()?;
        let items = self.scan_endpoints().await?;
        // Owned items: a closure over borrowed ones makes a future that is not `Send`.
        let mut endpoints: Vec<Endpoint> = stream::iter(items)
            .map(|item| async move { self.decrypted(kms, &item).await })
            .buffered(DECRYPT_CONCURRENCY)
            .try_collect()
            .await?;
        endpoints.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(endpoints)
    }

    async fn update(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        if !endpoint.id.starts_with(ENDPOINT_PREFIX) {
            return Ok(false);
        }
        let keys = self.kms()?.encrypt(endpoint).await?;
        let (mut set, mut remove) = settings(endpoint, keys);
        // Only disable and enable switch an endpoint off and on.
        set.retain(|(k, _)| !k.starts_with("disabled_"));
        remove.retain(|k| !k.starts_with("disabled_"));
        let mut expression = String::from("SET ");
        expression.push_str(
            &set.iter()
                .map(|(k, _)| format!("#{k} = :{k}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        if !remove.is_empty() {
            expression.push_str(" REMOVE ");
            expression.push_str(
                &remove
                    .iter()
                    .map(|k| format!("#{k}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        let names = set
            .iter()
            .map(|(k, _)| *k)
            .chain(remove.iter().copied())
            .map(|k| (format!("#{k}"), k.to_owned()))
            .collect();
        let values = set.into_iter().map(|(k, v)| (format!(":{k}"), v)).collect();
        self.update_existing(&endpoint.id, &expression, names, values)
            .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        if !id.starts_with(ENDPOINT_PREFIX) {
            return Ok(false);
        }
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        Ok(written("DynamoDB DeleteItem on the endpoints table", delete)?.is_some())
    }

    async fn disable(&self, id: &str, disabled: Disabled) -> Result<bool, StoreError> {
        if !id.starts_with(ENDPOINT_PREFIX) {
            return Ok(false);
        }
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression("SET disabled_reason = :reason, disabled_at = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(disabled_reason)")
            .expression_attribute_values(":reason", s(disabled.reason.as_str()))
            .expression_attribute_values(":at", n(disabled.at))
            .send()
            .await;
        Ok(written("DynamoDB UpdateItem on the endpoints table", update)?.is_some())
    }

    async fn enable(&self, id: &str) -> Result<bool, StoreError> {
        if !id.starts_with(ENDPOINT_PREFIX) {
            return Ok(false);
        }
        let expression = format!("REMOVE disabled_reason, disabled_at, {}", HEALTH.join(", "));
        self.update_existing(id, &expression, Vec::new(), Vec::new())
            .await
    }

    async fn health(&self, id: &str) -> Result<Health, StoreError> {
        match self.get_item(id).await? {
            Some(item) => health_of(&item),
            None => Ok(Health::default()),
        }
    }

    async fn record(&self, id: &str, success: bool, now: Millis) -> Result<Health, StoreError> {
        if !id.starts_with(ENDPOINT_PREFIX) {
            return Ok(Health::default());
        }
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew)
            .expression_attribute_values(":now", n(now));
        let update = if success {
            update
                .update_expression(
                    "SET consecutive_failures = :zero, last_success = :now \
                     REMOVE failing_since, probe_until",
                )
                .expression_attribute_values(":zero", n(0))
        } else {
            update
                .update_expression(
                    "ADD consecutive_failures :one \
                     SET failing_since = if_not_exists(failing_since, :now), last_failure = :now \
                     REMOVE probe_until",
                )
                .expression_attribute_values(":one", n(1))
        };
        match written(
            "DynamoDB UpdateItem on the endpoints table",
            update.send().await,
        )? {
            Some(out) => health_of(&out.attributes.unwrap_or_default()),
            // Deleted meanwhile: nothing to count, as for an id never seen.
            None => Ok(Health::default()),
        }
    }

    async fn acquire_probe(
        &self,
        id: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        if !id.starts_with(ENDPOINT_PREFIX) {
            return Ok(false);
        }
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression("SET probe_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(probe_until) OR probe_until <= :now)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":until", n(until))
            .send()
            .await;
        Ok(written("DynamoDB UpdateItem on the endpoints table", update)?.is_some())
    }

    async fn take_token(&self, id: &str, limit: u32, now: Millis) -> Result<bool, StoreError> {
        // No token to give: a window's first taker would otherwise pass `attribute_not_exists`.
        if limit == 0 {
            return Ok(false);
        }
        let second = now.div_euclid(1000);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(&format!("rate#{id}#{second}")))
            .update_expression("ADD #n :one SET expires_at = :expires")
            .condition_expression("attribute_not_exists(#n) OR #n < :limit")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":expires", n(second + WINDOW_TTL_SECONDS))
            .send()
            .await;
        Ok(written("DynamoDB UpdateItem on the endpoints table", update)?.is_some())
    }
}

/// The attempt log in a DynamoDB table (see the module's doc for its shape).
#[derive(Debug, Clone)]
pub struct DynamoAttempts {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoAttempts {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn from_sdk(sdk: &crate::adapters::aws::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(aws_sdk_dynamodb::Client::new(sdk), table)
    }

    /// Every page of `query` until `limit` attempts (0: all) are read.
    async fn query(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
    ) -> Result<Vec<Attempt>, StoreError> {
        let mut attempts = Vec::new();
        let mut start = None;
        loop {
            let mut page = query.clone().set_exclusive_start_key(start);
            if limit > 0 {
                page = page.limit(i32::try_from(limit - attempts.len()).unwrap_or(i32::MAX));
            }
            let page = page
                .send()
                .await
                .map_err(failed("DynamoDB Query of the deliveries table"))?;
            for item in page.items() {
                attempts.push(attempt_of(item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() && (limit == 0 || attempts.len() < limit) => {
                    start = Some(key)
                }
                _ => break,
            }
        }
        if limit > 0 {
            attempts.truncate(limit);
        }
        Ok(attempts)
    }

    async fn scan(&self) -> Result<Vec<Attempt>, StoreError> {
        // The table holds task records too (`sk = task`): attempts only.
        scan_all(
            &self.client,
            &self.table,
            "begins_with(sk, :v)",
            s("attempt#"),
            "DynamoDB Scan of the deliveries table",
        )
        .await?
        .iter()
        .map(attempt_of)
        .collect()
    }
}

/// `attempt#<time, 13 digits>#<number, 6 digits>`: a task's attempts sort by when they were
/// made, and a task sent again by `inlet deliveries retry` (its numbering starting over at 1)
/// adds attempts instead of overwriting the first ones.
fn attempt_sort_key(at: Millis, number: u32) -> String {
    format!("attempt#{:013}#{number:06}", at.max(0))
}

fn attempt_of(item: &Item) -> Result<Attempt, StoreError> {
    let r = Reader::new(item, "attempt");
    Ok(Attempt {
        event_id: r.required_text("event_id")?,
        endpoint_id: r.required_text("endpoint_id")?,
        number: r.required_number("number")?,
        at: r.required_number("at")?,
        status: r.number("status")?,
        latency_ms: r.number("latency_ms")?.unwrap_or(0),
        verdict: r.text("verdict")?.unwrap_or_default(),
        class: r.text("class")?.unwrap_or_default(),
        response: r.text("response")?.unwrap_or_default(),
    })
}

impl Attempts for DynamoAttempts {
    async fn record(&self, attempt: &Attempt, expires: Millis) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&task_key(&attempt.event_id, &attempt.endpoint_id)))
            .item("sk", s(&attempt_sort_key(attempt.at, attempt.number)))
            .item("endpoint_id", s(&attempt.endpoint_id))
            .item("event_id", s(&attempt.event_id))
            .item("number", n(attempt.number))
            .item("at", n(attempt.at))
            .item("latency_ms", n(attempt.latency_ms))
            .item("verdict", s(&attempt.verdict))
            .item("class", s(&attempt.class))
            // Rounded up: TTL never removes an attempt before it is due to go.
            .item("expires_at", n((expires + 999).div_euclid(1000)));
        if let Some(status) = attempt.status {
            put = put.item("status", n(status));
        }
        if !attempt.response.is_empty() {
            put = put.item("response", s(&attempt.response));
        }
        put.send()
            .await
            .map_err(failed("DynamoDB PutItem on the deliveries table"))?;
        Ok(())
    }

    async fn list(&self, query: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        let newest_first =
            |q: QueryFluentBuilder| q.table_name(&self.table).scan_index_forward(false);
        match (&query.endpoint_id, &query.event_id) {
            (Some(endpoint), None) => {
                let q = newest_first(self.client.query())
                    .index_name(BY_ENDPOINT)
                    .key_condition_expression("endpoint_id = :id")
                    .expression_attribute_values(":id", s(endpoint));
                self.query(q, query.limit).await
            }
            (None, Some(event)) => {
                let q = newest_first(self.client.query())
                    .index_name(BY_EVENT)
                    .key_condition_expression("event_id = :id")
                    .expression_attribute_values(":id", s(event));
                self.query(q, query.limit).await
            }
            // One task's attempts: its own partition, read consistently, newest (highest
            // number) first, which no index and no filter is needed for.
            (Some(endpoint), Some(event)) => {
                let q = newest_first(self.client.query())
                    .consistent_read(true)
                    // The partition holds the task's record (`sk = task`) too.
                    .key_condition_expression("pk = :pk AND begins_with(sk, :attempt)")
                    .expression_attribute_values(":pk", s(&task_key(event, endpoint)))
                    .expression_attribute_values(":attempt", s("attempt#"));
                self.query(q, query.limit).await
            }
            (None, None) => {
                let mut all = self.scan().await?;
                all.sort_by(|a, b| b.at.cmp(&a.at).then(b.number.cmp(&a.number)));
                if query.limit > 0 {
                    all.truncate(query.limit);
                }
                Ok(all)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> Keys {
        Keys {
            secret: SecretText::new(secret),
            previous: None,
            ed25519: None,
            headers: vec![],
        }
    }

    #[test]
    fn the_key_cache_keeps_entries_for_their_time_and_by_ciphertext() {
        let mut cache = KeyCache::new(10, Duration::from_secs(300));
        let t0 = Instant::now();
        cache.put("ep_a", [1; 32], keys("whsec_a"), t0);
        assert_eq!(
            cache.get("ep_a", &[1; 32], t0 + Duration::from_secs(299)),
            Some(keys("whsec_a"))
        );
        // Another ciphertext (a rotated secret) or another endpoint is not served the entry.
        assert_eq!(cache.get("ep_a", &[2; 32], t0), None);
        assert_eq!(cache.get("ep_b", &[1; 32], t0), None);
        assert_eq!(
            cache.get("ep_a", &[1; 32], t0 + Duration::from_secs(300)),
            None
        );
        assert!(cache.entries.is_empty(), "an expired entry is dropped");
    }

    #[test]
    fn the_key_cache_is_bounded_and_drops_the_oldest() {
        let mut cache = KeyCache::new(3, Duration::from_secs(300));
        let t0 = Instant::now();
        for i in 0..5u8 {
            cache.put(
                &format!("ep_{i}"),
                [i; 32],
                keys("whsec_x"),
                t0 + Duration::from_secs(u64::from(i)),
            );
            assert!(cache.entries.len() <= 3);
        }
        let now = t0 + Duration::from_secs(5);
        assert_eq!(cache.get("ep_0", &[0; 32], now), None);
        assert_eq!(cache.get("ep_1", &[1; 32], now), None);
        assert!(cache.get("ep_4", &[4; 32], now).is_some());
    }

    fn endpoint() -> Endpoint {
        Endpoint {
            id: "ep_a".into(),
            url: "https://example.com/hook".into(),
            description: "billing".into(),
            filters: vec![Filter::parse("invoice.*").expect("filter")],
            headers: vec![("x-team".into(), "billing".into())],
            disabled: Some(Disabled {
                reason: DisabledReason::Gone,
                at: 7,
            }),
            rate_limit: Some(5),
            ordered: true,
            secret: SecretText::new("whsec_a"),
            previous: Some(Previous {
                secret: SecretText::new("whsec_b"),
                until: 9,
            }),
            ed25519: Some(SecretText::new("whsk_c")),
            created_at: 3,
        }
    }

    #[test]
    fn an_endpoint_round_trips_through_its_attributes() {
        let e = endpoint();
        let (set, remove) = settings(&e, vec![1, 2, 3]);
        assert!(remove.is_empty());
        let mut item: Item = set.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        item.insert("pk".into(), s(&e.id));
        assert_eq!(endpoint_of(&item, Keys::of(&e)).expect("endpoint"), e);
        assert_eq!(
            item.get("keys"),
            Some(&AttributeValue::B(Blob::new([1, 2, 3])))
        );

        let bare = Endpoint {
            description: String::new(),
            rate_limit: None,
            disabled: None,
            ..e
        };
        let (_, remove) = settings(&bare, vec![]);
        assert_eq!(
            remove,
            [
                "description",
                "rate_limit",
                "disabled_reason",
                "disabled_at"
            ]
        );
    }

    #[test]
    fn a_malformed_item_is_an_error_naming_the_attribute() {
        let mut item: Item = settings(&endpoint(), vec![])
            .0
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        item.insert("pk".into(), s("ep_a"));
        item.insert("filters".into(), AttributeValue::L(vec![s("a*b")]));
        let e = endpoint_of(&item, keys("whsec_a")).expect_err("bad filter");
        assert!(
            e.detail.contains("ep_a") && e.detail.contains("`filters`"),
            "{}",
            e.detail
        );
        item.remove("filters");
        item.insert("created_at".into(), s("yesterday"));
        let e = endpoint_of(&item, keys("whsec_a")).expect_err("bad number");
        assert!(e.detail.contains("`created_at`"), "{}", e.detail);
    }

    #[test]
    fn attempt_sort_keys_sort_by_number() {
        assert_eq!(
            attempt_sort_key(1_700_000_000_000, 7),
            "attempt#1700000000000#000007"
        );
        assert!(attempt_sort_key(5, 9) < attempt_sort_key(5, 10));
        assert!(
            attempt_sort_key(6, 1) > attempt_sort_key(5, 13),
            "a later retry's first attempt"
        );
    }
}
