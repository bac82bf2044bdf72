//! What the AWS adapters share: the SDK configuration, and sorting an SDK error into one that a
//! later attempt may fix (transient) and one it never will (permanent).

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use aws_config::SdkConfig;

use crate::config::Env;
pub use crate::failure::Failure;

/// The standard AWS configuration chain (region, credentials, and `AWS_ENDPOINT_URL` /
/// `AWS_ENDPOINT_URL_<SERVICE>` as the SDK reads them). Each attempt is bounded so that the SDK's
/// own retries fit in a request's deadline, which the pipeline enforces around every call.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_secs(4))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// A failed AWS call: its class, the service's error code and HTTP status when it answered, and
/// a description for logs (which never includes the request or the service's message text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsFailure {
    pub failure: Failure,
    pub code: Option<String>,
    pub status: Option<u16>,
    pub detail: String,
}

impl std::fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// S3 with path-style addresses when the endpoint is overridden (a local S3 such as moto has no
/// per-bucket host names); AWS itself gets virtual-hosted addresses.
pub fn s3_client(sdk: &SdkConfig, env: &Env) -> aws_sdk_s3::Client {
    let custom = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|v| env.get(v).is_some_and(|u| !u.is_empty()));
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(custom)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Sorts an SDK error. The service's own message is left out: it may quote what was sent.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> AwsFailure {
    match err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().map(str::to_owned);
            let status = service.raw().status().as_u16();
            AwsFailure {
                failure: if retryable(status, code.as_deref()) {
                    Failure::Transient
                } else {
                    Failure::Permanent
                },
                detail: format!(
                    "the service answered {status} {}",
                    code.as_deref().unwrap_or("without an error code")
                ),
                code,
                status: Some(status),
            }
        }
        SdkError::ConstructionFailure(_) => AwsFailure {
            failure: Failure::Permanent,
            code: None,
            status: None,
            detail: "the request could not be built".into(),
        },
        SdkError::TimeoutError(_) => transient("the call timed out"),
        SdkError::DispatchFailure(d) if d.is_io() => transient("the connection failed"),
        SdkError::DispatchFailure(d) if d.is_timeout() => transient("the connection timed out"),
        SdkError::DispatchFailure(_) => transient("the request could not be sent"),
        SdkError::ResponseError(_) => transient("the answer could not be read"),
        _ => transient("the call failed"),
    }
}

/// Whether an answer with this status and error code may succeed when sent again: 5xx, the
/// SDK's throttling and transient codes, and service-specific throttles such as SQS's
/// `KmsThrottled` (`KMS.ThrottlingException` on the wire).
fn retryable(status: u16, code: Option<&str>) -> bool {
    status >= 500
        || code.is_some_and(|c| {
            THROTTLING_ERRORS.contains(&c) || TRANSIENT_ERRORS.contains(&c) || c.contains("Throttl")
        })
}

fn transient(detail: &str) -> AwsFailure {
    AwsFailure {
        failure: Failure::Transient,
        code: None,
        status: None,
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_and_server_errors_are_transient_the_rest_permanent() {
        for (status, code) in [
            (500, Some("InternalFailure")),
            (503, None),
            (403, Some("RequestThrottled")),
            (400, Some("KMS.ThrottlingException")),
            (400, Some("ProvisionedThroughputExceededException")),
            (400, Some("ThrottlingException")),
            (400, Some("RequestTimeout")),
        ] {
            assert!(retryable(status, code), "{status} {code:?}");
        }
        for (status, code) in [
            (400, Some("AWS.SimpleQueueService.NonExistentQueue")),
            (403, Some("AccessDenied")),
            (400, Some("KMS.AccessDeniedException")),
            (400, Some("InvalidMessageContents")),
            (400, Some("InvalidParameterValue")),
            (404, Some("NoSuchBucket")),
            (400, None),
        ] {
            assert!(!retryable(status, code), "{status} {code:?}");
        }
    }
}
