//! The functions' secret: read from AWS Secrets Manager, and stored there by a handshake that
//! delivers one.

use std::future::Future;
use std::pin::Pin;

use crate::catalogue::sources::Source;
use crate::core::verify::SecretSet;
use crate::ports::failure::StoreError;
use crate::ports::secrets::{
    await_expired, claim_token, parse_secret_value, ClaimSecret, FetchSecrets, AWAIT_HANDSHAKE,
    AWAIT_WINDOW,
};

/// Reads one secret from AWS Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    source: &'static Source,
}

impl SecretsManager {
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
        source: &'static Source,
    ) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
            source,
        }
    }
}

impl FetchSecrets for SecretsManager {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<SecretSet, StoreError>> + Send + '_>> {
        Box::pin(async move {
            let out = self
                .client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send()
                .await
                .map_err(|e| {
                    let failure = crate::adapters::aws::classify(&e);
                    StoreError {
                        failure: failure.failure,
                        detail: format!("cannot read the secret: {failure}"),
                    }
                })?;
            let value = out.secret_string().ok_or_else(|| {
                StoreError::permanent(
                    "the secret has no string value (binary secrets are not supported)",
                )
            })?;
            parse_secret_value(self.source, value).map_err(StoreError::permanent)
        })
    }
}

/// Stores a handshake's secret on the function's own secret (IAM lets it write that one only):
/// reads the current version, which must still be [`AWAIT_HANDSHAKE`], then `PutSecretValue`
/// with [`claim_token`] of that version. Two instances racing send the same token: the first
/// value is stored, the second is refused by Secrets Manager itself; a handshake after the
/// operator or a handshake has stored a secret finds no awaiting value.
impl ClaimSecret for SecretsManager {
    fn claim<'a>(
        &'a self,
        value: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>> {
        Box::pin(async move {
            let fail = |what: &str, failure: crate::adapters::aws::AwsFailure| StoreError {
                failure: failure.failure,
                detail: format!("cannot {what} the secret: {failure}"),
            };
            let current = self
                .client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send()
                .await
                .map_err(|e| fail("read", crate::adapters::aws::classify(&e)))?;
            if current.secret_string().map(str::trim) != Some(AWAIT_HANDSHAKE) {
                return Ok(false);
            }
            let now = crate::core::verify::unix_seconds(std::time::SystemTime::now());
            let since = current.created_date().map(|d| d.secs());
            if since.is_none_or(|since| await_expired(since, now)) {
                return Err(StoreError::permanent(format!(
                    "the secret has awaited a handshake for more than {} s: store {AWAIT_HANDSHAKE} again just before creating the subscription",
                    AWAIT_WINDOW.as_secs()
                )));
            }
            let version = current.version_id().unwrap_or_default();
            match self
                .client
                .put_secret_value()
                .secret_id(&self.secret_id)
                .secret_string(value)
                .client_request_token(claim_token(version))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) => {
                    let failure = crate::adapters::aws::classify(&e);
                    if failure.code.as_deref() == Some("ResourceExistsException") {
                        Ok(false)
                    } else {
                        Err(fail("store", failure))
                    }
                }
            }
        })
    }
}
