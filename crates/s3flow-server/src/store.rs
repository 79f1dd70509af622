//! The state store: connections (secrets sealed under the master key), tokens (SHA-256
//! hashes only), documents and a meta table holding the master key's check value. SQLite in
//! the data folder by default, PostgreSQL for several instances; the same SQL runs on both
//! through sqlx's `Any` driver (runtime queries, `$n` placeholders, TEXT and BIGINT only).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use s3flow::{Connection, Error, ErrorCode, Result};
use sha2::{Digest, Sha256};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

use crate::crypto::{self, MasterKey};

/// The value sealed under the master key to tell a wrong key at start.
const CHECK_PLAINTEXT: &str = "s3flow master key check v1";

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS s3flow_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS s3flow_connections (name TEXT PRIMARY KEY, config TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS s3flow_tokens (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, revoked_at BIGINT)",
    "CREATE TABLE IF NOT EXISTS s3flow_documents (id TEXT PRIMARY KEY, content_type TEXT NOT NULL, size BIGINT NOT NULL, file_name TEXT, sha256 TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
    // Room for triggers (cursor and outbox), filled by a later issue.
    "CREATE TABLE IF NOT EXISTS s3flow_triggers (id TEXT PRIMARY KEY, config TEXT NOT NULL, cursor_state TEXT, created_at BIGINT NOT NULL)",
];

/// How long a verified token is trusted without asking the database again. A token revoked
/// through this store is refused at once; revoked through another process or instance
/// (`s3flow token revoke`, a second service on the same PostgreSQL), within this delay.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);

/// The store, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    key: MasterKey,
    /// Verified tokens: hash → (id, when it was read from the database). Shared by clones.
    verified_tokens: Arc<Mutex<HashMap<String, (String, Instant)>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// A stored token, without its hash.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub created_at: String,
    pub revoked: bool,
}

/// A stored document's index row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRow {
    pub id: String,
    pub content_type: String,
    pub size: u64,
    pub file_name: Option<String>,
    pub sha256: String,
    pub expires_at: i64,
}

