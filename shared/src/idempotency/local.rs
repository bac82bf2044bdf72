//! Marks in a directory, for the local server: one small JSON file per key (named by the key's
//! SHA-256), replaced atomically and fsynced, so the marks survive a restart. One process owns a
//! directory; a lock inside the process makes each decision atomic.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{decide, Begin, Claim, Done, Entry, Times};
use crate::failure::StoreError;

#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl LocalStore {
    /// Creates the directory if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, pk: &str) -> PathBuf {
        self.dir.join(format!(
            "{}.json",
            hex::encode(Sha256::digest(pk.as_bytes()))
        ))
    }

    fn read(&self, pk: &str) -> Result<Option<Entry>, StoreError> {
        match std::fs::read(self.path(pk)) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&e)),
        }
    }

    fn write(&self, pk: &str, entry: &Entry) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(entry).map_err(|_| StoreError::permanent("encode"))?;
        let write = || -> std::io::Result<()> {
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&self.dir)?;
            tmp.write_all(&bytes)?;
            tmp.as_file().sync_all()?;
            tmp.persist(self.path(pk)).map_err(|e| e.error)?;
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| io_error(&e))
    }

    pub(super) async fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        let _held = self.lock.lock().await;
        match decide(self.read(pk)?.as_ref(), times) {
            Ok(entry) => {
                self.write(pk, &entry)?;
                Ok(Begin::Claimed(Claim {
                    pk: pk.to_owned(),
                    token: entry.token,
                }))
            }
            Err(begin) => Ok(begin),
        }
    }

    pub(super) async fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        let _held = self.lock.lock().await;
        if let Some(mut entry) = self.read(&claim.pk)?.filter(|e| e.token == claim.token) {
            entry.done = Some(done.clone());
            self.write(&claim.pk, &entry)?;
        }
        Ok(())
    }

    pub(super) async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let _held = self.lock.lock().await;
        if self
            .read(&claim.pk)?
            .is_some_and(|e| e.token == claim.token)
        {
            std::fs::remove_file(self.path(&claim.pk)).map_err(|e| io_error(&e))?;
        }
        Ok(())
    }
}

fn io_error(e: &std::io::Error) -> StoreError {
    StoreError::transient(format!("the idempotency directory: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::super::tests::contract;
    use super::*;
    use crate::idempotency::IdempotencyStore;

    #[tokio::test]
    async fn directory_store_keeps_the_contract_and_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        contract(&IdempotencyStore::Local(
            LocalStore::new(dir.path()).expect("store"),
        ))
        .await;
        // A new process on the same directory sees a completed mark.
        let (times, done) = (super::super::tests::times, super::super::tests::done);
        let first = IdempotencyStore::Local(LocalStore::new(dir.path()).expect("store"));
        let Begin::Claimed(claim) = first.begin("s#r", times(5)).await.expect("begin") else {
            panic!("claimed")
        };
        first.complete(&claim, &done()).await.expect("complete");
        let again = IdempotencyStore::Local(LocalStore::new(dir.path()).expect("store"));
        assert_eq!(
            again.begin("s#r", times(6)).await.expect("begin"),
            Begin::Done(done())
        );
    }

    /// A mark written by hand, or by something else, without a lease or an expiry never blocks
    /// its key: it is not a live mark.
    #[tokio::test]
    async fn a_mark_without_a_lease_or_an_expiry_blocks_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::new(dir.path()).expect("store");
        for entry in [
            r#"{"token":"t"}"#,
            r#"{"token":"t","lease_until_ms":0,"expires_at":0,"done":null}"#,
            r#"{"token":"t","expires_at":99999999999,"done":null}"#,
        ] {
            std::fs::write(store.path("s#x"), entry).expect("write");
            assert!(
                matches!(
                    store.begin("s#x", super::super::tests::times(5)).await,
                    Ok(Begin::Claimed(_))
                ),
                "{entry}"
            );
        }
    }
}
