//! The pipeline's delivery guarantees against in-memory ports: idempotency, the claim check,
//! parking, classified queue failures and the deadline. (The same paths run against moto's SQS,
//! DynamoDB and S3 in tests/integration.)

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, HeaderName, HeaderValue};
use inlet::adapters::local::LocalStore;
use inlet::adapters::{IdempotencyStore, PayloadStore};
use inlet::config::Settings;
use inlet::core::outcome::Step;
use inlet::core::verify::{Secret, SecretSet};
use inlet::ports::failure::StoreError;
use inlet::ports::idempotency::MemoryStore;
use inlet::ports::payloads::MemoryPayloads;
use inlet::ports::queue::{MemoryQueue, Message, Queue, QueueError};
use inlet::{Inbound, Pipeline, Reply, Source};
use serde_json::Value;
use tokio::time::Instant;

const NOW: u64 = 1_763_800_000;
const STRIPE_SECRET: &str = "whsec_inlet_dev_stripe_secret";

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW)
}

fn source(name: &str) -> &'static Source {
    inlet::catalogue::sources::by_name(name).expect("source")
}

fn pipeline<Q: Queue>(name: &str, secret: &str, queue: Q) -> Pipeline<Q> {
    let src = source(name);
    let key = src.decode_secret(secret).expect("secret");
    let secrets = SecretSet::new(vec![Secret::new("WEBHOOK_SECRET", key)]).expect("set");
    Pipeline::new(src, secrets, Settings::default(), queue)
}

/// A request signed as `name` signs it.
fn signed(name: &str, secret: &str, body: &[u8], id: &str) -> HeaderMap {
    let src = source(name);
    let key = src.decode_secret(secret).expect("secret");
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let signing = inlet::core::verify::engine::Signing::post(body, NOW as i64, id, None);
    let event = src
        .event_header()
        .map(|h| (h.to_owned(), "push".to_owned()));
    for (k, v) in src
        .sign(&key, &signing)
        .expect("signs")
        .into_iter()
        .chain(event)
    {
        headers.append(
            HeaderName::from_bytes(k.as_bytes()).expect("name"),
            HeaderValue::from_str(&v).expect("value"),
        );
    }
    headers
}

fn stripe_event(id: &str, pad: usize) -> Vec<u8> {
    serde_json::json!({"id": id, "object": "event", "type": "invoice.paid", "created": NOW, "pad": "x".repeat(pad)})
        .to_string()
        .into_bytes()
}

async fn deliver<Q: Queue>(
    p: &Pipeline<Q>,
    headers: &HeaderMap,
    body: &[u8],
    budget: Duration,
) -> Reply {
    let inbound = Inbound::post(headers, body);
    p.handle(inbound, now(), Instant::now() + budget).await
}

fn json(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).expect("JSON body")
}

