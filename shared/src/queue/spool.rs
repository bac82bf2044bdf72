//! A directory as a queue, for local development: one JSON file per event, written atomically
//! (temporary file, fsync, rename) so a reader never sees half a message.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Message, Queue, QueueError};

#[derive(Debug, Clone)]
pub struct SpoolQueue {
    dir: PathBuf,
}

impl SpoolQueue {
    /// Creates the directory if needed.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `<millis>-<source>-<id>.json`, with the id reduced to file-name-safe characters.
fn file_name(message: &Message) -> String {
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
        .take(96)
        .collect();
    format!("{millis:013}-{}-{safe}.json", message.source)
}

fn write_atomically(dir: &Path, name: &str, body: &[u8]) -> std::io::Result<PathBuf> {
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(body)?;
    tmp.as_file().sync_all()?;
    let path = dir.join(name);
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(path)
}

impl Queue for SpoolQueue {
    async fn send(&self, message: &Message) -> Result<String, QueueError> {
        let dir = self.dir.clone();
        let name = file_name(message);
        let body = message.body.clone().into_bytes();
        let path = tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &body))
            .await
            .map_err(|e| QueueError(format!("spool writer stopped: {e}")))?
            .map_err(|e| QueueError(format!("cannot write to the spool directory: {e}")))?;
        Ok(path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_one_file_per_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let q = SpoolQueue::new(dir.path().join("spool")).expect("spool");
        let m = Message {
            id: "../evil/id".into(),
            source: "github".into(),
            event_type: "github.push".into(),
            group: "github".into(),
            body: "{\"id\":\"x\"}".into(),
        };
        let path = q.send(&m).await.expect("sent");
        assert!(path.ends_with("-github-___evil_id.json"), "{path}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), m.body);
        let files: Vec<_> = std::fs::read_dir(q.dir()).expect("dir").collect();
        assert_eq!(files.len(), 1, "no temporary files left behind");
    }
}
