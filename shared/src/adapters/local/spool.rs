//! A directory as a queue, for local development: one JSON file per event. Each file is written
//! in full and fsynced under a temporary name, then linked to a name no other file has (never
//! replacing one), and the directory is fsynced, so an accepted event is never overwritten or
//! lost to a crash, and a reader never sees half a message. Concurrent sends share the
//! directory's fsyncs ([`GroupCommit`]): each is answered once an fsync that began after its link
//! has finished.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::group_commit::GroupCommit;
use crate::ports::queue::{Message, Queue, QueueError};

/// Characters of the id kept in a file name (the id itself is in the file).
const ID_CHARS: usize = 64;

#[derive(Debug)]
pub struct SpoolQueue {
    dir: PathBuf,
    /// Makes names written in the same millisecond differ; the exclusive link is what guarantees it.
    sequence: Arc<AtomicU64>,
    /// The directory's fsyncs, shared by the sends waiting at the same time.
    commit: Arc<GroupCommit>,
}

impl SpoolQueue {
    /// Creates the directory if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let commit = GroupCommit::new(dir.clone());
        Ok(Self::with_commit(dir, commit))
    }

    fn with_commit(dir: PathBuf, commit: GroupCommit) -> Self {
        Self {
            dir,
            sequence: Arc::new(AtomicU64::new(0)),
            commit: Arc::new(commit),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `<millis>-<source>-<id, file-name-safe, shortened>-<pid>-<sequence>.json`.
fn file_name(message: &Message, sequence: u64) -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let safe: String = message
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(ID_CHARS)
        .collect();
    let source: String = message
        .source
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!(
        "{millis:013}-{source}-{safe}-{}-{sequence:06}.json",
        std::process::id()
    )
}

/// Writes and fsyncs `body` under a temporary name, then links it to the first of `names` that
/// no file has; the directory is not fsynced (the caller waits for a [`GroupCommit`] round).
fn link_exclusively(
    dir: &Path,
    mut names: impl FnMut() -> String,
    body: &[u8],
) -> std::io::Result<PathBuf> {
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(body)?;
    tmp.as_file().sync_all()?;
    let path = loop {
        let path = dir.join(names());
        match tmp.persist_noclobber(&path) {
            Ok(_) => break path,
            Err(e) if e.error.kind() == ErrorKind::AlreadyExists => tmp = e.file,
            Err(e) => return Err(e.error),
        }
    };
    Ok(path)
}

impl Queue for SpoolQueue {
    /// A file has no size limit worth checking; the body limit applies before.
    fn max_message_bytes(&self) -> usize {
        usize::MAX
    }

    async fn send(&self, message: Message) -> Result<String, QueueError> {
        let dir = self.dir.clone();
        let sequence = self.sequence.clone();
        let commit = self.commit.clone();
        let path = tokio::task::spawn_blocking(move || {
            let name = || file_name(&message, sequence.fetch_add(1, Ordering::Relaxed));
            let path = link_exclusively(&dir, name, message.body.as_bytes())?;
            // The new name is durable only once the directory entry is.
            commit.sync()?;
            Ok::<_, std::io::Error>(path)
        })
        .await
        .map_err(|_| QueueError::transient("the spool writer stopped"))?
        .map_err(|e| QueueError::transient(format!("cannot write to the spool directory: {e}")))?;
        Ok(path.display().to_string())
    }

    /// Every file written and fsynced, then one directory fsync (shared) for all of them.
    async fn send_batch(&self, messages: Vec<Message>) -> Vec<Result<String, QueueError>> {
        let dir = self.dir.clone();
        let sequence = self.sequence.clone();
        let commit = self.commit.clone();
        let count = messages.len();
        let written = tokio::task::spawn_blocking(move || {
            let mut results: Vec<Result<String, QueueError>> = messages
                .iter()
                .map(|message| {
                    let name = || file_name(message, sequence.fetch_add(1, Ordering::Relaxed));
                    link_exclusively(&dir, name, message.body.as_bytes())
                        .map(|path| path.display().to_string())
                        .map_err(|e| {
                            QueueError::transient(format!(
                                "cannot write to the spool directory: {e}"
                            ))
                        })
                })
                .collect();
            if let Err(e) = commit.sync() {
                for result in &mut results {
                    *result = Err(QueueError::transient(format!(
                        "cannot sync the spool directory: {e}"
                    )));
                }
            }
            results
        })
        .await;
        written.unwrap_or_else(|_| {
            (0..count)
                .map(|_| Err(QueueError::transient("the spool writer stopped")))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn message(id: &str) -> Message {
        Message {
            id: id.into(),
            key: id.into(),
            source: "github".into(),
            event_type: "github.push".into(),
            group: "github".into(),
            body: format!("{{\"id\":{id:?}}}"),
        }
    }

    #[tokio::test]
    async fn writes_one_file_per_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = SpoolQueue::new(dir.path().join("spool")).expect("spool");
        let m = message("../evil/id");
        let path = q.send(m.clone()).await.expect("sent");
        assert!(path.contains("-github-___evil_id-"), "{path}");
        assert!(path.ends_with(".json"), "{path}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), m.body);
        let files: Vec<_> = std::fs::read_dir(q.dir()).expect("dir").collect();
        assert_eq!(files.len(), 1, "no temporary files left behind");
    }

    #[tokio::test]
    async fn the_same_id_at_once_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = std::sync::Arc::new(SpoolQueue::new(dir.path()).expect("spool"));
        let sends: Vec<_> = (0..64)
            .map(|_| {
                let q = q.clone();
                tokio::spawn(async move { q.send(message("same-id")).await })
            })
            .collect();
        let mut ids = std::collections::HashSet::new();
        for s in sends {
            ids.insert(s.await.expect("joined").expect("sent"));
        }
        assert_eq!(ids.len(), 64, "64 distinct message ids");
        let files = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(files, 64, "64 files");
    }

    /// A spool whose directory fsyncs are counted, and which records the events each round made
    /// durable: the `.json` names in the directory when the round began.
    fn observed(dir: &Path) -> (SpoolQueue, Arc<std::sync::Mutex<HashSet<String>>>) {
        let synced = Arc::new(std::sync::Mutex::new(HashSet::new()));
        let (seen, at) = (synced.clone(), dir.to_owned());
        let commit = GroupCommit::with_sync(move || {
            let names: Vec<String> = std::fs::read_dir(&at)?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<_, _>>()?;
            // Long enough for the other senders to line up behind this round.
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::File::open(&at)?.sync_all()?;
            seen.lock()
                .expect("seen")
                .extend(names.into_iter().filter(|n| n.ends_with(".json")));
            Ok(())
        });
        (SpoolQueue::with_commit(dir.to_owned(), commit), synced)
    }

    #[tokio::test]
    async fn concurrent_sends_share_directory_fsyncs_and_each_waits_for_its_own() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (q, synced) = observed(dir.path());
        let q = Arc::new(q);
        let sends: Vec<_> = (0..64)
            .map(|i| {
                let q = q.clone();
                tokio::spawn(async move { q.send(message(&format!("evt_{i}"))).await })
            })
            .collect();
        let mut paths = Vec::new();
        for s in sends {
            paths.push(s.await.expect("joined").expect("sent"));
        }
        let rounds = q.commit.rounds();
        assert!(rounds < 64, "64 sends, {rounds} directory fsyncs");
        let synced = synced.lock().expect("synced");
        for path in &paths {
            let name = Path::new(path).file_name().expect("name").to_string_lossy();
            assert!(
                synced.contains(name.as_ref()),
                "{name} was answered before a directory fsync that began after its link finished"
            );
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 64);
    }

    #[tokio::test]
    async fn a_failed_directory_fsync_fails_every_send_waiting_for_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let commit = GroupCommit::with_sync(|| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            Err(std::io::Error::other("injected fsync failure"))
        });
        let q = Arc::new(SpoolQueue::with_commit(dir.path().to_owned(), commit));
        let sends: Vec<_> = (0..16)
            .map(|i| {
                let q = q.clone();
                tokio::spawn(async move { q.send(message(&format!("evt_{i}"))).await })
            })
            .collect();
        for s in sends {
            let e = s.await.expect("joined").expect_err("not durable");
            assert!(e.detail.contains("injected fsync failure"), "{}", e.detail);
            assert_eq!(e.failure, crate::ports::failure::Failure::Transient);
        }
        let batch = q.send_batch(vec![message("evt_a"), message("evt_b")]).await;
        assert!(batch.iter().all(Result::is_err), "{batch:?}");
    }

    #[tokio::test]
    async fn a_batch_shares_one_directory_fsync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (q, _) = observed(dir.path());
        let batch = q
            .send_batch((0..10).map(|i| message(&format!("evt_{i}"))).collect())
            .await;
        assert!(batch.iter().all(Result::is_ok), "{batch:?}");
        assert_eq!(q.commit.rounds(), 1);
    }

    #[test]
    fn an_existing_name_is_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("taken.json"), b"first").expect("write");
        let mut calls = 0;
        let path = link_exclusively(
            dir.path(),
            || {
                calls += 1;
                if calls == 1 {
                    "taken.json".into()
                } else {
                    "free.json".into()
                }
            },
            b"second",
        )
        .expect("written");
        assert!(path.ends_with("free.json"));
        assert_eq!(
            std::fs::read(dir.path().join("taken.json")).expect("read"),
            b"first"
        );
    }
}
