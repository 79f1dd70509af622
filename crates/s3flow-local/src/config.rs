//! Configuration of the embedded endpoint and its persistent credentials.

use std::fmt;
use std::io::{self, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Access key used when none is configured.
pub const DEFAULT_ACCESS_KEY: &str = "s3flow-local";

/// Region reported by the endpoint when none is configured.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Port of the endpoint when none is configured (the product contract: `127.0.0.1:9000`).
pub const DEFAULT_PORT: u16 = 9000;

/// File (inside the data folder) holding the generated secret key, so restarts keep the
/// same credentials.
pub const SECRET_FILE_NAME: &str = ".s3flow-local-secret";

/// Everything needed to start a [`crate::LocalServer`].
#[derive(Clone)]
pub struct LocalConfig {
    /// Folder holding the buckets, their objects and the generated secret.
    pub data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The only access key the endpoint accepts.
    pub access_key: String,
    /// The secret key matching `access_key`. Never printed.
    pub secret_key: String,
    /// Region the endpoint reports (GetBucketLocation) and expects in signatures' scope.
    pub region: String,
}

impl LocalConfig {
    /// Defaults for a data folder: listen on `127.0.0.1:9000`, region `us-east-1`, access key
    /// `s3flow-local`, and a secret read from `<data_dir>/.s3flow-local-secret`.
    ///
    /// The secret is created (random uuid v4 hex, 0600 permissions) on first use. If the folder
    /// cannot be written yet, `secret_key` stays empty and [`crate::LocalServer::start`] retries
    /// and reports the error. An empty `secret_key` always means "the stored one".
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        let secret_key = load_or_create_secret(&data_dir).unwrap_or_default();
        Self {
            data_dir,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, DEFAULT_PORT)),
            access_key: DEFAULT_ACCESS_KEY.to_owned(),
            secret_key,
            region: DEFAULT_REGION.to_owned(),
        }
    }

    /// The secret key to use: the configured one, or the stored one, created on first use.
    pub(crate) fn resolve_secret_key(&self) -> io::Result<String> {
        if !self.secret_key.is_empty() {
            return Ok(self.secret_key.clone());
        }
        load_or_create_secret(&self.data_dir)
    }
}

impl fmt::Debug for LocalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalConfig")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .field("region", &self.region)
            .finish()
    }
}

fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE_NAME)
}

fn read_secret(data_dir: &Path) -> io::Result<Option<String>> {
    match std::fs::read_to_string(secret_path(data_dir)) {
        Ok(text) => {
            let secret = text.trim();
            Ok((!secret.is_empty()).then(|| secret.to_owned()))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Reads the stored secret, or generates one (uuid v4 hex) and stores it with 0600
/// permissions. Creation is atomic (`create_new`), so two processes starting together agree.
fn load_or_create_secret(data_dir: &Path) -> io::Result<String> {
    if let Some(secret) = read_secret(data_dir)? {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir)?;
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(secret_path(data_dir)) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            Ok(secret)
        }
        // Someone else created it between our read and our create: use theirs.
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => read_secret(data_dir)?
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the stored secret key file is empty",
                )
            }),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = LocalConfig::new(dir.path());
        config.secret_key = "super-secret-value".to_owned();
        let text = format!("{config:?}");
        assert!(!text.contains("super-secret-value"), "{text}");
        assert!(text.contains("***"), "{text}");
    }

    #[test]
    fn secret_is_created_once_with_0600() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret(dir.path()).unwrap();
        let second = load_or_create_secret(dir.path()).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(secret_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(LocalConfig::new(dir.path()).secret_key, first);
    }
}
