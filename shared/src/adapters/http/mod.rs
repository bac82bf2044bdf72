//! One webhook attempt, sent without ever connecting where it should not.
//!
//! SSRF is handled by resolving, not by checking: the client resolves the URL's host itself,
//! once per attempt, drops every address [`guard::vet`] refuses (not globally routable, unless
//! the [`Policy`] names its range) and connects only to what is left, in order, with TLS's SNI
//! and the `Host` header naming the URL's host. Nothing is re-resolved between the check and the
//! connection, so DNS rebinding has nothing to race; redirects are never followed. [`guard`] is
//! pure and always built; the client is behind the `sender` feature.

pub mod guard;

#[cfg(feature = "sender")]
mod client;

#[cfg(feature = "sender")]
pub use client::{
    Client, ClientConfig, ClientError, Connect, Failure, Resolve, Response, SystemResolver,
    TcpConnector, USER_AGENT,
};
pub use guard::{InvalidUrl, Policy, Refusal};

#[cfg(all(test, feature = "sender"))]
mod tests;
