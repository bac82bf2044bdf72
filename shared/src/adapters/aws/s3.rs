//! The payload bucket on Amazon S3.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use crate::adapters::aws::classify;
use crate::ports::failure::StoreError;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// A client from the SDK configuration (path-style addresses with a custom endpoint).
    pub fn from_sdk(
        sdk: &crate::adapters::aws::SdkConfig,
        env: &crate::config::Env,
        bucket: impl Into<String>,
    ) -> Self {
        Self::new(crate::adapters::aws::s3_client(sdk, env), bucket)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub(crate) async fn put(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<String, StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| StoreError::from(classify(&e)))?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}
