//! The local server's store for a handshake's secret.

use std::future::Future;
use std::pin::Pin;

use crate::ports::failure::StoreError;
use crate::ports::secrets::ClaimSecret;

/// The local server's store for a handshake's secret: one file per source, created with the
/// secret in it or not at all (written to a temporary file, then hard-linked into place, which
/// fails if the file exists), readable by its owner only.
#[derive(Debug, Clone)]
pub struct SecretFile {
    path: std::path::PathBuf,
}

impl SecretFile {
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The secret a handshake stored, if one has been.
    pub fn read(&self) -> Result<Option<String>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", self.path.display())),
        }
    }

    fn create(&self, value: &str) -> std::io::Result<bool> {
        use std::io::Write;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = self
            .path
            .with_extension(format!("{}.tmp", hex::encode(nonce)));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&tmp).and_then(|mut f| {
            f.write_all(value.as_bytes())?;
            f.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, &self.path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok(self.read().ok().flatten().as_deref() == Some(value))
            }
            Err(e) => Err(e),
        }
    }
}

impl ClaimSecret for SecretFile {
    fn claim<'a>(
        &'a self,
        value: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<bool, StoreError>> + Send + 'a>> {
        Box::pin(async move {
            self.create(value).map_err(|e| {
                StoreError::permanent(format!("cannot store {}: {e}", self.path.display()))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("inlet-secret-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = SecretFile::new(dir.join("asana"));
        assert_eq!(file.read(), Ok(None));
        assert_eq!(
            file.claim("first-handshake-secret-0001").await.ok(),
            Some(true)
        );
        assert_eq!(
            file.claim("first-handshake-secret-0001").await.ok(),
            Some(true)
        );
        assert_eq!(
            file.claim("second-handshake-secret-002").await.ok(),
            Some(false)
        );
        assert_eq!(
            file.read(),
            Ok(Some("first-handshake-secret-0001".to_owned()))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file.path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
