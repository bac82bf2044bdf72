//! Inlet: verify a sender's signed webhook, normalize it into a CloudEvents envelope and put it
//! on a queue, answering 2xx only once the queue has it.
//!
//! `event`, `verify`, `normalize` and `envelope` are pure; `pipeline` runs them against the
//! ports (`queue`, `idempotency`, `payloads`, `secrets`); `config`, `lambda`, `aws` and
//! `logging` are the adapters. Without the `aws` feature the crate is the pure core and its
//! local ports.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod envelope;
pub mod event;
pub mod failure;
pub mod idempotency;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod logging;
pub mod normalize;
pub mod payloads;
pub mod pipeline;
pub mod queue;
#[cfg(feature = "aws")]
pub mod replay;
pub mod response;
pub mod secrets;
pub mod sources;
pub mod verify;

pub use pipeline::{Inbound, Pipeline};
pub use response::Reply;
pub use sources::Source;
