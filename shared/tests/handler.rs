//! Handler tests: real API Gateway REST (v1), HTTP API (v2) and function URL event JSON, signed
//! with the development secrets by `inlet event`, through the Lambda adapter into an in-memory queue.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use inlet::config::Settings;
use inlet::core::event::ApiResponse;
use inlet::core::verify::{Secret, SecretSet};
use inlet::ports::queue::{MemoryQueue, QueueError};
use inlet::{Inbound, Pipeline, Source};
use serde_json::Value;
use sha2::Digest;
use tokio::time::Instant;

/// The time the fixtures were signed at.
const SIGNED_AT: u64 = 1_763_800_000;

fn dev_secret(source: &str) -> &'static str {
    match source {
        "github" => "inlet-dev-github-secret",
        "stripe" => "whsec_inlet_dev_stripe_secret",
        "slack" => "inlet-dev-slack-signing-secret",
        "standard" => "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
        other => panic!("no secret for {other}"),
    }
}

fn pipeline(source: &str, queue: MemoryQueue) -> Pipeline<MemoryQueue> {
    let src: &'static Source = inlet::catalogue::sources::by_name(source).expect("source");
    let key = src.decode_secret(dev_secret(source)).expect("secret");
    let secrets = SecretSet::new(vec![Secret::new("WEBHOOK_SECRET", key)]).expect("set");
    Pipeline::new(src, secrets, Settings::default(), queue)
}

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

struct Outcome {
    status: u16,
    content_type: String,
    body: String,
    messages: Vec<inlet::ports::queue::Message>,
}

/// An event through the adapter's decoding and the pipeline, as the Lambda handler runs it,
/// at a chosen `now` (the fixtures' signatures are of a fixed time).
async fn run(p: &Pipeline<MemoryQueue>, event: &str, now: SystemTime) -> ApiResponse {
    let reply = match inlet::core::event::decode(event.as_bytes()) {
        Ok(req) => {
            let inbound = Inbound {
                method: &req.method,
                headers: &req.headers,
                body: &req.body,
                query: &req.query,
                url: req.url.as_deref(),
            };
            p.handle(inbound, now, Instant::now() + Duration::from_secs(5))
                .await
        }
        Err(e) => inlet::core::response::Rejection::InvalidEvent(e).to_reply(),
    };
    ApiResponse::from(reply)
}

async fn invoke(source: &str, event: &str, now: SystemTime) -> Outcome {
    let p = pipeline(source, MemoryQueue::default());
    let resp = run(&p, event, now).await;
    Outcome {
        status: resp.status_code,
        content_type: resp
            .headers
            .get("content-type")
            .cloned()
            .unwrap_or_default(),
        body: resp.body,
        messages: p.queue().messages(),
    }
}

fn envelope(o: &Outcome) -> Value {
    assert_eq!(o.status, 202, "{}", o.body);
    assert_eq!(o.messages.len(), 1);
    serde_json::from_str(&o.messages[0].body).expect("envelope JSON")
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/events/", $name))
    };
}

/// (source, fixture, id, type, subject)
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

