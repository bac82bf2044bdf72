//! What the AWS adapters share: the SDK configuration, and sorting an SDK error into one that a
//! later attempt may fix (transient) and one it never will (permanent).

pub mod dynamodb;
pub mod s3;
pub mod secrets_manager;
pub mod sqs;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use aws_config::SdkConfig;
pub use dynamodb::DynamoDbStore;
pub use s3::S3Store;
pub use secrets_manager::SecretsManager;
pub use sqs::SqsQueue;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::config::{ConfigError, Env};
pub use crate::ports::failure::Failure;

/// The certificate authorities the SDK's TLS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The Amazon Trust Services roots compiled in, which issue every AWS endpoint's
    /// certificate: nothing is read or parsed from the system's bundle (about 140 roots) on a
    /// cold start. The Lambda functions use this.
    Amazon,
    /// The system's bundle, as the SDK loads it by default: the CLI and the local server, whose
    /// machines may reach AWS through a proxy that only the system trusts.
    System,
}

/// The Amazon Trust Services roots (Amazon Root CA 1–4, Starfield Services Root CA G2).
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// A PEM file of more certificate authorities to trust, as in the AWS CLI and SDKs: for an
/// endpoint with a private CA (a proxy, a VPC endpoint behind one, a local test endpoint).
/// Inlet adds them to what it trusts anyway.
pub const AWS_CA_BUNDLE: &str = "AWS_CA_BUNDLE";
/// `system` makes the functions trust the system's bundle instead of the Amazon roots.
pub use crate::config::INLET_TLS_ROOTS;

/// Each attempt is bounded so that the SDK's own retries fit in a request's deadline, which the
/// pipeline enforces around every call.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_secs(4))
        .build()
}

/// The standard AWS configuration chain (profiles, SSO, web identity, container and instance
/// credentials; region, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` as the SDK reads them),
/// with a TLS client that trusts `trust` plus `AWS_CA_BUNDLE`: for the CLI and the local server,
/// which run wherever a user's credentials are.
pub async fn sdk_config(env: &Env, trust: Trust) -> Result<aws_config::SdkConfig, ConfigError> {
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .http_client(https_client(env, trust)?)
        .load()
        .await)
}

/// The configuration of a Lambda function, from what Lambda gives it: the region
/// (`AWS_REGION`, else `AWS_DEFAULT_REGION`) and the execution role's credentials in the
/// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), plus what
/// a user may set: `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), `AWS_USE_FIPS_ENDPOINT` and
/// `AWS_USE_DUALSTACK_ENDPOINT`, and the trust of [`Trust::Amazon`]. The SDK's own defaults do
/// the rest (standard retries, the identity cache, stalled-stream protection).
///
/// Without [`sdk_config`]'s chain of providers, whose profile parsing, SSO and STS clients a
/// function never uses, the function's zip is about 0.3 MB smaller and its start-up reads no
/// profile files (infra/bench).
pub fn function_sdk_config(env: &Env) -> Result<aws_config::SdkConfig, ConfigError> {
    use aws_config::environment::EnvironmentVariableCredentialsProvider;
    use aws_sdk_sqs::config::{Region, SharedCredentialsProvider};

    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|v| env.get(v).filter(|r| !r.trim().is_empty()))
        .ok_or_else(|| ConfigError::Missing {
            var: "AWS_REGION".into(),
            expected: "the AWS region (Lambda sets it)".into(),
        })?;
    let flag = |var: &str| -> Result<Option<bool>, ConfigError> {
        match env
            .get(var)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(ConfigError::Invalid {
                var: var.into(),
                expected: "`true` or `false`".into(),
            }),
        }
    };
    let mut sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.trim().to_owned()))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .timeout_config(timeouts())
        .retry_config(aws_config::retry::RetryConfig::standard())
        .http_client(https_client(env, Trust::Amazon)?);
    sdk.set_use_fips(flag("AWS_USE_FIPS_ENDPOINT")?);
    sdk.set_use_dual_stack(flag("AWS_USE_DUALSTACK_ENDPOINT")?);
    if flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")? != Some(true) {
        let endpoints = EndpointUrls::from(env);
        sdk.set_endpoint_url(endpoints.global.clone());
        sdk = sdk.service_config(endpoints);
    }
    Ok(sdk.build())
}

