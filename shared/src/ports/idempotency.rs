//! Idempotency on (source, key): a delivery is marked in progress before it is sent to the queue
//! and completed (with the message id) after, so a retried or concurrent duplicate is answered
//! with the original message id instead of being enqueued again.
//!
//! An in-progress mark carries a lease that ends shortly after the request's own deadline: if
//! the function dies between the two steps, the mark expires and the sender's next retry goes
//! through, so a crash never loses the event. Marks are kept for the idempotency window
//! (`IDEMPOTENCY_TTL_SECONDS`, default 24 h); a delivery repeated after it is enqueued again.
//!
//! Stores: DynamoDB (the functions), a directory (the local server), memory (unit tests).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use crate::config::DEFAULT_WINDOW_SECONDS;
use crate::ports::failure::StoreError;

/// What a delivery that was already queued was answered with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// The queue's message id (or, for a parked event, `parked`).
    pub message_id: String,
    /// The envelope id it was queued under.
    pub id: String,
    /// The envelope type.
    pub event_type: String,
}

/// Proof that this request holds the in-progress mark; only its holder may complete or release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub(crate) pk: String,
    pub(crate) token: String,
}

/// The outcome of trying to mark a delivery in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// This request holds the mark: send, then complete or release.
    Claimed(Claim),
    /// Already queued: answer with the original message id, enqueue nothing.
    Done(Done),
    /// Another request holds an unexpired mark right now.
    InProgress,
}

/// The times a mark is written with.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub now: SystemTime,
    /// When an in-progress mark stops blocking others (after the holder's deadline).
    pub lease_until: SystemTime,
    /// When the mark is forgotten (the end of the idempotency window).
    pub expires_at: SystemTime,
}

/// One mark, as the directory and memory stores keep it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub(crate) token: String,
    pub(crate) lease_until_ms: u64,
    pub(crate) expires_at: u64,
    pub(crate) done: Option<Done>,
}

/// The decision every store makes, on the mark currently kept for a key.
pub(crate) fn decide(existing: Option<&Entry>, times: Times) -> Result<Entry, Begin> {
    let now_ms = unix_millis(times.now);
    let live = existing.filter(|e| e.expires_at > now_ms / 1000);
    match live {
        Some(Entry {
            done: Some(done), ..
        }) => Err(Begin::Done(done.clone())),
        Some(held) if held.lease_until_ms > now_ms => Err(Begin::InProgress),
        _ => Ok(Entry {
            token: new_token(),
            lease_until_ms: unix_millis(times.lease_until),
            expires_at: unix_millis(times.expires_at) / 1000,
            done: None,
        }),
    }
}

/// A token no other claim has: 128 random bits from the standard library's hasher keys.
pub(crate) fn new_token() -> String {
    let random = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    format!("{:016x}{:016x}", random(), random())
}

pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Marks in memory, for unit tests of the pipeline. A clone shares the marks.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Entry>>, StoreError> {
        self.entries
            .lock()
            .map_err(|_| StoreError::transient("poisoned"))
    }

    pub(crate) fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        let mut entries = self.lock()?;
        match decide(entries.get(pk), times) {
            Ok(entry) => {
                let claim = Claim {
                    pk: pk.to_owned(),
                    token: entry.token.clone(),
                };
                entries.insert(pk.to_owned(), entry);
                Ok(Begin::Claimed(claim))
            }
            Err(begin) => Ok(begin),
        }
    }

    pub(crate) fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        let mut entries = self.lock()?;
        if let Some(e) = entries
            .get_mut(&claim.pk)
            .filter(|e| e.token == claim.token)
        {
            e.done = Some(done.clone());
        }
        Ok(())
    }

    pub(crate) fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let mut entries = self.lock()?;
        if entries
            .get(&claim.pk)
            .is_some_and(|e| e.token == claim.token)
        {
            entries.remove(&claim.pk);
        }
        Ok(())
    }
}
