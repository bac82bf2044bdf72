//! The outbound side's local store, for `inlet serve`: endpoints and their health, delivery tasks
//! and the attempt log in one SQLite file, with the in-memory fakes' rules (`memory`), which the
//! core is tested against.
//!
//! The file is the user's own, on their machine: endpoints' signing secrets are kept in it as
//! they are (the AWS adapter has KMS; here there is nothing to hold a key the file does not sit
//! beside). It is created readable and writable by its owner only (0600 on Unix; SQLite gives
//! its WAL files the same), and a file that exists keeps the permissions its owner gave it;
//! whoever can read it can sign as Inlet.
//!
//! Every change is one SQLite transaction, committed before the call returns, so a task that
//! fan-out created survives a crash, and the CLI (`inlet deliveries …`) can work on the file
//! while `inlet serve` runs (WAL: readers do not block the writer; writers wait `BUSY_TIMEOUT`).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};

use super::model::{
    Attempt, Body, Disabled, DisabledReason, Endpoint, Health, Millis, State, Task,
};
use super::ports::{AttemptQuery, Attempts, Endpoints, Settle, Tasks};
use crate::ports::failure::StoreError;

/// The schema this code reads and writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

/// How long a write waits for another process's (the CLI's) write to end before it fails as
/// transient.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Version 1. Endpoints: columns for what queries touch (ordered, disabled, health), the rest of
/// the settings as the model's JSON. Tasks: one row per `Task::key`, with the lease (a token from
/// the `lease` counter, so a worker whose lease was taken over cannot settle) and `seq`, the
/// insertion order that breaks ties in `created_at` for ordered endpoints.
const SCHEMA: &str = "
CREATE TABLE endpoints (
    id TEXT PRIMARY KEY NOT NULL,
    settings TEXT NOT NULL,
    ordered INTEGER NOT NULL,
    disabled_reason TEXT,
    disabled_at INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since INTEGER,
    last_failure INTEGER,
    last_success INTEGER,
    probe_until INTEGER
) STRICT;
CREATE TABLE rate_windows (
    endpoint_id TEXT NOT NULL,
    second INTEGER NOT NULL,
    taken INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, second)
) STRICT, WITHOUT ROWID;
CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,
    task_key TEXT NOT NULL UNIQUE,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'parked')),
    parked_reason TEXT,
    attempt INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    body_kind TEXT NOT NULL CHECK (body_kind IN ('inline', 'stored')),
    body TEXT NOT NULL,
    lease INTEGER NOT NULL DEFAULT 0,
    leased_until INTEGER
) STRICT;
CREATE INDEX tasks_due ON tasks (state, due_at);
CREATE INDEX tasks_endpoint ON tasks (endpoint_id, state, created_at);
CREATE TABLE attempts (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    verdict TEXT NOT NULL,
    class TEXT NOT NULL,
    response TEXT NOT NULL,
    expires INTEGER NOT NULL
) STRICT;
CREATE INDEX attempts_endpoint ON attempts (endpoint_id, seq);
CREATE INDEX attempts_event ON attempts (event_id, seq);
CREATE INDEX attempts_expires ON attempts (expires);
CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('lease', 0);
";

/// A pending task may be handed out by `due`: the endpoint is not ordered (or is gone: the worker
/// drops the task), or the task is its endpoint's oldest pending one. `t` is the task, `e` its
/// endpoint (left-joined).
const HEAD_OR_UNORDERED: &str = "(COALESCE(e.ordered, 0) = 0 OR NOT EXISTS (
    SELECT 1 FROM tasks o WHERE o.endpoint_id = t.endpoint_id AND o.state = 'pending'
    AND (o.created_at < t.created_at OR (o.created_at = t.created_at AND o.seq < t.seq))))";

const TASK_COLUMNS: &str =
    "t.event_id, t.event_type, t.endpoint_id, t.attempt, t.created_at, t.due_at, t.body_kind, t.body";

const HEALTH_COLUMNS: &str =
    "consecutive_failures, failing_since, last_failure, last_success, probe_until";

/// The local store. Cheap to share (`Arc` inside); one per file per process.
///
/// rusqlite is blocking, so every call runs on tokio's blocking pool (`spawn_blocking`) holding
/// the one connection: a commit fsyncs (`synchronous=FULL`), and a write can wait up to
/// `BUSY_TIMEOUT` for the CLI's, neither of which may stall the runtime's worker threads that
/// are serving webhooks. The mutex also makes each call's statements one unit within the process.
#[derive(Debug, Clone)]
pub struct LocalStore {
    conn: Arc<Mutex<Connection>>,
}

/// What `due` handed out with a task: the task's key and the lease token it was given. A settle
/// with a token the row no longer holds (its lease ran out and another worker took the task) does
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    key: String,
    token: i64,
}

/// A task as `inlet deliveries list|show` see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub task: Task,
    pub state: State,
    /// Why it was parked, while it is.
    pub parked_reason: Option<String>,
    /// While a worker holds it.
    pub leased_until: Option<Millis>,
}

/// Which parked tasks `requeue` puts back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requeue {
    /// These tasks (`Task::key`), those of them that are parked.
    Keys(Vec<String>),
    /// Every parked task created at or after `since`, of one endpoint or of all.
    Since {
        since: Millis,
        endpoint_id: Option<String>,
    },
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A rusqlite error as a `StoreError`: transient where waiting can help (another writer holds
/// the file, an I/O error, a full disk), permanent otherwise. The message names what was being
/// done and SQLite's error code, never SQLite's own text (which can quote a value) nor any data.
fn sql_error(doing: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match &e {
        rusqlite::Error::SqliteFailure(f, _) => {
            let detail = format!("the local store could not {doing}: {:?}", f.code);
            match f.code {
                ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull => StoreError::transient(detail),
                _ => StoreError::permanent(detail),
            }
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::Utf8Error(..) => StoreError::permanent(format!(
            "the local store could not {doing}: a stored value is not what this version of Inlet \
             writes"
        )),
        _ => StoreError::permanent(format!(
            "the local store could not {doing}: an unexpected database error"
        )),
    }
}

/// A column holding a name this version does not know.
#[derive(Debug, thiserror::Error)]
#[error("an unknown value")]
struct Unknown;

fn unknown(column: usize) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(Unknown))
}

