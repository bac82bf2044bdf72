//! A directory as a queue, for local development: one JSON file per event. Each file is written
//! in full and fsynced under a temporary name, then linked to a name no other file has (never
//! replacing one), and the directory is fsynced, so an accepted event is never overwritten or
//! lost to a crash, and a reader never sees half a message.

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Message, Queue, QueueError};

/// Characters of the id kept in a file name (the id itself is in the file).
const ID_CHARS: usize = 64;

#[derive(Debug)]
pub struct SpoolQueue {
    dir: PathBuf,
    /// Makes names written in the same millisecond differ; the exclusive link is what guarantees it.
    sequence: Arc<AtomicU64>,
}

impl SpoolQueue {
    /// Creates the directory if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            sequence: Arc::new(AtomicU64::new(0)),
        })
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

fn write_exclusively(
    dir: &Path,
    names: impl FnMut() -> String,
    body: &[u8],
) -> std::io::Result<PathBuf> {
    let path = link_exclusively(dir, names, body)?;
    // The new name is durable only once the directory entry is.
    std::fs::File::open(dir)?.sync_all()?;
    Ok(path)
}

/// Writes and fsyncs `body` under a temporary name, then links it to the first of `names` that
/// no file has; the directory is not fsynced (the caller does, once for all it linked).
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
        let path = tokio::task::spawn_blocking(move || {
            let name = || file_name(&message, sequence.fetch_add(1, Ordering::Relaxed));
            write_exclusively(&dir, name, message.body.as_bytes())
        })
        .await
        .map_err(|_| QueueError::transient("the spool writer stopped"))?
        .map_err(|e| QueueError::transient(format!("cannot write to the spool directory: {e}")))?;
        Ok(path.display().to_string())
    }

    /// Every file written and fsynced, then the directory fsynced once for all of them.
    async fn send_batch(&self, messages: Vec<Message>) -> Vec<Result<String, QueueError>> {
        let dir = self.dir.clone();
        let sequence = self.sequence.clone();
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
            if let Err(e) = std::fs::File::open(&dir).and_then(|d| d.sync_all()) {
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

    #[test]
    fn an_existing_name_is_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("taken.json"), b"first").expect("write");
        let mut calls = 0;
        let path = write_exclusively(
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
