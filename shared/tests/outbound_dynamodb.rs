//! The outbound side's DynamoDB and KMS adapters against a real moto server (DynamoDB and KMS
//! wire protocols on loopback). Ignored by a plain `cargo test`:
//! `tests/integration/test_outbound_dynamodb.py` starts moto and runs them with
//! `INLET_TEST_MOTO_URL` set. Each test makes its own tables and key.
#![cfg(feature = "aws")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_types::config_bag::ConfigBag;
use inlet::adapters::aws::{function_sdk_config, SdkConfig};
use inlet::config::Env;
use inlet::outbound::dynamodb::{DynamoAttempts, DynamoEndpoints};
use inlet::outbound::filter::Filter;
use inlet::outbound::memory::MemoryEndpoints;
use inlet::outbound::model::{
    random_id, Attempt, Disabled, DisabledReason, Endpoint, Previous, SecretText,
};
use inlet::outbound::ports::{AttemptQuery, Attempts, Endpoints};
use inlet::ports::failure::{Failure, StoreError};
use serde_json::{json, Value};

fn sdk() -> SdkConfig {
    let url = std::env::var("INLET_TEST_MOTO_URL").expect(
        "INLET_TEST_MOTO_URL, the moto server's URL (tests/integration/test_outbound_dynamodb.py sets it)",
    );
    let env = Env::from_pairs([("AWS_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", &url)]);
    function_sdk_config(&env)
        .expect("an SDK configuration")
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "inlet-tests",
        )))
        // moto answers one request at a time (moto_serial.py): dozens of concurrent calls queue
        // for longer than the functions' 1.5 s per attempt, and a retried ADD would count twice.
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(60))
                .operation_timeout(Duration::from_secs(120))
                .build(),
        )
        .build()
}

/// Counts the KMS calls a client makes, by operation.
#[derive(Debug, Default)]
struct KmsCalls {
    encrypt: AtomicUsize,
    decrypt: AtomicUsize,
}

#[derive(Debug)]
struct Counting(Arc<KmsCalls>);

impl Intercept for Counting {
    fn name(&self) -> &'static str {
        "CountKmsCalls"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        if input
            .downcast_ref::<aws_sdk_kms::operation::decrypt::DecryptInput>()
            .is_some()
        {
            self.0.decrypt.fetch_add(1, Ordering::SeqCst);
        }
        if input
            .downcast_ref::<aws_sdk_kms::operation::encrypt::EncryptInput>()
            .is_some()
        {
            self.0.encrypt.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// An endpoints table and a KMS key of the test's own.
struct Fixture {
    sdk: SdkConfig,
    ddb: aws_sdk_dynamodb::Client,
    kms: aws_sdk_kms::Client,
    table: String,
    key_id: String,
    calls: Arc<KmsCalls>,
}

fn key(name: &str, ty: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(ty)
        .build()
        .expect("key schema element")
}

fn attribute(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .expect("attribute definition")
}

async fn ttl(ddb: &aws_sdk_dynamodb::Client, table: &str) {
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("UpdateTimeToLive");
}

impl Fixture {
    async fn new() -> Self {
        let sdk = sdk();
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = format!("inlet-endpoints-{}", random_id(""));
        ddb.create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash))
            .attribute_definitions(attribute("pk", ScalarAttributeType::S))
            .send()
            .await
            .expect("CreateTable");
        ttl(&ddb, &table).await;
        let kms = aws_sdk_kms::Client::new(&sdk);
        let key_id = kms
            .create_key()
            .description("inlet test endpoint keys")
            .send()
            .await
            .expect("CreateKey")
            .key_metadata
            .expect("key metadata")
            .key_id;
        Self {
            sdk,
            ddb,
            kms,
            table,
            key_id,
            calls: Arc::default(),
        }
    }

    /// A store with a fresh key cache, whose KMS calls are counted.
    fn store(&self) -> DynamoEndpoints {
        let kms = aws_sdk_kms::config::Builder::from(&self.sdk)
            .interceptor(Counting(self.calls.clone()))
            .build();
        DynamoEndpoints::new(
            self.ddb.clone(),
            &self.table,
            aws_sdk_kms::Client::from_conf(kms),
            &self.key_id,
        )
    }