#[tokio::test]
async fn every_fixture_is_enqueued_with_a_complete_envelope() {
    let cases: [Expected; 8] = [
        (
            "github",
            fixture!("github-rest-v1.json"),
            "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "github.pull_request.opened",
            Some("octo-org/hello-world"),
        ),
        (
            "github",
            fixture!("github-http-v2-base64.json"),
            "72d3162e-cc78-11e3-81ab-4c9367dc0959",
            "github.pull_request.opened",
            Some("octo-org/hello-world"),
        ),
        (
            "github",
            fixture!("github-function-url-form.json"),
            "72d3162e-cc78-11e3-81ab-4c9367dc0960",
            "github.pull_request.opened",
            Some("octo-org/hello-world"),
        ),
        (
            "stripe",
            fixture!("stripe-http-v2.json"),
            "evt_3PqLmN2eZvKYlo2C0abcDEFg",
            "stripe.payment_intent.succeeded",
            Some("cus_QhGxYzAbCdEfGh"),
        ),
        (
            "stripe",
            fixture!("stripe-rest-v1-base64.json"),
            "evt_3PqLmN2eZvKYlo2C0abcDEFg",
            "stripe.payment_intent.succeeded",
            Some("cus_QhGxYzAbCdEfGh"),
        ),
        (
            "slack",
            fixture!("slack-http-v2-event.json"),
            "Ev123ABC456",
            "slack.event_callback.app_mention",
            Some("C123ABC456"),
        ),
        (
            "slack",
            fixture!("slack-http-v2-slash-command-base64.json"),
            "13345224609.738474920.8088930838d88f008e0",
            "slack.slash_command",
            Some("C2147483705"),
        ),
        (
            "standard",
            fixture!("standard-function-url.json"),
            "msg_2mXyZ0123456789abcdef",
            "standard.order.created",
            None,
        ),
    ];
    for (source, event, id, ty, subject) in cases {
        let o = invoke(source, event, at(SIGNED_AT + 10)).await;
        let e = envelope(&o);
        assert_eq!(e["specversion"], "1.0");
        assert_eq!(e["id"], id, "{source}");
        assert_eq!(e["source"], source);
        assert_eq!(e["type"], ty);
        assert_eq!(e["subject"].as_str(), subject, "{source}");
        assert_eq!(e["datacontenttype"], "application/json");
        assert!(e["data"].is_object(), "{source}: data is JSON");
        assert!(e.get("data_base64").is_none());
        assert_eq!(e["inletsecret"], "WEBHOOK_SECRET");
        assert_eq!(e["inletbodysha256"].as_str().map(str::len), Some(64));
        assert!(e["inletreceivedat"]
            .as_str()
            .is_some_and(|t| t.starts_with("2025-11-22T")));
        let reply: Value = serde_json::from_str(&o.body).expect("reply JSON");
        assert_eq!(reply["id"], id);
        let m = &o.messages[0];
        assert_eq!((m.source.as_str(), m.event_type.as_str()), (source, ty));
    }
}

#[tokio::test]
async fn body_hash_is_of_the_raw_bytes_after_one_base64_decode() {
    let o = invoke(
        "github",
        fixture!("github-http-v2-base64.json"),
        at(SIGNED_AT),
    )
    .await;
    let e = envelope(&o);
    let raw = include_bytes!("../../tests/fixtures/bodies/github.json");
    assert_eq!(e["inletbodysha256"], hex::encode(sha2::Sha256::digest(raw)));
    assert_eq!(e["inletverification"], "github-hmac-sha256");
    // JSON data is the payload as sent, not re-serialized.
    assert_eq!(e["data"]["pull_request"]["title"], "Add webhook receiver");
}

#[tokio::test]
async fn slack_forms_become_json_and_times_come_from_the_provider() {
    let o = invoke(
        "slack",
        fixture!("slack-http-v2-slash-command-base64.json"),
        at(SIGNED_AT),
    )
    .await;
    let e = envelope(&o);
    assert_eq!(e["data"]["command"], "/weather");
    assert_eq!(
        e["data"]["response_url"],
        "https://hooks.slack.com/commands/1234/5678"
    );
    let o = invoke("slack", fixture!("slack-http-v2-event.json"), at(SIGNED_AT)).await;
    assert_eq!(envelope(&o)["time"], "2018-01-08T22:12:02.000Z");
    let o = invoke("stripe", fixture!("stripe-http-v2.json"), at(SIGNED_AT)).await;
    assert_eq!(envelope(&o)["time"], "2024-11-22T18:26:40.000Z");
}

