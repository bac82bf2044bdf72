//! The inspector `inlet serve` serves at `/_inlet/`: the recent deliveries (a bounded ring), each
//! with its verdict or problem, its headers with secrets, signatures and tokens redacted, and the
//! envelopes it queued; live over Server-Sent Events; a delivery resent through the pipeline with
//! the same bytes and headers; the outbound attempts. Loopback only unless asked.
//!
//! The raw body is kept in memory only, for resend, and never served. The page is two static
//! files (`inspector/index.html`, `inspector/app.js`) compiled in: no build step.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use hyper::body::{Body, Frame};
use inlet::core::response::Reply;
use inlet::core::scheme::{Loc, Scheme};
use inlet::logging::colour::{self, paint};
use inlet::outbound::local::LocalStore as OutboundStore;
use inlet::outbound::ports::{AttemptQuery, Attempts};
use inlet::ports::queue::{Message, Queue, QueueError};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// The page and its script.
pub const PAGE: &str = include_str!("inspector/index.html");
pub const SCRIPT: &str = include_str!("inspector/app.js");

/// Deliveries kept.
pub const CAPACITY: usize = 200;
/// Raw bodies kept for resend, in bytes all together: past it, the oldest lose theirs.
pub const BODY_BUDGET: usize = 64 << 20;
/// Envelopes kept for the page, in bytes of JSON all together: past it, the oldest records go.
pub const ENVELOPE_BUDGET: usize = 32 << 20;
/// Pages watching at once (each holds one of `--max-connections`).
const MAX_WATCHERS: usize = 32;
/// Events a watcher may fall behind by before it is cut off (its browser reconnects and catches
/// up from `Last-Event-ID`).
const WATCHER_BACKLOG: usize = 256;
/// How often an idle event stream says it is alive.
const PING: Duration = Duration::from_secs(15);
/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";
/// Header names holding any of these (in any case) are redacted.
const SENSITIVE_HEADERS: [&str; 9] = [
    "signature",
    "token",
    "secret",
    "authorization",
    "auth",
    "key",
    "hmac",
    "cookie",
    "password",
];
/// Members of an envelope (and query parameters) whose names hold any of these are redacted:
/// narrower than for headers, where `key` and `auth` are always credentials.
const SENSITIVE_MEMBERS: [&str; 6] = [
    "signature",
    "secret",
    "token",
    "password",
    "hmac",
    "authorization",
];

/// Whether a header of this name is redacted: a credential's name, or where `scheme` reads its
/// signature or timestamp.
pub fn sensitive_header(name: &str, scheme: Option<&Scheme>) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_HEADERS.iter().any(|w| name.contains(w))
        || scheme.is_some_and(|s| {
            scheme_locations(s)
                .any(|l| matches!(l, Loc::Header(h) if h.eq_ignore_ascii_case(&name)))
        })
}

/// Where a scheme reads its signature and its timestamp.
fn scheme_locations(scheme: &Scheme) -> impl Iterator<Item = &'static Loc> {
    let timestamp: &'static [Loc] = scheme.timestamp.as_ref().map_or(&[], |t| t.at);
    scheme.signature.at.iter().chain(timestamp)
}

/// Whether an envelope member or query parameter of this name is redacted: a credential's name,
/// or where `scheme` reads its signature.
fn sensitive_member(name: &str, scheme: Option<&Scheme>) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_MEMBERS.iter().any(|w| lower.contains(w))
        || scheme.is_some_and(|s| {
            s.signature.at.iter().any(|l| match l {
                Loc::Query(q) => q.eq_ignore_ascii_case(name),
                // A signature inside the body (Mailgun, Graph's clientState): its last member.
                Loc::Json(path) => path.rsplit('.').next() == Some(name),
                _ => false,
            })
        })
}

