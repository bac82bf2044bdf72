//! The Lambda adapter: configuration, secrets and the AWS clients are built once, then every
//! API Gateway (REST v1, HTTP v2) or function URL event goes through the shared pipeline with
//! the invocation's own deadline. Once the answer has been handed to the Runtime API, the
//! invocation's metrics are written (one CloudWatch EMF document) and its calls sent to X-Ray.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{service_fn, LambdaEvent, LambdaInvocation, Runtime};
use tokio::time::Instant;
use tracing::{error, info, info_span, warn, Instrument};

use crate::adapters::aws::{DynamoDbStore, S3Store, SecretsManager, SqsQueue};
use crate::adapters::{IdempotencyStore, PayloadStore};
use crate::app::pipeline::{Inbound, Pipeline};
use crate::app::telemetry::Meter;
use crate::catalogue::sources::Source;
use crate::config::{self, ConfigError, Env, Settings};
use crate::core::event::{ApiEvent, ApiResponse};
use crate::core::outcome::Outcome;
use crate::core::response::Rejection;
use crate::outbound::relay::{Relay, Relaying};
use crate::ports::queue::Queue;
use crate::ports::secrets::{FetchSecrets, SecretStore};
use crate::xray::{self, Daemon, TraceHeader};

pub use lambda_runtime::Error;

/// The budget of an invocation whose deadline the runtime did not give (Lambda always does).
const FALLBACK_BUDGET: Duration = Duration::from_secs(5);

/// Runs the function of the source the environment names (`INLET_SOURCE`, else `default_name`:
/// the binaries named after one sender) until the Lambda runtime stops it. Fails before serving
/// anything if the configuration is incomplete, the secret cannot be read or the queue cannot be used.
pub async fn run(default_name: Option<&str>) -> Result<(), Error> {
    crate::logging::init();
    let env = Env::from_process();
    let name = crate::catalogue::sources::name_in(&env, default_name)
        .unwrap_or_default()
        .to_owned();
    let built = match env
        .clone()
        .with_source_settings(&name)
        .and_then(|env| Ok((Source::from_env(&env, default_name)?, env)))
    {
        // The namespace is checked with the rest of the environment, before any call to AWS.
        Ok((source, env)) => match config::metrics_namespace(&env) {
            Ok(namespace) => build(source, &env)
                .await
                .map(|(pipeline, resources)| (pipeline, resources, namespace.map(str::to_owned)))
                .map_err(|e| (source.name(), e)),
            Err(e) => Err((source.name(), e)),
        },
        Err(e) => Err((default_name.unwrap_or("unknown"), e)),
    };
    let (pipeline, resources, namespace) = match built {
        Ok(p) => p,
        Err((source, e)) => {
            error!(source, error = %e, "configuration is invalid; refusing to start");
            return Err(e.into());
        }
    };
    let telemetry = Telemetry::start(pipeline.source().name(), namespace, &env, resources);
    // Both serve until the process ends. The runtime's loop runs as a task rather than as the
    // future `main` blocks on: on a current-thread runtime that takes the scheduler to epoll
    // less often (strace, 8 KB deliveries: 3.8 epoll_wait calls per request instead of 6.4).
    let pipeline: &'static Pipeline<ReceiverQueue> = Box::leak(Box::new(pipeline));
    let telemetry: &'static Telemetry = Box::leak(Box::new(telemetry));
    let handler = service_fn(move |event: LambdaEvent<ApiEvent>| async move {
        let (event, context) = event.into_parts();
        let trace_id = context
            .xray_trace_id
            .as_deref()
            .and_then(TraceHeader::parse)
            .map(|h| h.root);
        let span = info_span!("invocation", requestId = %context.request_id, traceId = trace_id);
        let (response, outcome) = serve(pipeline, event, context.deadline)
            .instrument(span)
            .await;
        telemetry.meter.record(&outcome);
        telemetry.keep(outcome);
        Ok::<_, Infallible>(response)
    });
    let serve = Runtime::new(handler).layer(AfterResponse(telemetry)).run();
    match tokio::spawn(serve).await {
        Ok(served) => served,
        Err(e) => Err(e.into()),
    }
}

