//! Marks for the local server: completed marks are records appended to one log in the directory
//! (`marks.log`), read into memory at start, so they survive a restart; an in-progress mark is
//! kept in memory only. One process owns a directory (an advisory lock on `marks.lock` says so);
//! a lock inside the process makes each decision (look, decide, append) atomic, and is never held
//! across an fsync.
//!
//! `complete` appends the mark's record and returns once an fdatasync of the log that began after
//! the append has finished (shared with the other writers waiting then, see [`GroupCommit`]): one
//! fdatasync per batch of completions, where a file per mark cost a file creation, an fsync and a
//! directory entry each. An in-progress mark only matters while its holder runs: after a crash no
//! request holds it, and the event is durable before its mark is completed, so keeping it off the
//! disk loses no event and only lets the sender's retry through sooner (where a mark on disk made
//! it wait for the lease). A duplicate is answered from a completed mark only once that mark is
//! durable.
//!
//! The log: an 8-byte header (`MAGIC`), then records of `length (u32 LE) | CRC-32 of the payload
//! (u32 LE) | payload`, the payload the key's SHA-256 (32 bytes, the whole hash: distinct keys
//! never share a mark) and the mark as JSON. A crash can tear only the last record; reading stops
//! at the first record that is short or fails its checksum, so a torn tail is ignored and nothing
//! before it is lost or misread. The log is compacted (its live records written to a new file,
//! fsynced, renamed over it) at start, dropping marks past the idempotency window and the torn
//! tail, and whenever it holds many more records than live marks. Marks an older `inlet serve`
//! wrote as one `<sha256>.json` file per key are read into the log at start, then removed.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::group_commit::GroupCommit;
use crate::ports::failure::StoreError;
use crate::ports::idempotency::{decide, unix_millis, Begin, Claim, Done, Entry, Times};

/// The log's name in the directory.
const LOG: &str = "marks.log";
/// The file `inlet serve` holds an advisory lock on while it uses the directory.
const LOCK: &str = "marks.lock";
/// The log's first bytes: its format and version.
const MAGIC: &[u8; 8] = b"INLTMK1\n";
/// A record's header: the payload's length and its CRC-32.
const HEADER: usize = 8;
/// No mark is near this: a length over it is a torn or foreign header, not a record.
const MAX_PAYLOAD: usize = 1 << 20;
/// Records beyond twice the live marks (as of the last compaction) before the log is compacted
/// while serving.
const SLACK: usize = 100_000;

/// A key as the log and the old files name it: its whole SHA-256.
type KeyHash = [u8; 32];

#[derive(Debug, Clone)]
pub struct LocalStore {
    inner: Arc<Marks>,
}

/// The directory and the marks, shared with the blocking tasks that write marks.
#[derive(Debug)]
struct Marks {
    dir: PathBuf,
    /// The marks and the log. Its lock makes each decision atomic; it is held for a lookup and
    /// an append (a compaction, rarely), never an fsync.
    state: Mutex<State>,
    /// The log's fdatasyncs, shared by the writers waiting at the same time.
    commit: GroupCommit,
    /// Held for as long as the store lives: one server per directory.
    _lock: File,
}

#[derive(Debug)]
struct State {
    /// The in-progress marks, by key.
    held: HashMap<String, Entry>,
    /// The completed marks, by key hash: what the log holds, once read.
    completed: HashMap<KeyHash, Entry>,
    log: Log,
    /// The latest time a request was decided at: compaction's "now" (the store takes no clock).
    now: SystemTime,
    /// Records beyond twice the live marks before compacting (a test lowers it).
    slack: usize,
}

/// The log file being appended to, shared with the fdatasync rounds (a compaction replaces it).
#[derive(Debug)]
struct Log {
    file: Arc<Mutex<Arc<File>>>,
    /// Bytes known whole: an append that fails is cut back to here.
    len: u64,
    /// Records in the file (live or not).
    records: usize,
    /// Records at which the log is compacted next: twice the live marks after the last
    /// compaction, plus some slack, so the log stays within about twice the live set and each
    /// record is rewritten a bounded number of times.
    compact_at: usize,
    /// An append failed and could not be cut back: no further record may follow it.
    broken: bool,
}

