//! One bucket: its folder, its in-memory ordered key index and its multipart uploads.
//!
//! Layout of `<data_dir>/buckets/<name>/`:
//!
//! ```text
//! .bucket.json                          bucket marker (name, creation date)
//! objects/<sha256(key)>.meta.json       object metadata, including the exact key
//! objects/<sha256(key)>.<token>.data    object bytes (immutable; a new token per write)
//! uploads/<upload-id>/upload.json       multipart upload in progress
//! uploads/<upload-id>/<NNNNN>.json      uploaded part metadata
//! uploads/<upload-id>/<NNNNN>.<token>.data  uploaded part bytes
//! tmp/                                  temporary files, renamed into place when complete
//! ```
//!
//! Data files are never modified: an overwrite writes a new data file, then atomically
//! replaces the metadata document that points to it, then deletes the old data file. A crash
//! at any point leaves either the old or the new object; unreferenced data files are removed
//! at start.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use s3s::{s3_error, S3Error, S3Result};
use time::OffsetDateTime;
use tracing::{debug, warn};

use super::files::{
    key_hash, remove_quietly, unique_token, write_json_atomic, write_json_atomic_blocking,
};
use super::internal;
use super::meta::{BucketMeta, ObjectMeta, PartMeta, UploadMeta};

pub const BUCKET_MARKER: &str = ".bucket.json";
const OBJECTS_DIR: &str = "objects";
const UPLOADS_DIR: &str = "uploads";
const TMP_DIR: &str = "tmp";
const META_SUFFIX: &str = ".meta.json";
const DATA_SUFFIX: &str = ".data";
const UPLOAD_FILE: &str = "upload.json";

pub struct Bucket {
    pub name: String,
    pub created: OffsetDateTime,
    dir: PathBuf,
    index: RwLock<BTreeMap<String, Arc<ObjectMeta>>>,
    /// Serialises metadata commits so "replace the document, then delete the data file it
    /// replaced" never races with another writer of the same key.
    commit: tokio::sync::Mutex<()>,
    uploads: Mutex<BTreeMap<String, Arc<Upload>>>,
    removed: AtomicBool,
}

/// A multipart upload in progress.
pub struct Upload {
    pub meta: UploadMeta,
    dir: PathBuf,
    /// Part table; `None` once the upload was completed or aborted.
    pub parts: tokio::sync::Mutex<Option<BTreeMap<i32, PartMeta>>>,
}

impl Upload {
    pub fn part_path(&self, part: &PartMeta) -> PathBuf {
        self.dir.join(&part.data_file)
    }
}

impl Bucket {
    /// Creates the folder structure and marker of a new bucket.
    pub fn create(dir: PathBuf, name: &str) -> io::Result<Self> {
        // A folder without a marker is not a bucket (an interrupted creation or deletion):
        // start clean so none of its leftovers resurface at the next start.
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        for sub in [OBJECTS_DIR, UPLOADS_DIR, TMP_DIR] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let meta = BucketMeta {
            name: name.to_owned(),
            created: super::meta::now_seconds(),
            acl: None,
        };
        // The marker goes last: a bucket folder without it is ignored at start.
        write_json_atomic_blocking(&dir.join(TMP_DIR), &dir.join(BUCKET_MARKER), &meta)?;
        Ok(Self::empty(dir, meta))
    }

    fn empty(dir: PathBuf, meta: BucketMeta) -> Self {
        Self {
            name: meta.name,
            created: meta.created,
            dir,
            index: RwLock::new(BTreeMap::new()),
            commit: tokio::sync::Mutex::new(()),
            uploads: Mutex::new(BTreeMap::new()),
            removed: AtomicBool::new(false),
        }
    }

    /// Loads a bucket folder: rebuilds the key index from the metadata documents, drops
    /// temporary files and data files no document refers to.
    pub fn load(dir: PathBuf, meta: BucketMeta) -> io::Result<Self> {
        for sub in [OBJECTS_DIR, UPLOADS_DIR, TMP_DIR] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let bucket = Self::empty(dir, meta);
        clear_dir(&bucket.tmp_dir())?;
        bucket.load_objects()?;
        bucket.load_uploads()?;
        Ok(bucket)
    }

