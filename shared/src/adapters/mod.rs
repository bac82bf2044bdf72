//! The adapters: the ports' implementations on AWS (SQS, DynamoDB, S3, Secrets Manager) and on
//! the local machine (a spool directory, a directory of idempotency marks, a secret file), the
//! HTTPS key fetcher, and the two stores a deployment chooses between at start-up.

#[cfg(feature = "aws")]
pub mod aws;
pub mod http;
#[cfg(feature = "sender")]
pub mod keys;
pub mod local;

#[cfg(feature = "aws")]
use aws::SqsQueue;
#[cfg(feature = "aws")]
use aws::{DynamoDbStore, S3Store};
use local::{LocalStore, SpoolQueue};

use crate::ports::failure::StoreError;
use crate::ports::idempotency::{Begin, Claim, Done, MemoryStore, Times};
use crate::ports::payloads::MemoryPayloads;
use crate::ports::queue::{Message, Queue, QueueError};

/// Where marks are kept. A clone is another handle on the same marks.
#[derive(Debug, Default, Clone)]
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

/// Where bodies and parked envelopes go.
#[derive(Debug, Default)]
pub enum PayloadStore {
    /// None configured: bodies that cannot fit the queue are refused with 413.
    #[default]
    Off,
    #[cfg(feature = "aws")]
    S3(S3Store),
    Memory(MemoryPayloads),
}

impl PayloadStore {
    pub fn is_on(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Stores `bytes` under `key`; returns the URI a `dataref` points at.
    pub async fn put(
        &self,
        key: &str,
        bytes: &[u8],
        content_type: &str,
    ) -> Result<String, StoreError> {
        match self {
            Self::Off => Err(StoreError::permanent("no payload bucket is configured")),
            #[cfg(feature = "aws")]
            Self::S3(s) => s.put(key, bytes, content_type).await,
            Self::Memory(m) => m.put(key, bytes, content_type),
        }
    }
}

/// Either real backend, chosen at start-up (the local server uses SQS when given a queue URL).
#[derive(Debug)]
pub enum AnyQueue {
    #[cfg(feature = "aws")]
    Sqs(SqsQueue),
    Spool(SpoolQueue),
}

impl Queue for AnyQueue {
    fn max_message_bytes(&self) -> usize {
        match self {
            #[cfg(feature = "aws")]
            Self::Sqs(q) => q.max_message_bytes(),
            Self::Spool(q) => q.max_message_bytes(),
        }
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        match self {
            #[cfg(feature = "aws")]
            Self::Sqs(q) => q.send(message).await,
            Self::Spool(q) => q.send(message).await,
        }
    }

    fn batch_limits(&self) -> (usize, usize) {
        match self {
            #[cfg(feature = "aws")]
            Self::Sqs(q) => q.batch_limits(),
            Self::Spool(q) => q.batch_limits(),
        }
    }

    fn ordered(&self) -> bool {
        match self {
            #[cfg(feature = "aws")]
            Self::Sqs(q) => q.ordered(),
            Self::Spool(q) => q.ordered(),
        }
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Vec<Result<String, QueueError>> {
        match self {
            #[cfg(feature = "aws")]
            Self::Sqs(q) => q.send_batch(messages).await,
            Self::Spool(q) => q.send_batch(messages).await,
        }
    }
}

#[cfg(test)]
pub(crate) mod idempotency_contract {
    //! The contract every idempotency store keeps.
    use std::time::UNIX_EPOCH;

    use super::IdempotencyStore;
    use crate::ports::idempotency::{Begin, Done, MemoryStore, Times};
    use std::time::Duration;

    pub(crate) fn times(at: u64) -> Times {
        let now = UNIX_EPOCH + Duration::from_secs(at);
        Times {
            now,
            lease_until: now + Duration::from_secs(10),
            expires_at: now + Duration::from_secs(3600),
        }
    }

    pub(crate) fn done() -> Done {
        Done {
            message_id: "m-1".into(),
            id: "evt_1".into(),
            event_type: "stripe.x".into(),
        }
    }

    /// The contract every store keeps, run against one.
    pub(crate) async fn contract(store: &IdempotencyStore) {
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