    fn decrypts(&self) -> usize {
        self.calls.decrypt.load(Ordering::SeqCst)
    }

    async fn raw(&self, pk: &str) -> std::collections::HashMap<String, AttributeValue> {
        self.ddb
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item
            .unwrap_or_default()
    }
}

fn endpoint(id: &str) -> Endpoint {
    Endpoint {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        description: String::new(),
        filters: vec![],
        headers: vec![],
        disabled: None,
        rate_limit: None,
        ordered: false,
        secret: SecretText::new(format!("whsec_secret_of_{id}")),
        previous: None,
        ed25519: None,
        created_at: 1_700_000_000_000,
    }
}

fn full(id: &str) -> Endpoint {
    Endpoint {
        description: "billing's receiver".into(),
        filters: vec![
            Filter::parse("invoice.paid").expect("filter"),
            Filter::parse("stripe.customer.*").expect("filter"),
        ],
        headers: vec![
            ("x-team".into(), "header-value-billing".into()),
            ("x-team".into(), "header-value-ops".into()),
        ],
        rate_limit: Some(5),
        ordered: true,
        previous: Some(Previous {
            secret: SecretText::new(format!("whsec_previous_of_{id}")),
            until: 1_700_000_100_000,
        }),
        ed25519: Some(SecretText::new(format!("whsk_ed25519_of_{id}"))),
        ..endpoint(id)
    }
}

fn out<T: serde::Serialize>(result: Result<T, StoreError>) -> Value {
    match result {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "err": format!("{:?}", e.failure) }),
    }
}

/// The same calls on any store, and what each answered (secrets included: `SecretText`
/// serializes as its text).
async fn scenario<E: Endpoints>(store: &E) -> Vec<(String, Value)> {
    let mut t = Vec::new();
    let mut step = |name: &str, v: Value| t.push((name.to_owned(), v));
    let (a, b, c) = ("ep_aaa", "ep_bbb", "ep_ccc");
    let disabled_c = Endpoint {
        disabled: Some(Disabled {
            reason: DisabledReason::Operator,
            at: 1,
        }),
        ..endpoint(c)
    };
    step("create c", out(store.create(&disabled_c).await));
    step("create a", out(store.create(&full(a)).await));
    step("create b", out(store.create(&endpoint(b)).await));
    step("create a again", out(store.create(&endpoint(a)).await));
    step("get a", out(store.get(a).await));
    step("get missing", out(store.get("ep_missing").await));
    step("list", out(store.list().await));
    step("health a", out(store.health(a).await));
    step("fail a 100", out(store.record(a, false, 100).await));
    step("fail a 200", out(store.record(a, false, 200).await));
    step("succeed a 300", out(store.record(a, true, 300).await));
    step("fail a 400", out(store.record(a, false, 400).await));
    step(
        "fail missing",
        out(store.record("ep_missing", false, 400).await),
    );
    step("probe a 500", out(store.acquire_probe(a, 500, 600).await));
    step("probe a 550", out(store.acquire_probe(a, 550, 650).await));
    step("probe a 600", out(store.acquire_probe(a, 600, 700).await));
    step(
        "probe missing",
        out(store.acquire_probe("ep_missing", 0, 1).await),
    );
    step("health a probing", out(store.health(a).await));
    step("succeed a 650", out(store.record(a, true, 650).await));
    for (limit, now) in [(2, 1_000), (2, 1_001), (2, 1_999), (2, 2_000), (0, 3_000)] {
        step(
            &format!("token a {limit} {now}"),
            out(store.take_token(a, limit, now).await),
        );
    }
    step("list after tokens", out(store.list().await));
    let gone = Disabled {
        reason: DisabledReason::Gone,
        at: 5,
    };
    step("disable a", out(store.disable(a, gone).await));
    step("disable a again", out(store.disable(a, gone).await));
    step(
        "disable missing",
        out(store.disable("ep_missing", gone).await),
    );
    step("get a disabled", out(store.get(a).await));
    step("fail a 700", out(store.record(a, false, 700).await));
    let changed = Endpoint {
        url: "https://example.org/moved".into(),
        filters: vec![Filter::Any],
        headers: vec![],
        rate_limit: None,
        description: String::new(),
        secret: SecretText::new("whsec_rotated"),
        ..full(a)
    };
    step("update a", out(store.update(&changed).await));
    step("get a updated", out(store.get(a).await));
    step("health a after update", out(store.health(a).await));
    step(
        "update missing",
        out(store.update(&endpoint("ep_missing")).await),
    );
    step("fail c 800", out(store.record(c, false, 800).await));
    step("enable c", out(store.enable(c).await));
    step("get c", out(store.get(c).await));
    step("health c", out(store.health(c).await));
    step("enable a", out(store.enable(a).await));
    step("health a enabled", out(store.health(a).await));
    step("enable missing", out(store.enable("ep_missing").await));
    step("delete b", out(store.delete(b).await));
    step("delete b again", out(store.delete(b).await));
    step("get b", out(store.get(b).await));
    step("fail b", out(store.record(b, false, 900).await));
    step("probe b", out(store.acquire_probe(b, 900, 1_000).await));
    step("health b", out(store.health(b).await));
    step("update b", out(store.update(&endpoint(b)).await));
    step("get b still", out(store.get(b).await));
    step("list at the end", out(store.list().await));
    t
}