/// `AWS_ENDPOINT_URL_<SERVICE>` (the service id upper-cased, spaces as `_`: `SQS`, `S3`,
/// `DYNAMODB`, `SECRETS_MANAGER`), else `AWS_ENDPOINT_URL`, as each SDK client asks for it.
#[derive(Debug, Default)]
struct EndpointUrls {
    global: Option<String>,
    services: Vec<(String, String)>,
}

const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

impl From<&Env> for EndpointUrls {
    fn from(env: &Env) -> Self {
        let set = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        Self {
            global: env.get(ENDPOINT_URL).and_then(set),
            services: env
                .vars()
                .filter_map(|(k, v)| {
                    Some((k.strip_prefix("AWS_ENDPOINT_URL_")?.to_owned(), set(v)?))
                })
                .collect(),
        }
    }
}

impl aws_types::service_config::LoadServiceConfig for EndpointUrls {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        if key.env() != ENDPOINT_URL {
            return None;
        }
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        self.services
            .iter()
            .find(|(s, _)| *s == service)
            .map(|(_, url)| url.clone())
            .or_else(|| self.global.clone())
    }
}

/// The SDK's own HTTPS client (rustls on ring, which seeds from `getrandom` and does no CPU-jitter
/// entropy collection on the first connection, as aws-lc does), with the trust store asked for.
fn https_client(env: &Env, trust: Trust) -> Result<SharedHttpClient, ConfigError> {
    let system = trust == Trust::System
        || match env.get(INLET_TLS_ROOTS) {
            None | Some("") | Some("amazon") => false,
            Some("system") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    var: INLET_TLS_ROOTS.into(),
                    expected: "`amazon` (the default) or `system`".into(),
                })
            }
        };
    let mut store = TrustStore::empty().with_native_roots(system);
    if !system {
        store = store.with_pem_certificate(AMAZON_ROOTS);
    }
    if let Some(path) = env.get(AWS_CA_BUNDLE).filter(|p| !p.is_empty()) {
        store = store.with_pem_certificate(ca_bundle(path)?);
    }
    let tls = TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| ConfigError::Invalid {
            var: AWS_CA_BUNDLE.into(),
            expected: format!("certificates the TLS client accepts ({e})"),
        })?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(tls)
        .build_https())
}

/// The PEM file at `path`, checked here: the SDK's client panics on a certificate it cannot parse.
fn ca_bundle(path: &str) -> Result<Vec<u8>, ConfigError> {
    let invalid = |expected: String| ConfigError::Invalid {
        var: AWS_CA_BUNDLE.into(),
        expected,
    };
    let pem = std::fs::read(path).map_err(|e| invalid(format!("a readable PEM file ({e})")))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| invalid(format!("PEM certificates ({e:?})")))?;
        roots
            .add(cert)
            .map_err(|e| invalid(format!("certificates a TLS client can trust ({e})")))?;
    }
    if roots.is_empty() {
        return Err(invalid("a PEM file with at least one certificate".into()));
    }
    Ok(pem)
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

/// A conditional write's outcome: `Ok(true)` written, `Ok(false)` its condition did not hold.
pub(crate) fn written<T, E: ProvideErrorMetadata + std::error::Error + 'static>(
    result: Result<T, SdkError<E, Response>>,
) -> Result<bool, crate::ports::failure::StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(classify(&e).into()),
    }
}

/// Sorts an SDK error. The service's own message is left out: it may quote what was sent.
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, Response>,
) -> AwsFailure {
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
        // An endpoint whose certificate is not trusted stays untrusted: a proxy or private CA
        // missing from AWS_CA_BUNDLE, or someone in the way. Never worth a retry.
        SdkError::DispatchFailure(_) if certificate_refused(err) => AwsFailure {
            failure: Failure::Permanent,
            code: None,
            status: None,
            detail: "the endpoint's TLS certificate is not trusted (is its CA in AWS_CA_BUNDLE?)"
                .into(),
        },
        SdkError::DispatchFailure(d) if d.is_io() => transient("the connection failed"),
        SdkError::DispatchFailure(d) if d.is_timeout() => transient("the connection timed out"),
        SdkError::DispatchFailure(_) => transient("the request could not be sent"),
        SdkError::ResponseError(_) => transient("the answer could not be read"),
        _ => transient("the call failed"),
    }
}