    fn load_objects(&self) -> io::Result<()> {
        let objects_dir = self.objects_dir();
        let mut index = BTreeMap::new();
        let mut data_files = Vec::new();
        for entry in std::fs::read_dir(&objects_dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(META_SUFFIX) {
                match read_json::<ObjectMeta>(&entry.path()) {
                    Ok(meta) if name == format!("{}{META_SUFFIX}", key_hash(&meta.key)) => {
                        if objects_dir.join(&meta.data_file).is_file() {
                            index.insert(meta.key.clone(), Arc::new(meta));
                        } else {
                            warn!(bucket = %self.name, file = %name, "object metadata without data; ignored");
                        }
                    }
                    Ok(_) => {
                        warn!(bucket = %self.name, file = %name, "object metadata under a wrong name; ignored")
                    }
                    Err(err) => {
                        warn!(bucket = %self.name, file = %name, %err, "unreadable object metadata; ignored")
                    }
                }
            } else if name.ends_with(DATA_SUFFIX) {
                data_files.push(name);
            }
        }
        let referenced: HashSet<&str> = index.values().map(|m| m.data_file.as_str()).collect();
        for name in data_files {
            if !referenced.contains(name.as_str()) {
                debug!(bucket = %self.name, file = %name, "removing an unreferenced data file");
                let _ = std::fs::remove_file(objects_dir.join(&name));
            }
        }
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
        Ok(())
    }