#[tokio::test]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn every_endpoints_call_answers_as_the_memory_store_does() {
    let f = Fixture::new().await;
    let want = scenario(&MemoryEndpoints::default()).await;
    let got = scenario(&f.store()).await;
    assert_eq!(got.len(), want.len());
    for ((step, got), (_, want)) in got.iter().zip(&want) {
        assert_eq!(got, want, "{step}");
    }
    // What the scenario must have seen, lest both stores be wrong together.
    let at = |name: &str| &want.iter().find(|(s, _)| s == name).expect(name).1;
    assert_eq!(at("create a again"), &json!({"err": "Permanent"}));
    assert_eq!(at("fail a 200")["ok"]["consecutive_failures"], 2);
    assert_eq!(at("fail a 200")["ok"]["failing_since"], 100);
    assert_eq!(at("succeed a 300")["ok"]["last_failure"], 200);
    assert_eq!(at("probe a 550"), &json!({"ok": false}));
    assert_eq!(at("token a 2 1999"), &json!({"ok": false}));
    assert_eq!(at("disable a again"), &json!({"ok": false}));
    // Counted before the update, and kept by it.
    assert_eq!(at("health a after update")["ok"]["consecutive_failures"], 1);
    assert_eq!(at("health a after update")["ok"]["failing_since"], 700);
    assert_eq!(at("get a updated")["ok"]["secret"], "whsec_rotated");
    assert_eq!(at("update b"), &json!({"ok": false}));
    let ids: Vec<&Value> = at("list after tokens")["ok"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, [&json!("ep_aaa"), &json!("ep_bbb"), &json!("ep_ccc")]);
    // The deleted endpoint's late deliveries did not bring back a fragment of it.
    assert!(f.raw("ep_bbb").await.is_empty());
    // The rate-limit windows are items of their own, removed a minute after their second.
    let window = f.raw("rate#ep_aaa#1").await;
    assert_eq!(window.get("n"), Some(&AttributeValue::N("2".into())));
    assert_eq!(
        window.get("expires_at"),
        Some(&AttributeValue::N("61".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn concurrent_failures_are_each_counted() {
    let f = Fixture::new().await;
    let store = Arc::new(f.store());
    store.create(&endpoint("ep_busy")).await.expect("create");
    let tasks: Vec<_> = (0..8)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..25 {
                    store
                        .record("ep_busy", false, 1_000 + task * 100 + i)
                        .await
                        .expect("record");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let health = store.health("ep_busy").await.expect("health");
    assert_eq!(health.consecutive_failures, 200);
    assert!(health.failing_since.is_some_and(|t| t >= 1_000));
    let after = store.record("ep_busy", true, 9_000).await.expect("record");
    assert_eq!((after.consecutive_failures, after.failing_since), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn one_of_sixteen_concurrent_callers_takes_the_probe() {
    let f = Fixture::new().await;
    let store = Arc::new(f.store());
    store.create(&endpoint("ep_probe")).await.expect("create");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.acquire_probe("ep_probe", 1_000, 31_000).await })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.expect("task").expect("acquire_probe"));
    }
    assert_eq!(taken, 1);
    assert_eq!(
        store.health("ep_probe").await.expect("health").probe_until,
        Some(31_000)
    );
    assert!(!store
        .acquire_probe("ep_probe", 30_999, 40_000)
        .await
        .expect("probe"));
    assert!(store
        .acquire_probe("ep_probe", 31_000, 40_000)
        .await
        .expect("probe"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn thirty_concurrent_callers_get_the_five_tokens_of_a_second() {
    let f = Fixture::new().await;
    let store = Arc::new(f.store());
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.take_token("ep_rated", 5, 42_000 + i * 30).await })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.expect("task").expect("take_token"));
    }
    assert_eq!(taken, 5);
    assert!(store
        .take_token("ep_rated", 5, 43_000)
        .await
        .expect("next second"));
    let window = f.raw("rate#ep_rated#42").await;
    assert_eq!(window.get("n"), Some(&AttributeValue::N("5".into())));
    assert_eq!(
        window.get("expires_at"),
        Some(&AttributeValue::N("102".into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn one_caller_disables_and_enable_forgets_health() {
    let f = Fixture::new().await;
    let store = Arc::new(f.store());
    store.create(&endpoint("ep_flaky")).await.expect("create");
    for now in [1, 2, 3] {
        store.record("ep_flaky", false, now).await.expect("record");
    }
    store.acquire_probe("ep_flaky", 4, 10).await.expect("probe");
    let failing = Disabled {
        reason: DisabledReason::Failing,
        at: 5,
    };
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.disable("ep_flaky", failing).await })
        })
        .collect();
    let mut switched = 0;
    for t in tasks {
        switched += usize::from(t.await.expect("task").expect("disable"));
    }
    assert_eq!(switched, 1);
    assert!(!store.disable("ep_flaky", failing).await.expect("disable"));
    let got = store.get("ep_flaky").await.expect("get").expect("endpoint");
    assert_eq!(got.disabled, Some(failing));
    assert!(store.enable("ep_flaky").await.expect("enable"));
    assert_eq!(
        store.health("ep_flaky").await.expect("health"),
        Default::default()
    );
    assert!(store
        .get("ep_flaky")
        .await
        .expect("get")
        .expect("endpoint")
        .enabled());
    assert!(store.disable("ep_flaky", failing).await.expect("disable"));
}

#[tokio::test]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn keys_are_stored_encrypted_and_decrypted_once_per_ciphertext() {
    let f = Fixture::new().await;
    let store = f.store();
    let e = full("ep_sealed");
    store.create(&e).await.expect("create");
    assert_eq!(f.calls.encrypt.load(Ordering::SeqCst), 1);
    let item = f.raw("ep_sealed").await;
    let keys = item
        .get("keys")
        .and_then(|v| v.as_b().ok())
        .expect("a binary keys attribute")
        .as_ref()
        .to_vec();
    for secret in [
        "whsec_secret_of_ep_sealed",
        "whsec_previous_of_ep_sealed",
        "whsk_ed25519_of_ep_sealed",
        "secret_of",
        // The extra headers' values are with the keys: only their names are in the clear.
        "header-value-billing",
        "header-value-ops",
    ] {
        assert!(
            !keys.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the ciphertext"
        );
        // Nor anywhere else in the item.
        assert!(
            !format!("{item:?}").contains(secret),
            "{secret} in the item"
        );
    }
    assert_eq!(store.get("ep_sealed").await.expect("get"), Some(e.clone()));
    assert_eq!(f.decrypts(), 1);
    assert_eq!(store.get("ep_sealed").await.expect("get"), Some(e.clone()));
    assert_eq!(store.list().await.expect("list"), vec![e.clone()]);
    assert_eq!(f.decrypts(), 1, "served from the cache");
    // A rotated secret is a new ciphertext: read from KMS, not the cache.
    let rotated = Endpoint {
        secret: SecretText::new("whsec_rotated"),
        ..e
    };
    assert!(store.update(&rotated).await.expect("update"));
    assert_eq!(store.get("ep_sealed").await.expect("get"), Some(rotated));
    assert_eq!(f.decrypts(), 2);
}