fn state_at(row: &Row<'_>, column: usize) -> rusqlite::Result<State> {
    match row.get_ref(column)?.as_str()? {
        "pending" => Ok(State::Pending),
        "delivered" => Ok(State::Delivered),
        "parked" => Ok(State::Parked),
        _ => Err(unknown(column)),
    }
}

/// A task from `TASK_COLUMNS` starting at `at`.
fn task_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Task> {
    let text: String = row.get(at + 7)?;
    let body = match row.get_ref(at + 6)?.as_str()? {
        "inline" => Body::Inline(text),
        "stored" => Body::Stored(text),
        _ => return Err(unknown(at + 6)),
    };
    Ok(Task {
        event_id: row.get(at)?,
        event_type: row.get(at + 1)?,
        endpoint_id: row.get(at + 2)?,
        attempt: row.get(at + 3)?,
        created_at: row.get(at + 4)?,
        due_at: row.get(at + 5)?,
        body,
        // Which queue a task goes to is an SQS matter: here the endpoint's own flag orders `due`.
        ordered: false,
    })
}

fn health_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Health> {
    Ok(Health {
        consecutive_failures: row.get(at)?,
        failing_since: row.get(at + 1)?,
        last_failure: row.get(at + 2)?,
        last_success: row.get(at + 3)?,
        probe_until: row.get(at + 4)?,
    })
}

/// The endpoint's settings as stored: the model's JSON without `disabled`, which columns hold.
fn settings(endpoint: &Endpoint) -> Result<String, StoreError> {
    serde_json::to_string(&Endpoint {
        disabled: None,
        ..endpoint.clone()
    })
    .map_err(|_| StoreError::permanent("the local store could not encode an endpoint"))
}

/// An endpoint from `settings, disabled_reason, disabled_at`.
fn endpoint_at(row: &Row<'_>) -> rusqlite::Result<Endpoint> {
    let settings = row.get_ref(0)?.as_str()?;
    let mut endpoint: Endpoint = serde_json::from_str(settings)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(e)))?;
    endpoint.disabled = match row.get_ref(1)?.as_str_or_null()? {
        None => None,
        Some(reason) => Some(Disabled {
            reason: DisabledReason::parse(reason).ok_or_else(|| unknown(1))?,
            at: row.get(2)?,
        }),
    };
    Ok(endpoint)
}

fn attempt_at(row: &Row<'_>) -> rusqlite::Result<Attempt> {
    Ok(Attempt {
        event_id: row.get(0)?,
        endpoint_id: row.get(1)?,
        number: row.get(2)?,
        at: row.get(3)?,
        status: row.get(4)?,
        latency_ms: u64::try_from(row.get::<_, i64>(5)?).unwrap_or_default(),
        verdict: row.get(6)?,
        class: row.get(7)?,
        response: row.get(8)?,
    })
}

