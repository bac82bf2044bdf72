//! Marks for the local server: a completed mark is one small JSON file per key in a directory
//! (named by the key's SHA-256), replaced atomically, so it survives a restart; an in-progress
//! mark is kept in memory. One process owns a directory; a lock inside the process makes each
//! decision (look, decide, rename) atomic, and is never held across an fsync.
//!
//! A completed mark is written and fsynced under a temporary name, renamed into place, and
//! `complete` returns once a directory fsync that began after the rename has finished (shared
//! with the other writers waiting then, see [`GroupCommit`]). An in-progress mark only matters
//! while its holder runs: after a crash no request holds it, and the event is durable before its
//! mark is completed, so keeping it off the disk loses no event and only lets the sender's retry
//! through sooner (where a mark on disk made it wait for the lease). A duplicate is answered from
//! a completed mark only once that mark is durable.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::adapters::local::group_commit::GroupCommit;
use crate::ports::failure::StoreError;
use crate::ports::idempotency::{decide, unix_millis, Begin, Claim, Done, Entry, Times};

#[derive(Debug)]
pub struct LocalStore {
    inner: Arc<Marks>,
}

/// The directory and the in-progress marks, shared with the blocking tasks that write marks.
#[derive(Debug)]
struct Marks {
    dir: PathBuf,
    /// The in-progress marks, by key. Its lock makes each decision atomic; it is held for a read
    /// and a rename, never an fsync.
    held: Mutex<HashMap<String, Entry>>,
    /// The directory's fsyncs, shared by the writers waiting at the same time.
    commit: GroupCommit,
}

impl LocalStore {
    /// Creates the directory if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let commit = GroupCommit::new(dir.clone());
        Ok(Self::with_commit(dir, commit))
    }

    fn with_commit(dir: PathBuf, commit: GroupCommit) -> Self {
        Self {
            inner: Arc::new(Marks {
                dir,
                held: Mutex::new(HashMap::new()),
                commit,
            }),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    #[cfg(test)]
    fn path(&self, pk: &str) -> PathBuf {
        self.inner.path(pk)
    }

    pub(crate) async fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        // Decided at once (a look in memory and at most one small file): the decision is taken
        // or not, never left running for a caller that stopped waiting.
        match self.inner.decide(pk, times)? {
            Begin::Done(done) => {
                // The mark may have been renamed into place by a request still waiting for the
                // directory fsync: answer from it once it is durable.
                let marks = self.inner.clone();
                blocking(move || marks.commit.sync().map_err(|e| io_error(&e))).await?;
                Ok(Begin::Done(done))
            }
            begin => Ok(begin),
        }
    }

    pub(crate) async fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        let (marks, claim, done) = (self.inner.clone(), claim.clone(), done.clone());
        blocking(move || marks.complete(&claim, &done)).await
    }

    pub(crate) async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        // In memory only: the mark was never written.
        self.inner.release(claim);
        Ok(())
    }
}

/// Runs file work on the blocking pool, off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StoreError::transient("the idempotency directory's writer stopped"))?
}

impl Marks {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Every update is one insert or remove: a panic while holding it leaves nothing half-done.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// `entry` written in full and fsynced under a temporary name in the directory.
    fn stage(&self, entry: &Entry) -> Result<NamedTempFile, StoreError> {
        let bytes = serde_json::to_vec(entry).map_err(|_| StoreError::permanent("encode"))?;
        let write = || -> std::io::Result<NamedTempFile> {
            let mut tmp = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempfile_in(&self.dir)?;
            tmp.write_all(&bytes)?;
            tmp.as_file().sync_all()?;
            Ok(tmp)
        };
        write().map_err(|e| io_error(&e))
    }

    fn put(&self, tmp: NamedTempFile, pk: &str) -> Result<(), StoreError> {
        tmp.persist(self.path(pk))
            .map(drop)
            .map_err(|e| io_error(&e.error))
    }