#[tokio::test]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn a_ciphertext_copied_to_another_endpoint_does_not_decrypt() {
    let f = Fixture::new().await;
    let store = f.store();
    store.create(&full("ep_victim")).await.expect("create");
    store.create(&endpoint("ep_thief")).await.expect("create");
    // Warm: the victim's keys are in this store's cache.
    store.get("ep_victim").await.expect("get");
    let stolen = f.raw("ep_victim").await.remove("keys").expect("keys");
    f.ddb
        .update_item()
        .table_name(&f.table)
        .key("pk", AttributeValue::S("ep_thief".into()))
        .update_expression("SET #k = :k")
        .expression_attribute_names("#k", "keys")
        .expression_attribute_values(":k", stolen)
        .send()
        .await
        .expect("UpdateItem");
    for store in [&store, &f.store()] {
        let err = store.get("ep_thief").await.expect_err("refused");
        assert_eq!(err.failure, Failure::Permanent, "{}", err.detail);
        assert!(
            err.detail.contains("ep_thief") && err.detail.contains("could not be decrypted"),
            "{}",
            err.detail
        );
        assert!(!err.detail.contains("whsec_"), "{}", err.detail);
        let err = store.list().await.expect_err("refused");
        assert!(err.detail.contains("ep_thief"), "{}", err.detail);
    }
    assert!(f.store().get("ep_victim").await.expect("get").is_some());
}