/// Whether `err`, or an error it was caused by, is rustls refusing the peer's certificate. The
/// chain passes through `io::Error`s, whose `source` skips the error they wrap.
fn certificate_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if matches!(
            e.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidCertificate(_))
        ) {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if certificate_refused(inner) {
                return true;
            }
        }
        next = e.source();
    }
    false
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

impl From<AwsFailure> for crate::ports::failure::StoreError {
    fn from(f: AwsFailure) -> Self {
        Self {
            failure: f.failure,
            detail: f.detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amazon_roots_are_the_five_aws_names() {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(AMAZON_ROOTS) {
            roots
                .add(cert.expect("PEM"))
                .expect("a usable trust anchor");
        }
        assert_eq!(roots.len(), 5);
        let text = String::from_utf8_lossy(AMAZON_ROOTS);
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(text.contains(&format!("# {name}\n")), "{name}");
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn a_bad_ca_bundle_or_roots_setting_is_a_configuration_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "no certificates here").expect("write");
        let bad_cert = dir.path().join("bad.pem");
        std::fs::write(
            &bad_cert,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let missing = dir.path().join("missing.pem");
        for path in [&not_pem, &bad_cert, &missing] {
            let path = path.to_str().expect("utf-8 path");
            match https_client(&env(&[(AWS_CA_BUNDLE, path)]), Trust::Amazon) {
                Err(ConfigError::Invalid { var, .. }) => assert_eq!(var, AWS_CA_BUNDLE),
                other => panic!("{path}: {other:?}"),
            }
        }
        match https_client(&env(&[(INLET_TLS_ROOTS, "mozilla")]), Trust::Amazon) {
            Err(ConfigError::Invalid { var, .. }) => assert_eq!(var, INLET_TLS_ROOTS),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_ca_bundle_of_good_certificates_is_taken() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join("ca.pem");
        std::fs::write(&bundle, AMAZON_ROOTS).expect("write");
        let path = bundle.to_str().expect("utf-8 path");
        assert_eq!(ca_bundle(path).expect("valid bundle"), AMAZON_ROOTS);
        for roots in ["", "amazon", "system"] {
            https_client(
                &env(&[(AWS_CA_BUNDLE, path), (INLET_TLS_ROOTS, roots)]),
                Trust::Amazon,
            )
            .expect("a client");
        }
    }

    /// The endpoint an SDK client built from `sdk` would take, asked as the generated clients ask.
    fn endpoint_for(sdk: &SdkConfig, service_id: &str) -> Option<String> {
        let key = aws_types::service_config::ServiceConfigKey::builder()
            .service_id(service_id)
            .env(ENDPOINT_URL)
            .profile("endpoint_url")
            .build()
            .expect("a key");
        sdk.service_config()
            .and_then(|c| c.load_config(key))
            .or_else(|| sdk.endpoint_url().map(str::to_owned))
    }

    #[test]
    fn a_function_takes_its_region_endpoints_and_flags_from_the_environment() {
        let sdk = function_sdk_config(&env(&[
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "https://all.example"),
            (
                "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                "https://secrets.example",
            ),
            ("AWS_ENDPOINT_URL_SQS", " "),
            ("AWS_USE_FIPS_ENDPOINT", "true"),
        ]))
        .expect("config");
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.use_fips(), Some(true));
        assert_eq!(sdk.use_dual_stack(), None);
        assert_eq!(
            endpoint_for(&sdk, "Secrets Manager").as_deref(),
            Some("https://secrets.example")
        );
        for service in ["SQS", "S3", "DynamoDB"] {
            assert_eq!(
                endpoint_for(&sdk, service).as_deref(),
                Some("https://all.example"),
                "{service}"
            );
        }
        let sdk = function_sdk_config(&env(&[
            ("AWS_REGION", "us-east-2"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "https://all.example"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
        ]))
        .expect("config");
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-2"));
        assert_eq!(endpoint_for(&sdk, "SQS"), None);
    }

    #[test]
    fn a_function_without_a_region_or_with_a_bad_flag_does_not_start() {
        match function_sdk_config(&env(&[])) {
            Err(ConfigError::Missing { var, .. }) => assert_eq!(var, "AWS_REGION"),
            other => panic!("{other:?}"),
        }
        match function_sdk_config(&env(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "yes"),
        ])) {
            Err(ConfigError::Invalid { var, .. }) => assert_eq!(var, "AWS_USE_DUALSTACK_ENDPOINT"),
            other => panic!("{other:?}"),
        }
    }

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