/// `INLET_METRICS_NAMESPACE`: the CloudWatch namespace of the functions' metrics (default
/// `Inlet`); empty turns metrics off.
pub use crate::config::METRICS_NAMESPACE;

/// Metrics and traces: what an invocation leaves behind once it has been answered.
struct Telemetry {
    meter: Meter,
    /// The EMF writer, unless metrics are off.
    emf: Option<&'static metrics_cloudwatch_embedded::Collector>,
    /// The X-Ray daemon, when Lambda runs one (active tracing).
    xray: Option<Daemon>,
    /// The outcome of the invocation being answered, for its subsegments.
    pending: Mutex<Option<Outcome>>,
}

impl Telemetry {
    /// Installs the EMF recorder (none without a `namespace`), counts this start (written at once,
    /// during the function's initialisation, not with an invocation's metrics) and opens the
    /// X-Ray socket.
    fn start(
        source: &'static str,
        namespace: Option<String>,
        env: &Env,
        resources: xray::Resources,
    ) -> Self {
        let emf = match namespace {
            Some(ns) => match metrics_cloudwatch_embedded::Builder::new()
                .cloudwatch_namespace(ns)
                .init()
            {
                Ok(emf) => Some(emf),
                Err(e) => {
                    warn!(error = %e, "metrics are off: the EMF recorder could not be installed");
                    None
                }
            },
            None => None,
        };
        crate::app::telemetry::describe();
        let meter = Meter::new(source);
        meter.cold_start();
        let telemetry = Self {
            meter,
            emf,
            xray: env
                .get(xray::DAEMON_ADDRESS)
                .and_then(|a| Daemon::connect(a, source, resources)),
            pending: Mutex::new(None),
        };
        telemetry.flush();
        telemetry
    }

    fn keep(&self, outcome: Outcome) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Some(outcome);
        }
    }

    fn flush(&self) {
        if let Some(emf) = self.emf {
            if let Err(e) = emf.flush(std::io::stdout().lock()) {
                warn!(error = %e, "could not write the invocation's metrics");
            }
        }
    }

    /// After the answer has gone: the metrics, then the subsegments of a sampled invocation.
    fn after_response(&self, trace_header: Option<&str>) {
        self.flush();
        let outcome = self.pending.lock().ok().and_then(|mut p| p.take());
        if let (Some(daemon), Some(header), Some(outcome)) = (&self.xray, trace_header, outcome) {
            daemon.send(header, &outcome);
        }
    }
}

/// Runs each invocation (its handler, and the Runtime API call that hands over its answer), then
/// the telemetry, so that writing metrics and traces never delays an answer.
struct AfterResponse(&'static Telemetry);

impl<S> Layer<S> for AfterResponse {
    type Service = AfterResponseService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AfterResponseService {
            inner,
            telemetry: self.0,
        }
    }
}

struct AfterResponseService<S> {
    inner: S,
    telemetry: &'static Telemetry,
}

impl<S> Service<LambdaInvocation> for AfterResponseService<S>
where
    S: Service<LambdaInvocation>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let trace_header = invocation.context.xray_trace_id.clone();
        let telemetry = self.telemetry;
        if let Some(emf) = telemetry.emf {
            emf.set_property("requestId", invocation.context.request_id.clone());
        }
        let answered = self.inner.call(invocation);
        Box::pin(async move {
            let result = answered.await;
            telemetry.after_response(trace_header.as_deref());
            result
        })
    }
}

/// The events queue, and the relay queue when the source relays (`INLET_RELAY`).
type ReceiverQueue = Relaying<SqsQueue, SqsQueue>;