/// SQLite's `LIMIT` for a count where 0 means no limit.
fn limit_or_all(limit: usize) -> i64 {
    if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

/// Takes `n` fresh lease tokens from the counter: the last of them is returned.
fn take_tokens(tx: &rusqlite::Transaction<'_>, n: i64) -> rusqlite::Result<i64> {
    tx.query_row(
        "UPDATE counters SET value = value + ?1 WHERE name = 'lease' RETURNING value",
        [n],
        |row| row.get(0),
    )
}

impl LocalStore {
    /// Opens (creating it, its directory and its schema if need be) the store at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| {
            StoreError::permanent(format!(
                "cannot create the local store {}: {}",
                path.display(),
                e.kind()
            ))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        // Created here, owner-only, before SQLite opens it: SQLite would create it with the
        // umask's permissions, and gives its WAL and shared-memory files the database's.
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(path).map_err(io)?;

        let mut conn = Connection::open(path).map_err(sql_error("open its file"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql_error("set its busy timeout"))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
            .map_err(sql_error("switch to WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::permanent(
                "the local store's file system does not support SQLite's WAL mode",
            ));
        }
        // FULL, not NORMAL: in WAL mode NORMAL survives a crash of the process but may lose the
        // last commits to a power cut or an OS crash, and a 202 for a publish promises that the
        // event's tasks are kept. FULL fsyncs the WAL at every commit, which at a local server's
        // rates costs little.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql_error("set synchronous=FULL"))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || f(&mut locked(&conn)))
            .await
            .map_err(|_| StoreError::transient("the local store's worker thread stopped"))?
    }

    /// Leases up to `limit` pending tasks that are due at `now` and not leased, oldest due first,
    /// each until `now + lease_ms`; a task whose lease runs out (its worker crashed) is handed
    /// out again. An ordered endpoint's tasks go one at a time in the order they were created:
    /// only its oldest pending task, and only while none of its tasks is leased, even when a
    /// later task is due before it.
    pub async fn due(
        &self,
        now: Millis,
        limit: usize,
        lease_ms: i64,
    ) -> Result<Vec<(Task, Lease)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error("begin leasing tasks"))?;
            let rows: Vec<(i64, String, Task)> = {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "SELECT t.seq, t.task_key, {TASK_COLUMNS} FROM tasks t
                         LEFT JOIN endpoints e ON e.id = t.endpoint_id
                         WHERE t.state = 'pending' AND t.due_at <= ?1
                         AND (t.leased_until IS NULL OR t.leased_until <= ?1)
                         AND {HEAD_OR_UNORDERED}
                         AND (COALESCE(e.ordered, 0) = 0 OR NOT EXISTS (
                             SELECT 1 FROM tasks o WHERE o.endpoint_id = t.endpoint_id
                             AND o.state = 'pending' AND o.leased_until > ?1))
                         ORDER BY t.due_at, t.created_at, t.seq
                         LIMIT ?2"
                    ))
                    .map_err(sql_error("find due tasks"))?;
                let rows = stmt
                    .query_map(params![now, limit], |row| {
                        Ok((row.get(0)?, row.get(1)?, task_at(row, 2)?))
                    })
                    .map_err(sql_error("find due tasks"))?;
                rows.collect::<Result<_, _>>()
                    .map_err(sql_error("read due tasks"))?
            };
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            let last = take_tokens(&tx, count).map_err(sql_error("take lease tokens"))?;
            let until = now.saturating_add(lease_ms);
            let mut leased = Vec::with_capacity(rows.len());
            {
                let mut stmt = tx
                    .prepare_cached("UPDATE tasks SET lease = ?1, leased_until = ?2 WHERE seq = ?3")
                    .map_err(sql_error("lease a task"))?;
                for (token, (seq, key, task)) in (last - count + 1..).zip(rows) {
                    stmt.execute(params![token, until, seq])
                        .map_err(sql_error("lease a task"))?;
                    leased.push((task, Lease { key, token }));
                }
            }
            tx.commit().map_err(sql_error("commit leased tasks"))?;
            Ok(leased)
        })
        .await
    }

    /// When `due` will next have something to hand out (it may be in the past: now), or `None`
    /// when no task is pending.
    pub async fn next_due(&self) -> Result<Option<Millis>, StoreError> {
        self.run(|conn| {
            conn.query_row(
                &format!(
                    "SELECT MIN(MAX(t.due_at, COALESCE(CASE WHEN COALESCE(e.ordered, 0) = 0
                         THEN t.leased_until
                         ELSE (SELECT MAX(o.leased_until) FROM tasks o
                               WHERE o.endpoint_id = t.endpoint_id AND o.state = 'pending')
                         END, t.due_at)))
                     FROM tasks t LEFT JOIN endpoints e ON e.id = t.endpoint_id
                     WHERE t.state = 'pending' AND {HEAD_OR_UNORDERED}"
                ),
                [],
                |row| row.get(0),
            )
            .map_err(sql_error("find when the next task is due"))
        })
        .await
    }

    /// Tasks, newest first, of one state and endpoint or of all; `limit` 0 lists every one.
    pub async fn list_tasks(
        &self,
        state: Option<State>,
        endpoint_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let endpoint_id = endpoint_id.map(str::to_owned);
        self.run(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {TASK_COLUMNS}, t.state, t.parked_reason, t.leased_until FROM tasks t
                     WHERE (?1 IS NULL OR t.state = ?1) AND (?2 IS NULL OR t.endpoint_id = ?2)
                     ORDER BY t.created_at DESC, t.seq DESC LIMIT ?3"
                ))
                .map_err(sql_error("list tasks"))?;
            let rows = stmt
                .query_map(
                    params![state.map(State::as_str), endpoint_id, limit_or_all(limit)],
                    delivery_at,
                )
                .map_err(sql_error("list tasks"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sql_error("read tasks"))
        })
        .await
    }

    /// The task with this key (`Task::key`), and where it stands.
    pub async fn get_task(&self, key: &str) -> Result<Option<Delivery>, StoreError> {
        let key = key.to_owned();
        self.run(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {TASK_COLUMNS}, t.state, t.parked_reason, t.leased_until FROM tasks t
                     WHERE t.task_key = ?1"
                ),
                [key],
                delivery_at,
            )
            .optional()
            .map_err(sql_error("read a task"))
        })
        .await
    }

    /// Puts parked tasks back to pending, due at `now` for a first attempt again (`inlet
    /// deliveries retry|replay`); how many it put back. Tasks that are not parked are left as
    /// they are.
    pub async fn requeue(&self, which: Requeue, now: Millis) -> Result<usize, StoreError> {
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error("begin requeueing tasks"))?;
            // A fresh token: whoever held the task before holds it no more.
            let token = take_tokens(&tx, 1).map_err(sql_error("take a lease token"))?;
            const SET: &str = "UPDATE tasks SET state = 'pending', parked_reason = NULL,
                attempt = 1, due_at = ?1, lease = ?2, leased_until = NULL
                WHERE state = 'parked'";
            let count = match which {
                Requeue::Keys(keys) => {
                    let mut stmt = tx
                        .prepare_cached(&format!("{SET} AND task_key = ?3"))
                        .map_err(sql_error("requeue a task"))?;
                    let mut count = 0;
                    for key in keys {
                        count += stmt
                            .execute(params![now, token, key])
                            .map_err(sql_error("requeue a task"))?;
                    }
                    count
                }
                Requeue::Since { since, endpoint_id } => tx
                    .execute(
                        &format!("{SET} AND created_at >= ?3 AND (?4 IS NULL OR endpoint_id = ?4)"),
                        params![now, token, since, endpoint_id],
                    )
                    .map_err(sql_error("requeue tasks"))?,
            };
            tx.commit().map_err(sql_error("commit requeued tasks"))?;
            Ok(count)
        })
        .await
    }

    /// Deletes the attempts whose time to be kept ended at or before `now`; how many.
    pub async fn prune(&self, now: Millis) -> Result<usize, StoreError> {
        self.run(move |conn| {
            conn.execute("DELETE FROM attempts WHERE expires <= ?1", [now])
                .map_err(sql_error("prune the attempt log"))
        })
        .await
    }
}

fn delivery_at(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        task: task_at(row, 0)?,
        state: state_at(row, 8)?,
        parked_reason: row.get(9)?,
        leased_until: row.get(10)?,
    })
}