/// The headers as `(name, value)`, sensitive values replaced by [`REDACTED`].
pub fn redact_headers(headers: &HeaderMap, scheme: Option<&Scheme>) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if sensitive_header(name.as_str(), scheme) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// The path and query, the values of sensitive query parameters replaced by [`REDACTED`].
pub fn redact_path(uri: &Uri, scheme: Option<&Scheme>) -> String {
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else {
        return uri.path().to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if sensitive_member(&decoded(name), scheme) => {
                format!("{name}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{}?{}", uri.path(), parts.join("&"))
}

fn decoded(name: &str) -> String {
    form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_else(|| name.to_owned())
}

/// `value` with every member whose name is sensitive replaced by [`REDACTED`], at any depth.
pub fn redact_json(value: &mut Value, scheme: Option<&Scheme>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if sensitive_member(name, scheme) {
                    *member = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(member, scheme);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_json(v, scheme)),
        _ => {}
    }
}

/// Whether the inspector answers this peer without `--inspector-remote`: this machine only.
pub fn local_peer(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether a `Host` header names this machine as a browser on it would: an IP address or
/// `localhost`. Any other name may be a DNS-rebinding page's, which a browser lets read what it
/// fetches from that name.
pub fn local_host(host: Option<&str>) -> bool {
    let Some(host) = host else { return false };
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split_once(']')
                .is_some_and(|(a, _)| a.parse::<std::net::Ipv6Addr>().is_ok())
        }
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name.parse::<IpAddr>().is_ok()
}

/// One event a delivery queued.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: String,
    /// The envelope, as the queue got it.
    pub body: String,
}

tokio::task_local! {
    /// The events queued while serving the request this task serves, when the inspector watches.
    static QUEUED: RefCell<Vec<Queued>>;
}

/// Runs `fut` (one request through the pipeline) and returns what it queued with its output.
pub async fn capture<T>(fut: impl std::future::Future<Output = T>) -> (T, Vec<Queued>) {
    QUEUED
        .scope(RefCell::new(Vec::new()), async move {
            let out = fut.await;
            let queued = QUEUED.try_with(|q| q.take()).unwrap_or_default();
            (out, queued)
        })
        .await
}

/// Whether the current request's queued events are being captured.
fn capturing() -> bool {
    QUEUED.try_with(|_| ()).is_ok()
}

fn note(queued: Queued) {
    let _ = QUEUED.try_with(|q| q.borrow_mut().push(queued));
}

/// A queue that notes what it took for [`capture`], and otherwise is `Q`.
#[derive(Debug, Clone)]
pub struct Tap<Q>(pub Q);

impl<Q: Queue> Queue for Tap<Q> {
    fn max_message_bytes(&self) -> usize {
        self.0.max_message_bytes()
    }

    fn ordered(&self) -> bool {
        self.0.ordered()
    }

    fn batch_limits(&self) -> (usize, usize) {
        self.0.batch_limits()
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        let copy = capturing().then(|| Queued {
            id: message.id.clone(),
            body: message.body.clone(),
        });
        let sent = self.0.send(message).await;
        if let (Ok(_), Some(copy)) = (&sent, copy) {
            note(copy);
        }
        sent
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Vec<Result<String, QueueError>> {
        let copies: Option<Vec<Queued>> = capturing().then(|| {
            messages
                .iter()
                .map(|m| Queued {
                    id: m.id.clone(),
                    body: m.body.clone(),
                })
                .collect()
        });
        let sent = self.0.send_batch(messages).await;
        for (result, copy) in sent.iter().zip(copies.into_iter().flatten()) {
            if result.is_ok() {
                note(copy);
            }
        }
        sent
    }
}

/// One request to `/webhooks/…` as the inspector and the readable log show it: nothing in it
/// holds a secret, a signature or the raw body.
#[derive(Debug, Clone)]
pub struct Record {
    /// Its number, from 1, in the order served.
    pub n: u64,
    pub at: SystemTime,
    pub method: String,
    /// Path and query, sensitive query values redacted.
    pub path: String,
    pub source: Option<&'static str>,
    /// `enqueued`, `duplicate`, `handshake`, `parked`, `rejected` or `failed`.
    pub outcome: &'static str,
    /// The problem type's slug, for a refusal.
    pub problem: Option<String>,
    /// The problem's `detail`, as the sender was told it.
    pub detail: Option<String>,
    pub status: u16,
    pub ms: f64,
    pub event_type: Option<String>,
    /// The envelope id; for a refusal, the sender's delivery id (unverified).
    pub id: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The envelopes queued, as queued: parsed and redacted only when the page asks
    /// ([`Record::to_json`]), so a request nobody watches costs a copy and no parse.
    pub envelopes: Vec<String>,
    /// The source's scheme, whose signature locations are redacted too.
    pub scheme: Option<&'static Scheme>,
    /// Their size as queued, in bytes.
    pub envelope_bytes: usize,
    /// The answer's body, when it is JSON (the 202's id and type, a problem).
    pub reply: Option<Value>,
    pub bytes: usize,
    /// The delivery this one resent.
    pub resend_of: Option<u64>,
}

/// What the server saw of one request, from which a [`Record`] is made.
pub struct Seen<'a> {
    pub at: SystemTime,
    pub elapsed: Duration,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub source: Option<&'static inlet::Source>,
    pub reply: &'a Reply,
    pub outcome: &'static str,
    pub event_type: Option<String>,
    pub queued: Vec<Queued>,
    pub bytes: usize,
    pub resend_of: Option<u64>,
}