/// `RELAY_QUEUE_URL`, which a relay needs: without it the function does not start.
fn relay_queue_url(env: &Env) -> Result<String, ConfigError> {
    let url = env
        .get(config::RELAY_QUEUE_URL)
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ConfigError::Missing {
            var: config::RELAY_QUEUE_URL.into(),
            expected: format!(
                "{} relays events to the relay queue (the stack's RelayQueueUrl output)",
                config::RELAY
            ),
        })?;
    // Held to the events queue's rules.
    config::queue_url(&Env::from_pairs([(config::QUEUE_URL, url)])).map_err(|e| {
        ConfigError::Invalid {
            var: config::RELAY_QUEUE_URL.into(),
            expected: e.to_string(),
        }
    })
}

/// Everything the request path needs, built once: configuration, secrets, SDK clients. The
/// secret is fetched while the queues are checked, not after.
async fn build(
    source: &'static Source,
    env: &Env,
) -> Result<(Pipeline<ReceiverQueue>, xray::Resources), ConfigError> {
    let queue_url = config::queue_url(env)?;
    let relay = Relay::from_env(env, source.name())?;
    let relay_queue_url = relay.as_ref().map(|_| relay_queue_url(env)).transpose()?;
    let mut settings = Settings::from_env(env)?;
    let secrets_config = crate::ports::secrets::secrets_config(source, env)?;
    let table = config::idempotency_table(env)?;
    let bucket = config::payload_bucket(env)?;
    let sdk = crate::adapters::aws::function_sdk_config(env)?;
    // The relay queue, when there is one, is checked at the same time as the events queue.
    let queue = async {
        let relay_queue = async {
            match relay_queue_url {
                Some(url) => SqsQueue::connect(&sdk, url).await.map(Some),
                None => Ok(None),
            }
        };
        let (events, relay_queue) = tokio::join!(SqsQueue::connect(&sdk, queue_url), relay_queue);
        let events = events.map_err(|problem| ConfigError::Invalid {
            var: config::QUEUE_URL.into(),
            expected: problem,
        })?;
        let relay_queue = relay_queue.map_err(|problem| ConfigError::Invalid {
            var: config::RELAY_QUEUE_URL.into(),
            expected: problem,
        })?;
        Ok::<_, ConfigError>(match (relay, relay_queue) {
            (Some(relay), Some(relay_queue)) => Relaying::new(events, relay, relay_queue),
            _ => Relaying::off(events),
        })
    };
    let secrets = async {
        match secrets_config {
            crate::ports::secrets::SecretsConfig::Env(set) => {
                Ok((SecretStore::from(set), "environment"))
            }
            crate::ports::secrets::SecretsConfig::SecretsManager(arn) => {
                let fetcher =
                    SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk), arn, source);
                // The function may write its own secret only to store a handshake's (Asana's,
                // Notion's), and only while the secret awaits one.
                let writer = Box::new(fetcher.clone());
                match fetcher.fetch().await {
                    Ok(set) => Ok((
                        SecretStore::refreshing(set, Box::new(fetcher), settings.secret_refresh)
                            .with_writer(writer),
                        "secrets-manager",
                    )),
                    // Secrets Manager throttled or unreachable: start anyway and answer 503 +
                    // Retry-After until the secret can be read, as for an unreachable queue.
                    Err(e) if e.failure == crate::ports::failure::Failure::Transient => {
                        warn!(
                            source = source.name(),
                            error = %e,
                            "Secrets Manager could not be reached at start-up; requests are answered 503 with Retry-After until the secret can be read"
                        );
                        Ok((
                            SecretStore::unread(Box::new(fetcher), settings.secret_refresh)
                                .with_writer(writer),
                            "secrets-manager (not read yet)",
                        ))
                    }
                    Err(e) => Err(ConfigError::Invalid {
                        var: config::WEBHOOK_SECRET_ARN.into(),
                        expected: e.detail,
                    }),
                }
            }
        }
    };
    let (queue, secrets) = tokio::join!(queue, secrets);
    let (secrets, origin) = secrets?;
    let queue = queue?;
    settings.fit_body_limit(env, bucket.is_some(), queue.max_message_bytes());
    let idempotency = match &table {
        Some(t) => IdempotencyStore::DynamoDb(DynamoDbStore::from_sdk(&sdk, t)),
        None => IdempotencyStore::Off,
    };
    let payloads = match &bucket {
        Some(b) => PayloadStore::S3(S3Store::from_sdk(&sdk, env, b)),
        None => PayloadStore::Off,
    };
    info!(
        source = source.name(),
        secrets = secrets.current().map_or(0, |s| s.iter().count()),
        secrets_from = origin,
        scheme = source.scheme().name,
        tolerance_seconds = settings
            .tolerance
            .unwrap_or_else(|| source.default_tolerance())
            .as_secs(),
        max_body_bytes = settings.max_body_bytes,
        max_message_bytes = queue.max_message_bytes(),
        idempotency = idempotency.kind(),
        idempotency_window_seconds = settings.idempotency_window.as_secs(),
        payload_bucket = bucket.is_some(),
        relay = queue.relays(),
        "started"
    );
    let resources = xray::Resources {
        region: sdk.region().map(|r| r.to_string()),
        queue_url: Some(queue.events().url().to_owned()),
        table_name: table,
        bucket,
    };
    let mut pipeline = Pipeline::new(source, secrets, settings, queue)
        .with_idempotency(idempotency)
        .with_payloads(payloads);
    // A sender that publishes its keys (SNS, PayPal, Plaid): the HTTPS key port, its cache
    // living as long as this process (every invocation it serves).
    #[cfg(feature = "sender")]
    if source.scheme().custom.is_some_and(|c| c.fetches_keys()) {
        let keys =
            crate::adapters::keys::HttpKeys::from_env(env, KEY_FETCH_TIMEOUT).map_err(|e| {
                ConfigError::Invalid {
                    var: crate::ports::fetched::TEST_ONLY_KEY_SERVER.into(),
                    expected: e,
                }
            })?;
        pipeline = pipeline.with_keys(std::sync::Arc::new(keys));
    }
    Ok((pipeline, resources))
}