    /// Claims `pk` (in memory) unless a live mark, held here or completed on disk, stands.
    fn decide(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        let mut held = self.lock();
        let current = match held.get(pk) {
            Some(entry) => Some(entry.clone()),
            None => self.read(pk)?,
        };
        match decide(current.as_ref(), times) {
            Ok(entry) => {
                if held.len() >= PRUNE_AT {
                    // Marks whose holders stopped without completing or releasing them.
                    let now = unix_millis(times.now);
                    held.retain(|_, e| e.lease_until_ms > now);
                }
                let token = entry.token.clone();
                held.insert(pk.to_owned(), entry);
                Ok(Begin::Claimed(Claim {
                    pk: pk.to_owned(),
                    token,
                }))
            }
            Err(begin) => Ok(begin),
        }
    }

    fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        let ours = |entry: &Entry| entry.token == claim.token;
        let Some(mut entry) = self.lock().get(&claim.pk).filter(|e| ours(e)).cloned() else {
            return Ok(());
        };
        entry.done = Some(done.clone());
        // Written and fsynced outside the lock, so that concurrent completions fsync together.
        let staged = self.stage(&entry)?;
        {
            let mut held = self.lock();
            // Lost meanwhile (its lease ended and another request took it): leave it to the new holder.
            if !held.get(&claim.pk).is_some_and(ours) {
                return Ok(());
            }
            self.put(staged, &claim.pk)?;
            held.remove(&claim.pk);
        }
        // The new name is durable only once the directory entry is.
        self.commit.sync().map_err(|e| io_error(&e))
    }

    fn release(&self, claim: &Claim) {
        let mut held = self.lock();
        if held.get(&claim.pk).is_some_and(|e| e.token == claim.token) {
            held.remove(&claim.pk);
        }
    }
}

/// In-progress marks kept before those whose lease is over are dropped.
const PRUNE_AT: usize = 4096;

