//! The Lambda runtime: a function's start-up and its handler. The local server's runtime is
//! `inlet serve`, in the CLI crate.

pub mod lambda;
