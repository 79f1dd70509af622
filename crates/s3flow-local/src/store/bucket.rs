//! One bucket: its folder, its in-memory ordered key index (every version of every key) and
//! its multipart uploads.
//!
//! Layout of `<data_dir>/buckets/<name>/`:
//!
//! ```text
//! .bucket.json                          bucket marker (name, creation date, versioning state)
//! objects/<sha256(key)>.meta.json       the latest version of a key (maybe a delete marker)
//! objects/<sha256(key)>.<token>.data    object bytes of any version (immutable; new per write)
//! versions/<sha256(key)>/<version-id>.meta.json
//!                                       older versions and delete markers of a key
//!                                       (`null.meta.json` for the null version)
//! uploads/<upload-id>/upload.json       multipart upload in progress
//! uploads/<upload-id>/<NNNNN>.json      uploaded part metadata
//! uploads/<upload-id>/<NNNNN>.<token>.data  uploaded part bytes
//! tmp/                                  temporary files, renamed into place when complete
//! ```
//!
//! Data files are never modified: a write adds a new data file, then atomically replaces the
//! metadata documents that point to it, then deletes the data file it replaced (if any). Every
//! step that changes which version is the latest writes the new latest document first and
//! removes the stale copy second, so a crash leaves at worst one version described twice (in
//! `objects/` and in `versions/`); the `objects/` document wins at start. Data files that no
//! document refers to are removed at start.

use std::collections::{BTreeMap, HashSet};
use std::hash::BuildHasher;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use s3s::{s3_error, S3Error, S3Result};
use time::OffsetDateTime;
use tracing::{debug, warn};

use super::files::{
    key_hash, remove_quietly, unique_token, write_json_atomic, write_json_atomic_blocking,
};
use super::internal;
use super::meta::{BucketMeta, ObjectMeta, PartMeta, UploadMeta};
use super::version::{
    invalid_version_id, is_valid_version_id, method_not_allowed_on_marker, new_version_id,
    next_stamp, no_such_key_deleted, no_such_version, observe_stamp, Versioning,
};

pub const BUCKET_MARKER: &str = ".bucket.json";
const OBJECTS_DIR: &str = "objects";
const VERSIONS_DIR: &str = "versions";
const UPLOADS_DIR: &str = "uploads";
const TMP_DIR: &str = "tmp";
const META_SUFFIX: &str = ".meta.json";
const DATA_SUFFIX: &str = ".data";
const UPLOAD_FILE: &str = "upload.json";
/// Locks the keys of a bucket are spread over: enough that writers of different keys rarely
/// wait for each other.
const KEY_LOCKS: usize = 64;

/// Every version of one key, newest first. Never empty inside the index.
#[derive(Debug, Clone, Default)]
pub struct KeyVersions(Vec<Arc<ObjectMeta>>);

impl KeyVersions {
    /// The current object: the latest version unless it is a delete marker.
    pub fn current(&self) -> Option<&Arc<ObjectMeta>> {
        self.0.first().filter(|m| !m.delete_marker)
    }

    /// All versions, newest first.
    pub fn all(&self) -> &[Arc<ObjectMeta>] {
        &self.0
    }
}

/// What a DELETE did.
#[derive(Debug, Clone, Default)]
pub struct DeleteOutcome {
    /// The delete marker created, or the version removed (`null` included); `None` in an
    /// unversioned bucket when no version id was given.
    pub version_id: Option<String>,
    /// A delete marker was created, or the version removed was one.
    pub delete_marker: bool,
}

pub struct Bucket {
    pub name: String,
    pub created: OffsetDateTime,
    /// The bucket's canned ACL as stored in its marker (kept when the marker is rewritten).
    acl: Option<String>,
    versioning: AtomicU8,
    dir: PathBuf,
    index: RwLock<BTreeMap<String, KeyVersions>>,
    /// Writers of a key hold the read side (and their key's lock); versioning changes and
    /// removal of the bucket hold the write side, so they never interleave with a write.
    commit: tokio::sync::RwLock<()>,
    /// Serialise the writers of one key (keys share a lock by hash), so "replace the document,
    /// then delete the files it replaced" never races with another writer of that key, while
    /// writes of different keys go on side by side.
    key_locks: Box<[tokio::sync::Mutex<()>]>,
    key_hasher: std::hash::RandomState,
    uploads: Mutex<BTreeMap<String, Arc<Upload>>>,
    removed: AtomicBool,
}