/// Creates the schema in a new file, and refuses a file a newer version wrote.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql_error("begin creating its schema"))?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sql_error("read its schema version"))?;
    match version {
        0 => {
            tx.execute_batch(SCHEMA)
                .map_err(sql_error("create its schema"))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql_error("set its schema version"))?;
        }
        SCHEMA_VERSION => {}
        newer => {
            return Err(StoreError::permanent(format!(
                "the local store's schema is version {newer}, newer than this Inlet's \
                 {SCHEMA_VERSION}: run a newer Inlet, or point it at another file"
            )))
        }
    }
    tx.commit().map_err(sql_error("commit its schema"))
}

impl Endpoints for LocalStore {
    async fn create(&self, endpoint: &Endpoint) -> Result<(), StoreError> {
        let settings = settings(endpoint)?;
        let (id, ordered, disabled) = (endpoint.id.clone(), endpoint.ordered, endpoint.disabled);
        self.run(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO endpoints (id, settings, ordered, disabled_reason, disabled_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
                    params![
                        id,
                        settings,
                        ordered,
                        disabled.map(|d| d.reason.as_str()),
                        disabled.map(|d| d.at)
                    ],
                )
                .map_err(sql_error("store an endpoint"))?;
            if inserted == 0 {
                return Err(StoreError::permanent("an endpoint with this id exists"));
            }
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<Endpoint>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            conn.query_row(
                "SELECT settings, disabled_reason, disabled_at FROM endpoints WHERE id = ?1",
                [id],
                endpoint_at,
            )
            .optional()
            .map_err(sql_error("read an endpoint"))
        })
        .await
    }

    async fn list(&self) -> Result<Vec<Endpoint>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT settings, disabled_reason, disabled_at FROM endpoints ORDER BY id",
                )
                .map_err(sql_error("list endpoints"))?;
            let rows = stmt
                .query_map([], endpoint_at)
                .map_err(sql_error("list endpoints"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sql_error("read endpoints"))
        })
        .await
    }

    async fn update(&self, endpoint: &Endpoint) -> Result<bool, StoreError> {
        let settings = settings(endpoint)?;
        let (id, ordered) = (endpoint.id.clone(), endpoint.ordered);
        self.run(move |conn| {
            let updated = conn
                .execute(
                    "UPDATE endpoints SET settings = ?2, ordered = ?3 WHERE id = ?1",
                    params![id, settings, ordered],
                )
                .map_err(sql_error("update an endpoint"))?;
            Ok(updated > 0)
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let deleted = conn
                .execute("DELETE FROM endpoints WHERE id = ?1", [id])
                .map_err(sql_error("delete an endpoint"))?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn disable(&self, id: &str, disabled: Disabled) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let switched = conn
                .execute(
                    "UPDATE endpoints SET disabled_reason = ?2, disabled_at = ?3
                     WHERE id = ?1 AND disabled_reason IS NULL",
                    params![id, disabled.reason.as_str(), disabled.at],
                )
                .map_err(sql_error("disable an endpoint"))?;
            Ok(switched > 0)
        })
        .await
    }

    async fn enable(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let enabled = conn
                .execute(
                    "UPDATE endpoints SET disabled_reason = NULL, disabled_at = NULL,
                     consecutive_failures = 0, failing_since = NULL, last_failure = NULL,
                     last_success = NULL, probe_until = NULL WHERE id = ?1",
                    [id],
                )
                .map_err(sql_error("enable an endpoint"))?;
            Ok(enabled > 0)
        })
        .await
    }

    async fn health(&self, id: &str) -> Result<Health, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("SELECT {HEALTH_COLUMNS} FROM endpoints WHERE id = ?1"),
                    [id],
                    |row| health_at(row, 0),
                )
                .optional()
                .map_err(sql_error("read an endpoint's health"))?
                .unwrap_or_default())
        })
        .await
    }

    async fn record(&self, id: &str, success: bool, now: Millis) -> Result<Health, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            // One statement: atomic however many deliveries (or processes) record at once.
            let set = if success {
                "consecutive_failures = 0, failing_since = NULL, probe_until = NULL,
                 last_success = ?2"
            } else {
                "consecutive_failures = consecutive_failures + 1,
                 failing_since = COALESCE(failing_since, ?2), last_failure = ?2, probe_until = NULL"
            };
            Ok(conn
                .query_row(
                    &format!("UPDATE endpoints SET {set} WHERE id = ?1 RETURNING {HEALTH_COLUMNS}"),
                    params![id, now],
                    |row| health_at(row, 0),
                )
                .optional()
                .map_err(sql_error("record an endpoint's health"))?
                .unwrap_or_default())
        })
        .await
    }

    async fn acquire_probe(
        &self,
        id: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let taken = conn
                .execute(
                    "UPDATE endpoints SET probe_until = ?3
                     WHERE id = ?1 AND (probe_until IS NULL OR probe_until <= ?2)",
                    params![id, now, until],
                )
                .map_err(sql_error("take an endpoint's probe"))?;
            Ok(taken > 0)
        })
        .await
    }

    async fn take_token(&self, id: &str, limit: u32, now: Millis) -> Result<bool, StoreError> {
        if limit == 0 {
            return Ok(false);
        }
        let id = id.to_owned();
        let second = now.div_euclid(1000);
        self.run(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error("begin taking a token"))?;
            // Windows before the previous second are over for every caller.
            tx.execute(
                "DELETE FROM rate_windows WHERE second < ?1",
                [second.saturating_sub(1)],
            )
            .map_err(sql_error("prune rate windows"))?;
            let taken = tx
                .execute(
                    "INSERT INTO rate_windows (endpoint_id, second, taken) VALUES (?1, ?2, 1)
                     ON CONFLICT (endpoint_id, second) DO UPDATE SET taken = taken + 1
                     WHERE taken < ?3",
                    params![id, second, limit],
                )
                .map_err(sql_error("take a token"))?;
            tx.commit().map_err(sql_error("commit a token"))?;
            Ok(taken > 0)
        })
        .await
    }
}