/// How a round makes the log durable: `File::sync_data` (a test hook in tests).
type SyncHook = Arc<dyn Fn(&File) -> std::io::Result<()> + Send + Sync>;

impl LocalStore {
    /// Creates the directory if needed, takes its lock, reads and compacts its log (and the
    /// marks an older version wrote as files); fails when another server holds the directory.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        Self::open(
            dir.into(),
            SystemTime::now(),
            Arc::new(|f: &File| f.sync_data()),
        )
    }

    fn open(dir: PathBuf, now: SystemTime, hook: SyncHook) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let lock = lock(&dir)?;
        let mut completed = read_log(&dir.join(LOG))?.0;
        let legacy = read_legacy(&dir, &mut completed)?;
        let mut log = Log {
            file: Arc::new(Mutex::new(Arc::new(File::open(&dir)?))),
            len: 0,
            records: 0,
            compact_at: 0,
            broken: false,
        };
        let now_s = unix_millis(now) / 1000;
        completed.retain(|_, e| e.expires_at > now_s);
        log.rewrite(&dir, &completed)?;
        log.compact_at = 2 * completed.len() + SLACK;
        // The old files' marks are durable in the log: they can go.
        for path in legacy {
            std::fs::remove_file(path)?;
        }
        let file = log.file.clone();
        let commit = GroupCommit::with_sync(move || {
            let current = file.lock().unwrap_or_else(PoisonError::into_inner).clone();
            hook(&current)
        });
        Ok(Self {
            inner: Arc::new(Marks {
                dir,
                state: Mutex::new(State {
                    held: HashMap::new(),
                    completed,
                    log,
                    now,
                    slack: SLACK,
                }),
                commit,
                _lock: lock,
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub(crate) async fn begin(&self, pk: &str, times: Times) -> Result<Begin, StoreError> {
        // Decided at once (a look in memory): the decision is taken or not, never left running
        // for a caller that stopped waiting.
        match self.inner.decide(pk, times) {
            Begin::Done(done) => {
                // The mark may have been appended by a request still waiting for the log's
                // fdatasync: answer from it once it is durable.
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

/// Takes the directory's advisory lock, or says who holds it.
fn lock(dir: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK))?;
    // flock(2), as `File::try_lock` (Rust 1.89, after the workspace's rust-version) does.
    #[cfg(unix)]
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "another inlet serve is using this idempotency directory (one server per \
                 directory: stop it, or give this one --idempotency-dir of its own)",
            ))
        }
        Err(e) => return Err(e.into()),
    }
    Ok(file)
}

/// Runs file work on the blocking pool, off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StoreError::transient("the idempotency directory's writer stopped"))?
}

fn key_hash(pk: &str) -> KeyHash {
    Sha256::digest(pk.as_bytes()).into()
}

