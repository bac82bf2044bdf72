//! `inlet endpoints`, `inlet publish` and `inlet deliveries`: the outbound side from the command
//! line, against the local store (`--db`, which `inlet serve` delivers from) or, when
//! `ENDPOINTS_TABLE` is set, against a deployment's tables and queues.

pub mod args;
mod aws;

use std::process::ExitCode;

use inlet::outbound::admin::{self, AdminError};
use inlet::outbound::lambda::ENDPOINTS_TABLE;
use inlet::outbound::local::{LocalStore, Requeue};
use inlet::outbound::model::{now, random_id, Body, Endpoint, Event, Millis, State, Task};
use inlet::outbound::ports::{AttemptQuery, Attempts, Endpoints, Tasks};
use inlet::outbound::settings::Outbound;
use inlet::outbound::signing::KeyPair;
use serde_json::{json, Value};

use args::{Command, Deliveries, Parsed, Publish};

pub(crate) fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// An endpoint as `show` and `list` print it: everything but its keys (a v1a endpoint's public
/// key is not secret).
pub fn shown(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "description": e.description,
        "filters": e.filters.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "headers": e.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "enabled": e.enabled(),
        "disabled": e.disabled.map(|d| json!({"reason": d.reason.as_str(), "at": time(d.at)})),
        "rate_limit": e.rate_limit,
        "ordered": e.ordered,
        "rotating": e.previous.as_ref().filter(|p| p.until > now()).map(|p| time(p.until)),
        "public_key": public_key(e),
        "created_at": time(e.created_at),
    })
}

fn public_key(e: &Endpoint) -> Option<String> {
    e.ed25519
        .as_ref()
        .and_then(|k| KeyPair::parse(k.expose()).ok())
        .map(|k| k.public_key().to_string())
}

pub(crate) fn time(at: Millis) -> String {
    humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(at).unwrap_or(0)),
    )
    .to_string()
}

/// Runs an outbound command against the store at `db` (or the deployment ENDPOINTS_TABLE names).
pub fn run(Parsed { command, db }: Parsed) -> Result<ExitCode, String> {
    let env = inlet::config::Env::from_process();
    let outbound = Outbound::from_env(&env).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        if env
            .get(ENDPOINTS_TABLE)
            .is_some_and(|t| !t.trim().is_empty())
        {
            return aws::run(&env, command, outbound.allow_http).await;
        }
        if let Some(parent) = std::path::Path::new(&db).parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let store = LocalStore::open(&db).map_err(|e| format!("{db}: {e}"))?;
        local(&store, command, outbound.allow_http).await
    })
}

