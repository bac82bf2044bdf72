//! Inlet: verify a sender's signed webhook, normalize it into a CloudEvents envelope and put it
//! on a queue, answering 2xx only once the queue has it.
//!
//! `verify` and `normalize` are pure; `queue`, `config`, `lambda` and `logging` are the adapters.

pub mod config;
pub mod lambda;
pub mod logging;
pub mod normalize;
pub mod pipeline;
pub mod queue;
pub mod response;
pub mod secrets;
pub mod sources;
pub mod verify;

pub use pipeline::{Inbound, Pipeline};
pub use response::Reply;
pub use sources::Source;
