//! The ports' contract as scenarios: each runs on the in-memory fakes and on every real adapter,
//! so an adapter keeps exactly the fakes' rules (the rules the core is tested against).

use super::filter::Filter;
use super::model::{
    Attempt, Body, Disabled, DisabledReason, Endpoint, Health, Millis, Previous, SecretText, State,
    Task,
};
use super::ports::{AttemptQuery, Attempts, Endpoints, Settle, Tasks};
use crate::ports::failure::Failure;

/// Hands out a lease on a task that exists and is due, as a worker would get it with the task.
pub(crate) trait Leases: Tasks {
    async fn lease(&self, task: &Task) -> Self::Lease;
}

impl Leases for super::memory::MemoryTasks {
    async fn lease(&self, _: &Task) {}
}

pub(crate) fn endpoint(id: &str) -> Endpoint {
    Endpoint {
        id: id.into(),
        url: format!("https://example.com/{id}"),
        description: "a test endpoint".into(),
        filters: vec![Filter::parse("invoice.*").expect("filter")],
        headers: vec![("x-tenant".into(), "acme".into())],
        disabled: None,
        rate_limit: Some(5),
        ordered: false,
        secret: SecretText::new("whsec_c2VjcmV0"),
        previous: Some(Previous {
            secret: SecretText::new("whsec_b2xk"),
            until: 9_000,
        }),
        ed25519: Some(SecretText::new("whsk_a2V5")),
        created_at: 1,
    }
}

