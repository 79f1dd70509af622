//! Storage of buckets and objects in the data folder.
//!
//! Keys never become file names (a 1,024-byte key cannot be one, and `a/../b` or `//` must
//! stay distinct keys): each object is stored under the SHA-256 of its key, and an in-memory
//! ordered index (key → its versions, newest first) per bucket, rebuilt from the metadata files
//! at start, serves lookups and listings. See [`bucket`] for the folder layout.

mod bucket;
pub mod files;
pub mod meta;
pub mod version;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use tracing::{info, warn};

pub use self::bucket::{Bucket, DeleteOutcome};

/// Folder (inside the data folder) holding one folder per bucket.
const BUCKETS_DIR: &str = "buckets";

/// Logs an internal failure and turns it into a generic `InternalError`: details such as
/// paths stay in the server log, out of responses.
pub fn internal(context: &str, err: impl std::fmt::Display) -> S3Error {
    tracing::error!(%err, "{context}");
    S3Error::with_message(
        S3ErrorCode::InternalError,
        format!("internal error while {context}"),
    )
}

/// The errors S3 gives for missing things, with S3's messages.
pub fn no_such_key() -> S3Error {
    S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
}

pub fn no_such_bucket() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NoSuchBucket,
        "The specified bucket does not exist",
    )
}

pub fn no_such_upload() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NoSuchUpload,
        "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
}

pub struct Store {
    buckets_dir: PathBuf,
    buckets: RwLock<BTreeMap<String, Arc<Bucket>>>,
    /// Serialises bucket creation and deletion.
    admin: tokio::sync::Mutex<()>,
}

impl Store {
    /// Opens (creating if needed) the data folder and loads every bucket.
    pub async fn open(data_dir: &Path) -> io::Result<Self> {
        let buckets_dir = data_dir.join(BUCKETS_DIR);
        let dir = buckets_dir.clone();
        let buckets = tokio::task::spawn_blocking(move || load_buckets(&dir))
            .await
            .map_err(io::Error::other)??;
        let objects: usize = buckets.values().map(|b| b.with_index(BTreeMap::len)).sum();
        info!(buckets = buckets.len(), objects, dir = %buckets_dir.display(), "loaded the local store");
        Ok(Self {
            buckets_dir,
            buckets: RwLock::new(buckets),
            admin: tokio::sync::Mutex::new(()),
        })
    }

    /// The bucket `name`, or `NoSuchBucket`.
    pub fn bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        self.buckets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(no_such_bucket)
    }

    /// All buckets, by name.
    pub fn buckets(&self) -> Vec<Arc<Bucket>> {
        self.buckets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    pub async fn create_bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        let _guard = self.admin.lock().await;
        if self.bucket(name).is_ok() {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        let dir = self.buckets_dir.join(name);
        let owned_name = name.to_owned();
        let bucket = tokio::task::spawn_blocking(move || Bucket::create(dir, &owned_name))
            .await
            .map_err(|err| internal("creating a bucket", err))?
            .map_err(|err| internal("creating a bucket", err))?;
        let bucket = Arc::new(bucket);
        self.buckets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), Arc::clone(&bucket));
        Ok(bucket)
    }

    pub async fn delete_bucket(&self, name: &str) -> S3Result<()> {
        let _guard = self.admin.lock().await;
        let bucket = self.bucket(name)?;
        bucket.mark_removed_if_empty().await?;
        self.buckets
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        // Rename first so a crash mid-way never leaves a half-deleted folder that still looks
        // like a bucket; bucket names cannot start with '.', so the trash name is free.
        let trash = self
            .buckets_dir
            .join(format!(".trash-{}", files::unique_token()));
        match tokio::fs::rename(bucket.dir(), &trash).await {
            Ok(()) => {
                if let Err(err) = tokio::fs::remove_dir_all(&trash).await {
                    warn!(%err, "could not remove a deleted bucket's folder");
                }
            }
            Err(err) => {
                // Put the bucket back: nothing was deleted.
                bucket_undelete(&self.buckets, bucket);
                return Err(internal("deleting a bucket", err));
            }
        }
        Ok(())
    }
}

fn bucket_undelete(buckets: &RwLock<BTreeMap<String, Arc<Bucket>>>, bucket: Arc<Bucket>) {
    // The old handle is marked removed; reload it from disk so writers work again.
    match bucket::read_bucket_meta(bucket.dir())
        .and_then(|meta| Bucket::load(bucket.dir().to_owned(), meta))
    {
        Ok(fresh) => {
            buckets
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(fresh.name.clone(), Arc::new(fresh));
        }
        Err(err) => {
            warn!(bucket = %bucket.name, %err, "could not reload a bucket after a failed delete")
        }
    }
}

fn load_buckets(buckets_dir: &Path) -> io::Result<BTreeMap<String, Arc<Bucket>>> {
    std::fs::create_dir_all(buckets_dir)?;
    let mut buckets = BTreeMap::new();
    for entry in std::fs::read_dir(buckets_dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.starts_with(".trash-") {
            let _ = std::fs::remove_dir_all(entry.path());
            continue;
        }
        let meta = match bucket::read_bucket_meta(&entry.path()) {
            Ok(meta) if meta.name == name => meta,
            Ok(_) | Err(_) => {
                warn!(dir = %entry.path().display(), "folder without a valid bucket marker; ignored");
                continue;
            }
        };
        let bucket = Bucket::load(entry.path(), meta)?;
        buckets.insert(name, Arc::new(bucket));
    }
    Ok(buckets)
}