/// One record: header and payload.
fn record(key: &KeyHash, entry: &Entry) -> Vec<u8> {
    let mut payload = key.to_vec();
    serde_json::to_writer(&mut payload, entry).expect("a mark always encodes");
    let mut out = Vec::with_capacity(HEADER + payload.len());
    let len = u32::try_from(payload.len()).expect("a mark is small");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// The log's completed marks (a later record for a key replaces an earlier one), and the length
/// of its whole records: reading stops at a torn or corrupt record. No file is no marks.
fn read_log(path: &Path) -> std::io::Result<(HashMap<KeyHash, Entry>, usize)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((HashMap::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut marks = HashMap::new();
    let Some(mut rest) = bytes.strip_prefix(MAGIC.as_slice()) else {
        if bytes.len() < MAGIC.len() && MAGIC.starts_with(&bytes) {
            // Torn while it was first written: nothing was in it.
            return Ok((marks, 0));
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not an inlet mark log", path.display()),
        ));
    };
    let mut whole = MAGIC.len();
    while rest.len() >= HEADER {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len > MAX_PAYLOAD || len > rest.len() - HEADER {
            break;
        }
        let payload = &rest[HEADER..HEADER + len];
        if crc32fast::hash(payload) != crc || len < 32 {
            break;
        }
        let key: KeyHash = payload[..32].try_into().expect("32 bytes");
        // A whole record whose mark does not parse is skipped, never taken for another's.
        if let Ok(entry) = serde_json::from_slice::<Entry>(&payload[32..]) {
            marks.insert(key, entry);
        }
        rest = &rest[HEADER + len..];
        whole += HEADER + len;
    }
    Ok((marks, whole))
}

/// Adds the completed marks of the files an older `inlet serve` wrote (`<sha256 hex>.json`) to
/// `marks` (unless the log has a later one), and returns those files' paths.
fn read_legacy(dir: &Path, marks: &mut HashMap<KeyHash, Entry>) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        let mut key = [0u8; 32];
        if stem.len() != 64 || hex::decode_to_slice(stem, &mut key).is_err() {
            continue;
        }
        let bytes = std::fs::read(item.path())?;
        // What the older version wrote without a result holds nothing a restart keeps.
        if let Ok(entry @ Entry { done: Some(_), .. }) = serde_json::from_slice(&bytes) {
            let later = marks
                .get(&key)
                .is_some_and(|kept| kept.expires_at >= entry.expires_at);
            if !later {
                marks.insert(key, entry);
            }
        }
        paths.push(item.path());
    }
    Ok(paths)
}

impl Log {
    /// Writes `marks` to a new log, fsynced and renamed over the old one (the directory fsynced
    /// too), and appends to it from now on.
    fn rewrite(&mut self, dir: &Path, marks: &HashMap<KeyHash, Entry>) -> std::io::Result<()> {
        let tmp = dir.join(format!("{LOG}.tmp"));
        let mut bytes = MAGIC.to_vec();
        for (key, entry) in marks {
            bytes.extend_from_slice(&record(key, entry));
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, dir.join(LOG))?;
        // Renamed: appends go to the new file from here on, whatever happens next.
        match OpenOptions::new().append(true).open(dir.join(LOG)) {
            Ok(file) => {
                *self.file.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(file);
                self.len = bytes.len() as u64;
                self.records = marks.len();
                self.broken = false;
            }
            Err(e) => {
                self.broken = true;
                return Err(e);
            }
        }
        File::open(dir)?.sync_all()
    }

    /// Appends one whole record, or leaves the log as it was.
    fn append(&mut self, record: &[u8]) -> std::io::Result<()> {
        if self.broken {
            return Err(std::io::Error::other(
                "an earlier append could not be undone",
            ));
        }
        let file = self
            .file
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Err(e) = (&*file).write_all(record) {
            // A part written would hide every record after it: cut it off.
            if file.set_len(self.len).is_err() {
                self.broken = true;
            }
            return Err(e);
        }
        self.len += record.len() as u64;
        self.records += 1;
        Ok(())
    }
}

impl Marks {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update finishes what it starts before it can panic: nothing is left half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims `pk` (in memory) unless a live mark, held or completed, stands.
    fn decide(&self, pk: &str, times: Times) -> Begin {
        let mut state = self.lock();
        state.now = state.now.max(times.now);
        let current = match state.held.get(pk) {
            Some(entry) => Some(entry),
            None => state.completed.get(&key_hash(pk)),
        };
        match decide(current, times) {
            Ok(entry) => {
                if state.held.len() >= PRUNE_AT {
                    // Marks whose holders stopped without completing or releasing them.
                    let now = unix_millis(times.now);
                    state.held.retain(|_, e| e.lease_until_ms > now);
                }
                let token = entry.token.clone();
                state.held.insert(pk.to_owned(), entry);
                Begin::Claimed(Claim {
                    pk: pk.to_owned(),
                    token,
                })
            }
            Err(begin) => begin,
        }
    }