pub(crate) fn task(event_id: &str, endpoint_id: &str, created_at: Millis, due_at: Millis) -> Task {
    Task {
        event_id: event_id.into(),
        event_type: "invoice.paid".into(),
        endpoint_id: endpoint_id.into(),
        attempt: 1,
        created_at,
        due_at,
        body: Body::Inline(format!(r#"{{"id":"{event_id}"}}"#)),
        ordered: false,
    }
}

pub(crate) fn attempt(event_id: &str, endpoint_id: &str, number: u32) -> Attempt {
    Attempt {
        event_id: event_id.into(),
        endpoint_id: endpoint_id.into(),
        number,
        at: i64::from(number) * 1_000,
        status: Some(503),
        latency_ms: 42,
        verdict: "retry".into(),
        class: "http".into(),
        response: "unavailable".into(),
    }
}

pub(crate) async fn endpoints(store: &impl Endpoints) {
    let (e0, mut e1) = (endpoint("ep_0"), endpoint("ep_1"));
    store.create(&e1).await.expect("create");
    let again = store.create(&e1).await.expect_err("the id exists");
    assert_eq!(again.failure, Failure::Permanent);
    store.create(&e0).await.expect("create");
    assert_eq!(store.get("ep_1").await.expect("get"), Some(e1.clone()));
    assert_eq!(store.get("ep_none").await.expect("get"), None);
    assert_eq!(
        store.list().await.expect("list"),
        vec![e0.clone(), e1.clone()]
    );

    // Health: failures count, the first one starts the failing time, a success clears them but
    // keeps when the last failure was.
    assert_eq!(
        store.health("ep_1").await.expect("health"),
        Health::default()
    );
    let h = store.record("ep_1", false, 10).await.expect("record");
    assert_eq!(
        (h.consecutive_failures, h.failing_since, h.last_failure),
        (1, Some(10), Some(10))
    );
    let h = store.record("ep_1", false, 20).await.expect("record");
    assert_eq!(
        (h.consecutive_failures, h.failing_since, h.last_failure),
        (2, Some(10), Some(20))
    );
    assert!(store.acquire_probe("ep_1", 20, 30).await.expect("probe"));
    assert!(!store.acquire_probe("ep_1", 29, 39).await.expect("probe"));
    assert!(store.acquire_probe("ep_1", 30, 40).await.expect("probe"));
    assert_eq!(
        store.health("ep_1").await.expect("health"),
        Health {
            consecutive_failures: 2,
            failing_since: Some(10),
            last_failure: Some(20),
            last_success: None,
            probe_until: Some(40),
        }
    );
    // A failed probe ends its hold: the next probe waits for the cool-down, not the hold.
    let failed = store.record("ep_1", false, 45).await.expect("record");
    assert_eq!((failed.consecutive_failures, failed.probe_until), (3, None));
    assert!(store.acquire_probe("ep_1", 46, 56).await.expect("probe"));
    let cleared = Health {
        last_success: Some(50),
        last_failure: Some(45),
        ..Health::default()
    };
    assert_eq!(
        store.record("ep_1", true, 50).await.expect("record"),
        cleared
    );
    assert_eq!(store.health("ep_1").await.expect("health"), cleared);
    assert!(store.acquire_probe("ep_1", 51, 60).await.expect("probe"));

    // No such endpoint: nothing to count, no probe, default health.
    assert_eq!(
        store.record("ep_none", false, 1).await.expect("record"),
        Health::default()
    );
    assert_eq!(
        store.health("ep_none").await.expect("health"),
        Health::default()
    );
    assert!(!store.acquire_probe("ep_none", 1, 2).await.expect("probe"));

    // An update replaces the settings, never the health.
    store.record("ep_1", false, 70).await.expect("record");
    e1.url = "https://example.com/moved".into();
    e1.ordered = true;
    e1.previous = None;
    assert!(store.update(&e1).await.expect("update"));
    assert_eq!(store.get("ep_1").await.expect("get"), Some(e1.clone()));
    assert_eq!(
        store
            .health("ep_1")
            .await
            .expect("health")
            .consecutive_failures,
        1
    );
    assert!(!store.update(&endpoint("ep_none")).await.expect("update"));

    // Disabling: only the call that switched it off says so.
    let gone = Disabled {
        reason: DisabledReason::Gone,
        at: 80,
    };
    assert!(store.disable("ep_1", gone).await.expect("disable"));
    let operator = Disabled {
        reason: DisabledReason::Operator,
        at: 81,
    };
    assert!(!store.disable("ep_1", operator).await.expect("disable"));
    assert!(!store.disable("ep_none", operator).await.expect("disable"));
    let got = store.get("ep_1").await.expect("get").expect("endpoint");
    assert_eq!(got.disabled, Some(gone));
    assert!(!got.enabled());
    // Enabling forgets the health.
    assert!(store.enable("ep_1").await.expect("enable"));
    assert_eq!(store.get("ep_1").await.expect("get"), Some(e1.clone()));
    assert_eq!(
        store.health("ep_1").await.expect("health"),
        Health::default()
    );
    assert!(!store.enable("ep_none").await.expect("enable"));
    // Enabling an enabled endpoint is no error.
    assert!(store.enable("ep_1").await.expect("enable"));
    // An update never switches an endpoint on or off: a settings change racing a delivery that
    // disables the endpoint cannot bring it back.
    let failing = Disabled {
        reason: DisabledReason::Failing,
        at: 90,
    };
    let mut off = e1.clone();
    off.disabled = Some(failing);
    assert!(store.update(&off).await.expect("update"));
    assert_eq!(store.get("ep_1").await.expect("get"), Some(e1.clone()));
    assert!(store.disable("ep_1", gone).await.expect("disable"));
    off.description = "still off".into();
    off.disabled = None;
    assert!(store.update(&off).await.expect("update"));
    let got = store.get("ep_1").await.expect("get").expect("endpoint");
    assert_eq!(
        (got.description.as_str(), got.disabled),
        ("still off", Some(gone))
    );
    assert!(store.enable("ep_1").await.expect("enable"));

    // Tokens: `limit` a second, per endpoint.
    for (id, now, want) in [
        ("ep_1", 1_000, true),
        ("ep_1", 1_500, true),
        ("ep_0", 1_600, true),
        ("ep_1", 1_999, false),
        ("ep_1", 2_000, true),
        ("ep_1", 2_001, true),
        ("ep_1", 2_999, false),
    ] {
        assert_eq!(
            store.take_token(id, 2, now).await.expect("token"),
            want,
            "{id} at {now}"
        );
    }
    assert!(!store.take_token("ep_0", 0, 5_000).await.expect("token"));

    assert!(store.delete("ep_1").await.expect("delete"));
    assert!(!store.delete("ep_1").await.expect("delete"));
    assert_eq!(store.get("ep_1").await.expect("get"), None);
    assert_eq!(store.list().await.expect("list"), vec![e0]);
}

pub(crate) async fn tasks(store: &impl Leases) {
    let t1 = task("ev_1", "ep_1", 1, 1);
    assert!(store.create(&t1).await.expect("create"));
    assert!(!store.create(&t1).await.expect("create"));
    assert_eq!(
        store.state(&t1.key()).await.expect("state"),
        Some(State::Pending)
    );
    assert_eq!(store.state("ep_1/ev_none").await.expect("state"), None);

    let retry = Settle::Retry {
        attempt: 2,
        due_at: 50,
    };
    let lease = store.lease(&t1).await;
    store.settle(&t1, &lease, retry).await.expect("settle");
    assert_eq!(
        store.state(&t1.key()).await.expect("state"),
        Some(State::Pending)
    );
    let lease = store.lease(&t1).await;
    store
        .settle(&t1, &lease, Settle::Wait { until: 60 })
        .await
        .expect("settle");
    assert_eq!(
        store.state(&t1.key()).await.expect("state"),
        Some(State::Pending)
    );
    let lease = store.lease(&t1).await;
    store
        .settle(&t1, &lease, Settle::Delivered)
        .await
        .expect("settle");
    assert_eq!(
        store.state(&t1.key()).await.expect("state"),
        Some(State::Delivered)
    );
    // Creating it again changes nothing: fan-out is idempotent.
    assert!(!store.create(&t1).await.expect("create"));
    assert_eq!(
        store.state(&t1.key()).await.expect("state"),
        Some(State::Delivered)
    );

    let t2 = task("ev_2", "ep_1", 2, 2);
    assert!(store.create(&t2).await.expect("create"));
    let lease = store.lease(&t2).await;
    let parked = Settle::Parked {
        reason: "exhausted",
    };
    store.settle(&t2, &lease, parked).await.expect("settle");
    assert_eq!(
        store.state(&t2.key()).await.expect("state"),
        Some(State::Parked)
    );

    let t3 = task("ev_3", "ep_2", 3, 3);
    assert!(store.create(&t3).await.expect("create"));
    let lease = store.lease(&t3).await;
    store
        .settle(&t3, &lease, Settle::Dropped)
        .await
        .expect("settle");
    assert_eq!(store.state(&t3.key()).await.expect("state"), None);
    // The key is free again.
    assert!(store.create(&t3).await.expect("create"));
}

pub(crate) async fn attempts(store: &impl Attempts) {
    let all = [
        attempt("ev_1", "ep_1", 1),
        attempt("ev_2", "ep_1", 1),
        attempt("ev_1", "ep_2", 1),
        attempt("ev_1", "ep_1", 2),
    ];
    for a in &all {
        store.record(a, 10_000).await.expect("record");
    }
    let [a1, a2, a3, a4] = all;
    let query = |endpoint: Option<&str>, event: Option<&str>, limit| AttemptQuery {
        endpoint_id: endpoint.map(Into::into),
        event_id: event.map(Into::into),
        limit,
    };
    for (q, want) in [
        (
            query(None, None, 0),
            vec![a4.clone(), a3.clone(), a2.clone(), a1.clone()],
        ),
        (
            query(Some("ep_1"), None, 0),
            vec![a4.clone(), a2.clone(), a1.clone()],
        ),
        (
            query(None, Some("ev_1"), 0),
            vec![a4.clone(), a3.clone(), a1.clone()],
        ),
        (
            query(Some("ep_1"), Some("ev_1"), 0),
            vec![a4.clone(), a1.clone()],
        ),
        (query(None, None, 2), vec![a4.clone(), a3.clone()]),
        (query(Some("ep_1"), None, 1), vec![a4.clone()]),
        (query(Some("ep_none"), None, 0), vec![]),
    ] {
        assert_eq!(store.list(&q).await.expect("list"), want, "{q:?}");
    }
}

mod tests {
    use super::super::memory::{MemoryAttempts, MemoryEndpoints, MemoryTasks};

    #[tokio::test]
    async fn the_memory_fakes_keep_the_contract() {
        super::endpoints(&MemoryEndpoints::default()).await;
        super::tasks(&MemoryTasks::default()).await;
        super::attempts(&MemoryAttempts::default()).await;
    }
}
