//! What the pipeline needs from outside the core: a queue, idempotency marks, a payload bucket,
//! secrets and published keys. Each port has an in-memory version for tests; the real ones are
//! among the adapters.

pub mod failure;
pub mod fetched;
pub mod idempotency;
pub mod payloads;
pub mod queue;
pub mod secrets;