impl Record {
    /// The record of `seen` (numbered when the ring takes it).
    pub fn new(seen: Seen<'_>) -> Self {
        let scheme = seen.source.map(inlet::Source::scheme);
        let reply: Option<Value> = seen
            .reply
            .headers
            .iter()
            .any(|(n, v)| *n == "content-type" && v.contains("json"))
            .then(|| serde_json::from_slice(&seen.reply.body).ok())
            .flatten();
        let problem = reply
            .as_ref()
            .filter(|_| seen.reply.status >= 400)
            .and_then(|r| r.get("type"))
            .and_then(Value::as_str)
            .and_then(|t| t.rsplit([':', '/']).next())
            .map(str::to_owned);
        let detail = problem.as_ref().and(
            reply
                .as_ref()
                .and_then(|r| r.get("detail"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        let replied_id = (seen.reply.status < 300)
            .then(|| reply.as_ref()?.get("id")?.as_str().map(str::to_owned))
            .flatten();
        // A refusal has no envelope: the sender's own delivery id, as it sent it.
        let hinted = || {
            let header = seen.source?.delivery_header()?;
            let value = seen.headers.get(header)?.to_str().ok()?;
            Some(value.chars().take(128).collect::<String>())
        };
        let id = seen
            .queued
            .first()
            .map(|q| q.id.clone())
            .or(replied_id)
            .or_else(hinted);
        // A batch's events each have their own type: the first one's.
        let event_type = seen.event_type.or_else(|| {
            let first = serde_json::from_str::<Value>(&seen.queued.first()?.body).ok()?;
            first.get("type")?.as_str().map(str::to_owned)
        });
        Self {
            n: 0,
            at: seen.at,
            method: seen.method.as_str().to_owned(),
            path: redact_path(seen.uri, scheme),
            source: seen.source.map(inlet::Source::name),
            outcome: seen.outcome,
            problem,
            detail,
            status: seen.reply.status,
            ms: seen.elapsed.as_secs_f64() * 1000.0,
            event_type,
            id,
            headers: redact_headers(seen.headers, scheme),
            envelope_bytes: seen.queued.iter().map(|q| q.body.len()).sum(),
            envelopes: seen.queued.into_iter().map(|q| q.body).collect(),
            scheme,
            reply,
            bytes: seen.bytes,
            resend_of: seen.resend_of,
        }
    }

    /// The record as the page reads it.
    pub fn to_json(&self) -> Value {
        let at = self
            .at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64;
        json!({
            "n": self.n,
            "at": at,
            "method": self.method,
            "path": self.path,
            "source": self.source,
            "outcome": self.outcome,
            "problem": self.problem,
            "detail": self.detail,
            "status": self.status,
            "ms": (self.ms * 10.0).round() / 10.0,
            "type": self.event_type,
            "id": self.id,
            "headers": self.headers,
            "envelopes": self.shown_envelopes(),
            "reply": self.reply,
            "bytes": self.bytes,
            "resendOf": self.resend_of,
        })
    }

    /// The envelopes, members that may hold a credential redacted in their data: Inlet's own
    /// attributes hold none (`inletsecret` names one); the sender's data may (Slack's token,
    /// Mailgun's signature).
    fn shown_envelopes(&self) -> Vec<Value> {
        self.envelopes
            .iter()
            .filter_map(|e| serde_json::from_str::<Value>(e).ok())
            .map(|mut v| {
                if let Some(data) = v.get_mut("data") {
                    redact_json(data, self.scheme);
                }
                v
            })
            .collect()
    }

    /// The readable log line: time, source, type, id, verdict (and problem), status,
    /// milliseconds; coloured when `colour`.
    pub fn line(&self, colour: bool) -> String {
        let verdict_colour = match self.outcome {
            "enqueued" => colour::GREEN,
            "duplicate" | "handshake" => colour::YELLOW,
            "parked" => colour::MAGENTA,
            _ => colour::RED,
        };
        let verdict = match &self.problem {
            Some(problem) => format!("{} {problem}", self.outcome),
            None => self.outcome.to_owned(),
        };
        let mut line = format!(
            "{}  {}  {}  {}  {}  {}  {}",
            paint(colour, colour::DIM, &inlet::logging::time_of_day(self.at)),
            paint(colour, colour::BOLD, self.source.unwrap_or("-")),
            paint(
                colour,
                colour::CYAN,
                self.event_type.as_deref().unwrap_or("-")
            ),
            self.id.as_deref().unwrap_or("-"),
            paint(colour, verdict_colour, &verdict),
            paint(colour, verdict_colour, &self.status.to_string()),
            paint(colour, colour::DIM, &format!("{:.1}ms", self.ms)),
        );
        if let Some(n) = self.resend_of {
            line += &paint(colour, colour::DIM, &format!("  (resend of #{n})"));
        }
        line
    }
}

/// A request as it came, kept in memory for resend.
#[derive(Debug)]
pub struct Raw {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// The last [`CAPACITY`] records (fewer when their envelopes pass the envelope budget), each with
/// its raw request while the body budget allows.
#[derive(Debug)]
pub struct Ring {
    entries: VecDeque<(Arc<Record>, Option<Arc<Raw>>)>,
    next: u64,
    capacity: usize,
    body_budget: usize,
    body_bytes: usize,
    envelope_budget: usize,
    envelope_bytes: usize,
}

impl Ring {
    pub fn new(capacity: usize, body_budget: usize, envelope_budget: usize) -> Self {
        Self {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            next: 1,
            capacity: capacity.max(1),
            body_budget,
            body_bytes: 0,
            envelope_budget,
            envelope_bytes: 0,
        }
    }

    /// Numbers `record`, keeps it (and `raw`), and drops the oldest past the bounds.
    pub fn push(&mut self, mut record: Record, raw: Option<Raw>) -> Arc<Record> {
        record.n = self.next;
        self.next += 1;
        let record = Arc::new(record);
        let raw = raw.filter(|r| r.body.len() <= self.body_budget);
        self.body_bytes += raw.as_ref().map_or(0, |r| r.body.len());
        self.envelope_bytes += record.envelope_bytes;
        self.entries.push_back((record.clone(), raw.map(Arc::new)));
        // The newest is always kept.
        while self.entries.len() > self.capacity
            || (self.envelope_bytes > self.envelope_budget && self.entries.len() > 1)
        {
            let Some((gone, raw)) = self.entries.pop_front() else {
                break;
            };
            self.envelope_bytes -= gone.envelope_bytes;
            if let Some(raw) = raw {
                self.body_bytes -= raw.body.len();
            }
        }
        for (_, raw) in self.entries.iter_mut() {
            if self.body_bytes <= self.body_budget {
                break;
            }
            if let Some(gone) = raw.take() {
                self.body_bytes -= gone.body.len();
            }
        }
        record
    }

    /// The record numbered `n` and its raw request, while kept.
    pub fn get(&self, n: u64) -> Option<(Arc<Record>, Option<Arc<Raw>>)> {
        let first = self.entries.front()?.0.n;
        let at = usize::try_from(n.checked_sub(first)?).ok()?;
        self.entries.get(at).cloned()
    }

    /// The records after number `after`, oldest first.
    pub fn after(&self, after: u64) -> impl Iterator<Item = &Arc<Record>> {
        self.entries
            .iter()
            .map(|(r, _)| r)
            .filter(move |r| r.n > after)
    }

    #[cfg(test)]
    fn count(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of raw bodies kept.
    #[cfg(test)]
    fn body_bytes(&self) -> usize {
        self.body_bytes
    }
}

/// The inspector's state: the ring and the pages watching it.
pub struct Inspector {
    state: Mutex<State>,
    /// Whether peers other than this machine are answered.
    pub remote: bool,
    outbound: Option<OutboundStore>,
}

struct State {
    ring: Ring,
    watchers: Vec<mpsc::Sender<Bytes>>,
}

/// What a request under `/_inlet/` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Call {
    /// `/_inlet` without its slash: sent on to `/_inlet/`.
    Redirect,
    Page,
    Script,
    Deliveries,
    Delivery(u64),
    Events,
    Resend(u64),
    Outbound,
    NotFound,
    MethodNotAllowed(&'static str),
}

impl Call {
    /// The call a path under `/_inlet` makes, or `None` for a path elsewhere.
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        let rest = match path.strip_prefix("/_inlet") {
            Some("") => return Some(Self::Redirect),
            Some(rest) => rest.strip_prefix('/')?,
            None => return None,
        };
        let get = |call| {
            if method == Method::GET || method == Method::HEAD {
                call
            } else {
                Self::MethodNotAllowed("GET, HEAD")
            }
        };
        let parts: Vec<&str> = rest.split('/').collect();
        Some(match parts.as_slice() {
            [""] | ["index.html"] => get(Self::Page),
            ["app.js"] => get(Self::Script),
            ["events"] => get(Self::Events),
            ["api", "deliveries"] => get(Self::Deliveries),
            ["api", "outbound"] => get(Self::Outbound),
            ["api", "deliveries", n] => match n.parse() {
                Ok(n) => get(Self::Delivery(n)),
                Err(_) => Self::NotFound,
            },
            ["api", "deliveries", n, "resend"] => match n.parse() {
                Ok(n) if method == Method::POST => Self::Resend(n),
                Ok(_) => Self::MethodNotAllowed("POST"),
                Err(_) => Self::NotFound,
            },
            _ => Self::NotFound,
        })
    }
}

impl Inspector {
    pub fn new(remote: bool, outbound: Option<OutboundStore>) -> Self {
        Self {
            state: Mutex::new(State {
                ring: Ring::new(CAPACITY, BODY_BUDGET, ENVELOPE_BUDGET),
                watchers: Vec::new(),
            }),
            remote,
            outbound,
        }
    }

    /// Keeps `record` and tells the watching pages; returns it numbered.
    pub fn publish(&self, record: Record, raw: Option<Raw>) -> Option<Arc<Record>> {
        let mut state = self.state.lock().ok()?;
        let record = state.ring.push(record, raw);
        if !state.watchers.is_empty() {
            let frame = event_frame(&record);
            // A page that fell behind is cut off; its browser reconnects and catches up.
            state.watchers.retain(|w| w.try_send(frame.clone()).is_ok());
        }
        Some(record)
    }

    /// The record numbered `n` and its raw request.
    pub fn get(&self, n: u64) -> Option<(Arc<Record>, Option<Arc<Raw>>)> {
        self.state.lock().ok()?.ring.get(n)
    }

    /// Every record kept, oldest first, as JSON.
    pub fn list(&self) -> Value {
        let Ok(state) = self.state.lock() else {
            return Value::Array(Vec::new());
        };
        Value::Array(state.ring.after(0).map(|r| r.to_json()).collect())
    }

    /// A page's event stream: the records after `last` (all when `None`), then each new one;
    /// `None` when too many pages watch already.
    pub fn watch(&self, last: Option<u64>) -> Option<EventStream> {
        let mut state = self.state.lock().ok()?;
        state.watchers.retain(|w| !w.is_closed());
        if state.watchers.len() >= MAX_WATCHERS {
            return None;
        }
        let mut backlog = VecDeque::new();
        backlog.push_back(Bytes::from_static(b"retry: 1000\n\n"));
        backlog.extend(state.ring.after(last.unwrap_or(0)).map(|r| event_frame(r)));
        let (tx, rx) = mpsc::channel(WATCHER_BACKLOG);
        state.watchers.push(tx);
        let mut ping = tokio::time::interval(PING);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Some(EventStream { backlog, rx, ping })
    }

    /// The outbound store's recent attempts and tasks, newest first, or why there are none.
    pub async fn outbound(&self) -> Value {
        let Some(store) = &self.outbound else {
            return json!({"enabled": false, "attempts": [], "tasks": []});
        };
        let attempts = store
            .list(&AttemptQuery {
                limit: 50,
                ..AttemptQuery::default()
            })
            .await;
        let tasks = store.list_tasks(None, None, 50).await;
        let tasks: Result<Vec<Value>, _> = tasks.map(|tasks| {
            tasks
                .iter()
                .map(|d| {
                    json!({
                        "eventId": d.task.event_id,
                        "type": d.task.event_type,
                        "endpointId": d.task.endpoint_id,
                        "attempt": d.task.attempt,
                        "createdAt": d.task.created_at,
                        "dueAt": d.task.due_at,
                        "state": d.state.as_str(),
                        "parkedReason": d.parked_reason,
                    })
                })
                .collect()
        });
        match (attempts, tasks) {
            (Ok(attempts), Ok(tasks)) => json!({
                "enabled": true,
                "attempts": serde_json::to_value(attempts).unwrap_or_default(),
                "tasks": tasks,
            }),
            (Err(e), _) | (_, Err(e)) => json!({"enabled": true, "error": e.to_string()}),
        }
    }
}

/// A record as one Server-Sent Event.
fn event_frame(record: &Record) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: delivery\ndata: {}\n\n",
        record.n,
        record.to_json()
    ))
}

/// `/_inlet/events`: the backlog, then each record as it comes, with a comment every [`PING`].
pub struct EventStream {
    backlog: VecDeque<Bytes>,
    rx: mpsc::Receiver<Bytes>,
    ping: tokio::time::Interval,
}

impl Body for EventStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(frame) = this.backlog.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match this.rx.poll_recv(cx) {
            Poll::Ready(Some(frame)) => return Poll::Ready(Some(Ok(Frame::data(frame)))),
            // Cut off for falling behind: the browser reconnects.
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        if this.ping.poll_tick(cx).is_ready() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b": ping\n\n")))));
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn stripe() -> &'static Scheme {
        inlet::catalogue::sources::all()
            .iter()
            .find(|s| s.name() == "stripe")
            .expect("stripe is a sender")
            .scheme()
    }

    fn record(id: &str) -> Record {
        Record {
            n: 0,
            at: UNIX_EPOCH,
            method: "POST".into(),
            path: "/webhooks/stripe".into(),
            source: Some("stripe"),
            outcome: "enqueued",
            problem: None,
            detail: None,
            status: 202,
            ms: 1.25,
            event_type: Some("stripe.charge.succeeded".into()),
            id: Some(id.into()),
            headers: vec![],
            envelopes: vec![],
            scheme: None,
            envelope_bytes: 0,
            reply: None,
            bytes: 2,
            resend_of: None,
        }
    }

    fn raw(len: usize) -> Raw {
        Raw {
            method: Method::POST,
            uri: Uri::from_static("/webhooks/stripe"),
            headers: HeaderMap::new(),
            body: Bytes::from(vec![b'x'; len]),
        }
    }

    #[test]
    fn headers_with_credentials_or_the_schemes_signature_are_redacted() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("stripe-signature", "t=1,v1=abc"),
            ("x-hub-signature-256", "sha256=abc"),
            ("authorization", "Bearer xyz"),
            ("x-gitlab-token", "tok"),
            ("x-api-key", "k"),
            ("x-shopify-hmac-sha256", "h"),
            ("x-hook-secret", "s"),
            ("cookie", "c=1"),
            ("content-type", "application/json"),
            ("user-agent", "Stripe/1.0"),
        ] {
            headers.insert(
                http::HeaderName::from_static(name),
                value.parse().expect("a header value"),
            );
        }
        let shown = redact_headers(&headers, Some(stripe()));
        let value = |n: &str| shown.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        for secret in [
            "stripe-signature",
            "x-hub-signature-256",
            "authorization",
            "x-gitlab-token",
            "x-api-key",
            "x-shopify-hmac-sha256",
            "x-hook-secret",
            "cookie",
        ] {
            assert_eq!(value(secret), Some(REDACTED), "{secret}");
        }
        assert_eq!(value("content-type"), Some("application/json"));
        assert_eq!(value("user-agent"), Some("Stripe/1.0"));
        assert!(!format!("{shown:?}").contains("abc"));
    }

    #[test]
    fn every_senders_signature_and_timestamp_headers_are_redacted_whatever_their_names() {
        let mut only_by_scheme = Vec::new();
        for source in inlet::catalogue::sources::all() {
            for loc in scheme_locations(source.scheme()) {
                if let Loc::Header(name) = loc {
                    assert!(
                        sensitive_header(name, Some(source.scheme())),
                        "{}: {name}",
                        source.name()
                    );
                    if !sensitive_header(name, None) {
                        only_by_scheme.push(*name);
                    }
                }
            }
        }
        // Timestamps (`webhook-timestamp`, Slack's `x-slack-request-timestamp`) and signature
        // headers named otherwise are redacted because their scheme names them.
        assert!(
            only_by_scheme.iter().any(|h| h.contains("timestamp")),
            "{only_by_scheme:?}"
        );
    }

    #[test]
    fn a_signature_inside_the_body_is_redacted_by_its_scheme() {
        let graph = inlet::catalogue::sources::all()
            .iter()
            .find(|s| s.name() == "graph")
            .expect("graph is a sender");
        let mut data = json!({"value": [{"clientState": "the-secret", "changeType": "created"}]});
        redact_json(&mut data, Some(graph.scheme()));
        assert_eq!(
            data,
            json!({"value": [{"clientState": REDACTED, "changeType": "created"}]})
        );
    }

    #[test]
    fn query_values_and_envelope_members_that_are_credentials_are_redacted() {
        let uri: Uri = "/webhooks/x?token=abc&signature=s1&page=2&bodySHA256=d"
            .parse()
            .expect("a URI");
        assert_eq!(
            redact_path(&uri, None),
            "/webhooks/x?token=[redacted]&signature=[redacted]&page=2&bodySHA256=d"
        );
        let mut envelope = json!({
            "id": "evt_1",
            "data": {"token": "t", "signature": {"timestamp": "1", "token": "x", "signature": "y"},
                     "items": [{"client_secret": "cs"}], "amount": 5}
        });
        redact_json(&mut envelope, None);
        assert_eq!(
            envelope,
            json!({"id": "evt_1", "data": {"token": REDACTED, "signature": REDACTED,
                   "items": [{"client_secret": REDACTED}], "amount": 5}})
        );
    }

    #[test]
    fn the_page_sees_envelopes_with_their_datas_credentials_redacted() {
        let mut r = record("evt_1");
        r.envelopes = vec![json!({"id": "evt_1", "inletsecret": "INLET_SLACK_SECRET",
                                  "data": {"token": "xoxb-1", "text": "hi"}})
        .to_string()];
        let shown = r.to_json();
        assert_eq!(
            shown["envelopes"],
            json!([{"id": "evt_1", "inletsecret": "INLET_SLACK_SECRET",
                    "data": {"token": REDACTED, "text": "hi"}}])
        );
        assert!(!shown.to_string().contains("xoxb-1"));
    }

    #[test]
    fn the_ring_keeps_the_last_records_numbered_in_order() {
        let mut ring = Ring::new(3, 1 << 20, 1 << 20);
        for i in 0..5 {
            let r = ring.push(record(&format!("evt_{i}")), Some(raw(10)));
            assert_eq!(r.n, i + 1);
        }
        assert_eq!(ring.count(), 3);
        let kept: Vec<u64> = ring.after(0).map(|r| r.n).collect();
        assert_eq!(kept, [3, 4, 5]);
        assert!(ring.get(2).is_none(), "dropped");
        assert_eq!(ring.get(4).expect("kept").0.id.as_deref(), Some("evt_3"));
        assert!(ring.get(6).is_none());
        assert_eq!(ring.after(4).map(|r| r.n).collect::<Vec<_>>(), [5]);
        assert_eq!(ring.body_bytes(), 30);
    }

    #[test]
    fn the_ring_drops_the_oldest_bodies_past_its_budget_and_keeps_their_records() {
        let mut ring = Ring::new(10, 25, 1 << 20);
        for i in 0..3 {
            ring.push(record(&format!("evt_{i}")), Some(raw(10)));
        }
        assert_eq!(ring.body_bytes(), 20);
        assert!(
            ring.get(1).expect("kept").1.is_none(),
            "the oldest body went"
        );
        assert!(ring.get(2).expect("kept").1.is_some());
        assert!(ring.get(3).expect("kept").1.is_some());
        assert_eq!(ring.count(), 3);
        // A body bigger than the whole budget is not kept at all.
        ring.push(record("big"), Some(raw(26)));
        assert!(ring.get(4).expect("kept").1.is_none());
        assert_eq!(ring.body_bytes(), 20);
    }

    #[test]
    fn the_ring_drops_the_oldest_records_past_its_envelope_budget_and_keeps_the_newest() {
        let mut ring = Ring::new(10, 1 << 20, 100);
        for i in 0..3 {
            let mut r = record(&format!("evt_{i}"));
            r.envelope_bytes = 40;
            ring.push(r, Some(raw(5)));
        }
        assert_eq!(ring.after(0).map(|r| r.n).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(ring.body_bytes(), 10);
        let mut huge = record("huge");
        huge.envelope_bytes = 500;
        ring.push(huge, None);
        assert_eq!(ring.after(0).map(|r| r.n).collect::<Vec<_>>(), [4]);
        assert_eq!(ring.body_bytes(), 0);
    }

    #[test]
    fn only_this_machine_is_a_local_peer() {
        assert!(local_peer(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(local_peer(IpAddr::V4(Ipv4Addr::new(127, 1, 2, 3))));
        assert!(local_peer(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(local_peer("::ffff:127.0.0.1".parse().expect("an address")));
        for other in [
            "10.0.0.1",
            "192.168.1.5",
            "0.0.0.0",
            "172.17.0.1",
            "::ffff:10.0.0.1",
            "fe80::1",
            "2001:db8::1",
            "::",
        ] {
            assert!(!local_peer(other.parse().expect("an address")), "{other}");
        }
    }

    #[test]
    fn only_addresses_and_localhost_are_local_hosts() {
        for host in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "[::1]:3000",
            "app.localhost:1",
            "10.0.0.2:80",
        ] {
            assert!(local_host(Some(host)), "{host}");
        }
        for host in [
            "evil.example:3000",
            "example.com",
            "[::1",
            "127.0.0.1.nip.io:3000",
        ] {
            assert!(!local_host(Some(host)), "{host}");
        }
        assert!(!local_host(None));
    }

    #[test]
    fn calls_under_the_prefix() {
        let get = Method::GET;
        assert_eq!(Call::of(&get, "/_inlet"), Some(Call::Redirect));
        assert_eq!(Call::of(&get, "/_inlet/"), Some(Call::Page));
        assert_eq!(Call::of(&get, "/_inlet/events"), Some(Call::Events));
        assert_eq!(
            Call::of(&get, "/_inlet/api/deliveries/7"),
            Some(Call::Delivery(7))
        );
        assert_eq!(
            Call::of(&Method::POST, "/_inlet/api/deliveries/7/resend"),
            Some(Call::Resend(7))
        );
        assert_eq!(
            Call::of(&get, "/_inlet/api/deliveries/7/resend"),
            Some(Call::MethodNotAllowed("POST"))
        );
        assert_eq!(
            Call::of(&Method::POST, "/_inlet/"),
            Some(Call::MethodNotAllowed("GET, HEAD"))
        );
        assert_eq!(Call::of(&get, "/_inlet/nope"), Some(Call::NotFound));
        assert_eq!(Call::of(&get, "/_inletx"), None);
        assert_eq!(Call::of(&get, "/webhooks/stripe"), None);
    }

    #[test]
    fn the_line_has_each_field_and_colour_only_when_asked() {
        let mut r = record("evt_1");
        r.at = UNIX_EPOCH + Duration::from_secs(3600 + 120 + 3);
        let plain = r.line(false);
        assert_eq!(
            plain,
            "01:02:03.000  stripe  stripe.charge.succeeded  evt_1  enqueued  202  1.2ms"
        );
        assert!(r.line(true).contains("\x1b[32menqueued\x1b[0m"));
        r.outcome = "rejected";
        r.problem = Some("signature-mismatch".into());
        r.status = 401;
        r.resend_of = Some(1);
        assert!(r
            .line(false)
            .contains("  rejected signature-mismatch  401  "));
        assert!(r.line(false).ends_with("(resend of #1)"));
    }

    #[tokio::test]
    async fn a_watcher_gets_the_backlog_then_each_new_record() {
        use http_body_util::BodyExt;
        let inspector = Inspector::new(false, None);
        inspector.publish(record("evt_a"), None);
        let mut stream = inspector.watch(None).expect("a watcher");
        inspector.publish(record("evt_b"), None);
        let mut seen = String::new();
        while !seen.contains("evt_b") {
            let frame = stream.frame().await.expect("open").expect("infallible");
            if let Ok(data) = frame.into_data() {
                seen += std::str::from_utf8(&data).expect("UTF-8");
            }
        }
        assert!(seen.starts_with("retry: 1000\n\n"));
        let a = seen
            .find("id: 1\nevent: delivery\ndata: {")
            .expect("the backlog");
        let b = seen.find("id: 2\nevent: delivery\n").expect("the new one");
        assert!(a < b);
        // Reconnecting after 1 gets 2 only.
        let mut again = inspector.watch(Some(1)).expect("a watcher");
        let _retry = again.frame().await;
        let next = again
            .frame()
            .await
            .expect("open")
            .expect("infallible")
            .into_data()
            .expect("data");
        assert!(std::str::from_utf8(&next)
            .expect("UTF-8")
            .starts_with("id: 2\n"));
    }
}