/// The database URL: the given one, else SQLite at `<data>/s3flow.db`.
pub fn database_url(data_dir: &Path, database: Option<&str>) -> String {
    match database {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}?mode=rwc", data_dir.join("s3flow.db").display()),
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn db_error(e: sqlx::Error) -> Error {
    Error::new(ErrorCode::UpstreamUnavailable, format!("state store: {e}"))
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Opens (and creates) the store under `key`. A store made under another key fails here,
    /// with a clear message, before any request is served.
    pub async fn open(data_dir: &Path, database: Option<&str>, key: MasterKey) -> Result<Store> {
        sqlx::any::install_default_drivers();
        if database.is_none() {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| Error::invalid_input(format!("--data {}: {e}", data_dir.display())))?;
        }
        let url = database_url(data_dir, database);
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(Error::invalid_input(
                "--database: must be a postgres://… or sqlite:… URL",
            ));
        }
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(&url)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!("cannot open the state store: {e}"),
                )
            })?;
        for statement in SCHEMA {
            sqlx::query(statement)
                .execute(&pool)
                .await
                .map_err(db_error)?;
        }
        let store = Store {
            pool,
            key,
            verified_tokens: Arc::default(),
        };
        store.check_key().await?;
        Ok(store)
    }

    /// Fails when the store's check value is no longer sealed under this instance's key:
    /// after `s3flow keys rotate` a running instance must not write under the old key.
    async fn still_current_key(&self) -> Result<()> {
        let check = self.meta("key_check").await?.unwrap_or_default();
        if self.key.open(&check).ok().as_deref() == Some(CHECK_PLAINTEXT) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::UpstreamUnavailable,
                "the master key of this store was rotated since this instance started; restart it with the new key",
            ))
        }
    }

    async fn check_key(&self) -> Result<()> {
        match self.meta("key_check").await? {
            Some(check) => match self.key.open(&check) {
                Ok(text) if text == CHECK_PLAINTEXT => Ok(()),
                _ => Err(Error::invalid_input(
                    "the master key does not open this store (S3FLOW_MASTER_KEY or master.key differs from the one it was made with)",
                )),
            },
            None => {
                sqlx::query("INSERT INTO s3flow_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind("key_check")
                    .bind(self.key.seal(CHECK_PLAINTEXT))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                // Another instance may have won the race with its own key: check again.
                let check = self.meta("key_check").await?.unwrap_or_default();
                if self.key.open(&check).ok().as_deref() != Some(CHECK_PLAINTEXT) {
                    return Err(Error::invalid_input("the master key does not open this store"));
                }
                Ok(())
            }
        }
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM s3flow_meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    // --- connections -------------------------------------------------------------------

    /// Saves a connection (validated, secrets sealed). Returns true when it was created.
    pub async fn put_connection(&self, connection: &Connection) -> Result<bool> {
        connection.validate()?;
        let name = connection
            .name
            .clone()
            .ok_or_else(|| Error::invalid_input("name: is required"))?;
        let mut value =
            serde_json::to_value(connection).map_err(|e| Error::invalid_input(e.to_string()))?;
        self.still_current_key().await?;
        crypto::seal_secrets(&self.key, &mut value);
        let existed = self.raw_connection(&name).await?.is_some();
        let now = now();
        sqlx::query(
            "INSERT INTO s3flow_connections (name, config, created_at, updated_at) VALUES ($1, $2, $3, $3) \
             ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
        )
        .bind(&name)
        .bind(value.to_string())
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(!existed)
    }

    /// The stored (sealed) JSON of a connection, to tell whether a cached client is current.
    pub async fn raw_connection(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT config FROM s3flow_connections WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    pub fn open_connection(&self, raw: &str) -> Result<Connection> {
        let mut value: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| Error::invalid_input(format!("stored connection: {e}")))?;
        crypto::open_secrets(&self.key, &mut value)?;
        serde_json::from_value(value)
            .map_err(|e| Error::invalid_input(format!("stored connection: {e}")))
    }

    pub async fn get_connection(&self, name: &str) -> Result<Connection> {
        match self.raw_connection(name).await? {
            Some(raw) => self.open_connection(&raw),
            None => Err(Error::not_found(format!(
                "connection {name:?} does not exist"
            ))),
        }
    }

    pub async fn list_connections(&self) -> Result<Vec<Connection>> {
        let rows = sqlx::query("SELECT config FROM s3flow_connections ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|r| self.open_connection(&r.get::<String, _>(0)))
            .collect()
    }

    pub async fn delete_connection(&self, name: &str) -> Result<()> {
        let done = sqlx::query("DELETE FROM s3flow_connections WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "connection {name:?} does not exist"
            )));
        }
        Ok(())
    }

    // --- tokens --------------------------------------------------------------------------

    /// Creates a token; the plain token is returned once and only its hash is kept.
    pub async fn create_token(&self) -> Result<(String, String)> {
        use base64::Engine;
        let id = hex::encode(crypto::random_bytes::<6>());
        let secret =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::random_bytes::<32>());
        let token = format!("s3f_{secret}");
        sqlx::query("INSERT INTO s3flow_tokens (id, hash, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(hash_token(&token))
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok((id, token))
    }

    pub async fn count_tokens(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM s3flow_tokens")
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(row.get::<i64, _>(0))
    }

    /// The id of the live token with this value, if any. A token found live is trusted for
    /// [`TOKEN_CACHE_TTL`] before the database is asked again: one query per request was
    /// most of a small action's cost. When that time is up, the first request asks and the
    /// others go on trusting it meanwhile, so a busy token costs one query, not one per
    /// request in flight (which stalled them all once a second).
    pub async fn check_token(&self, token: &str) -> Result<Option<String>> {
        let hash = hash_token(token);
        if let Some((id, checked)) = self.lock_verified_tokens().get_mut(&hash) {
            if checked.elapsed() < TOKEN_CACHE_TTL {
                return Ok(Some(id.clone()));
            }
            *checked = Instant::now();
        }
        let row =
            sqlx::query("SELECT id FROM s3flow_tokens WHERE hash = $1 AND revoked_at IS NULL")
                .bind(&hash)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        let id = row.map(|r| r.get::<String, _>(0));
        let mut verified = self.lock_verified_tokens();
        match &id {
            Some(id) => verified.insert(hash, (id.clone(), Instant::now())),
            None => verified.remove(&hash),
        };
        Ok(id)
    }

    fn lock_verified_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.verified_tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(
            "SELECT id, created_at, revoked_at FROM s3flow_tokens ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .iter()
            .map(|r| TokenInfo {
                id: r.get(0),
                created_at: rfc3339(r.get(1)),
                revoked: r.get::<Option<i64>, _>(2).is_some(),
            })
            .collect())
    }

    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE s3flow_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        self.lock_verified_tokens()
            .retain(|_, (verified_id, _)| verified_id != id);
        if done.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "token {id:?} does not exist or is already revoked"
            )));
        }
        Ok(())
    }

    // --- documents -----------------------------------------------------------------------

    pub async fn insert_document(&self, doc: &DocumentRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO s3flow_documents (id, content_type, size, file_name, sha256, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&doc.id)
        .bind(&doc.content_type)
        .bind(doc.size as i64)
        .bind(doc.file_name.clone())
        .bind(&doc.sha256)
        .bind(now())
        .bind(doc.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    pub async fn get_document(&self, id: &str) -> Result<DocumentRow> {
        let row = sqlx::query(
            "SELECT id, content_type, size, file_name, sha256, expires_at FROM s3flow_documents WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(now())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(|r| DocumentRow {
            id: r.get(0),
            content_type: r.get(1),
            size: r.get::<i64, _>(2) as u64,
            file_name: r.get(3),
            sha256: r.get(4),
            expires_at: r.get(5),
        })
        .ok_or_else(|| Error::not_found(format!("document {id:?} does not exist or has expired")))
    }

    pub async fn delete_document(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM s3flow_documents WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes the index rows of expired documents and returns their ids.
    pub async fn take_expired_documents(&self) -> Result<Vec<String>> {
        let now = now();
        let rows = sqlx::query("SELECT id FROM s3flow_documents WHERE expires_at <= $1")
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let ids: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        for id in &ids {
            self.delete_document(id).await?;
        }
        Ok(ids)
    }

    // --- keys ----------------------------------------------------------------------------

    /// Re-seals every secret and the check value under `new_key`, in one transaction: either
    /// everything is under the new key or nothing changed.
    pub async fn rotate_key(&self, new_key: &MasterKey) -> Result<usize> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let rows = sqlx::query("SELECT name, config FROM s3flow_connections")
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        let mut count = 0;
        for row in &rows {
            let name: String = row.get(0);
            let raw: String = row.get(1);
            let mut value: serde_json::Value = serde_json::from_str(&raw)
                .map_err(|e| Error::invalid_input(format!("stored connection {name}: {e}")))?;
            crypto::open_secrets(&self.key, &mut value)?;
            crypto::seal_secrets(new_key, &mut value);
            sqlx::query("UPDATE s3flow_connections SET config = $1 WHERE name = $2")
                .bind(value.to_string())
                .bind(&name)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            count += 1;
        }
        sqlx::query("UPDATE s3flow_meta SET value = $1 WHERE key = $2")
            .bind(new_key.seal(CHECK_PLAINTEXT))
            .bind("key_check")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(count)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
