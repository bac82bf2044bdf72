//! The Lambda adapter: configuration, secrets and the SQS client are built once, then every
//! API Gateway (REST v1, HTTP v2) or function URL event goes through the shared pipeline.

use std::time::SystemTime;

use lambda_http::{service_fn, Body, Request, Response};
use tracing::{error, info};

use crate::config::{self, Env, Settings};
use crate::pipeline::{Inbound, Pipeline};
use crate::queue::{Queue, SqsQueue};
use crate::response::Reply;
use crate::sources::Source;

/// Runs a source's function until the Lambda runtime stops it. Fails before serving anything
/// if the configuration is incomplete.
pub use lambda_http::Error;

pub async fn run(source: &'static dyn Source) -> Result<(), Error> {
    crate::logging::init();
    let env = Env::from_process();
    let built = (|| {
        Ok::<_, config::ConfigError>((
            config::queue_url(&env)?,
            config::secrets(source, &env)?,
            Settings::from_env(&env)?,
        ))
    })();
    let (queue_url, secrets, settings) = match built {
        Ok(parts) => parts,
        Err(e) => {
            error!(source = source.name(), error = %e, "configuration is invalid; refusing to start");
            return Err(e.into());
        }
    };
    info!(
        source = source.name(),
        secrets = secrets.iter().count(),
        tolerance_seconds = settings.tolerance.as_secs(),
        max_body_bytes = settings.max_body_bytes,
        "started"
    );
    let queue = SqsQueue::from_environment(queue_url).await;
    let pipeline = Pipeline::new(source, secrets, settings, queue);
    let pipeline = &pipeline;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(handle(pipeline, &req, SystemTime::now()).await)
    }))
    .await
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
