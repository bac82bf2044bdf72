//! The pure core: no I/O, no clock but the one passed in. A sender is data ([`scheme`]), read by
//! the one verifier ([`verify`]) and normalizer ([`normalize`]); [`handshake`] answers the
//! senders' URL checks; [`envelope`] is the CloudEvents envelope; [`event`] the Lambda event and
//! [`response`] the answer.

pub mod disposition;
pub mod envelope;
pub mod event;
pub mod handshake;
pub mod json;
pub mod key_url;
pub mod normalize;
pub mod outcome;
pub mod request;
pub mod response;
pub mod scheme;
pub mod verify;