/// What a writer of one key holds (see [`Bucket::lock_key`]); the key's lock is let go first.
struct KeyGuard<'a> {
    _key: tokio::sync::MutexGuard<'a, ()>,
    _bucket: tokio::sync::RwLockReadGuard<'a, ()>,
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

/// The index of the version `version` (or of the current object when `None`) of a key, with
/// S3's errors: `NoSuchKey` (with the delete-marker headers when the latest version is one),
/// `InvalidArgument` for a malformed id, `NoSuchVersion`, and 405 for a delete marker named by
/// id.
fn pick(versions: &[Arc<ObjectMeta>], version: Option<&str>) -> S3Result<usize> {
    match version {
        None => match versions.first() {
            None => Err(super::no_such_key()),
            Some(latest) if latest.delete_marker => Err(no_such_key_deleted(latest)),
            Some(_) => Ok(0),
        },
        Some(id) => {
            if !is_valid_version_id(id) {
                return Err(invalid_version_id());
            }
            let pos = versions
                .iter()
                .position(|m| m.version() == id)
                .ok_or_else(no_such_version)?;
            if versions[pos].delete_marker {
                return Err(method_not_allowed_on_marker(&versions[pos]));
            }
            Ok(pos)
        }
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
        for sub in [OBJECTS_DIR, VERSIONS_DIR, UPLOADS_DIR, TMP_DIR] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let meta = BucketMeta {
            name: name.to_owned(),
            created: super::meta::now_seconds(),
            acl: None,
            versioning: None,
        };
        // The marker goes last: a bucket folder without it is ignored at start.
        write_json_atomic_blocking(&dir.join(TMP_DIR), &dir.join(BUCKET_MARKER), &meta)?;
        Ok(Self::empty(dir, meta))
    }

    fn empty(dir: PathBuf, meta: BucketMeta) -> Self {
        let versioning = Versioning::from_marker(meta.versioning.as_deref());
        Self {
            name: meta.name,
            created: meta.created,
            acl: meta.acl,
            versioning: AtomicU8::new(versioning.to_u8()),
            dir,
            index: RwLock::new(BTreeMap::new()),
            commit: tokio::sync::RwLock::new(()),
            key_locks: (0..KEY_LOCKS).map(|_| tokio::sync::Mutex::new(())).collect(),
            key_hasher: std::hash::RandomState::new(),
            uploads: Mutex::new(BTreeMap::new()),
            removed: AtomicBool::new(false),
        }
    }

    /// Loads a bucket folder: rebuilds the version index from the metadata documents, drops
    /// temporary files and data files no document refers to.
    pub fn load(dir: PathBuf, meta: BucketMeta) -> io::Result<Self> {
        for sub in [OBJECTS_DIR, VERSIONS_DIR, UPLOADS_DIR, TMP_DIR] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let bucket = Self::empty(dir, meta);
        clear_dir(&bucket.tmp_dir())?;
        bucket.load_objects()?;
        bucket.load_uploads()?;
        Ok(bucket)
    }

    /// Whether a metadata document read from disk is usable: a well-formed version id, and
    /// its data file present (delete markers have none).
    fn usable(&self, meta: &ObjectMeta, file: &str) -> bool {
        if meta
            .version_id
            .as_deref()
            .is_some_and(|id| !is_valid_version_id(id) || id == super::version::NULL_VERSION)
        {
            warn!(bucket = %self.name, %file, "object metadata with an invalid version id; ignored");
            return false;
        }
        if meta.delete_marker {
            return true;
        }
        if meta.data_file.is_empty() || !self.objects_dir().join(&meta.data_file).is_file() {
            warn!(bucket = %self.name, %file, "object metadata without data; ignored");
            return false;
        }
        true
    }

    fn load_objects(&self) -> io::Result<()> {
        let objects_dir = self.objects_dir();
        let mut latest: BTreeMap<String, Arc<ObjectMeta>> = BTreeMap::new();
        let mut data_files = Vec::new();
        for entry in std::fs::read_dir(&objects_dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(META_SUFFIX) {
                match read_json::<ObjectMeta>(&entry.path()) {
                    Ok(meta) if name == format!("{}{META_SUFFIX}", key_hash(&meta.key)) => {
                        if self.usable(&meta, &name) {
                            latest.insert(meta.key.clone(), Arc::new(meta));
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
        let mut older = self.load_older_versions()?;

        let mut index = BTreeMap::new();
        let keys: Vec<String> = latest.keys().chain(older.keys()).cloned().collect();
        for key in keys {
            if index.contains_key(&key) {
                continue;
            }
            let mut rest = older.remove(&key).unwrap_or_default();
            let head = match latest.remove(&key) {
                Some(head) => {
                    // A copy of the latest version (an interrupted demotion or promotion), or
                    // a `null` version the latest replaced: the `objects/` document wins.
                    for stale in rest.iter().filter(|m| m.version() == head.version()) {
                        debug!(bucket = %self.name, "removing a stale version document");
                        let _ = std::fs::remove_file(self.version_doc_path(stale));
                    }
                    rest.retain(|m| m.version() != head.version());
                    sort_newest_first(&mut rest);
                    head
                }
                None => {
                    // Only older versions (a damaged folder): the newest becomes the latest.
                    sort_newest_first(&mut rest);
                    if rest.is_empty() {
                        continue;
                    }
                    let head = rest.remove(0);
                    warn!(bucket = %self.name, "a key had no latest version; promoting its newest");
                    write_json_atomic_blocking(
                        &self.tmp_dir(),
                        &self.current_doc_path(&key),
                        &*head,
                    )?;
                    let _ = std::fs::remove_file(self.version_doc_path(&head));
                    head
                }
            };
            let mut list = Vec::with_capacity(rest.len() + 1);
            list.push(head);
            list.extend(rest);
            for meta in &list {
                observe_stamp(meta.seq);
            }
            index.insert(key, KeyVersions(list));
        }

        let referenced: HashSet<&str> = index
            .values()
            .flat_map(|v: &KeyVersions| v.0.iter())
            .map(|m| m.data_file.as_str())
            .filter(|f| !f.is_empty())
            .collect();
        for name in data_files {
            if !referenced.contains(name.as_str()) {
                debug!(bucket = %self.name, file = %name, "removing an unreferenced data file");
                let _ = std::fs::remove_file(objects_dir.join(&name));
            }
        }
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = index;
        Ok(())
    }

    /// Reads `versions/`: key → its older versions (unordered). Removes empty folders.
    fn load_older_versions(&self) -> io::Result<BTreeMap<String, Vec<Arc<ObjectMeta>>>> {
        let mut older: BTreeMap<String, Vec<Arc<ObjectMeta>>> = BTreeMap::new();
        for entry in std::fs::read_dir(self.versions_dir())? {
            let entry = entry?;
            let hash = entry.file_name().to_string_lossy().into_owned();
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let mut found = 0;
            for file in std::fs::read_dir(entry.path())? {
                let file = file?;
                let name = file.file_name().to_string_lossy().into_owned();
                if !name.ends_with(META_SUFFIX) {
                    continue;
                }
                found += 1;
                match read_json::<ObjectMeta>(&file.path()) {
                    Ok(meta)
                        if key_hash(&meta.key) == hash
                            && name == format!("{}{META_SUFFIX}", meta.version()) =>
                    {
                        if self.usable(&meta, &name) {
                            older
                                .entry(meta.key.clone())
                                .or_default()
                                .push(Arc::new(meta));
                        }
                    }
                    Ok(_) => {
                        warn!(bucket = %self.name, file = %name, "version metadata under a wrong name; ignored")
                    }
                    Err(err) => {
                        warn!(bucket = %self.name, file = %name, %err, "unreadable version metadata; ignored")
                    }
                }
            }
            if found == 0 {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
        Ok(older)
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

    fn versions_dir(&self) -> PathBuf {
        self.dir.join(VERSIONS_DIR)
    }

    fn uploads_dir(&self) -> PathBuf {
        self.dir.join(UPLOADS_DIR)
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.dir.join(TMP_DIR)
    }

    /// The document of the latest version of `key`.
    fn current_doc_path(&self, key: &str) -> PathBuf {
        self.objects_dir()
            .join(format!("{}{META_SUFFIX}", key_hash(key)))
    }

    /// The folder of the older versions of `key`.
    fn version_dir(&self, key: &str) -> PathBuf {
        self.versions_dir().join(key_hash(key))
    }

    /// The document of `meta` as an older version. Its version id is one this server made (or
    /// `null`), never raw request input.
    fn version_doc_path(&self, meta: &ObjectMeta) -> PathBuf {
        self.version_dir(&meta.key)
            .join(format!("{}{META_SUFFIX}", meta.version()))
    }

    /// A fresh temporary file path for a body being received.
    pub fn tmp_path(&self) -> PathBuf {
        self.tmp_dir().join(format!("{}.tmp", unique_token()))
    }

    /// Path of an object's data file.
    pub fn data_path(&self, meta: &ObjectMeta) -> PathBuf {
        self.objects_dir().join(&meta.data_file)
    }

    /// A new unique data file name for `key` and its path in `objects/`, to write a body into
    /// and record in the object's metadata.
    pub fn new_data_file(&self, key: &str) -> (String, PathBuf) {
        let name = format!("{}.{}{DATA_SUFFIX}", key_hash(key), unique_token());
        let path = self.objects_dir().join(&name);
        (name, path)
    }

    /// Moves a fully received temporary file into `objects/` under a new unique name;
    /// returns that name, to be recorded in the object's metadata.
    pub async fn adopt_data_file(&self, key: &str, tmp: &Path) -> S3Result<String> {
        let (name, path) = self.new_data_file(key);
        if let Err(err) = tokio::fs::rename(tmp, path).await {
            remove_quietly(tmp).await;
            return Err(self.io_error("moving a received object into place", err));
        }
        Ok(name)
    }

    /// Hard-links (or copies) an existing data file under a new unique name for `key`: data
    /// files are immutable, so a copy can share the bytes.
    pub async fn link_data_file(&self, src: &Path, key: &str) -> S3Result<String> {
        let (name, dst) = self.new_data_file(key);
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

    // ---- versioning state ----

    pub fn versioning(&self) -> Versioning {
        Versioning::from_u8(self.versioning.load(Ordering::Acquire))
    }

    /// Whether versioning was ever enabled: responses then carry `x-amz-version-id`.
    pub fn is_versioned(&self) -> bool {
        self.versioning() != Versioning::Unversioned
    }

    /// The `x-amz-version-id` of a response about `meta`: only in a bucket that has (or had)
    /// versioning enabled.
    pub fn version_header(&self, meta: &ObjectMeta) -> Option<String> {
        self.is_versioned().then(|| meta.version().to_owned())
    }

    /// Enables or suspends versioning, durably (in the bucket marker).
    pub async fn set_versioning(&self, versioning: Versioning) -> S3Result<()> {
        let _guard = self.commit.write().await;
        if self.is_removed() {
            return Err(super::no_such_bucket());
        }
        let meta = BucketMeta {
            name: self.name.clone(),
            created: self.created,
            acl: self.acl.clone(),
            versioning: versioning.status().map(str::to_owned),
        };
        write_json_atomic(&self.tmp_dir(), &self.dir.join(BUCKET_MARKER), &meta)
            .await
            .map_err(|err| self.io_error("writing the bucket marker", err))?;
        self.versioning.store(versioning.to_u8(), Ordering::Release);
        Ok(())
    }

    // ---- reads ----

    /// Every version of `key`, newest first (empty when the key has none).
    pub fn versions(&self, key: &str) -> Vec<Arc<ObjectMeta>> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .map(|v| v.0.clone())
            .unwrap_or_default()
    }

    /// The current object of `key` (none when absent or deleted by a delete marker).
    pub fn get(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .and_then(KeyVersions::current)
            .cloned()
    }

    /// The version a read names (the current object when `version` is `None`), with S3's
    /// errors (see [`pick`]).
    pub fn lookup(&self, key: &str, version: Option<&str>) -> S3Result<Arc<ObjectMeta>> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let versions = index.get(key).map_or(&[][..], KeyVersions::all);
        let pos = pick(versions, version)?;
        Ok(Arc::clone(&versions[pos]))
    }

    pub fn is_empty(&self) -> bool {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Runs `f` over the index under its read lock (listing).
    pub fn with_index<R>(&self, f: impl FnOnce(&BTreeMap<String, KeyVersions>) -> R) -> R {
        f(&self.index.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Opens the data file of a version (the current object when `version` is `None`).
    /// Retries when a concurrent write removed the data file between the lookup and the open.
    pub async fn open_object(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> S3Result<(Arc<ObjectMeta>, tokio::fs::File)> {
        for _ in 0..8 {
            let meta = self.lookup(key, version)?;
            match tokio::fs::File::open(self.data_path(&meta)).await {
                Ok(file) => return Ok((meta, file)),
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(self.io_error("opening object data", err)),
            }
        }
        Err(if version.is_some() {
            no_such_version()
        } else {
            super::no_such_key()
        })
    }

    // ---- writes ----

    /// Stores `meta` as the new latest version of its key: with a fresh version id when
    /// versioning is enabled, as the `null` version otherwise (replacing the previous `null`
    /// version). The data file it names must already be in `objects/`.
    pub async fn commit(&self, mut meta: ObjectMeta) -> S3Result<Arc<ObjectMeta>> {
        let _guard = self.lock_key(&meta.key).await;
        if self.is_removed() {
            self.discard_data(&meta).await;
            return Err(super::no_such_bucket());
        }
        let stamp = next_stamp();
        meta.seq = stamp;
        meta.delete_marker = false;
        meta.version_id = (self.versioning() == Versioning::Enabled).then(|| new_version_id(stamp));
        self.push_latest(meta).await
    }

    /// The locks a writer of `key` holds: the bucket's read side, then the key's own.
    async fn lock_key(&self, key: &str) -> KeyGuard<'_> {
        let bucket = self.commit.read().await;
        let shard = self.key_hasher.hash_one(key) as usize % KEY_LOCKS;
        KeyGuard {
            _key: self.key_locks[shard].lock().await,
            _bucket: bucket,
        }
    }

    async fn discard_data(&self, meta: &ObjectMeta) {
        if !meta.data_file.is_empty() {
            remove_quietly(&self.data_path(meta)).await;
        }
    }

    /// Makes `meta` the latest version of its key (its key's lock is held): the previous
    /// latest is kept as an older version unless `meta` replaces it as the `null` version;
    /// a replaced `null` version and its data are removed.
    async fn push_latest(&self, meta: ObjectMeta) -> S3Result<Arc<ObjectMeta>> {
        let existing = self.versions(&meta.key);
        let replaced = if meta.version_id.is_none() {
            existing.iter().position(|m| m.version_id.is_none())
        } else {
            None
        };
        // 1. The previous latest becomes an older version.
        let mut demoted = None;
        if let Some(previous) = existing.first().filter(|_| replaced != Some(0)) {
            let written = async {
                tokio::fs::create_dir_all(self.version_dir(&previous.key)).await?;
                let path = self.version_doc_path(previous);
                write_json_atomic(&self.tmp_dir(), &path, &**previous).await?;
                Ok::<_, io::Error>(path)
            }
            .await;
            match written {
                Ok(path) => demoted = Some(path),
                Err(err) => {
                    self.discard_data(&meta).await;
                    return Err(self.io_error("keeping the previous version", err));
                }
            }
        }
        // 2. The new latest.
        if let Err(err) =
            write_json_atomic(&self.tmp_dir(), &self.current_doc_path(&meta.key), &meta).await
        {
            if let Some(path) = demoted {
                remove_quietly(&path).await;
            }
            self.discard_data(&meta).await;
            return Err(self.io_error("writing object metadata", err));
        }
        let meta = Arc::new(meta);
        let remaining = {
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            let entry = index.entry(meta.key.clone()).or_default();
            if let Some(pos) = replaced {
                entry.0.remove(pos);
            }
            entry.0.insert(0, Arc::clone(&meta));
            entry.0.len()
        };
        // 3. The replaced `null` version goes away.
        if let Some(pos) = replaced {
            let old = &existing[pos];
            if pos > 0 {
                remove_quietly(&self.version_doc_path(old)).await;
                if remaining == 1 {
                    let _ = tokio::fs::remove_dir(self.version_dir(&old.key)).await;
                }
            }
            if old.data_file != meta.data_file {
                self.discard_data(old).await;
            }
        }
        Ok(meta)
    }

    /// DELETE without a version id: removes the object in an unversioned bucket; adds a
    /// delete marker otherwise (with a fresh id when enabled, as the `null` version when
    /// suspended). Deleting a missing key succeeds.
    pub async fn delete_object(&self, key: &str) -> S3Result<DeleteOutcome> {
        let _guard = self.lock_key(key).await;
        if self.is_removed() {
            return Err(super::no_such_bucket());
        }
        let versioning = self.versioning();
        if versioning == Versioning::Unversioned {
            let existing = self.versions(key);
            if let Some(pos) = existing.iter().position(|m| m.version_id.is_none()) {
                self.remove_version(&existing, pos).await?;
            }
            return Ok(DeleteOutcome::default());
        }
        let mut marker = ObjectMeta::new_delete_marker(key.to_owned());
        marker.seq = next_stamp();
        marker.version_id = (versioning == Versioning::Enabled).then(|| new_version_id(marker.seq));
        let marker = self.push_latest(marker).await?;
        Ok(DeleteOutcome {
            version_id: Some(marker.version().to_owned()),
            delete_marker: true,
        })
    }

    /// DELETE with a version id: removes that version (object or delete marker) for good; the
    /// next newest becomes the latest. An unknown (well-formed) id succeeds, as on S3.
    pub async fn delete_version(&self, key: &str, version: &str) -> S3Result<DeleteOutcome> {
        if !is_valid_version_id(version) {
            return Err(invalid_version_id());
        }
        let _guard = self.lock_key(key).await;
        if self.is_removed() {
            return Err(super::no_such_bucket());
        }
        let existing = self.versions(key);
        let mut outcome = DeleteOutcome {
            version_id: Some(version.to_owned()),
            delete_marker: false,
        };
        if let Some(pos) = existing.iter().position(|m| m.version() == version) {
            outcome.delete_marker = existing[pos].delete_marker;
            self.remove_version(&existing, pos).await?;
        }
        Ok(outcome)
    }

    /// Removes `existing[pos]` (its key's lock is held; `existing` is the key's version list).
    async fn remove_version(&self, existing: &[Arc<ObjectMeta>], pos: usize) -> S3Result<()> {
        let victim = &existing[pos];
        let key = victim.key.as_str();
        if pos == 0 {
            if let Some(next) = existing.get(1) {
                // Promote the next newest: write it as the latest, then drop its old copy.
                write_json_atomic(&self.tmp_dir(), &self.current_doc_path(key), &**next)
                    .await
                    .map_err(|err| self.io_error("promoting the previous version", err))?;
                remove_quietly(&self.version_doc_path(next)).await;
            } else {
                match tokio::fs::remove_file(self.current_doc_path(key)).await {
                    Ok(()) => {}
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(self.io_error("removing object metadata", err)),
                }
            }
        } else {
            match tokio::fs::remove_file(self.version_doc_path(victim)).await {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(self.io_error("removing version metadata", err)),
            }
        }
        let remaining = {
            let mut index = self.index.write().unwrap_or_else(|e| e.into_inner());
            let remaining = match index.get_mut(key) {
                Some(entry) => {
                    entry.0.remove(pos);
                    entry.0.len()
                }
                None => 0,
            };
            if remaining == 0 {
                index.remove(key);
            }
            remaining
        };
        if existing.len() > 1 && remaining <= 1 {
            // No older version left: its folder is empty.
            let _ = tokio::fs::remove_dir(self.version_dir(key)).await;
        }
        self.discard_data(victim).await;
        Ok(())
    }

    /// Changes the metadata only (tags, ACL) of a version (the current object when `version`
    /// is `None`), with the errors of [`Bucket::lookup`].
    pub async fn update_meta(
        &self,
        key: &str,
        version: Option<&str>,
        change: impl FnOnce(&mut ObjectMeta),
    ) -> S3Result<Arc<ObjectMeta>> {
        let _guard = self.lock_key(key).await;
        if self.is_removed() {
            return Err(super::no_such_bucket());
        }
        let existing = self.versions(key);
        let pos = pick(&existing, version)?;
        let mut meta = ObjectMeta::clone(&existing[pos]);
        change(&mut meta);
        let target = if pos == 0 {
            self.current_doc_path(key)
        } else {
            self.version_doc_path(&meta)
        };
        write_json_atomic(&self.tmp_dir(), &target, &meta)
            .await
            .map_err(|err| self.io_error("writing object metadata", err))?;
        let meta = Arc::new(meta);
        if let Some(entry) = self
            .index
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(key)
        {
            entry.0[pos] = Arc::clone(&meta);
        }
        Ok(meta)
    }

    /// Marks the bucket as deleted if it has no object versions and no delete markers; the
    /// caller then removes its folder. Holding the write side of the commit lock makes "empty"
    /// and "removed" one step for concurrent writers.
    pub async fn mark_removed_if_empty(&self) -> S3Result<()> {
        let _guard = self.commit.write().await;
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

/// Orders versions newest first: by stamp, then by id (stamps are unique in practice).
fn sort_newest_first(versions: &mut [Arc<ObjectMeta>]) {
    versions.sort_by(|a, b| b.seq.cmp(&a.seq).then_with(|| b.version().cmp(a.version())));
}