impl Tasks for LocalStore {
    type Lease = Lease;

    async fn create(&self, task: &Task) -> Result<bool, StoreError> {
        let task = task.clone();
        self.run(move |conn| {
            let (kind, body) = match &task.body {
                Body::Inline(text) => ("inline", text),
                Body::Stored(text) => ("stored", text),
            };
            let created = conn
                .execute(
                    "INSERT INTO tasks (task_key, endpoint_id, event_id, event_type, state,
                     attempt, created_at, due_at, body_kind, body)
                     VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (task_key) DO NOTHING",
                    params![
                        task.key(),
                        task.endpoint_id,
                        task.event_id,
                        task.event_type,
                        task.attempt,
                        task.created_at,
                        task.due_at,
                        kind,
                        body
                    ],
                )
                .map_err(sql_error("store a task"))?;
            Ok(created > 0)
        })
        .await
    }

    async fn state(&self, key: &str) -> Result<Option<State>, StoreError> {
        let key = key.to_owned();
        self.run(move |conn| {
            conn.query_row(
                "SELECT state FROM tasks WHERE task_key = ?1",
                [key],
                |row| state_at(row, 0),
            )
            .optional()
            .map_err(sql_error("read a task's state"))
        })
        .await
    }

    /// Applies `settle` if the task still holds `lease`; otherwise (another worker took the task
    /// over, an operator requeued it, or it is gone) does nothing, so a stale worker never
    /// overwrites a newer state. Every settlement ends the lease.
    async fn settle(&self, task: &Task, lease: &Lease, settle: Settle) -> Result<(), StoreError> {
        if lease.key != task.key() {
            return Err(StoreError::permanent(
                "a task was settled with another task's lease",
            ));
        }
        let Lease { key, token } = lease.clone();
        self.run(move |conn| {
            let changed = match settle {
                Settle::Delivered => conn.execute(
                    "UPDATE tasks SET state = 'delivered', parked_reason = NULL,
                     leased_until = NULL WHERE task_key = ?1 AND lease = ?2",
                    params![key, token],
                ),
                Settle::Parked { reason } => conn.execute(
                    "UPDATE tasks SET state = 'parked', parked_reason = ?3, leased_until = NULL
                     WHERE task_key = ?1 AND lease = ?2",
                    params![key, token, reason],
                ),
                Settle::Retry { attempt, due_at } => conn.execute(
                    "UPDATE tasks SET attempt = ?3, due_at = ?4, leased_until = NULL
                     WHERE task_key = ?1 AND lease = ?2",
                    params![key, token, attempt, due_at],
                ),
                // The lease ends too, or the task would wait for it rather than for `until`.
                Settle::Wait { until } => conn.execute(
                    "UPDATE tasks SET due_at = ?3, leased_until = NULL
                     WHERE task_key = ?1 AND lease = ?2",
                    params![key, token, until],
                ),
                Settle::Dropped => conn.execute(
                    "DELETE FROM tasks WHERE task_key = ?1 AND lease = ?2",
                    params![key, token],
                ),
                // `due` hands out pending tasks only, so there is no second copy to let go.
                Settle::Duplicate => Ok(0),
            }
            .map_err(sql_error("settle a task"))?;
            if changed == 0 {
                tracing::debug!(task = %key, "a settle with a stale lease did nothing");
            }
            Ok(())
        })
        .await
    }
}