    fn load_uploads(&self) -> io::Result<()> {
        let mut uploads = BTreeMap::new();
        for entry in std::fs::read_dir(self.uploads_dir())? {
            let entry = entry?;
            let dir = entry.path();
            let meta = match read_json::<UploadMeta>(&dir.join(UPLOAD_FILE)) {
                Ok(meta) if entry.file_name().to_str() == Some(meta.upload_id.as_str()) => meta,
                _ => {
                    warn!(bucket = %self.name, dir = %dir.display(), "incomplete multipart upload folder; removed");
                    let _ = std::fs::remove_dir_all(&dir);
                    continue;
                }
            };
            let mut parts = BTreeMap::new();
            let mut data_files = Vec::new();
            for file in std::fs::read_dir(&dir)? {
                let file = file?;
                let name = file.file_name().to_string_lossy().into_owned();
                if name == UPLOAD_FILE {
                    continue;
                }
                if name.ends_with(DATA_SUFFIX) {
                    data_files.push(name);
                } else if name.ends_with(".json") {
                    match read_json::<PartMeta>(&file.path()) {
                        Ok(part) if dir.join(&part.data_file).is_file() => {
                            parts.insert(part.part_number, part);
                        }
                        _ => {
                            warn!(bucket = %self.name, file = %name, "unusable part metadata; ignored")
                        }
                    }
                }
            }
            let referenced: HashSet<&str> = parts.values().map(|p| p.data_file.as_str()).collect();
            for name in data_files {
                if !referenced.contains(name.as_str()) {
                    let _ = std::fs::remove_file(dir.join(&name));
                }
            }
            let upload = Upload {
                meta,
                dir,
                parts: tokio::sync::Mutex::new(Some(parts)),
            };
            uploads.insert(upload.meta.upload_id.clone(), Arc::new(upload));
        }
        *self.uploads.lock().unwrap_or_else(|e| e.into_inner()) = uploads;
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn objects_dir(&self) -> PathBuf {
        self.dir.join(OBJECTS_DIR)
    }

    fn uploads_dir(&self) -> PathBuf {
        self.dir.join(UPLOADS_DIR)
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.join(TMP_DIR)
    }

    /// A fresh temporary file path for a body being received.
    pub fn tmp_path(&self) -> PathBuf {
        self.tmp_dir().join(format!("{}.tmp", unique_token()))
    }

    /// Path of an object's data file.
    pub fn data_path(&self, meta: &ObjectMeta) -> PathBuf {
        self.objects_dir().join(&meta.data_file)
    }

    /// Moves a fully received temporary file into `objects/` under a new unique name;
    /// returns that name, to be recorded in the object's metadata.
    pub async fn adopt_data_file(&self, key: &str, tmp: &Path) -> S3Result<String> {
        let name = format!("{}.{}{DATA_SUFFIX}", key_hash(key), unique_token());
        if let Err(err) = tokio::fs::rename(tmp, self.objects_dir().join(&name)).await {
            remove_quietly(tmp).await;
            return Err(self.io_error("moving a received object into place", err));
        }
        Ok(name)
    }

    /// Hard-links (or copies) an existing data file under a new unique name for `key`: data
    /// files are immutable, so a copy can share the bytes.
    pub async fn link_data_file(&self, src: &Path, key: &str) -> S3Result<String> {
        let name = format!("{}.{}{DATA_SUFFIX}", key_hash(key), unique_token());
        let dst = self.objects_dir().join(&name);
        if tokio::fs::hard_link(src, &dst).await.is_err() {
            let tmp = self.tmp_path();
            if let Err(err) = tokio::fs::copy(src, &tmp).await {
                remove_quietly(&tmp).await;
                return Err(if err.kind() == io::ErrorKind::NotFound {
                    super::no_such_key()
                } else {
                    self.io_error("copying object data", err)
                });
            }
            if let Err(err) = tokio::fs::rename(&tmp, &dst).await {
                remove_quietly(&tmp).await;
                return Err(self.io_error("moving copied data into place", err));
            }
        }
        Ok(name)
    }

    /// An I/O failure: `NoSuchBucket` when the bucket was deleted meanwhile (its folder went
    /// away under the request), an internal error otherwise.
    pub fn io_error(&self, context: &str, err: impl std::fmt::Display) -> S3Error {
        if self.is_removed() {
            super::no_such_bucket()
        } else {
            internal(context, err)
        }
    }

    pub fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub fn get(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    pub fn is_empty(&self) -> bool {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Runs `f` over the index under its read lock (listing).
    pub fn with_index<R>(&self, f: impl FnOnce(&BTreeMap<String, Arc<ObjectMeta>>) -> R) -> R {
        f(&self.index.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Opens an object's data file. Retries when a concurrent overwrite removed the data file
    /// between the index lookup and the open.
    pub async fn open_object(&self, key: &str) -> S3Result<(Arc<ObjectMeta>, tokio::fs::File)> {
        for _ in 0..8 {
            let meta = self.get(key).ok_or_else(super::no_such_key)?;
            match tokio::fs::File::open(self.data_path(&meta)).await {
                Ok(file) => return Ok((meta, file)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(self.io_error("opening object data", err)),
            }
        }
        Err(super::no_such_key())
    }

    /// Makes `meta` the current version of its key. The data file it names must already be in
    /// `objects/`. The previous data file of the key (if any) is deleted afterwards.
    pub async fn commit(&self, meta: ObjectMeta) -> S3Result<Arc<ObjectMeta>> {
        let _guard = self.commit.lock().await;
        if self.is_removed() {
            remove_quietly(&self.objects_dir().join(&meta.data_file)).await;
            return Err(super::no_such_bucket());
        }
        let target = self
            .objects_dir()
            .join(format!("{}{META_SUFFIX}", key_hash(&meta.key)));
        if let Err(err) = write_json_atomic(&self.tmp_dir(), &target, &meta).await {
            remove_quietly(&self.objects_dir().join(&meta.data_file)).await;
            return Err(self.io_error("writing object metadata", err));
        }
        let meta = Arc::new(meta);
        let previous = self
            .index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(meta.key.clone(), Arc::clone(&meta));
        if let Some(previous) = previous.filter(|p| p.data_file != meta.data_file) {
            remove_quietly(&self.data_path(&previous)).await;
        }
        Ok(meta)
    }

    /// Changes an object's metadata only (tags, ACL). `NoSuchKey` when absent.
    pub async fn update_meta(
        &self,
        key: &str,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> S3Result<Arc<ObjectMeta>> {
        let _guard = self.commit.lock().await;
        if self.is_removed() {
            return Err(super::no_such_bucket());
        }
        let mut meta = ObjectMeta::clone(&*self.get(key).ok_or_else(super::no_such_key)?);
        change(&mut meta);
        let target = self
            .objects_dir()
            .join(format!("{}{META_SUFFIX}", key_hash(key)));
        write_json_atomic(&self.tmp_dir(), &target, &meta)
            .await
            .map_err(|err| self.io_error("writing object metadata", err))?;
        let meta = Arc::new(meta);
        self.index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), Arc::clone(&meta));
        Ok(meta)
    }

    /// Deletes an object; `false` when it did not exist.
    pub async fn remove(&self, key: &str) -> S3Result<bool> {
        let _guard = self.commit.lock().await;
        let Some(meta) = self.get(key) else {
            return Ok(false);
        };
        let target = self
            .objects_dir()
            .join(format!("{}{META_SUFFIX}", key_hash(key)));
        match tokio::fs::remove_file(&target).await {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(self.io_error("removing object metadata", err)),
        }
        self.index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        remove_quietly(&self.data_path(&meta)).await;
        Ok(true)
    }

    /// Marks the bucket as deleted if it has no objects; the caller then removes its folder.
    /// Holding the commit lock makes "empty" and "removed" one step for concurrent writers.
    pub async fn mark_removed_if_empty(&self) -> S3Result<()> {
        let _guard = self.commit.lock().await;
        if !self.is_empty() {
            return Err(s3_error!(BucketNotEmpty));
        }
        self.removed.store(true, Ordering::Release);
        Ok(())
    }

    // ---- multipart uploads ----

    pub async fn create_upload(&self, meta: UploadMeta) -> S3Result<Arc<Upload>> {
        let dir = self.uploads_dir().join(&meta.upload_id);
        tokio::fs::create_dir(&dir)
            .await
            .map_err(|err| self.io_error("creating a multipart upload folder", err))?;
        if let Err(err) = write_json_atomic(&self.tmp_dir(), &dir.join(UPLOAD_FILE), &meta).await {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(self.io_error("writing multipart upload metadata", err));
        }
        let upload = Arc::new(Upload {
            meta,
            dir,
            parts: tokio::sync::Mutex::new(Some(BTreeMap::new())),
        });
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(upload.meta.upload_id.clone(), Arc::clone(&upload));
        if self.is_removed() {
            self.forget_upload(&upload).await;
            return Err(super::no_such_bucket());
        }
        Ok(upload)
    }

    /// The upload `upload_id` for `key`; `NoSuchUpload` when unknown or for another key.
    pub fn upload(&self, upload_id: &str, key: &str) -> S3Result<Arc<Upload>> {
        let uploads = self.uploads.lock().unwrap_or_else(|e| e.into_inner());
        match uploads.get(upload_id) {
            Some(upload) if upload.meta.key == key => Ok(Arc::clone(upload)),
            _ => Err(super::no_such_upload()),
        }
    }

    pub fn uploads(&self) -> Vec<Arc<Upload>> {
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Records a received part (its data already in `tmp`), replacing an earlier upload of
    /// the same part number.
    pub async fn add_part(&self, upload: &Upload, tmp: &Path, mut part: PartMeta) -> S3Result<()> {
        let mut guard = upload.parts.lock().await;
        let Some(parts) = guard.as_mut() else {
            remove_quietly(tmp).await;
            return Err(super::no_such_upload());
        };
        part.data_file = format!("{:05}.{}{DATA_SUFFIX}", part.part_number, unique_token());
        let data_path = upload.dir.join(&part.data_file);
        if let Err(err) = tokio::fs::rename(tmp, &data_path).await {
            remove_quietly(tmp).await;
            return Err(self.io_error("moving a received part into place", err));
        }
        let meta_path = upload.dir.join(format!("{:05}.json", part.part_number));
        if let Err(err) = write_json_atomic(&self.tmp_dir(), &meta_path, &part).await {
            remove_quietly(&data_path).await;
            return Err(self.io_error("writing part metadata", err));
        }
        if let Some(previous) = parts.insert(part.part_number, part) {
            remove_quietly(&upload.dir.join(previous.data_file)).await;
        }
        Ok(())
    }

    /// Removes an upload from the table and deletes its folder. The caller holds (or has
    /// emptied) the upload's part lock.
    pub async fn forget_upload(&self, upload: &Upload) {
        self.uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&upload.meta.upload_id);
        match tokio::fs::remove_dir_all(&upload.dir).await {
            Err(err) if err.kind() != io::ErrorKind::NotFound => {
                warn!(bucket = %self.name, upload_id = %upload.meta.upload_id, %err, "could not remove an upload folder")
            }
            _ => {}
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<T> {
    let bytes = std::fs::read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

pub fn read_bucket_meta(dir: &Path) -> io::Result<BucketMeta> {
    read_json(&dir.join(BUCKET_MARKER))
}

fn clear_dir(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}