/// The most one key fetch may take; the request's deadline bounds it further.
#[cfg(feature = "sender")]
const KEY_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The instant `deadline_ms` (milliseconds since the epoch, from the runtime) stands for.
fn deadline_instant(deadline_ms: u64, now: SystemTime) -> Instant {
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    if deadline_ms == 0 {
        return Instant::now() + FALLBACK_BUDGET;
    }
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// One invocation through the pipeline, answered before `deadline_ms`.
pub async fn handle<Q: Queue>(
    pipeline: &Pipeline<Q>,
    event: ApiEvent,
    deadline_ms: u64,
) -> ApiResponse {
    serve(pipeline, event, deadline_ms).await.0
}

/// [`handle`], with what the invocation came to.
pub async fn serve<Q: Queue>(
    pipeline: &Pipeline<Q>,
    event: ApiEvent,
    deadline_ms: u64,
) -> (ApiResponse, Outcome) {
    let now = SystemTime::now();
    let deadline = deadline_instant(deadline_ms, now);
    match event.into_request() {
        Ok(req) => {
            let inbound = Inbound {
                method: &req.method,
                headers: &req.headers,
                body: &req.body,
                query: &req.query,
                url: req.url.as_deref(),
            };
            let (reply, outcome) = pipeline.serve(inbound, now, deadline).await;
            (reply.into(), outcome)
        }
        Err(e) => {
            let rejection = Rejection::InvalidEvent(e);
            warn!(source = pipeline.source().name(), status = 400, problem = "invalid-event", outcome = "rejected", reason = %rejection, "request rejected");
            let outcome = crate::core::outcome::Trace::default().finish(rejection.verdict(), 0);
            (rejection.to_reply().into(), outcome)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_come_from_the_runtime() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let before = Instant::now();
        let d = deadline_instant(1_700_000_000_000 + 4_000, now);
        let left = d.saturating_duration_since(before);
        assert!(
            left > Duration::from_millis(3_900) && left <= Duration::from_millis(4_100),
            "{left:?}"
        );
        assert!(
            deadline_instant(1_000, now) <= Instant::now(),
            "a past deadline is now"
        );
        assert!(deadline_instant(0, now) > Instant::now() + Duration::from_secs(4));
    }
}