const BUDGET: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_retried_delivery_is_answered_with_the_original_message_id_and_not_enqueued_again() {
    let p = pipeline("stripe", STRIPE_SECRET, MemoryQueue::default())
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let body = stripe_event("evt_1", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let first = deliver(&p, &headers, &body, BUDGET).await;
    let again = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!((first.status, again.status), (202, 202));
    let (first, again) = (json(&first), json(&again));
    assert_eq!(again["messageId"], first["messageId"]);
    assert_eq!(again["duplicate"], true);
    assert!(first.get("duplicate").is_none());
    assert_eq!(p.queue().messages().len(), 1);
}

#[tokio::test]
async fn without_idempotency_every_delivery_is_enqueued() {
    let p = pipeline("stripe", STRIPE_SECRET, MemoryQueue::default());
    let body = stripe_event("evt_1", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    for _ in 0..2 {
        assert_eq!(deliver(&p, &headers, &body, BUDGET).await.status, 202);
    }
    assert_eq!(p.queue().messages().len(), 2);
}

/// A queue that answers after a delay.
#[derive(Debug, Default)]
struct SlowQueue {
    inner: MemoryQueue,
    delay: Duration,
}

impl Queue for SlowQueue {
    fn max_message_bytes(&self) -> usize {
        self.inner.max_message_bytes()
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        tokio::time::sleep(self.delay).await;
        self.inner.send(message).await
    }
}

/// A Stripe pipeline with idempotency whose queue answers after `delay`, shared between tasks.
fn slow_idempotent_pipeline(delay: Duration) -> Arc<Pipeline<SlowQueue>> {
    let queue = SlowQueue {
        delay,
        ..SlowQueue::default()
    };
    Arc::new(
        pipeline("stripe", STRIPE_SECRET, queue)
            .with_idempotency(IdempotencyStore::Memory(MemoryStore::default())),
    )
}

#[tokio::test]
async fn concurrent_duplicates_are_enqueued_once_and_share_the_message_id() {
    let p = slow_idempotent_pipeline(Duration::from_millis(300));
    let body = stripe_event("evt_concurrent", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (p, headers, body) = (p.clone(), headers.clone(), body.clone());
            tokio::spawn(async move { deliver(&p, &headers, &body, BUDGET).await })
        })
        .collect();
    let mut ids = Vec::new();
    for run in runs {
        let reply = run.await.expect("joined");
        assert_eq!(
            reply.status,
            202,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        ids.push(json(&reply)["messageId"].clone());
    }
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    assert_eq!(p.queue().inner.messages().len(), 1);
}

#[tokio::test]
async fn a_duplicate_whose_twin_outlasts_the_deadline_is_asked_to_retry() {
    let p = slow_idempotent_pipeline(Duration::from_secs(2));
    let body = stripe_event("evt_slow", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let twin = {
        let (p, headers, body) = (p.clone(), headers.clone(), body.clone());
        tokio::spawn(async move { deliver(&p, &headers, &body, BUDGET).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    let waiting = deliver(&p, &headers, &body, Duration::from_secs(1)).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(waiting.status, 503);
    assert_eq!(waiting.header("retry-after"), Some("30"));
    assert_eq!(
        json(&waiting)["type"],
        "urn:inlet:problem:delivery-in-progress"
    );
    assert_eq!(twin.await.expect("joined").status, 202);
}

#[tokio::test]
async fn a_failed_send_releases_the_mark_so_the_retry_goes_through() {
    let queue = MemoryQueue::default().fail_next([QueueError::transient("throttled")]);
    let p = pipeline("stripe", STRIPE_SECRET, queue)
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let body = stripe_event("evt_retry", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let first = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(first.status, 503);
    assert_eq!(first.header("retry-after"), Some("30"));
    let retry = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(retry.status, 202);
    assert!(json(&retry).get("duplicate").is_none());
    assert_eq!(p.queue().messages().len(), 1);
}

#[tokio::test]
async fn a_deleted_idempotency_directory_costs_no_event_and_no_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marks = dir.path().join("marks");
    let store = LocalStore::new(&marks).expect("store");
    // The directory store holds its log open from the start: a directory deleted under it
    // (`rm -rf` of a development folder) costs neither the event nor the de-duplication of the
    // process that holds it.
    std::fs::remove_dir_all(&marks).expect("the store's directory goes away");
    let p = pipeline("stripe", STRIPE_SECRET, MemoryQueue::default())
        .with_idempotency(IdempotencyStore::Local(store));
    let body = stripe_event("evt_open", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    assert_eq!(deliver(&p, &headers, &body, BUDGET).await.status, 202);
    assert_eq!(p.queue().messages().len(), 1);
    let again = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(again.status, 202);
    assert_eq!(json(&again)["duplicate"], true);
    assert_eq!(p.queue().messages().len(), 1);
}

#[tokio::test]
async fn a_body_too_large_for_the_queue_goes_to_the_payload_bucket() {
    let queue = MemoryQueue::default().with_max_message_bytes(4096);
    let p = pipeline("stripe", STRIPE_SECRET, queue)
        .with_payloads(PayloadStore::Memory(MemoryPayloads::default()));
    let body = stripe_event("evt_big", 10_000);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let reply = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(
        reply.status,
        202,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let messages = p.queue().messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].size() <= 4096);
    let envelope: Value = serde_json::from_str(&messages[0].body).expect("envelope");
    assert!(envelope.get("data").is_none());
    let dataref = envelope["dataref"].as_str().expect("dataref");
    let key = dataref
        .strip_prefix("memory://")
        .expect("a reference to the store");
    let digest = envelope["inletbodysha256"].as_str().expect("digest");
    assert_eq!(key, format!("payloads/stripe/evt_big/{digest}"));
    let PayloadStore::Memory(store) = p.payloads() else {
        panic!("memory store")
    };
    let (stored, content_type) = store.get(key).expect("stored");
    assert_eq!(stored, body, "the raw body, byte for byte");
    assert_eq!(content_type, "application/json");
    assert_eq!(envelope["datacontenttype"], "application/json");
}

#[tokio::test]
async fn without_a_bucket_an_event_that_cannot_fit_is_refused_up_front() {
    let queue = MemoryQueue::default().with_max_message_bytes(4096);
    let p = pipeline("stripe", STRIPE_SECRET, queue)
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let body = stripe_event("evt_big", 10_000);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let reply = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(reply.status, 413);
    assert_eq!(json(&reply)["type"], "urn:inlet:problem:payload-too-large");
    assert!(p.queue().messages().is_empty());
}

#[tokio::test]
async fn a_queue_that_refuses_for_good_gets_the_event_parked_or_a_500() {
    let body = stripe_event("evt_parked", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let refusing = || MemoryQueue::failing(QueueError::permanent("AccessDenied"));

    let p = pipeline("stripe", STRIPE_SECRET, refusing())
        .with_payloads(PayloadStore::Memory(MemoryPayloads::default()))
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let reply = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(reply.status, 202);
    assert_eq!(json(&reply)["parked"], true);
    assert!(json(&reply).get("messageId").is_none());
    let PayloadStore::Memory(store) = p.payloads() else {
        panic!("memory store")
    };
    let keys = store.keys();
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].starts_with("undelivered/stripe/evt_parked/"),
        "{keys:?}"
    );
    let (parked, _) = store.get(&keys[0]).expect("parked");
    let envelope: Value = serde_json::from_slice(&parked).expect("an envelope");
    assert_eq!(envelope["id"], "evt_parked");
    // The sender's retry is a duplicate of the parked delivery.
    let again = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(
        (
            json(&again)["duplicate"].clone(),
            json(&again)["parked"].clone()
        ),
        (Value::Bool(true), Value::Bool(true))
    );
    assert_eq!(store.keys().len(), 1);

    let p = pipeline("stripe", STRIPE_SECRET, refusing());
    let reply = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.header("retry-after"), None);
    assert_eq!(json(&reply)["type"], "urn:inlet:problem:queue-rejected");

    let p = pipeline("stripe", STRIPE_SECRET, refusing()).with_payloads(PayloadStore::Memory(
        MemoryPayloads::failing(StoreError::permanent("AccessDenied")),
    ));
    assert_eq!(deliver(&p, &headers, &body, BUDGET).await.status, 500);
}

#[tokio::test]
async fn a_slow_queue_is_answered_503_before_the_deadline() {
    let queue = SlowQueue {
        delay: Duration::from_secs(30),
        ..SlowQueue::default()
    };
    let p = pipeline("stripe", STRIPE_SECRET, queue);
    let body = stripe_event("evt_slow", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let started = std::time::Instant::now();
    let reply = deliver(&p, &headers, &body, Duration::from_secs(1)).await;
    let took = started.elapsed();
    assert_eq!(reply.status, 503);
    assert_eq!(json(&reply)["type"], "urn:inlet:problem:queue-unavailable");
    assert!(
        took < Duration::from_secs(1) && took >= Duration::from_millis(700),
        "answered after {took:?}, before the 1 s deadline less its margin"
    );
}

/// GitHub signs neither its delivery id nor a time, and two of its events can be the same bytes
/// (`repository_dispatch` twice): duplicates are recognised by the body digest and the delivery
/// id together. A redelivery (same id) is a duplicate; the same bytes under another id are queued,
/// since they may be another event (issue 16: the earlier main dropped them for 24 hours).
#[tokio::test]
async fn a_github_body_under_another_delivery_id_is_queued_and_under_its_own_a_duplicate() {
    let secret = "inlet-dev-github-secret";
    let p = pipeline("github", secret, MemoryQueue::default())
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}"#;
    let original = signed("github", secret, body, "guid-1");
    assert_eq!(deliver(&p, &original, body, BUDGET).await.status, 202);
    let again = deliver(&p, &original, body, BUDGET).await;
    assert_eq!(json(&again)["duplicate"], true, "GitHub's redelivery");
    assert_eq!(json(&again)["id"], "guid-1");
    let mut other = original.clone();
    other.insert("x-github-delivery", HeaderValue::from_static("guid-2"));
    let second = deliver(&p, &other, body, BUDGET).await;
    assert_eq!(second.status, 202);
    assert_eq!(json(&second)["duplicate"], Value::Null);
    assert_eq!(json(&second)["id"], "guid-2");
    assert_eq!(p.queue().messages().len(), 2);
}

/// What each request came to, as the metrics and traces read it: the verdict, the event's type,
/// the body's size, and the calls made, in order, each timed and marked as it went.
#[tokio::test]
async fn each_request_reports_its_verdict_and_the_calls_it_made() {
    use inlet::core::outcome::{Step, Verdict};

    let queue = MemoryQueue::default()
        .with_max_message_bytes(4096)
        .fail_next([QueueError::transient("throttled")]);
    let p = pipeline("stripe", STRIPE_SECRET, queue)
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()))
        .with_payloads(PayloadStore::Memory(MemoryPayloads::default()));
    let serve = |headers: HeaderMap, body: Vec<u8>| {
        let p = &p;
        async move {
            p.serve(
                Inbound::post(&headers, &body),
                now(),
                Instant::now() + BUDGET,
            )
            .await
        }
    };
    let steps = |o: &inlet::core::outcome::Outcome| -> Vec<(Step, bool)> {
        o.calls.iter().map(|c| (c.step, c.ok)).collect()
    };

    // The queue fails once: 503, the mark released.
    let body = stripe_event("evt_outcome", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    let (reply, failed) = serve(headers.clone(), body.clone()).await;
    assert_eq!(reply.status, 503);
    assert_eq!(
        failed.verdict,
        Verdict::Failed {
            status: 503,
            problem: "queue-unavailable"
        }
    );
    assert_eq!(failed.event_type.as_deref(), Some("stripe.invoice.paid"));
    assert_eq!(
        steps(&failed),
        [
            (Step::MarkInProgress, true),
            (Step::QueueSend, false),
            (Step::ReleaseMark, true)
        ]
    );
    assert_eq!(failed.body_bytes, body.len());
    assert!(failed.queue_latency().is_some());

    // The retry is queued; the one after it is a duplicate.
    let (_, queued) = serve(headers.clone(), body.clone()).await;
    assert_eq!(
        queued.verdict,
        Verdict::Enqueued {
            claim_checked: false
        }
    );
    assert_eq!(
        steps(&queued),
        [
            (Step::MarkInProgress, true),
            (Step::QueueSend, true),
            (Step::MarkDone, true)
        ]
    );
    let (_, duplicate) = serve(headers.clone(), body.clone()).await;
    assert_eq!(duplicate.verdict, Verdict::Duplicate);
    assert_eq!(steps(&duplicate), [(Step::MarkInProgress, true)]);
    assert!(duplicate.queue_latency().is_none());

    // Too large for a message: claim-checked.
    let big = stripe_event("evt_outcome_big", 10_000);
    let (_, checked) = serve(signed("stripe", STRIPE_SECRET, &big, ""), big.clone()).await;
    assert_eq!(
        checked.verdict,
        Verdict::Enqueued {
            claim_checked: true
        }
    );
    assert_eq!(
        steps(&checked)[..3],
        [
            (Step::MarkInProgress, true),
            (Step::StorePayload, true),
            (Step::QueueSend, true)
        ]
    );

    // Forged: refused before any call, and before its type is known.
    let (reply, forged) = serve(signed("stripe", "whsec_other", &body, ""), body.clone()).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        forged.verdict,
        Verdict::Rejected {
            status: 401,
            problem: "invalid-signature"
        }
    );
    assert!(
        forged.calls.is_empty() && forged.event_type.is_none(),
        "{forged:?}"
    );
    for call in queued.calls.iter().chain(&checked.calls) {
        assert!(call.started >= SystemTime::now() - Duration::from_secs(60));
    }
}

/// A secret rotated at the sender: the mismatch re-reads the store, and the trace says so; a
/// fixed secret is never fetched, so a mismatch there notes no call.
#[tokio::test]
async fn a_secret_re_read_is_a_call_only_when_the_store_is_asked() {
    use std::future::Future;
    use std::pin::Pin;

    use inlet::core::outcome::{Step, Verdict};
    use inlet::ports::secrets::{FetchSecrets, SecretStore};

    #[derive(Debug)]
    struct Rotated;
    impl FetchSecrets for Rotated {
        fn fetch(
            &self,
        ) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>> {
            Box::pin(async {
                let key = source("stripe")
                    .decode_secret("whsec_rotated")
                    .map_err(StoreError::permanent)?;
                SecretSet::new(vec![Secret::new("secrets[0]", key)]).map_err(StoreError::permanent)
            })
        }
    }
    let src = source("stripe");
    let old = SecretSet::new(vec![Secret::new(
        "WEBHOOK_SECRET",
        src.decode_secret(STRIPE_SECRET).expect("key"),
    )])
    .expect("set");
    let store = SecretStore::refreshing(old, Box::new(Rotated), Duration::ZERO);
    let p = Pipeline::new(src, store, Settings::default(), MemoryQueue::default());
    let body = stripe_event("evt_rotated", 10);
    let headers = signed("stripe", "whsec_rotated", &body, "");
    let (reply, outcome) = p
        .serve(
            Inbound::post(&headers, &body),
            now(),
            Instant::now() + BUDGET,
        )
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(
        outcome.verdict,
        Verdict::Enqueued {
            claim_checked: false
        }
    );
    let steps: Vec<_> = outcome.calls.iter().map(|c| (c.step, c.ok)).collect();
    assert_eq!(
        steps,
        [(Step::SecretRefresh, true), (Step::QueueSend, true)]
    );

    let fixed = pipeline("stripe", STRIPE_SECRET, MemoryQueue::default());
    let (reply, outcome) = fixed
        .serve(
            Inbound::post(&headers, &body),
            now(),
            Instant::now() + BUDGET,
        )
        .await;
    assert_eq!(reply.status, 401);
    assert!(
        outcome.calls.is_empty(),
        "a fixed secret is never fetched: {:?}",
        outcome.calls
    );
}

/// A GoCardless delivery of `n` events, signed, with its events' ids `EV<prefix><i>`.
fn gocardless_batch(prefix: &str, n: usize, pad: usize) -> (HeaderMap, Vec<u8>) {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({"id": format!("EV{prefix}{i:04}"), "created_at": "2024-05-14T12:14:41.124Z",
                "resource_type": "payments", "action": "confirmed", "links": {"payment": format!("PM{i}")},
                "pad": "x".repeat(pad)})
        })
        .collect();
    let body = serde_json::json!({"events": events, "meta": {"webhook_id": format!("WB{prefix}")}})
        .to_string()
        .into_bytes();
    let secret = "gocardless-endpoint-secret";
    let headers = signed("gocardless", secret, &body, "");
    (headers, body)
}