impl Attempts for LocalStore {
    async fn record(&self, attempt: &Attempt, expires: Millis) -> Result<(), StoreError> {
        let a = attempt.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO attempts (event_id, endpoint_id, number, at, status, latency_ms,
                 verdict, class, response, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    a.event_id,
                    a.endpoint_id,
                    a.number,
                    a.at,
                    a.status,
                    i64::try_from(a.latency_ms).unwrap_or(i64::MAX),
                    a.verdict,
                    a.class,
                    a.response,
                    expires
                ],
            )
            .map_err(sql_error("record an attempt"))?;
            Ok(())
        })
        .await
    }

    async fn list(&self, query: &AttemptQuery) -> Result<Vec<Attempt>, StoreError> {
        let query = query.clone();
        self.run(move |conn| {
            // A statement per filter, so each uses its index.
            let filter = match (&query.endpoint_id, &query.event_id) {
                (None, None) => "?1 IS NULL AND ?2 IS NULL",
                (Some(_), None) => "endpoint_id = ?1 AND ?2 IS NULL",
                (None, Some(_)) => "?1 IS NULL AND event_id = ?2",
                (Some(_), Some(_)) => "endpoint_id = ?1 AND event_id = ?2",
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT event_id, endpoint_id, number, at, status, latency_ms, verdict, class,
                     response FROM attempts WHERE {filter} ORDER BY seq DESC LIMIT ?3"
                ))
                .map_err(sql_error("list attempts"))?;
            let rows = stmt
                .query_map(
                    params![query.endpoint_id, query.event_id, limit_or_all(query.limit)],
                    attempt_at,
                )
                .map_err(sql_error("list attempts"))?;
            rows.collect::<Result<_, _>>()
                .map_err(sql_error("read attempts"))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::contract::{self, endpoint, task, Leases};
    use super::*;
    use crate::ports::failure::Failure;

    /// Leases at a time far past every test's due times, with a lease that has already run out, so
    /// the contract can lease the same task again; each lease still takes a fresh token.
    impl Leases for LocalStore {
        async fn lease(&self, task: &Task) -> Lease {
            let far = Millis::MAX / 4;
            self.due(far, usize::MAX, 0)
                .await
                .expect("due")
                .into_iter()
                .find(|(t, _)| t.key() == task.key())
                .map(|(_, lease)| lease)
                .expect("the task is due")
        }
    }

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("outbound.db")).expect("open");
        (dir, store)
    }

    fn keys(leased: &[(Task, Lease)]) -> Vec<String> {
        leased.iter().map(|(t, _)| t.key()).collect()
    }

    #[tokio::test]
    async fn keeps_the_endpoints_contract() {
        let (_dir, s) = store();
        contract::endpoints(&s).await;
    }

    #[tokio::test]
    async fn keeps_the_tasks_contract() {
        let (_dir, s) = store();
        contract::tasks(&s).await;
    }

    #[tokio::test]
    async fn keeps_the_attempts_contract() {
        let (_dir, s) = store();
        contract::attempts(&s).await;
    }

    #[tokio::test]
    async fn settlements_change_what_they_say_and_nothing_else() {
        let (_dir, s) = store();
        let t = task("ev_1", "ep_1", 1, 1);
        Tasks::create(&s, &t).await.expect("create");
        let lease = s.lease(&t).await;
        let retry = Settle::Retry {
            attempt: 2,
            due_at: 500,
        };
        s.settle(&t, &lease, retry).await.expect("settle");
        let got = s.get_task(&t.key()).await.expect("get").expect("task");
        assert_eq!((got.task.attempt, got.task.due_at), (2, 500));
        assert_eq!((got.state, got.leased_until), (State::Pending, None));
        let lease = s.lease(&t).await;
        let wait = Settle::Wait { until: 700 };
        s.settle(&t, &lease, wait).await.expect("settle");
        let got = s.get_task(&t.key()).await.expect("get").expect("task");
        assert_eq!((got.task.attempt, got.task.due_at), (2, 700));
        assert_eq!(got.leased_until, None, "waiting ends the lease");
        let lease = s.lease(&t).await;
        let parked = Settle::Parked {
            reason: "exhausted",
        };
        s.settle(&t, &lease, parked).await.expect("settle");
        let got = s.get_task(&t.key()).await.expect("get").expect("task");
        assert_eq!(got.state, State::Parked);
        assert_eq!(got.parked_reason.as_deref(), Some("exhausted"));
        assert_eq!(got.task.body, t.body);
        // A lease for another task is refused.
        let other = task("ev_2", "ep_1", 1, 1);
        let err = s
            .settle(&other, &lease, Settle::Delivered)
            .await
            .expect_err("another task's lease");
        assert_eq!(err.failure, Failure::Permanent);
    }

    #[tokio::test]
    async fn due_leases_what_is_due_oldest_first_and_again_once_the_lease_runs_out() {
        let (_dir, s) = store();
        let mut stored = task("ev_s", "ep_1", 0, 30);
        stored.body = Body::Stored("/var/inlet/bodies/ev_s".into());
        for t in [
            task("ev_a", "ep_1", 0, 20),
            task("ev_b", "ep_2", 0, 10),
            stored.clone(),
            task("ev_late", "ep_1", 0, 1_000),
        ] {
            assert!(Tasks::create(&s, &t).await.expect("create"));
        }
        assert_eq!(s.next_due().await.expect("next"), Some(10));
        let first = s.due(100, 2, 50).await.expect("due");
        assert_eq!(keys(&first), ["ep_2/ev_b", "ep_1/ev_a"]);
        let second = s.due(100, 10, 50).await.expect("due");
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].0, stored, "the body comes back as stored");
        assert!(s.due(149, 10, 50).await.expect("due").is_empty(), "leased");
        assert_eq!(s.next_due().await.expect("next"), Some(150));
        // The worker that leased ev_b settled it; the others' worker crashed.
        let (t, lease) = &first[0];
        s.settle(t, lease, Settle::Delivered).await.expect("settle");
        let again = s.due(150, 10, 50).await.expect("due");
        assert_eq!(keys(&again), ["ep_1/ev_a", "ep_1/ev_s"]);
        assert_ne!(again[0].1, first[1].1, "a new lease");
        for (t, lease) in &again {
            s.settle(t, lease, Settle::Delivered).await.expect("settle");
        }
        assert_eq!(s.next_due().await.expect("next"), Some(1_000));
        assert!(s.due(999, 10, 50).await.expect("due").is_empty());
        assert_eq!(
            keys(&s.due(1_000, 0, 50).await.expect("due")),
            [] as [&str; 0]
        );
        assert_eq!(
            keys(&s.due(1_000, 10, 50).await.expect("due")),
            ["ep_1/ev_late"]
        );
    }

    #[tokio::test]
    async fn a_stale_lease_settles_nothing() {
        let (_dir, s) = store();
        let t = task("ev_1", "ep_1", 0, 0);
        Tasks::create(&s, &t).await.expect("create");
        let (_, stale) = s.due(0, 1, 10).await.expect("due").remove(0);
        // Its worker stalled past the lease; another took the task over.
        let (_, fresh) = s.due(10, 1, 10).await.expect("due").remove(0);
        s.settle(&t, &stale, Settle::Delivered)
            .await
            .expect("settle");
        assert_eq!(
            s.state(&t.key()).await.expect("state"),
            Some(State::Pending)
        );
        s.settle(&t, &stale, Settle::Dropped).await.expect("settle");
        assert_eq!(
            s.state(&t.key()).await.expect("state"),
            Some(State::Pending)
        );
        let retry = Settle::Retry {
            attempt: 2,
            due_at: 99,
        };
        s.settle(&t, &fresh, retry).await.expect("settle");
        let got = s.get_task(&t.key()).await.expect("get").expect("task");
        assert_eq!((got.task.attempt, got.task.due_at), (2, 99));
        // A requeue takes the task from whoever held it.
        let (_, held) = s.due(99, 1, 10).await.expect("due").remove(0);
        let parked = Settle::Parked { reason: "gone" };
        s.settle(&t, &held, parked).await.expect("settle");
        let count = s
            .requeue(Requeue::Keys(vec![t.key()]), 200)
            .await
            .expect("requeue");
        assert_eq!(count, 1);
        s.settle(&t, &held, Settle::Delivered)
            .await
            .expect("settle");
        assert_eq!(
            s.state(&t.key()).await.expect("state"),
            Some(State::Pending)
        );
    }

    #[tokio::test]
    async fn an_ordered_endpoint_gets_its_tasks_one_at_a_time_in_order() {
        let (_dir, s) = store();
        let mut e = endpoint("ep_o");
        e.ordered = true;
        Endpoints::create(&s, &e).await.expect("create");
        // Created in order 1, 2, 3 (1 and 2 in the same millisecond); 1 is due after 2 and 3.
        let t1 = task("ev_1", "ep_o", 5, 500);
        let t2 = task("ev_2", "ep_o", 5, 100);
        let t3 = task("ev_3", "ep_o", 6, 100);
        let other = task("ev_x", "ep_u", 7, 100);
        for t in [&t1, &t2, &t3, &other] {
            Tasks::create(&s, t).await.expect("create");
        }
        assert_eq!(
            keys(&s.due(200, 10, 1_000).await.expect("due")),
            ["ep_u/ev_x"]
        );
        assert_eq!(s.next_due().await.expect("next"), Some(500));
        let leased = s.due(500, 10, 1_000).await.expect("due");
        assert_eq!(keys(&leased), ["ep_o/ev_1"]);
        assert!(
            s.due(600, 10, 1_000).await.expect("due").is_empty(),
            "one at a time"
        );
        let retry = Settle::Retry {
            attempt: 2,
            due_at: 700,
        };
        s.settle(&t1, &leased[0].1, retry).await.expect("settle");
        assert!(
            s.due(650, 10, 1_000).await.expect("due").is_empty(),
            "still first"
        );
        let leased = s.due(700, 10, 1_000).await.expect("due");
        assert_eq!(keys(&leased), ["ep_o/ev_1"]);
        s.settle(&t1, &leased[0].1, Settle::Delivered)
            .await
            .expect("settle");
        let leased = s.due(700, 10, 1_000).await.expect("due");
        assert_eq!(keys(&leased), ["ep_o/ev_2"]);
        s.settle(
            &t2,
            &leased[0].1,
            Settle::Parked {
                reason: "exhausted",
            },
        )
        .await
        .expect("settle");
        // A parked task no longer holds the line.
        assert_eq!(
            keys(&s.due(700, 10, 1_000).await.expect("due")),
            ["ep_o/ev_3"]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_workers_never_share_a_leased_task() {
        let (_dir, s) = store();
        for i in 0..60 {
            let t = task(&format!("ev_{i:02}"), &format!("ep_{}", i % 3), i, i);
            Tasks::create(&s, &t).await.expect("create");
        }
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    for _ in 0..5 {
                        mine.extend(keys(&s.due(1_000, 3, 10_000).await.expect("due")));
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.expect("joined"));
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!((all.len(), distinct.len()), (60, 60));
        // Every lease runs out (the workers crashed): all are handed out again.
        assert_eq!(s.due(11_000, 100, 10_000).await.expect("due").len(), 60);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn health_probes_and_tokens_are_atomic_under_contention() {
        let (_dir, s) = store();
        Endpoints::create(&s, &endpoint("ep_1"))
            .await
            .expect("create");
        let recorders: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    for _ in 0..100 {
                        Endpoints::record(&s, "ep_1", false, 10)
                            .await
                            .expect("record");
                    }
                })
            })
            .collect();
        for r in recorders {
            r.await.expect("joined");
        }
        let h = s.health("ep_1").await.expect("health");
        assert_eq!(h.consecutive_failures, 800);

        let probes: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.acquire_probe("ep_1", 20, 30).await.expect("probe") })
            })
            .collect();
        let mut won = 0;
        for p in probes {
            won += usize::from(p.await.expect("joined"));
        }
        assert_eq!(won, 1);

        let takers: Vec<_> = (0..50)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.take_token("ep_1", 5, 7_000 + i * 19)
                        .await
                        .expect("token")
                })
            })
            .collect();
        let mut taken = 0;
        for t in takers {
            taken += usize::from(t.await.expect("joined"));
        }
        assert_eq!(taken, 5);
        // The next second's window is fresh, and the old ones are pruned.
        assert!(s.take_token("ep_1", 5, 9_000).await.expect("token"));
        let windows: i64 = locked(&s.conn)
            .query_row("SELECT COUNT(*) FROM rate_windows", [], |r| r.get(0))
            .expect("count");
        assert_eq!(windows, 1);
    }

    #[tokio::test]
    async fn lists_gets_and_requeues_tasks() {
        let (_dir, s) = store();
        let all: Vec<Task> = (0..5)
            .map(|i| {
                task(
                    &format!("ev_{i}"),
                    if i < 3 { "ep_1" } else { "ep_2" },
                    i * 100,
                    0,
                )
            })
            .collect();
        for t in &all {
            Tasks::create(&s, t).await.expect("create");
        }
        for (t, lease) in s.due(0, 10, 1_000).await.expect("due") {
            let settle = if t.event_id == "ev_0" {
                Settle::Delivered
            } else {
                Settle::Parked {
                    reason: "exhausted",
                }
            };
            s.settle(&t, &lease, settle).await.expect("settle");
        }
        let list = |state, endpoint: Option<&'static str>, limit| {
            let s = s.clone();
            async move {
                s.list_tasks(state, endpoint, limit)
                    .await
                    .expect("list")
                    .into_iter()
                    .map(|d| d.task.event_id)
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            list(None, None, 0).await,
            ["ev_4", "ev_3", "ev_2", "ev_1", "ev_0"]
        );
        assert_eq!(list(None, None, 2).await, ["ev_4", "ev_3"]);
        assert_eq!(
            list(Some(State::Parked), Some("ep_1"), 0).await,
            ["ev_2", "ev_1"]
        );
        assert_eq!(list(Some(State::Delivered), None, 0).await, ["ev_0"]);
        assert_eq!(list(Some(State::Pending), None, 0).await, [] as [&str; 0]);
        assert!(s.get_task("ep_1/ev_none").await.expect("get").is_none());
        let got = s.get_task("ep_1/ev_1").await.expect("get").expect("task");
        assert_eq!((got.state, got.task.attempt), (State::Parked, 1));

        // By key: only parked tasks come back.
        let which = Requeue::Keys(vec![
            "ep_1/ev_0".into(),
            "ep_1/ev_1".into(),
            "ep_9/ev_9".into(),
        ]);
        assert_eq!(s.requeue(which, 5_000).await.expect("requeue"), 1);
        let got = s.get_task("ep_1/ev_1").await.expect("get").expect("task");
        assert_eq!(
            (
                got.state,
                got.task.attempt,
                got.task.due_at,
                got.parked_reason
            ),
            (State::Pending, 1, 5_000, None)
        );
        assert_eq!(
            s.state("ep_1/ev_0").await.expect("state"),
            Some(State::Delivered)
        );
        // Since a time, of one endpoint or all.
        let since = |since, endpoint_id: Option<&str>| Requeue::Since {
            since,
            endpoint_id: endpoint_id.map(Into::into),
        };
        assert_eq!(
            s.requeue(since(200, Some("ep_2")), 6_000)
                .await
                .expect("requeue"),
            2
        );
        assert_eq!(s.requeue(since(0, None), 6_000).await.expect("requeue"), 1);
        assert_eq!(list(Some(State::Parked), None, 0).await, [] as [&str; 0]);
        assert_eq!(keys(&s.due(6_000, 10, 1).await.expect("due")).len(), 4);
    }

    #[tokio::test]
    async fn prune_deletes_expired_attempts() {
        let (_dir, s) = store();
        for (n, expires) in [(1, 100), (2, 200), (3, 300)] {
            Attempts::record(&s, &contract::attempt("ev_1", "ep_1", n), expires)
                .await
                .expect("record");
        }
        assert_eq!(s.prune(200).await.expect("prune"), 2);
        let left = Attempts::list(&s, &AttemptQuery::default())
            .await
            .expect("list");
        assert_eq!(left, [contract::attempt("ev_1", "ep_1", 3)]);
    }

    #[tokio::test]
    async fn everything_survives_reopening_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested").join("outbound.db");
        let e = endpoint("ep_1");
        let t = task("ev_1", "ep_1", 1, 1);
        let a = contract::attempt("ev_1", "ep_1", 1);
        {
            let s = LocalStore::open(&path).expect("open");
            Endpoints::create(&s, &e).await.expect("create");
            let off = Disabled {
                reason: DisabledReason::Failing,
                at: 3,
            };
            s.disable("ep_1", off).await.expect("disable");
            Endpoints::record(&s, "ep_1", false, 2)
                .await
                .expect("record");
            Tasks::create(&s, &t).await.expect("create");
            let (_, lease) = s.due(1, 1, 1_000).await.expect("due").remove(0);
            s.settle(
                &t,
                &lease,
                Settle::Retry {
                    attempt: 2,
                    due_at: 9,
                },
            )
            .await
            .expect("settle");
            Attempts::record(&s, &a, 1_000).await.expect("record");
        }
        let s = LocalStore::open(&path).expect("reopen");
        let got = s.get("ep_1").await.expect("get").expect("endpoint");
        assert_eq!(got.secret, e.secret, "the secret is kept");
        assert_eq!(
            got.disabled.map(|d| d.reason),
            Some(DisabledReason::Failing)
        );
        assert_eq!(
            s.health("ep_1").await.expect("health").consecutive_failures,
            1
        );
        let task = s.get_task(&t.key()).await.expect("get").expect("task");
        assert_eq!((task.task.attempt, task.task.due_at), (2, 9));
        let listed = Attempts::list(&s, &AttemptQuery::default())
            .await
            .expect("list");
        assert_eq!(listed, [a]);
        // Tokens go on from where they were: a lease from before the reopen is stale after a new one.
        let (_, lease) = s.due(9, 1, 1_000).await.expect("due").remove(0);
        assert!(lease.token > 1);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn only_its_owner_can_read_the_file() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, s) = store();
        Endpoints::create(&s, &endpoint("ep_1"))
            .await
            .expect("create");
        for name in ["outbound.db", "outbound.db-wal"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
    }

    #[tokio::test]
    async fn a_file_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbound.db");
        drop(LocalStore::open(&path).expect("open"));
        Connection::open(&path)
            .and_then(|c| c.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
            .expect("bump");
        let err = LocalStore::open(&path).expect_err("newer");
        assert_eq!(err.failure, Failure::Permanent);
        assert!(err.detail.contains("newer"), "{}", err.detail);
    }

    #[test]
    fn sqlite_errors_are_classified_without_their_text() {
        let failure = |code, text: &str| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(text.into()))
        };
        let secret = "whsec_c2VjcmV0 in a body";
        for (code, want) in [
            (rusqlite::ffi::SQLITE_BUSY, Failure::Transient),
            (rusqlite::ffi::SQLITE_LOCKED, Failure::Transient),
            (rusqlite::ffi::SQLITE_IOERR, Failure::Transient),
            (rusqlite::ffi::SQLITE_CONSTRAINT, Failure::Permanent),
            (rusqlite::ffi::SQLITE_CORRUPT, Failure::Permanent),
        ] {
            let e = sql_error("store a task")(failure(code, secret));
            assert_eq!(e.failure, want, "{code}");
            assert!(
                e.detail
                    .starts_with("the local store could not store a task"),
                "{}",
                e.detail
            );
            assert!(!e.detail.contains("whsec"), "{}", e.detail);
        }
        let conversion =
            rusqlite::Error::FromSqlConversionFailure(0, Type::Text, Box::new(Unknown));
        assert_eq!(sql_error("read")(conversion).failure, Failure::Permanent);
    }
}
