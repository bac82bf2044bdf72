//! Sending: Inlet delivers events to subscribers' endpoints as Standard Webhooks, retried with
//! backoff until they arrive, the other half of what the receiving side does.
//!
//! The same shape as receiving. A pure core takes times and responses as values:
//! - `signing`: Standard Webhooks `v1` (HMAC-SHA256) and `v1a` (Ed25519) signatures, `whsec_`
//!   secrets, both keys during a rotation;
//! - `filter`: which event types a subscription takes (exact, or `prefix.*`);
//! - `schedule`: when the next attempt is due (exponential, with jitter, at least 3 days);
//! - `classify`: one attempt's response or failure becomes one [`classify::Verdict`], which
//!   everything else (the next attempt, the endpoint's state, metrics, the attempt log) reads;
//! - `circuit`: an endpoint that keeps failing gets one probe at a time, not every task;
//! - `model`: endpoints, delivery tasks and attempts as they are stored.
//!
//! `http` sends one attempt without ever connecting where it should not (SSRF: the name is
//! resolved here, every address that is not globally routable is refused, and the connection
//! goes to the vetted address). The ports (`ports`) keep endpoints, tasks and the attempt log;
//! the AWS adapters use DynamoDB, SQS, S3 and KMS, the local one SQLite.

pub mod admin;
pub mod circuit;
pub mod classify;
#[cfg(test)]
pub(crate) mod contract;
pub mod deliver;
#[cfg(feature = "aws")]
pub mod dynamodb;
pub mod fanout;
pub mod filter;
#[cfg(all(feature = "aws", feature = "sender"))]
pub mod lambda;
#[cfg(feature = "local-store")]
pub mod local;
pub mod memory;
pub mod model;
pub mod notices;
pub mod ports;
pub mod relay;
pub mod schedule;
pub mod settings;
pub mod signing;
#[cfg(feature = "aws")]
pub mod sqs;
pub mod telemetry;
#[cfg(feature = "local-store")]
pub mod worker;