pub(crate) fn failed(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn local(store: &LocalStore, command: Command, allow_http: bool) -> Result<ExitCode, String> {
    match command {
        Command::Publish(p) => {
            let event = event(&p)?;
            let fanned = inlet::outbound::worker::publish(store, &event, now())
                .await
                .map_err(failed)?;
            print(
                &json!({"id": event.id, "type": event.ty, "endpoints": fanned.created, "already_published_to": fanned.existing}),
            );
        }
        Command::Test { id, ty } => {
            let endpoint = store
                .get(&id)
                .await
                .map_err(failed)?
                .ok_or(format!("no endpoint {id}"))?;
            send_test(store, &endpoint, ty).await?;
        }
        Command::Deliveries(d) => return deliveries(store, d).await,
        other => endpoints(store, other, allow_http).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `inlet endpoints test`: a test event's task for `endpoint` alone (its filters are not asked),
/// created as fan-out creates tasks, so the delivery path sends it as any other.
pub(crate) async fn send_test<T: Tasks>(
    tasks: &T,
    endpoint: &Endpoint,
    ty: String,
) -> Result<(), String> {
    let event = event(&Publish {
        ty,
        data: Some(json!({"endpoint_id": endpoint.id, "test": true}).to_string()),
        ..Publish::default()
    })?;
    let at = now();
    let task = Task {
        event_id: event.id.clone(),
        event_type: event.ty.clone(),
        endpoint_id: endpoint.id.clone(),
        attempt: 1,
        created_at: at,
        due_at: at,
        body: Body::Inline(String::from_utf8_lossy(&event.body).into_owned()),
        ordered: endpoint.ordered,
    };
    tasks.create(&task).await.map_err(failed)?;
    print(
        &json!({"id": event.id, "type": event.ty, "endpoints": [endpoint.id], "delivery": task.key()}),
    );
    Ok(())
}

/// The endpoint commands, the same for every store.
pub async fn endpoints<E: Endpoints>(
    store: &E,
    command: Command,
    allow_http: bool,
) -> Result<(), String> {
    let at = now();
    let err = |e: AdminError| e.to_string();
    match command {
        Command::Add { settings, v1a } => {
            let e = admin::add(store, settings, v1a, allow_http, at)
                .await
                .map_err(err)?;
            let mut out = shown(&e);
            out["secret"] = json!(e.secret.expose());
            print(&out);
            eprintln!("inlet: keep the secret: it is shown only now (`inlet endpoints rotate-secret` makes a new one)");
        }
        Command::List => {
            let all = Endpoints::list(store).await.map_err(failed)?;
            print(&Value::Array(all.iter().map(shown).collect()));
        }
        Command::Show(id) => {
            let e = store
                .get(&id)
                .await
                .map_err(failed)?
                .ok_or(format!("no endpoint {id}"))?;
            let health = store.health(&id).await.map_err(failed)?;
            let mut out = shown(&e);
            out["health"] = json!({
                "consecutive_failures": health.consecutive_failures,
                "failing_since": health.failing_since.map(time),
                "last_success": health.last_success.map(time),
                "last_failure": health.last_failure.map(time),
            });
            print(&out);
        }
        Command::Update { id, settings } => {
            let e = admin::update(store, &id, settings, allow_http)
                .await
                .map_err(err)?;
            print(&shown(&e));
        }
        Command::Enable(id) => {
            admin::enable(store, &id).await.map_err(err)?;
            print(&json!({"id": id, "enabled": true}));
        }
        Command::Disable(id) => {
            admin::disable(store, &id, at).await.map_err(err)?;
            print(&json!({"id": id, "enabled": false}));
        }
        Command::Delete(id) => {
            admin::delete(store, &id).await.map_err(err)?;
            print(&json!({"id": id, "deleted": true}));
        }
        Command::Rotate {
            id,
            secret,
            overlap_ms,
        } => {
            let e = admin::rotate(store, &id, secret.as_deref(), overlap_ms, at)
                .await
                .map_err(err)?;
            let mut out = shown(&e);
            out["secret"] = json!(e.secret.expose());
            print(&out);
        }
        Command::Publish(_) | Command::Test { .. } | Command::Deliveries(_) => {
            return Err("not an endpoint command".into())
        }
    }
    Ok(())
}

/// The CloudEvent `inlet publish` sends.
pub fn event(p: &Publish) -> Result<Event, String> {
    let data: Value = match (&p.data, &p.file) {
        (Some(_), Some(_)) => return Err("give --data or --file, not both".into()),
        (Some(text), None) => {
            serde_json::from_str(text).map_err(|e| format!("--data is not JSON: {e}"))?
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?
        }
        (None, None) => json!({}),
    };
    let mut event = json!({
        "specversion": "1.0",
        "id": p.id.clone().unwrap_or_else(|| random_id("evt_")),
        "source": p.source.clone().unwrap_or_else(|| "inlet/cli".into()),
        "type": p.ty,
        "time": time(now()),
        "datacontenttype": "application/json",
        "data": data,
    });
    if let Some(subject) = &p.subject {
        event["subject"] = json!(subject);
    }
    Event::parse(event.to_string().into_bytes()).map_err(|e| e.to_string())
}

/// A delivery as `deliveries list` prints it.
pub(crate) fn delivery_row(task: &Task, state: State, parked_reason: Option<&str>) -> Value {
    json!({
        "delivery": task.key(),
        "event": task.event_id,
        "type": task.event_type,
        "endpoint": task.endpoint_id,
        "state": state.as_str(),
        "attempt": task.attempt,
        "due_at": time(task.due_at),
        "parked_reason": parked_reason,
    })
}

/// A delivery as `deliveries show` prints it: with every attempt, oldest first.
pub(crate) fn delivery_shown(
    task: &Task,
    state: State,
    parked_reason: Option<&str>,
    attempts: &[inlet::outbound::model::Attempt],
) -> Value {
    let mut out = delivery_row(task, state, parked_reason);
    out["attempts"] = attempts.iter().rev().map(attempt_json).collect();
    out
}

pub(crate) fn attempt_json(a: &inlet::outbound::model::Attempt) -> Value {
    json!({
        "number": a.number,
        "at": time(a.at),
        "status": a.status,
        "latency_ms": a.latency_ms,
        "verdict": a.verdict,
        "class": a.class,
        "response": a.response,
    })
}

async fn deliveries(store: &LocalStore, command: Deliveries) -> Result<ExitCode, String> {
    match command {
        Deliveries::List {
            endpoint,
            event,
            state,
            limit,
        } => {
            let state = match state.as_deref() {
                None => None,
                Some("pending") => Some(State::Pending),
                Some("delivered") => Some(State::Delivered),
                Some("parked") => Some(State::Parked),
                Some(other) => {
                    return Err(format!(
                        "--state is pending, delivered or parked, not {other:?}"
                    ))
                }
            };
            let tasks = store
                .list_tasks(state, endpoint.as_deref(), limit)
                .await
                .map_err(failed)?;
            let rows: Vec<Value> = tasks
                .iter()
                .filter(|d| event.as_ref().is_none_or(|e| *e == d.task.event_id))
                .map(|d| delivery_row(&d.task, d.state, d.parked_reason.as_deref()))
                .collect();
            print(&Value::Array(rows));
        }
        Deliveries::Show(key) => {
            let d = store
                .get_task(&key)
                .await
                .map_err(failed)?
                .ok_or(format!("no delivery {key}"))?;
            let attempts = Attempts::list(
                store,
                &AttemptQuery {
                    endpoint_id: Some(d.task.endpoint_id.clone()),
                    event_id: Some(d.task.event_id.clone()),
                    limit: 0,
                },
            )
            .await
            .map_err(failed)?;
            print(&delivery_shown(
                &d.task,
                d.state,
                d.parked_reason.as_deref(),
                &attempts,
            ));
        }
        Deliveries::Retry(keys) => {
            let n = store
                .requeue(Requeue::Keys(keys), now())
                .await
                .map_err(failed)?;
            print(&json!({"requeued": n}));
        }
        Deliveries::Replay { since } => {
            let since = since_time(&since)?;
            let n = store
                .requeue(
                    Requeue::Since {
                        since,
                        endpoint_id: None,
                    },
                    now(),
                )
                .await
                .map_err(failed)?;
            print(&json!({"requeued": n}));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--since`: an RFC 3339 time, or a duration back from now.
pub(crate) fn since_time(raw: &str) -> Result<Millis, String> {
    if let Ok(d) = humantime::parse_duration(raw) {
        return Ok(now() - i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    }
    humantime::parse_rfc3339_weak(raw)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| {
            format!("--since takes an RFC 3339 time or a duration such as 2h, got {raw:?}")
        })
}