#[tokio::test]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn reading_without_keys_never_calls_kms() {
    let f = Fixture::new().await;
    let store = f.store();
    let e = full("ep_fanout");
    store.create(&e).await.expect("create");
    f.kms
        .disable_key()
        .key_id(&f.key_id)
        .send()
        .await
        .expect("DisableKey");
    // Without keys: no secret, and the extra headers' names without their values.
    let blank = Endpoint {
        secret: SecretText::new(""),
        previous: None,
        ed25519: None,
        headers: vec![
            ("x-team".into(), String::new()),
            ("x-team".into(), String::new()),
        ],
        ..e
    };
    let keyless = DynamoEndpoints::without_keys(f.ddb.clone(), &f.table);
    assert_eq!(
        keyless.list_without_keys().await.expect("list"),
        vec![blank.clone()]
    );
    assert_eq!(
        keyless.get_without_keys("ep_fanout").await.expect("get"),
        Some(blank.clone())
    );
    assert_eq!(
        keyless.get_without_keys("ep_none").await.expect("get"),
        None
    );
    // What needs keys says so, and calls nothing.
    for err in [
        keyless.get("ep_fanout").await.expect_err("no key"),
        keyless.list().await.expect_err("no key"),
        keyless.create(&full("ep_new")).await.expect_err("no key"),
        keyless
            .update(&full("ep_fanout"))
            .await
            .map(|_| ())
            .expect_err("no key"),
    ] {
        assert_eq!(err.failure, Failure::Permanent);
        assert!(err.detail.contains("no KMS key"), "{}", err.detail);
    }
    // A store that has a key reads without it the same way, without a KMS call: its KMS client
    // here points at a closed port, and the counter sees no Decrypt.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("address");
    let unreachable = aws_sdk_kms::config::Builder::from(&f.sdk)
        .endpoint_url(format!("http://{closed}"))
        .interceptor(Counting(f.calls.clone()))
        .build();
    let with_key = DynamoEndpoints::new(
        f.ddb.clone(),
        &f.table,
        aws_sdk_kms::Client::from_conf(unreachable),
        &f.key_id,
    );
    assert_eq!(
        with_key.list_without_keys().await.expect("list"),
        vec![blank]
    );
    assert_eq!(f.decrypts(), 0);
    let err = with_key
        .get("ep_fanout")
        .await
        .expect_err("KMS unreachable");
    assert_eq!(err.failure, Failure::Transient, "{}", err.detail);
    assert_eq!(f.decrypts(), 1);
}