fn io_error(e: &std::io::Error) -> StoreError {
    StoreError::transient(format!("the idempotency directory: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::idempotency_contract::contract;
    use crate::adapters::IdempotencyStore;

    #[tokio::test]
    async fn directory_store_keeps_the_contract_and_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        contract(&IdempotencyStore::Local(
            LocalStore::new(dir.path()).expect("store"),
        ))
        .await;
        // A new process on the same directory sees a completed mark.
        let (times, done) = (
            crate::adapters::idempotency_contract::times,
            crate::adapters::idempotency_contract::done,
        );
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

    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    /// A store whose directory fsyncs are counted and take a while (so that writers line up).
    fn counted(dir: &Path) -> LocalStore {
        let at = dir.to_owned();
        LocalStore::with_commit(
            dir.to_owned(),
            GroupCommit::with_sync(move || {
                std::thread::sleep(Duration::from_millis(20));
                std::fs::File::open(&at)?.sync_all()
            }),
        )
    }

    #[tokio::test]
    async fn concurrent_completions_share_directory_fsyncs_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(counted(dir.path()));
        let (times, done) = (
            crate::adapters::idempotency_contract::times,
            crate::adapters::idempotency_contract::done,
        );
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let pk = format!("s#{i}");
                    let Begin::Claimed(claim) = store.begin(&pk, times(5)).await.expect("begin")
                    else {
                        panic!("a new key is claimed")
                    };
                    store.complete(&claim, &done()).await.expect("complete");
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("joined");
        }
        let rounds = store.inner.commit.rounds();
        assert!(rounds < 32, "32 completions, {rounds} directory fsyncs");
        let again = IdempotencyStore::Local(LocalStore::new(dir.path()).expect("store"));
        for i in 0..32 {
            assert_eq!(
                again
                    .begin(&format!("s#{i}"), times(6))
                    .await
                    .expect("begin"),
                Begin::Done(done())
            );
        }
        let stray: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            .collect();
        assert!(stray.is_empty(), "temporary files left: {stray:?}");
    }

    #[tokio::test]
    async fn concurrent_duplicates_are_claimed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(LocalStore::new(dir.path()).expect("store"));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .begin("s#same", crate::adapters::idempotency_contract::times(5))
                        .await
                        .expect("begin")
                })
            })
            .collect();
        let mut claimed = 0;
        for t in tasks {
            match t.await.expect("joined") {
                Begin::Claimed(_) => claimed += 1,
                Begin::InProgress => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(claimed, 1);
    }

    #[tokio::test]
    async fn a_failed_directory_fsync_fails_the_completion_and_the_duplicate_answered_from_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fail = Arc::new(AtomicBool::new(false));
        let failing = fail.clone();
        let at = dir.path().to_owned();
        let store = LocalStore::with_commit(
            dir.path().to_owned(),
            GroupCommit::with_sync(move || {
                if failing.load(Ordering::SeqCst) {
                    return Err(std::io::Error::other("injected fsync failure"));
                }
                std::fs::File::open(&at)?.sync_all()
            }),
        );
        let (times, done) = (
            crate::adapters::idempotency_contract::times,
            crate::adapters::idempotency_contract::done,
        );
        let Begin::Claimed(claim) = store.begin("s#f", times(5)).await.expect("begin") else {
            panic!("claimed")
        };
        fail.store(true, Ordering::SeqCst);
        let e = store
            .complete(&claim, &done())
            .await
            .expect_err("not durable");
        assert_eq!(e.failure, crate::ports::failure::Failure::Transient);
        // The mark is in place but its durability is unknown: a duplicate is not answered from it.
        assert!(store.begin("s#f", times(6)).await.is_err());
        fail.store(false, Ordering::SeqCst);
        assert_eq!(
            store.begin("s#f", times(7)).await.expect("begin"),
            Begin::Done(done())
        );
    }

    /// A duplicate read a completed mark whose directory fsync is still running: it is answered
    /// only once that fsync (or a later one) has finished.
    #[test]
    fn a_duplicate_waits_for_the_completed_mark_to_be_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let started = Arc::new(AtomicU64::new(0));
        let counter = started.clone();
        let store = Arc::new(LocalStore::with_commit(
            dir.path().to_owned(),
            GroupCommit::with_sync(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                gate.lock()
                    .expect("gate")
                    .recv()
                    .map_err(std::io::Error::other)
            }),
        ));
        let (times, done) = (
            crate::adapters::idempotency_contract::times,
            crate::adapters::idempotency_contract::done,
        );
        let marks = store.inner.clone();
        let Begin::Claimed(claim) = marks.decide("s#d", times(5)).expect("begin") else {
            panic!("claimed")
        };
        let completing = std::thread::spawn({
            let marks = marks.clone();
            move || marks.complete(&claim, &done())
        });
        while started.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        let (answered_tx, answered) = std::sync::mpsc::channel();
        let duplicate = std::thread::spawn({
            let store = store.clone();
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("runtime");
                let begin = runtime.block_on(store.begin("s#d", times(6)));
                answered_tx.send(()).expect("answered");
                begin
            }
        });
        assert!(
            answered.recv_timeout(Duration::from_millis(200)).is_err(),
            "the duplicate was answered while the mark's directory fsync ran"
        );
        go.send(()).expect("round 0");
        completing.join().expect("joined").expect("complete");
        // The duplicate's own round began after it read the mark.
        go.send(()).expect("round 1");
        answered
            .recv_timeout(Duration::from_secs(10))
            .expect("answered after the fsync");
        assert_eq!(
            duplicate.join().expect("joined").expect("begin"),
            Begin::Done(done())
        );
    }

    /// A mark written by hand, or by something else, without a lease or an expiry never blocks
    /// its key: it is not a live mark.
    #[tokio::test]
    async fn a_mark_without_a_lease_or_an_expiry_blocks_nothing() {
        for entry in [
            r#"{"token":"t"}"#,
            r#"{"token":"t","lease_until_ms":0,"expires_at":0,"done":null}"#,
            r#"{"token":"t","expires_at":99999999999,"done":null}"#,
        ] {
            // A store of its own each time: the claim it takes is held in its memory.
            let dir = tempfile::tempdir().expect("tempdir");
            let store = LocalStore::new(dir.path()).expect("store");
            std::fs::write(store.path("s#x"), entry).expect("write");
            assert!(
                matches!(
                    store
                        .begin("s#x", crate::adapters::idempotency_contract::times(5))
                        .await,
                    Ok(Begin::Claimed(_))
                ),
                "{entry}"
            );
        }
    }
}
