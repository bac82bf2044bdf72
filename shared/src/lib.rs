//! Inlet: verify a sender's signed webhook, normalize it into a CloudEvents envelope and put it
//! on a queue, answering 2xx only once the queue has it.
//!
//! The library is in layers, each importing only from those listed before it (the test harness in
//! `tests` excepted):
//! - [`core`]: pure, no I/O — the request and its secrets ([`core::request`]), a sender described
//!   as data ([`core::scheme`]), the one verifier and normalizer that read it, handshakes, the
//!   envelope, the Lambda event and the answer;
//! - [`config`]: the settings, read once from the environment; [`logging`];
//! - [`catalogue`]: the named senders ([`catalogue::senders`]), the custom scheme and the
//!   [`Source`] a deployment serves;
//! - [`ports`]: what the pipeline needs from the outside world (a queue, idempotency marks, a
//!   payload bucket, secrets, published keys), with in-memory versions for tests; [`xray`];
//! - [`adapters`]: those ports on AWS (SQS, DynamoDB, S3, Secrets Manager) and locally (a spool
//!   directory, a directory of marks, a secret file), the SSRF-safe HTTPS client and the key
//!   fetcher;
//! - [`app`]: the pipeline that runs the core against the ports, replay and telemetry;
//! - [`outbound`]: the sender side (subscribers' endpoints, signed deliveries), with its own
//!   ports and adapters;
//! - [`runtime`]: the Lambda function's runtime (the local server's is `inlet serve`, in the
//!   CLI crate).
//!
//! Without the `aws` feature the crate is the pure core, the catalogue and the local adapters.

pub mod adapters;
pub mod app;
pub mod catalogue;
pub mod config;
pub mod core;
pub mod logging;
pub mod outbound;
pub mod ports;
#[cfg(feature = "aws")]
pub mod runtime;
#[cfg(test)]
mod tests;
pub mod xray;

pub use app::pipeline::{Inbound, Pipeline};
pub use catalogue::sources::Source;
pub use core::response::Reply;
