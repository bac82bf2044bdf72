//! The payload bucket (`PAYLOAD_BUCKET`): the claim check for bodies whose envelope does not fit
//! a queue message, and the place an envelope the queue permanently refuses is parked for replay.
//!
//! Keys are derived from the source, the envelope id and the body's SHA-256, so a retry writes the
//! same bytes to the same key, and two deliveries that share an id (WooCommerce's collide) never
//! overwrite each other:
//! `payloads/<source>/<id>/<body sha256>` and `undelivered/<source>/<id>/<body sha256>.json`.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::core::envelope::Envelope;
use crate::ports::failure::StoreError;

/// Whether `s` can stand in a key as it is: 1 to 128 letters, digits, `-`, `_` and `.`, not
/// starting with `.` (so never `.` or `..`). Every id segment is one (a hashed one too).
pub(crate) fn plain_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The id as a key segment: as it is when it is short and plain, else `sha256-` and its SHA-256.
pub(crate) fn id_segment(id: &str) -> String {
    if plain_segment(id) {
        id.to_owned()
    } else {
        format!("sha256-{}", hex::encode(Sha256::digest(id.as_bytes())))
    }
}

/// Where claim-checked bodies are kept (see [`body_key`]).
pub const CLAIM_CHECK_PREFIX: &str = "payloads/";
/// Where parked envelopes are kept (see [`parked_key`]).
pub const PARKED_PREFIX: &str = "undelivered/";

/// Where a body is claim-checked, from its source, its id's [`id_segment`] and its hex digest.
pub(crate) fn claim_check_key(source: &str, segment: &str, digest: &str) -> String {
    format!("{CLAIM_CHECK_PREFIX}{source}/{segment}/{digest}")
}

/// Where an envelope's raw body goes when the envelope does not fit a queue message.
pub fn body_key(envelope: &Envelope) -> String {
    claim_check_key(
        envelope.source(),
        &id_segment(envelope.id()),
        envelope.body_sha256(),
    )
}

/// Where an envelope the queue refused is parked, for `inlet replay`.
pub fn parked_key(envelope: &Envelope) -> String {
    format!(
        "{PARKED_PREFIX}{}/{}/{}.json",
        envelope.source(),
        id_segment(envelope.id()),
        envelope.body_sha256()
    )
}

/// Objects in memory, for unit tests of the pipeline.
#[derive(Debug, Default)]
pub struct MemoryPayloads {
    objects: Mutex<HashMap<String, (Vec<u8>, String)>>,
    fail: Option<StoreError>,
}

impl MemoryPayloads {
    /// A store that refuses every object with `error`.
    pub fn failing(error: StoreError) -> Self {
        Self {
            fail: Some(error),
            ..Self::default()
        }
    }

    /// The object at `key`: its bytes and content type.
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, String)> {
        self.objects.lock().ok()?.get(key).cloned()
    }

    /// Every key stored.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .objects
            .lock()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    pub(crate) fn put(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<String, StoreError> {
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        self.objects
            .lock()
            .map_err(|_| StoreError::transient("poisoned"))?
            .insert(key.to_owned(), (bytes.to_vec(), content_type.to_owned()));
        Ok(format!("memory://{key}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_segments_are_plain_or_hashed() {
        assert_eq!(id_segment("evt_1A2b-3.c"), "evt_1A2b-3.c");
        for odd in ["", "../x", ".hidden", "a/b", "a b", "é"] {
            let seg = id_segment(odd);
            assert!(
                seg.starts_with("sha256-") && seg.len() == 71,
                "{odd:?}: {seg}"
            );
        }
        assert!(id_segment(&"a".repeat(129)).starts_with("sha256-"));
        for id in ["evt_1", "", "../x", "é"] {
            assert!(plain_segment(&id_segment(id)), "{id:?}");
        }
        for odd in ["", ".", "..", "a/b", "a b"] {
            assert!(!plain_segment(odd), "{odd:?}");
        }
    }
}