async fn deliveries_table(ddb: &aws_sdk_dynamodb::Client) -> String {
    let table = format!("inlet-deliveries-{}", random_id(""));
    let index = |name: &str, hash: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(hash, KeyType::Hash))
            .key_schema(key("at", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("index")
    };
    ddb.create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("sk", ScalarAttributeType::S))
        .attribute_definitions(attribute("endpoint_id", ScalarAttributeType::S))
        .attribute_definitions(attribute("event_id", ScalarAttributeType::S))
        .attribute_definitions(attribute("at", ScalarAttributeType::N))
        .global_secondary_indexes(index("by-endpoint", "endpoint_id"))
        .global_secondary_indexes(index("by-event", "event_id"))
        .send()
        .await
        .expect("CreateTable");
    ttl(ddb, &table).await;
    table
}

fn attempt(endpoint: &str, event: &str, number: u32, at: i64) -> Attempt {
    Attempt {
        event_id: event.into(),
        endpoint_id: endpoint.into(),
        number,
        at,
        status: (number != 2).then_some(503),
        latency_ms: 120,
        verdict: "retry".into(),
        class: if number == 2 { "timeout" } else { "http" }.into(),
        response: if number == 2 { "" } else { "try later" }.into(),
    }
}

#[tokio::test]
#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]
async fn attempts_are_listed_by_endpoint_event_both_or_neither_newest_first() {
    let sdk = sdk();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = deliveries_table(&ddb).await;
    let log = DynamoAttempts::new(ddb.clone(), &table);
    let first = attempt("ep_a", "evt_1", 1, 1_000);
    let second = attempt("ep_a", "evt_1", 2, 2_000);
    let other = attempt("ep_b", "evt_1", 1, 1_500);
    let later = attempt("ep_a", "evt_2", 1, 3_000);
    for (a, expires) in [
        (&first, 86_401_000),
        (&second, 86_402_000),
        (&other, 86_401_500),
        (&later, 86_403_000),
    ] {
        log.record(a, expires).await.expect("record");
    }
    // The table holds each delivery's task record beside its attempts: never listed as one.
    ddb.put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S("ep_a/evt_1".into()))
        .item("sk", AttributeValue::S("task".into()))
        .item("endpoint_id", AttributeValue::S("ep_a".into()))
        .item("event_id", AttributeValue::S("evt_1".into()))
        .item("state", AttributeValue::S("delivered".into()))
        .send()
        .await
        .expect("task record");
    let list = |endpoint: Option<&str>, event: Option<&str>, limit: usize| {
        let log = &log;
        let query = AttemptQuery {
            endpoint_id: endpoint.map(str::to_owned),
            event_id: event.map(str::to_owned),
            limit,
        };
        async move { log.list(&query).await.expect("list") }
    };
    assert_eq!(
        list(Some("ep_a"), None, 0).await,
        [later.clone(), second.clone(), first.clone()]
    );
    assert_eq!(
        list(Some("ep_a"), None, 2).await,
        [later.clone(), second.clone()]
    );
    assert_eq!(
        list(None, Some("evt_1"), 0).await,
        [second.clone(), other.clone(), first.clone()]
    );
    assert_eq!(
        list(None, Some("evt_1"), 1).await,
        std::slice::from_ref(&second)
    );
    assert_eq!(
        list(Some("ep_a"), Some("evt_1"), 0).await,
        [second.clone(), first.clone()]
    );
    assert_eq!(
        list(Some("ep_b"), Some("evt_1"), 0).await,
        std::slice::from_ref(&other)
    );
    assert_eq!(list(Some("ep_b"), Some("evt_2"), 0).await, []);
    assert_eq!(
        list(None, None, 0).await,
        [later.clone(), second.clone(), other.clone(), first.clone()]
    );
    assert_eq!(list(None, None, 3).await, [later, second, other]);

    let item = ddb
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("ep_a/evt_1".into()))
        .key(
            "sk",
            AttributeValue::S("attempt#0000000002000#000002".into()),
        )
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the attempt");
    assert_eq!(
        item.get("expires_at"),
        Some(&AttributeValue::N("86402".into()))
    );
    assert_eq!(item.get("at"), Some(&AttributeValue::N("2000".into())));
    assert!(!item.contains_key("status") && !item.contains_key("response"));
}