    fn complete(&self, claim: &Claim, done: &Done) -> Result<(), StoreError> {
        {
            let mut state = self.lock();
            // Lost meanwhile (its lease ended and another request took it): leave it to the new holder.
            let Some(mut entry) = state
                .held
                .get(&claim.pk)
                .filter(|e| e.token == claim.token)
                .cloned()
            else {
                return Ok(());
            };
            entry.done = Some(done.clone());
            let key = key_hash(&claim.pk);
            state
                .log
                .append(&record(&key, &entry))
                .map_err(|e| io_error(&e))?;
            state.held.remove(&claim.pk);
            state.completed.insert(key, entry);
            if state.log.records >= state.log.compact_at {
                state.compact(&self.dir).map_err(|e| io_error(&e))?;
            }
        }
        // Outside the lock, so that concurrent completions share one fdatasync.
        self.commit.sync().map_err(|e| io_error(&e))
    }

    fn release(&self, claim: &Claim) {
        let mut state = self.lock();
        if state
            .held
            .get(&claim.pk)
            .is_some_and(|e| e.token == claim.token)
        {
            state.held.remove(&claim.pk);
        }
    }
}

impl State {
    /// Drops the marks past the window and rewrites the log with the rest. Every record appended
    /// before is in the new log, fsynced before it replaces the old: a writer still waiting for
    /// its round finds its record durable whichever file the round syncs.
    fn compact(&mut self, dir: &Path) -> std::io::Result<()> {
        let now_s = unix_millis(self.now) / 1000;
        self.completed.retain(|_, e| e.expires_at > now_s);
        self.log.rewrite(dir, &self.completed)?;
        self.log.compact_at = 2 * self.completed.len() + self.slack;
        Ok(())
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
    use crate::adapters::idempotency_contract::{contract, done, times};
    use crate::adapters::IdempotencyStore;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::{Duration, UNIX_EPOCH};

    /// A store opened as if at `secs` after the epoch (the tests' marks expire an hour after
    /// `times(t)`), whose rounds run `hook`.
    fn open_at(dir: &Path, secs: u64, hook: SyncHook) -> LocalStore {
        LocalStore::open(dir.to_owned(), UNIX_EPOCH + Duration::from_secs(secs), hook)
            .expect("store")
    }

    fn at(dir: &Path, secs: u64) -> IdempotencyStore {
        IdempotencyStore::Local(open_at(dir, secs, Arc::new(|f: &File| f.sync_data())))
    }

    fn done_n(i: usize) -> Done {
        Done {
            message_id: format!("m-{i}"),
            id: format!("evt_{i}"),
            event_type: "github.push".into(),
        }
    }

    async fn completed(store: &IdempotencyStore, pk: &str, at: u64, done: &Done) {
        let Begin::Claimed(claim) = store.begin(pk, times(at)).await.expect("begin") else {
            panic!("{pk} is new")
        };
        store.complete(&claim, done).await.expect("complete");
    }

    fn records(dir: &Path) -> usize {
        read_log(&dir.join(LOG)).expect("log").0.len()
    }

    fn legacy_path(dir: &Path, pk: &str) -> PathBuf {
        dir.join(format!("{}.json", hex::encode(key_hash(pk))))
    }

    #[tokio::test]
    async fn directory_store_keeps_the_contract_and_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        contract(&at(dir.path(), 0)).await;
        // A new process on the same directory sees a completed mark.
        let first = at(dir.path(), 5);
        completed(&first, "s#r", 5, &done()).await;
        drop(first);
        let again = at(dir.path(), 6);
        assert_eq!(
            again.begin("s#r", times(6)).await.expect("begin"),
            Begin::Done(done())
        );
    }