/// A batch whose queue fails some sends: answered 503 (the sender retries), the events that were
/// queued are marked done, and the retry queues only the rest. Every event ends on the queue once.
#[tokio::test]
async fn a_partly_queued_batch_is_retried_for_what_is_missing() {
    let secret = "gocardless-endpoint-secret";
    let queue = MemoryQueue::default().fail_next([
        QueueError::transient("throttled"),
        QueueError::transient("throttled"),
    ]);
    let p = pipeline("gocardless", secret, queue)
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let (headers, body) = gocardless_batch("P", 25, 10);
    let first = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(
        first.status,
        503,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    assert_eq!(first.header("retry-after"), Some("30"));
    assert_eq!(p.queue().messages().len(), 23);
    let retry = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(retry.status, 202);
    assert_eq!(
        json(&retry),
        serde_json::json!({"events": 25, "queued": 2, "duplicates": 23, "parked": 0})
    );
    let mut ids: Vec<String> = p.queue().messages().into_iter().map(|m| m.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25, "each event once");
}

/// Events too large for a message are claim-checked one by one (their own bytes in the bucket);
/// events the queue refuses for good are parked; the rest go in batches.
#[tokio::test]
async fn a_batch_claim_checks_and_parks_event_by_event() {
    let secret = "gocardless-endpoint-secret";
    let queue = MemoryQueue::default().with_max_message_bytes(4_000);
    let p = pipeline("gocardless", secret, queue)
        .with_payloads(PayloadStore::Memory(MemoryPayloads::default()));
    // One large event among small ones.
    let mut events: Vec<Value> = (0..5)
        .map(|i| serde_json::json!({"id": format!("EVS{i}"), "resource_type": "payments", "action": "created"}))
        .collect();
    events[2]["pad"] = Value::String("y".repeat(6_000));
    let body = serde_json::json!({"events": events})
        .to_string()
        .into_bytes();
    let headers = signed("gocardless", secret, &body, "");
    let reply = deliver(&p, &headers, &body, BUDGET).await;
    assert_eq!(
        reply.status,
        202,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let messages = p.queue().messages();
    assert_eq!(messages.len(), 5);
    let big = messages
        .iter()
        .find(|m| m.id == "EVS2")
        .expect("the large event");
    let envelope: Value = serde_json::from_str(&big.body).expect("json");
    let dataref = envelope["dataref"].as_str().expect("claim-checked");
    let PayloadStore::Memory(store) = p.payloads() else {
        panic!("memory payloads")
    };
    let key = dataref.trim_start_matches("memory://");
    let (stored, content_type) = store.get(key).expect("stored");
    assert_eq!(content_type, "application/json");
    let stored: Value = serde_json::from_slice(&stored).expect("the event's own bytes");
    assert_eq!(stored["id"], "EVS2");
    assert_eq!(
        envelope["inletbodysha256"].as_str(),
        key.rsplit('/').next(),
        "keyed by the event's digest"
    );
}

/// A batch's request outcome counts each of its events, for the metrics.
#[tokio::test]
async fn a_batch_outcome_counts_its_events() {
    let secret = "gocardless-endpoint-secret";
    let p = pipeline("gocardless", secret, MemoryQueue::default())
        .with_idempotency(IdempotencyStore::Memory(MemoryStore::default()));
    let (headers, body) = gocardless_batch("C", 12, 0);
    let inbound = Inbound::post(&headers, &body);
    let (reply, outcome) = p.serve(inbound, now(), Instant::now() + BUDGET).await;
    assert_eq!(reply.status, 202);
    assert_eq!(outcome.events.queued, 12);
    assert_eq!(
        outcome.event_type.as_deref(),
        Some("gocardless.payments.confirmed")
    );
    // Twelve events in two SendMessageBatch calls, one aggregated mark call each way.
    let steps: Vec<Step> = outcome.calls.iter().map(|c| c.step).collect();
    assert_eq!(
        steps,
        [
            Step::MarkInProgress,
            Step::QueueSendBatch,
            Step::QueueSendBatch,
            Step::MarkDone
        ]
    );
    let (_, again) = p.serve(inbound, now(), Instant::now() + BUDGET).await;
    assert_eq!(again.events.duplicates, 12);
    assert_eq!(again.events.queued, 0);
}

/// Secrets Manager unreachable at start-up: the function still starts, answers 503 +
/// Retry-After (never 401 or 502) while the secret cannot be read, asks again at most once a
/// second, and verifies as soon as it can (issue 16: the earlier main exited, so API Gateway
/// answered 502).
#[tokio::test]
async fn unread_secrets_are_a_503_until_they_can_be_read() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use inlet::ports::secrets::{FetchSecrets, SecretStore};

    #[derive(Debug, Default)]
    struct State {
        up: AtomicBool,
        asked: AtomicUsize,
    }
    #[derive(Debug)]
    struct Unreachable(Arc<State>);
    impl std::ops::Deref for Unreachable {
        type Target = State;
        fn deref(&self) -> &State {
            &self.0
        }
    }
    impl FetchSecrets for Unreachable {
        fn fetch(
            &self,
        ) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {
                if !self.up.load(Ordering::SeqCst) {
                    return Err(StoreError::transient("connection refused"));
                }
                let key = source("stripe").decode_secret(STRIPE_SECRET).expect("key");
                Ok(SecretSet::new(vec![Secret::new("secretsmanager[0]", key)]).expect("set"))
            })
        }
    }
    let fetcher = Arc::new(State::default());
    let store = SecretStore::unread(
        Box::new(Unreachable(fetcher.clone())),
        Duration::from_secs(60),
    );
    let p = Pipeline::new(
        source("stripe"),
        store,
        Settings::default(),
        MemoryQueue::default(),
    );
    let body = stripe_event("evt_unread", 10);
    let headers = signed("stripe", STRIPE_SECRET, &body, "");
    for _ in 0..3 {
        let reply = deliver(&p, &headers, &body, BUDGET).await;
        assert_eq!(reply.status, 503);
        assert_eq!(reply.header("retry-after"), Some("30"));
        assert_eq!(
            json(&reply)["type"],
            "urn:inlet:problem:verification-unavailable"
        );
    }
    assert_eq!(
        fetcher.asked.load(Ordering::SeqCst),
        1,
        "at most once a second"
    );
    fetcher.up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_050)).await;
    assert_eq!(deliver(&p, &headers, &body, BUDGET).await.status, 202);
    assert_eq!(p.queue().messages().len(), 1);
}
