//! The Lambda adapter: configuration, secrets and the SQS client are built once, then every
//! API Gateway (REST v1, HTTP v2) or function URL event goes through the shared pipeline.

use std::time::SystemTime;

use lambda_http::{service_fn, Body, Request, Response};
use tracing::{error, info};

use crate::config::{self, ConfigError, Env, SecretsConfig, Settings};
use crate::pipeline::{Inbound, Pipeline};
use crate::queue::{Queue, SqsQueue};
use crate::response::Reply;
use crate::secrets::{FetchSecrets, SecretStore, SecretsManager};
use crate::sources::Source;

/// Runs a source's function until the Lambda runtime stops it. Fails before serving anything
/// if the configuration is incomplete.
pub use lambda_http::Error;

/// Runs a source's function until the Lambda runtime stops it. Fails before serving anything
/// if the configuration is incomplete or the secret cannot be read.
pub async fn run(source: &'static dyn Source) -> Result<(), Error> {
    crate::logging::init();
    let pipeline = match build(source, &Env::from_process()).await {
        Ok(p) => p,
        Err(e) => {
            error!(source = source.name(), error = %e, "configuration is invalid; refusing to start");
            return Err(e.into());
        }
    };
    let pipeline = &pipeline;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(pipeline, &req, SystemTime::now()).await)
    }))
    .await
}

/// Everything the request path needs, built once: configuration, secrets, SDK clients.
async fn build(source: &'static dyn Source, env: &Env) -> Result<Pipeline<SqsQueue>, ConfigError> {
    let queue_url = config::queue_url(env)?;
    let settings = Settings::from_env(env)?;
    let secrets_config = config::secrets_config(source, env)?;
    let sdk = crate::queue::aws_config().await;
    let (secrets, origin) = match secrets_config {
        SecretsConfig::Env(set) => (SecretStore::from(set), "environment"),
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
            (
                SecretStore::refreshing(set, Box::new(fetcher), settings.secret_refresh),
                "secrets-manager",
            )
        }
    };
    info!(
        source = source.name(),
        secrets = secrets.current().iter().count(),
        secrets_from = origin,
        tolerance_seconds = settings.tolerance.as_secs(),
        max_body_bytes = settings.max_body_bytes,
        "started"
    );
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url);
    Ok(Pipeline::new(source, secrets, settings, queue))
}

/// One Lambda request through the pipeline at `now`. `lambda_http` has already undone
/// `isBase64Encoded` exactly once; the body's bytes are used as they are.
pub async fn handle<Q: Queue>(
    pipeline: &Pipeline<Q>,
    req: &Request,
    now: SystemTime,
) -> Response<Body> {
    let inbound = Inbound {
        method: req.method(),
        headers: req.headers(),
        body: req.body().as_ref(),
    };
    to_response(pipeline.handle(inbound, now).await)
}

/// A `Reply` as a Lambda HTTP response (text bodies stay text, so API Gateway does not re-encode them).
pub fn to_response(reply: Reply) -> Response<Body> {
    let mut builder = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value);
    }
    let body = match String::from_utf8(reply.body) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(Body::Empty))
}