    #[tokio::test]
    async fn every_mark_round_trips_through_the_log_with_its_own_result() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = at(dir.path(), 5);
        for i in 0..200 {
            completed(&store, &format!("github#{i}"), 5, &done_n(i)).await;
        }
        drop(store);
        assert_eq!(records(dir.path()), 200);
        let again = at(dir.path(), 6);
        for i in 0..200 {
            assert_eq!(
                again
                    .begin(&format!("github#{i}"), times(6))
                    .await
                    .expect("begin"),
                Begin::Done(done_n(i)),
                "github#{i}"
            );
        }
        // A key never completed is not taken for one that was.
        assert!(matches!(
            again.begin("github#200", times(6)).await.expect("begin"),
            Begin::Claimed(_)
        ));
    }

    /// A crash mid-append leaves part of the last record: every cut of it, and a last record
    /// whose bytes were garbled, is ignored, and every record before it still answers.
    #[tokio::test]
    async fn a_torn_or_corrupt_last_record_is_ignored_and_none_before_it_is_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = at(dir.path(), 5);
        for i in 0..3 {
            completed(&store, &format!("s#{i}"), 5, &done_n(i)).await;
        }
        drop(store);
        let whole = std::fs::read(dir.path().join(LOG)).expect("log");
        // Where the last record (s#2's) begins.
        let marks = read_log(&dir.path().join(LOG)).expect("log").0;
        let two = whole.len() - record(&key_hash("s#2"), &marks[&key_hash("s#2")]).len();
        assert!(two < whole.len());
        let mut damaged: Vec<Vec<u8>> = (two..whole.len())
            .map(|cut| whole[..cut].to_vec())
            .collect();
        for at_byte in [two, two + 4, two + HEADER, whole.len() - 1] {
            let mut garbled = whole.clone();
            garbled[at_byte] ^= 0x41;
            damaged.push(garbled);
        }
        for (n, bytes) in damaged.into_iter().enumerate() {
            std::fs::write(dir.path().join(LOG), &bytes).expect("write");
            let store = at(dir.path(), 6);
            for i in 0..2 {
                assert_eq!(
                    store
                        .begin(&format!("s#{i}"), times(6))
                        .await
                        .expect("begin"),
                    Begin::Done(done_n(i)),
                    "case {n}: s#{i}"
                );
            }
            // The torn mark is gone (its delivery is let through again: it was never answered 202).
            let Begin::Claimed(claim) = store.begin("s#2", times(6)).await.expect("begin") else {
                panic!("case {n}: the torn record was read")
            };
            // The tail was cut at start: a record appended now is read after the next restart.
            store.complete(&claim, &done_n(2)).await.expect("complete");
            drop(store);
            let again = at(dir.path(), 7);
            for i in 0..3 {
                assert_eq!(
                    again
                        .begin(&format!("s#{i}"), times(7))
                        .await
                        .expect("begin"),
                    Begin::Done(done_n(i)),
                    "case {n}: s#{i} after the restart"
                );
            }
        }
        // A whole log with garbage after it: the garbage is the tail.
        let mut trailing = whole.clone();
        trailing.extend_from_slice(&u32::MAX.to_le_bytes());
        trailing.extend_from_slice(b"\0\0\0\0junk");
        std::fs::write(dir.path().join(LOG), &trailing).expect("write");
        let store = at(dir.path(), 8);
        for i in 0..3 {
            assert_eq!(
                store
                    .begin(&format!("s#{i}"), times(8))
                    .await
                    .expect("begin"),
                Begin::Done(done_n(i))
            );
        }
    }

    #[test]
    fn a_file_that_is_not_a_mark_log_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(LOG), b"something else entirely").expect("write");
        let e = LocalStore::new(dir.path()).expect_err("not a log");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            std::fs::read(dir.path().join(LOG)).expect("read"),
            b"something else entirely"
        );
    }

    #[tokio::test]
    async fn compaction_at_start_keeps_live_marks_and_drops_expired_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = at(dir.path(), 5);
        // Expires at 3605 s.
        completed(&store, "s#early", 5, &done_n(1)).await;
        // Expires at 8000 s.
        completed(&store, "s#late", 4400, &done_n(2)).await;
        drop(store);
        assert_eq!(records(dir.path()), 2);
        let len = std::fs::metadata(dir.path().join(LOG)).expect("log").len();
        let store = at(dir.path(), 4500);
        assert_eq!(records(dir.path()), 1, "the expired mark was dropped");
        assert!(std::fs::metadata(dir.path().join(LOG)).expect("log").len() < len);
        assert_eq!(
            store.begin("s#late", times(4500)).await.expect("begin"),
            Begin::Done(done_n(2))
        );
        assert!(matches!(
            store.begin("s#early", times(4500)).await.expect("begin"),
            Begin::Claimed(_)
        ));
    }

    #[tokio::test]
    async fn a_log_with_many_dead_records_is_compacted_while_serving() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = open_at(dir.path(), 5, Arc::new(|f: &File| f.sync_data()));
        {
            let mut state = local.inner.lock();
            state.slack = 8;
            state.log.compact_at = 8;
        }
        let store = IdempotencyStore::Local(local.clone());
        // 20 marks that expire at 3605 s, then 20 more completed at 4000 s: the first 20 are dead.
        for i in 0..20 {
            completed(&store, &format!("s#old{i}"), 5, &done_n(i)).await;
        }
        for i in 0..20 {
            completed(&store, &format!("s#new{i}"), 4000, &done_n(i)).await;
        }
        {
            let state = local.inner.lock();
            assert_eq!(state.completed.len(), 20, "the dead marks were dropped");
            assert!(
                state.log.records <= 2 * 20 + 8,
                "{} records for 20 live marks",
                state.log.records
            );
        }
        let on_disk = records(dir.path());
        assert!(on_disk < 40, "{on_disk} records in the log");
        drop(store);
        drop(local);
        let again = at(dir.path(), 4001);
        for i in 0..20 {
            assert_eq!(
                again
                    .begin(&format!("s#new{i}"), times(4001))
                    .await
                    .expect("begin"),
                Begin::Done(done_n(i))
            );
            assert!(matches!(
                again
                    .begin(&format!("s#old{i}"), times(4001))
                    .await
                    .expect("begin"),
                Begin::Claimed(_)
            ));
        }
    }

    /// A directory an older `inlet serve` wrote (a `<sha256>.json` file per completed mark)
    /// keeps answering its duplicates: the marks move into the log and the files go.
    #[tokio::test]
    async fn marks_an_older_version_wrote_as_files_are_still_honoured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = |pk: &str, expires_at: u64, done: &Done| {
            let entry = Entry {
                token: "0123".into(),
                lease_until_ms: 15_000,
                expires_at,
                done: Some(done.clone()),
            };
            std::fs::write(
                legacy_path(dir.path(), pk),
                serde_json::to_vec(&entry).expect("json"),
            )
            .expect("write");
        };
        old("github#kept", 3605, &done_n(1));
        old("github#expired", 100, &done_n(2));
        // Not a mark (no result) and not a mark file at all: neither is taken for one.
        std::fs::write(
            legacy_path(dir.path(), "github#held"),
            r#"{"token":"t","lease_until_ms":99999999999999,"expires_at":99999999999,"done":null}"#,
        )
        .expect("write");
        std::fs::write(dir.path().join("notes.json"), b"{}").expect("write");
        let store = at(dir.path(), 200);
        assert_eq!(
            store.begin("github#kept", times(200)).await.expect("begin"),
            Begin::Done(done_n(1))
        );
        for pk in ["github#expired", "github#held"] {
            assert!(
                matches!(
                    store.begin(pk, times(200)).await.expect("begin"),
                    Begin::Claimed(_)
                ),
                "{pk}"
            );
        }
        assert!(!legacy_path(dir.path(), "github#kept").exists(), "migrated");
        assert!(
            dir.path().join("notes.json").exists(),
            "not ours: left alone"
        );
        drop(store);
        let again = at(dir.path(), 201);
        assert_eq!(
            again.begin("github#kept", times(201)).await.expect("begin"),
            Begin::Done(done_n(1)),
            "from the log, after the file is gone"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_second_server_on_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = LocalStore::new(dir.path()).expect("store");
        let e = LocalStore::new(dir.path()).expect_err("locked");
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        assert!(e.to_string().contains("another inlet serve"), "{e}");
        drop(first);
        LocalStore::new(dir.path()).expect("free again");
    }

    /// A store whose log fdatasyncs are counted and take a while (so that writers line up).
    fn counted(dir: &Path) -> LocalStore {
        open_at(
            dir,
            5,
            Arc::new(|f: &File| {
                std::thread::sleep(Duration::from_millis(20));
                f.sync_data()
            }),
        )
    }

    #[tokio::test]
    async fn concurrent_completions_share_fdatasyncs_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(counted(dir.path()));
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let pk = format!("s#{i}");
                    let Begin::Claimed(claim) = store.begin(&pk, times(5)).await.expect("begin")
                    else {
                        panic!("a new key is claimed")
                    };
                    store.complete(&claim, &done_n(i)).await.expect("complete");
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("joined");
        }
        let rounds = store.inner.commit.rounds();
        assert!(rounds < 32, "32 completions, {rounds} fdatasyncs");
        drop(Arc::into_inner(store).expect("the tasks are done"));
        let again = at(dir.path(), 6);
        for i in 0..32 {
            assert_eq!(
                again
                    .begin(&format!("s#{i}"), times(6))
                    .await
                    .expect("begin"),
                Begin::Done(done_n(i))
            );
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "the log and its lock only: {names:?}");
    }

    #[tokio::test]
    async fn concurrent_duplicates_are_claimed_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(LocalStore::new(dir.path()).expect("store"));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.begin("s#same", times(5)).await.expect("begin") })
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
    async fn a_failed_fdatasync_fails_the_completion_and_the_duplicate_answered_from_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fail = Arc::new(AtomicBool::new(false));
        let failing = fail.clone();
        let store = open_at(
            dir.path(),
            5,
            Arc::new(move |f: &File| {
                if failing.load(Ordering::SeqCst) {
                    return Err(std::io::Error::other("injected fdatasync failure"));
                }
                f.sync_data()
            }),
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
        // The mark is in the log but its durability is unknown: a duplicate is not answered from it.
        assert!(store.begin("s#f", times(6)).await.is_err());
        fail.store(false, Ordering::SeqCst);
        assert_eq!(
            store.begin("s#f", times(7)).await.expect("begin"),
            Begin::Done(done())
        );
    }

    /// A duplicate found a completed mark whose fdatasync is still running: it is answered only
    /// once that fdatasync (or a later one) has finished.
    #[test]
    fn a_duplicate_waits_for_the_completed_mark_to_be_durable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (go, gate) = std::sync::mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let started = Arc::new(AtomicU64::new(0));
        let counter = started.clone();
        let store = Arc::new(open_at(
            dir.path(),
            5,
            Arc::new(move |_: &File| {
                counter.fetch_add(1, Ordering::SeqCst);
                gate.lock()
                    .expect("gate")
                    .recv()
                    .map_err(std::io::Error::other)
            }),
        ));
        let marks = store.inner.clone();
        let Begin::Claimed(claim) = marks.decide("s#d", times(5)) else {
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
            "the duplicate was answered while the mark's fdatasync ran"
        );
        go.send(()).expect("round 0");
        completing.join().expect("joined").expect("complete");
        // The duplicate's own round began after it read the mark.
        go.send(()).expect("round 1");
        answered
            .recv_timeout(Duration::from_secs(10))
            .expect("answered after the fdatasync");
        assert_eq!(
            duplicate.join().expect("joined").expect("begin"),
            Begin::Done(done())
        );
    }
}