#[tokio::test]
async fn slack_url_verification_is_answered_and_not_enqueued() {
    let o = invoke(
        "slack",
        fixture!("slack-rest-v1-url-verification.json"),
        at(SIGNED_AT),
    )
    .await;
    assert_eq!(o.status, 200);
    assert_eq!(
        o.body,
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    assert!(o.content_type.starts_with("text/plain"));
    assert!(o.messages.is_empty());
}

type Bad = (&'static str, String, &'static str, u64, u16, &'static str);

#[tokio::test]
async fn rejected_requests_are_problems_and_never_enqueued() {
    let github_v2: Value =
        serde_json::from_str(fixture!("github-http-v2-base64.json")).expect("json");
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut e = github_v2.clone();
        f(&mut e);
        e.to_string()
    };
    let drop_header = |name: &'static str| {
        edit(&move |e| {
            e["headers"].as_object_mut().expect("headers").remove(name);
        })
    };
    let cases: Vec<Bad> = vec![
        (
            "wrong secret",
            fixture!("standard-http-v2-wrong-secret.json").to_owned(),
            "standard",
            SIGNED_AT,
            401,
            "invalid-signature",
        ),
        (
            "tampered body",
            edit(&|e| {
                e["body"] = Value::String(e["body"].as_str().expect("b").replacen('e', "f", 1))
            }),
            "github",
            SIGNED_AT,
            401,
            "invalid-signature",
        ),
        (
            "no signature",
            drop_header("x-hub-signature-256"),
            "github",
            SIGNED_AT,
            401,
            "invalid-signature",
        ),
        (
            "GET",
            edit(&|e| e["requestContext"]["http"]["method"] = "GET".into()),
            "github",
            SIGNED_AT,
            405,
            "method-not-allowed",
        ),
        (
            "no event header",
            drop_header("x-github-event"),
            "github",
            SIGNED_AT,
            400,
            "missing-header",
        ),
        (
            "wrong content type",
            edit(&|e| e["headers"]["content-type"] = "text/plain".into()),
            "github",
            SIGNED_AT,
            415,
            "unsupported-media-type",
        ),
        (
            "stale stripe",
            fixture!("stripe-http-v2.json").to_owned(),
            "stripe",
            SIGNED_AT + 301,
            400,
            "timestamp-out-of-tolerance",
        ),
        (
            "future slack",
            fixture!("slack-http-v2-event.json").to_owned(),
            "slack",
            SIGNED_AT - 301,
            400,
            "timestamp-out-of-tolerance",
        ),
    ];
    for (name, event, source, now, status, problem) in cases {
        let o = invoke(source, &event, at(now)).await;
        assert_eq!(o.status, status, "{name}: {}", o.body);
        assert_eq!(o.content_type, "application/problem+json", "{name}");
        let p: Value = serde_json::from_str(&o.body).expect("problem JSON");
        assert_eq!(p["type"], format!("urn:inlet:problem:{problem}"), "{name}");
        assert_eq!(p["status"], status);
        assert!(o.messages.is_empty(), "{name}: nothing enqueued");
    }
}

#[tokio::test]
async fn queue_failure_is_a_503_with_retry_after() {
    let p = pipeline(
        "stripe",
        MemoryQueue::failing(QueueError::transient("throttled")),
    );
    let resp = run(&p, fixture!("stripe-http-v2.json"), at(SIGNED_AT)).await;
    assert_eq!(resp.status_code, 503);
    assert_eq!(
        resp.headers.get("retry-after").map(String::as_str),
        Some("30")
    );
}

#[tokio::test]
async fn rest_api_repeated_headers_are_all_seen() {
    let v1: Value = serde_json::from_str(fixture!("github-rest-v1.json")).expect("json");
    // A second signature value in multiValueHeaders: which one was meant is not guessed at.
    let mut twice = v1.clone();
    let sig = twice["headers"]["X-Hub-Signature-256"].clone();
    twice["multiValueHeaders"]["X-Hub-Signature-256"] =
        serde_json::json!([format!("sha256={}", "0".repeat(64)), sig]);
    let o = invoke("github", &twice.to_string(), at(SIGNED_AT)).await;
    assert_eq!(o.status, 401, "{}", o.body);
    // A repeated event header, after the signature checks out: 400, not the first value.
    let mut events = v1.clone();
    events["multiValueHeaders"]["X-GitHub-Event"] = serde_json::json!(["pull_request", "push"]);
    let o = invoke("github", &events.to_string(), at(SIGNED_AT)).await;
    assert_eq!(o.status, 400, "{}", o.body);
    let p: Value = serde_json::from_str(&o.body).expect("problem");
    assert_eq!(p["type"], "urn:inlet:problem:duplicate-header");
    assert!(o.messages.is_empty());
}

#[tokio::test]
async fn invalid_base64_is_a_400_not_a_panic() {
    let mut event: Value =
        serde_json::from_str(fixture!("github-http-v2-base64.json")).expect("json");
    event["body"] = "not base64!".into();
    let o = invoke("github", &event.to_string(), at(SIGNED_AT)).await;
    assert_eq!(o.status, 400);
    let p: Value = serde_json::from_str(&o.body).expect("problem");
    assert_eq!(p["type"], "urn:inlet:problem:invalid-event");
    assert!(o.messages.is_empty());
}
