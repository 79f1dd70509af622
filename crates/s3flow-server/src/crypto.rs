//! Secrets at rest: ChaCha20-Poly1305 under a 32-byte master key, a random 96-bit nonce per
//! value. A sealed value is `enc:v1:<base64(nonce ‖ ciphertext ‖ tag)>`.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use s3flow::{Error, Result};

const PREFIX: &str = "enc:v1:";
/// The environment variable holding the master key (base64 of 32 bytes).
pub const MASTER_KEY_ENV: &str = "S3FLOW_MASTER_KEY";
/// The key file in the data folder, used when the variable is not set.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The master key. `Debug` never prints it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        MasterKey(random_bytes::<32>())
    }

    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| Error::invalid_input("master key: not base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid_input("master key: must be 32 bytes (base64)"))?;
        Ok(MasterKey(bytes))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// `S3FLOW_MASTER_KEY` if set, else `<data>/master.key`, created (0600) on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self> {
        if let Ok(text) = std::env::var(MASTER_KEY_ENV) {
            if !text.trim().is_empty() {
                return MasterKey::from_base64(&text)
                    .map_err(|e| Error::invalid_input(format!("{MASTER_KEY_ENV}: {}", e.message)));
            }
        }
        let path = data_dir.join(MASTER_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => MasterKey::from_base64(&text)
                .map_err(|e| Error::invalid_input(format!("{}: {}", path.display(), e.message))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                key.write_file(&path)?;
                Ok(key)
            }
            Err(e) => Err(Error::invalid_input(format!(
                "cannot read {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes the key file with 0600 permissions (through a temporary file, then rename).
    pub fn write_file(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("key.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .map_err(|e| Error::invalid_input(format!("cannot write {}: {e}", tmp.display())))?;
        file.write_all(self.to_base64().as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub fn seal(&self, plain: &str) -> String {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let nonce = random_bytes::<12>();
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encryption of an in-memory value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", B64.encode(out))
    }

    /// Opens a sealed value; a wrong key or a changed value fails (never an empty secret).
    pub fn open(&self, sealed: &str) -> Result<String> {
        let wrong = || {
            Error::invalid_input(
                "a stored secret cannot be decrypted: wrong master key or damaged store",
            )
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .ok_or_else(wrong)?;
        if bytes.len() < 12 + 16 {
            return Err(wrong());
        }
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.0));
        let plain = cipher
            .decrypt(Nonce::from_slice(&bytes[..12]), &bytes[12..])
            .map_err(|_| wrong())?;
        String::from_utf8(plain).map_err(|_| wrong())
    }
}

pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source is available");
    bytes
}

/// The secret fields of a connection's JSON (see `Connection::redacted`).
const SECRET_FIELDS: &[&str] = &["secret_access_key", "session_token"];

/// Seals every secret field of a connection's JSON, at any depth (assume_role sources too).
pub fn seal_secrets(key: &MasterKey, value: &mut serde_json::Value) {
    walk_secrets(value, &mut |text| Ok(key.seal(text))).expect("sealing cannot fail");
}

/// Opens every sealed secret field.
pub fn open_secrets(key: &MasterKey, value: &mut serde_json::Value) -> Result<()> {
    walk_secrets(value, &mut |text| key.open(text))
}

fn walk_secrets(
    value: &mut serde_json::Value,
    f: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<()> {
    if let Some(map) = value.as_object_mut() {
        for (field, inner) in map.iter_mut() {
            match inner {
                serde_json::Value::String(text) if SECRET_FIELDS.contains(&field.as_str()) => {
                    *text = f(text)?;
                }
                other => walk_secrets(other, f)?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = MasterKey::generate();
        let sealed = key.seal("very-secret");
        assert!(!sealed.contains("very-secret"));
        assert_ne!(sealed, key.seal("very-secret"), "a fresh nonce per value");
        assert_eq!(key.open(&sealed).unwrap(), "very-secret");
        assert!(MasterKey::generate().open(&sealed).is_err());
    }

    #[test]
    fn secrets_at_any_depth() {
        let key = MasterKey::generate();
        // `!` is in no base64 alphabet, so the sealed text cannot hold the secret by chance
        // (a two-letter secret did, in about one run in a hundred).
        let mut value = serde_json::json!({"auth":{"type":"assume_role","source":{"type":"access_key","access_key_id":"A","secret_access_key":"S1!"}}});
        seal_secrets(&key, &mut value);
        assert!(!value.to_string().contains("S1!"));
        open_secrets(&key, &mut value).unwrap();
        assert_eq!(value["auth"]["source"]["secret_access_key"], "S1!");
    }

    #[test]
    fn bad_master_keys_are_refused() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&B64.encode([0u8; 16])).is_err());
    }
}
