//! The application: the [`pipeline`] that runs the core against the ports, [`replay`] of parked
//! envelopes, and [`telemetry`].

pub mod pipeline;
#[cfg(feature = "aws")]
pub mod replay;
pub mod telemetry;
