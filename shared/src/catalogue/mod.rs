//! The senders Inlet knows by name ([`senders`]), the custom scheme configured at deploy time
//! ([`custom`]), and the [`sources::Source`] a deployment serves.

pub mod custom;
pub mod senders;
pub mod sources;
