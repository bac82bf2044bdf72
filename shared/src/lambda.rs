//! The Lambda adapter: configuration, secrets and the AWS clients are built once, then every
//! API Gateway (REST v1, HTTP v2) or function URL event goes through the shared pipeline with
//! the invocation's own deadline.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{service_fn, LambdaEvent};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::config::{self, ConfigError, Env, SecretsConfig, Settings};
use crate::event::{ApiEvent, ApiResponse};
use crate::idempotency::{DynamoDbStore, IdempotencyStore};
use crate::payloads::{PayloadStore, S3Store};
use crate::pipeline::{Inbound, Pipeline};
use crate::queue::{Queue, SqsQueue};
use crate::response::Rejection;
use crate::secrets::{FetchSecrets, SecretStore, SecretsManager};
use crate::sources::Source;

pub use lambda_runtime::Error;

/// The budget of an invocation whose deadline the runtime did not give (Lambda always does).
const FALLBACK_BUDGET: Duration = Duration::from_secs(5);

/// Runs the function of the source the environment names (`INLET_SOURCE`, else `default_name`:
/// the binaries named after one sender) until the Lambda runtime stops it. Fails before serving
/// anything if the configuration is incomplete, the secret cannot be read or the queue cannot be used.
pub async fn run(default_name: Option<&str>) -> Result<(), Error> {
    crate::logging::init();
    let env = Env::from_process();
    let name = crate::sources::name_in(&env, default_name)
        .unwrap_or_default()
        .to_owned();
    let built = match env
        .with_source_settings(&name)
        .and_then(|env| Ok((Source::from_env(&env, default_name)?, env)))
    {
        Ok((source, env)) => build(source, &env).await.map_err(|e| (source.name(), e)),
        Err(e) => Err((default_name.unwrap_or("unknown"), e)),
    };
    let pipeline = match built {
        Ok(p) => p,
        Err((source, e)) => {
            error!(source, error = %e, "configuration is invalid; refusing to start");
            return Err(e.into());
        }
    };
    // The pipeline serves until the process ends. The runtime's loop runs as a task rather than
    // as the future `main` blocks on: on a current-thread runtime that takes the scheduler to
    // epoll less often (strace, 8 KB deliveries: 3.8 epoll_wait calls per request instead of 6.4).
    let pipeline: &'static Pipeline<SqsQueue> = Box::leak(Box::new(pipeline));
    let serve = lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiEvent>| async move {
        let (event, context) = event.into_parts();
        Ok::<_, Infallible>(handle(pipeline, event, context.deadline).await)
    }));
    match tokio::spawn(serve).await {
        Ok(served) => served,
        Err(e) => Err(e.into()),
    }
}

/// Everything the request path needs, built once: configuration, secrets, SDK clients. The
/// secret is fetched while the queue is checked, not after.
async fn build(source: &'static Source, env: &Env) -> Result<Pipeline<SqsQueue>, ConfigError> {
    let queue_url = config::queue_url(env)?;
    let mut settings = Settings::from_env(env)?;
    let secrets_config = config::secrets_config(source, env)?;
    let table = config::idempotency_table(env)?;
    let bucket = config::payload_bucket(env)?;
    let sdk = crate::aws::function_sdk_config(env)?;
    let queue = SqsQueue::connect(&sdk, queue_url);
    let secrets = async {
        match secrets_config {
            SecretsConfig::Env(set) => Ok((SecretStore::from(set), "environment")),
            SecretsConfig::SecretsManager(arn) => {
                let fetcher =
                    SecretsManager::new(aws_sdk_secretsmanager::Client::new(&sdk), arn, source);
                let set = fetcher
                    .fetch()
                    .await
                    .map_err(|problem| ConfigError::Invalid {
                        var: config::WEBHOOK_SECRET_ARN.into(),
                        expected: problem,
                    })?;
                Ok((
                    SecretStore::refreshing(set, Box::new(fetcher), settings.secret_refresh),
                    "secrets-manager",
                ))
            }
        }
    };
    let (queue, secrets) = tokio::join!(queue, secrets);
    let queue = queue.map_err(|problem| ConfigError::Invalid {
        var: config::QUEUE_URL.into(),
        expected: problem,
    })?;
    let (secrets, origin) = secrets?;
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
        secrets = secrets.current().iter().count(),
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
        "started"
    );
    Ok(Pipeline::new(source, secrets, settings, queue)
        .with_idempotency(idempotency)
        .with_payloads(payloads))
}

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
            pipeline.handle(inbound, now, deadline).await.into()
        }
        Err(e) => {
            let rejection = Rejection::InvalidEvent(e);
            warn!(source = pipeline.source().name(), status = 400, problem = "invalid-event", outcome = "rejected", reason = %rejection, "request rejected");
            rejection.to_reply().into()
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
