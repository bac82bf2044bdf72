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

#[cfg(feature = "aws")]
mod dynamodb;
mod local;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

#[cfg(feature = "aws")]
pub use dynamodb::DynamoDbStore;
pub use local::LocalStore;

use crate::failure::StoreError;

/// Default idempotency window: a day covers every provider's retry schedule for the first hours,
/// and GitHub's manual redeliveries on the same day.
pub const DEFAULT_WINDOW_SECONDS: u64 = 86_400;

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
    pk: String,
    token: String,
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

/// Where marks are kept.
#[derive(Debug, Default)]
pub enum IdempotencyStore {
    /// No idempotency: every delivery is enqueued.
    #[default]
    Off,
    #[cfg(feature = "aws")]
    DynamoDb(DynamoDbStore),
    Local(LocalStore),
    Memory(MemoryStore),
}

impl IdempotencyStore {
    pub fn is_on(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// The store's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Off => "off",
            #[cfg(feature = "aws")]
            Self::DynamoDb(_) => "dynamodb",
            Self::Local(_) => "directory",
            Self::Memory(_) => "memory",
        }
    }

    /// Marks `pk` in progress unless it is done or held by someone else.
    pub async fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        match self {
            Self::Off => Ok(Begin::Claimed(Claim {
                pk: pk.to_owned(),
                token: String::new(),
            })),
            #[cfg(feature = "aws")]
            Self::DynamoDb(s) => s.begin(pk, times).await,
            Self::Local(s) => s.begin(pk, times).await,
            Self::Memory(s) => s.begin(pk, times),
        }
    }

    /// Records that the claimed delivery was queued.
    pub async fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        match self {
            Self::Off => Ok(()),
            #[cfg(feature = "aws")]
            Self::DynamoDb(s) => s.complete(claim, done).await,
            Self::Local(s) => s.complete(claim, done).await,
            Self::Memory(s) => s.complete(claim, done),
        }
    }

    /// Gives the mark up (the delivery was not queued), so the sender's retry goes through at once.
    pub async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        match self {
            Self::Off => Ok(()),
            #[cfg(feature = "aws")]
            Self::DynamoDb(s) => s.release(claim).await,
            Self::Local(s) => s.release(claim).await,
            Self::Memory(s) => s.release(claim),
        }
    }
}

/// One mark, as the directory and memory stores keep it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    token: String,
    lease_until_ms: u64,
    expires_at: u64,
    done: Option<Done>,
}

/// The decision every store makes, on the mark currently kept for a key.
fn decide(existing: Option<&Entry>, times: Times) -> Result<Entry, Begin> {
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
fn new_token() -> String {
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

/// Marks in memory, for unit tests of the pipeline.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Entry>>,
}

impl MemoryStore {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Entry>>, StoreError> {
        self.entries
            .lock()
            .map_err(|_| StoreError::transient("poisoned"))
    }

    fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
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

    fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        let mut entries = self.lock()?;
        if let Some(e) = entries
            .get_mut(&claim.pk)
            .filter(|e| e.token == claim.token)
        {
            e.done = Some(done.clone());
        }
        Ok(())
    }

    fn release(&self, claim: &Claim) -> Result<(), StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    pub(super) fn times(at: u64) -> Times {
        let now = UNIX_EPOCH + Duration::from_secs(at);
        Times {
            now,
            lease_until: now + Duration::from_secs(10),
            expires_at: now + Duration::from_secs(3600),
        }
    }

    pub(super) fn done() -> Done {
        Done {
            message_id: "m-1".into(),
            id: "evt_1".into(),
            event_type: "stripe.x".into(),
        }
    }

    /// The contract every store keeps, run against one.
    pub(super) async fn contract(store: &IdempotencyStore) {
        let t = 1_000_000;
        let Begin::Claimed(first) = store.begin("s#a", times(t)).await.expect("begin") else {
            panic!("a new key is claimed")
        };
        assert_eq!(
            store.begin("s#a", times(t + 1)).await.expect("begin"),
            Begin::InProgress,
            "a live lease blocks"
        );
        store.complete(&first, &done()).await.expect("complete");
        assert_eq!(
            store.begin("s#a", times(t + 2)).await.expect("begin"),
            Begin::Done(done()),
            "a completed delivery is a duplicate"
        );
        // A crash between the two steps: the lease ends and the next attempt goes through.
        let Begin::Claimed(crashed) = store.begin("s#b", times(t)).await.expect("begin") else {
            panic!("claimed")
        };
        let Begin::Claimed(retry) = store.begin("s#b", times(t + 11)).await.expect("begin") else {
            panic!("an expired lease is taken over")
        };
        // The crashed holder can no longer complete or release what it lost.
        store.complete(&crashed, &done()).await.expect("complete");
        store.release(&crashed).await.expect("release");
        assert_eq!(
            store.begin("s#b", times(t + 12)).await.expect("begin"),
            Begin::InProgress,
            "the new holder still holds it"
        );
        // Release: the next attempt goes through at once.
        store.release(&retry).await.expect("release");
        assert!(matches!(
            store.begin("s#b", times(t + 13)).await.expect("begin"),
            Begin::Claimed(_)
        ));
        // After the window a completed mark is forgotten.
        assert!(matches!(
            store.begin("s#a", times(t + 3601)).await.expect("begin"),
            Begin::Claimed(_)
        ));
    }

    #[tokio::test]
    async fn memory_store_keeps_the_contract() {
        contract(&IdempotencyStore::Memory(MemoryStore::default())).await;
    }
}
