//! One webhook attempt, sent without ever connecting where it should not.
//!
//! [`guard`] decides what may be connected to: a URL's scheme, userinfo, host and port, and
//! whether an address is globally routable. It is pure and always built.

pub mod guard;

pub use guard::{InvalidUrl, Policy, Refusal};
