//! Inlet: verify a sender's signed webhook, normalize it into a CloudEvents envelope and put it
//! on a queue, answering 2xx only once the queue has it.
//!
//! Senders are data: each is a [`scheme::Scheme`] in [`senders`] (or the [`custom`] one), read by
//! the one verifier and normalizer. `event`, `verify`, `normalize`, `handshake` and `envelope` are
//! pure; `pipeline` runs them against the
//! ports (`queue`, `idempotency`, `payloads`, `secrets`); `config`, `lambda`, `aws` and
//! `logging` are the adapters. Without the `aws` feature the crate is the pure core and its
//! local ports.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod custom;
pub mod envelope;
pub mod event;
pub mod failure;
pub mod fetched;
pub mod handshake;
pub mod idempotency;
pub mod json;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod logging;
pub mod normalize;
pub mod outbound;
pub mod outcome;
pub mod payloads;
pub mod pipeline;
pub mod queue;
#[cfg(feature = "aws")]
pub mod replay;
pub mod response;
pub mod scheme;
pub mod secrets;
pub mod senders;
pub mod sources;
pub mod telemetry;
pub mod verify;
pub mod xray;

pub use pipeline::{Inbound, Pipeline};
pub use response::Reply;
pub use sources::Source;
