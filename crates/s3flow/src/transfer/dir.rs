//! Directory transfers: a local folder to a prefix and back, many files at once under one
//! limit, with include/exclude globs and a summary of what moved and what failed.
//!
//! The CLI's `upload DIR … --recursive` and `download s3://b/p/ DIR --recursive` are thin
//! over this; the service can reuse it. Every key written to disk is checked first: a key
//! that would land outside the target folder (`..` segments, absolute paths, `\`, NUL, a
//! drive letter, or a symlink planted inside the folder) is refused and reported, and the
//! other files go on.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;
use globset::{Glob, GlobSet, GlobSetBuilder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::upload::guess_content_type;
use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::transfer::download::{self, Request};
use crate::transfer::upload::{self, ObjectFields, Source};

/// Which relative paths (`a/b.txt`, always `/`-separated) take part.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filter {
    /// `include` empty = everything; `exclude` wins over `include`. Globs as in `globset`
    /// (`*.log`, `**/tmp/**`); `*` also crosses `/`, as in aws-cli's `--include`.
    pub fn new(include: &[String], exclude: &[String]) -> Result<Filter> {
        let set = |globs: &[String], flag: &str| -> Result<Option<GlobSet>> {
            if globs.is_empty() {
                return Ok(None);
            }
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                builder.add(Glob::new(glob).map_err(|e| Error::invalid_input(format!("{flag}: {glob:?}: {e}")))?);
            }
            builder.build().map(Some).map_err(|e| Error::invalid_input(format!("{flag}: {e}")))
        };
        Ok(Filter { include: set(include, "include")?, exclude: set(exclude, "exclude")? })
    }

    pub fn matches(&self, relative: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(relative))
            && !self.exclude.as_ref().is_some_and(|set| set.is_match(relative))
    }
}

/// One file that did not transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ItemError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub code: ErrorCode,
    pub message: String,
}

/// What a directory transfer did: `{"transferred","failed","bytes","errors":[…]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub transferred: u64,
    pub failed: u64,
    pub bytes: u64,
    pub errors: Vec<ItemError>,
}

impl Summary {
    fn fail(&mut self, key: Option<String>, path: Option<String>, error: Error) {
        self.failed += 1;
        self.errors.push(ItemError { key, path, code: error.code, message: error.message });
    }
}

/// Called as each file finishes, with its bytes; for progress bars.
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// Options of a directory transfer.
#[derive(Clone, Default)]
pub struct DirOptions {
    pub filter: Filter,
    /// Files in flight at once (default [`super::DEFAULT_DIR_CONCURRENCY`]). Their buffers
    /// share the client's memory budgets, so this bounds requests, not memory.
    pub concurrency: Option<usize>,
    /// Told after each file, done or failed.
    pub progress: Option<Progress>,
}

/// A file to upload: its path and the key it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadItem {
    pub path: PathBuf,
    pub relative: String,
    pub key: String,
    pub len: u64,
}

/// Walks `dir` (files in subfolders too; symlinked files followed, symlinked folders not, so
/// no loops) and plans one key per file: `prefix` + the `/`-separated relative path.
pub fn plan_upload(dir: &Path, prefix: &str, filter: &Filter) -> Result<(Vec<UploadItem>, Summary)> {
    let mut items = Vec::new();
    let mut summary = Summary::default();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    if !dir.is_dir() {
        return Err(Error::invalid_input(format!("{}: not a directory", dir.display())));
    }
    while let Some((folder, relative_folder)) = pending.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) => {
                summary.fail(None, Some(folder.display().to_string()), Error::from(e));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    summary.fail(None, Some(folder.display().to_string()), Error::from(e));
                    continue;
                }
            };
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                let message = "the file name is not UTF-8, so it has no key".to_owned();
                summary.fail(None, Some(path.display().to_string()), Error::invalid_input(message));
                continue;
            };
            let relative = format!("{relative_folder}{name}");
            let link = entry.file_type().map(|t| t.is_symlink()).unwrap_or(false);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() && !link => pending.push((path, format!("{relative}/"))),
                Ok(meta) if meta.is_file() => {
                    if filter.matches(&relative) {
                        items.push(UploadItem { key: format!("{prefix}{relative}"), relative, path, len: meta.len() });
                    }
                }
                Ok(_) => {}
                Err(e) => summary.fail(None, Some(path.display().to_string()), Error::from(e)),
            }
        }
    }
    items.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((items, summary))
}

/// Uploads every file of `dir` under `prefix` (`""` or ending in `/`), `concurrency` at once.
pub async fn upload_dir(client: &Client, dir: &Path, bucket: &str, prefix: &str, options: &DirOptions) -> Result<Summary> {
    validate_bucket_name(bucket)?;
    let (items, mut summary) = plan_upload(dir, prefix, &options.filter)?;
    let (client, bucket) = (client.clone(), Arc::<str>::from(bucket));
    let work = move |item: UploadItem| {
        let (client, bucket) = (client.clone(), bucket.clone());
        async move {
            let result = upload_one(&client, &bucket, &item).await;
            (item, result)
        }
    };
    each_spawned(futures::stream::iter(items), options, work, |item, result| {
        match result {
            Ok(()) => {
                summary.transferred += 1;
                summary.bytes += item.len;
            }
            Err(e) => summary.fail(Some(item.key), Some(item.path.display().to_string()), e),
        }
        item.len
    })
    .await;
    Ok(summary)
}

/// Runs `work` on every item, `options.concurrency` at once, each in a task of its own (so a
/// directory transfer uses every core), and hands each result to `done` as it finishes;
/// `done` returns the item's bytes for the progress callback.
async fn each_spawned<I, T, Work>(
    items: impl futures::Stream<Item = I>,
    options: &DirOptions,
    work: impl Fn(I) -> Work,
    mut done: impl FnMut(I, Result<T>) -> u64,
) where
    I: Send + 'static,
    T: Send + 'static,
    Work: std::future::Future<Output = (I, Result<T>)> + Send + 'static,
{
    let concurrency = options.concurrency.unwrap_or(super::DEFAULT_DIR_CONCURRENCY).max(1);
    let mut items = std::pin::pin!(items);
    let mut more = true;
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // Take the next item while there is room, and meanwhile collect finished tasks.
        let joined = tokio::select! {
            item = items.next(), if more && tasks.len() < concurrency => {
                match item {
                    Some(item) => {
                        tasks.spawn(work(item));
                    }
                    None => more = false,
                }
                continue;
            }
            Some(joined) = tasks.join_next() => joined,
            else => break,
        };
        // A task only fails to join if it panicked, which is a bug: stop and say so.
        let (item, result) = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let bytes = done(item, result);
        if let Some(progress) = &options.progress {
            progress(bytes);
        }
    }
}

async fn upload_one(client: &Client, bucket: &str, item: &UploadItem) -> Result<()> {
    validate_key("key", &item.key)?;
    client.restriction().check_key(bucket, &item.key)?;
    let fields = ObjectFields { content_type: Some(guess_content_type(&item.key)), ..Default::default() };
    let source = Source::File { path: item.path.clone(), len: item.len };
    upload::put(client, bucket, &item.key, &fields, source).await.map(|_| ())
}

/// An object to download: its key, size and relative path under the target folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadItem {
    pub key: String,
    pub relative: String,
    pub size: u64,
    /// As listed: the download is pinned to it, and a small object needs no HEAD.
    pub etag: Option<String>,
}

/// Why `relative` (a key less its prefix) cannot be a path under the target folder; `None`
/// when it can. Lexical checks only; [`safe_path`] also refuses planted symlinks.
pub fn unsafe_relative_key(relative: &str) -> Option<&'static str> {
    if relative.contains('\0') {
        return Some("the key contains NUL");
    }
    if relative.contains('\\') {
        return Some("the key contains \\, a path separator on Windows");
    }
    if relative.starts_with('/') {
        return Some("the key would be an absolute path");
    }
    let first = relative.split('/').next().unwrap_or("");
    if first.len() >= 2 && first.as_bytes()[1] == b':' {
        return Some("the key starts with a drive letter");
    }
    if relative.split('/').any(|segment| segment == ".." || segment == ".") {
        return Some("the key has a . or .. segment that would leave the folder");
    }
    if relative.split('/').any(str::is_empty) {
        return Some("the key has an empty path segment (//)");
    }
    None
}

/// The path for `relative` under `dir`, creating folders one by one and refusing any that is
/// a symlink (or not a folder), so nothing is written outside `dir`.
pub fn safe_path(dir: &Path, relative: &str) -> Result<PathBuf> {
    if let Some(why) = unsafe_relative_key(relative) {
        return Err(Error::invalid_input(format!("refused: {why}")));
    }
    let mut path = dir.to_path_buf();
    let segments: Vec<&str> = relative.split('/').collect();
    for (index, segment) in segments.iter().enumerate() {
        let mut parts = Path::new(segment).components();
        if !matches!((parts.next(), parts.next()), (Some(Component::Normal(_)), None)) {
            return Err(Error::invalid_input(format!("refused: {segment:?} is not a plain file name")));
        }
        path.push(segment);
        let last = index + 1 == segments.len();
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::invalid_input(format!("refused: {} is a symlink", path.display())));
            }
            Ok(meta) if !last && !meta.is_dir() => {
                return Err(Error::invalid_input(format!("refused: {} is not a folder", path.display())));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !last {
                    std::fs::create_dir(&path).or_else(|e| {
                        if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() { Ok(()) } else { Err(e) }
                    })?;
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(path)
}

/// Lists `prefix` and sends one [`DownloadItem`] per object into `planned`, page by page, so
/// downloads start with the first page. Folder markers (keys ending in `/`) are skipped; unsafe
/// keys are left out and reported in the returned summary. Stops early when `planned` closes.
pub async fn plan_download(
    client: &Client,
    bucket: &str,
    prefix: &str,
    filter: &Filter,
    planned: tokio::sync::mpsc::Sender<DownloadItem>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut token = None;
    loop {
        let page = client
            .s3()
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| Error::from_sdk(e, &format!("s3://{bucket}/{prefix}")))?;
        for object in page.contents() {
            let key = object.key().unwrap_or_default().to_owned();
            let relative = key.strip_prefix(prefix).unwrap_or(&key).to_owned();
            if relative.is_empty() || relative.ends_with('/') {
                continue;
            }
            if let Some(why) = unsafe_relative_key(&relative) {
                summary.fail(Some(key), None, Error::invalid_input(format!("refused: {why}")));
                continue;
            }
            if filter.matches(&relative) {
                let size = object.size().unwrap_or(0).max(0) as u64;
                let item = DownloadItem { key, relative, size, etag: object.e_tag().map(str::to_owned) };
                if planned.send(item).await.is_err() {
                    return Ok(summary);
                }
            }
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return Ok(summary);
        }
    }
}

/// Objects listed ahead of the downloads: one page.
const PLANNED_AHEAD: usize = 1000;

/// Downloads every object under `prefix` into `dir` (created if missing), each file written
/// beside its target and renamed into place. The listing goes on in a task of its own while
/// the objects already listed download; a listing that fails part-way fails the transfer once
/// the downloads under way have finished (the files they wrote stay, complete).
pub async fn download_dir(client: &Client, bucket: &str, prefix: &str, dir: &Path, options: &DirOptions) -> Result<Summary> {
    validate_bucket_name(bucket)?;
    // Under a restricted connection, no prefix means the allowed one.
    let prefix = client.restriction().scope_prefix(bucket, Some(prefix))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::invalid_input(format!("{}: cannot create the folder: {e}", dir.display())))?;
    let (planned, receiver) = tokio::sync::mpsc::channel(PLANNED_AHEAD);
    let lister = {
        let (client, bucket, filter) = (client.clone(), bucket.to_owned(), options.filter.clone());
        tokio::spawn(async move { plan_download(&client, &bucket, &prefix, &filter, planned).await })
    };
    let items = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let (client, bucket, target) = (client.clone(), Arc::<str>::from(bucket), Arc::<Path>::from(dir));
    let work = move |item: DownloadItem| {
        let (client, bucket, target) = (client.clone(), bucket.clone(), target.clone());
        async move {
            let result = download_one(&client, &bucket, &target, &item).await;
            (item, result)
        }
    };
    let mut summary = Summary::default();
    each_spawned(items, options, work, |item, result| {
        match result {
            Ok(_) => {
                summary.transferred += 1;
                summary.bytes += item.size;
            }
            Err(e) => summary.fail(Some(item.key), Some(dir.join(&item.relative).display().to_string()), e),
        }
        item.size
    })
    .await;
    let refused = lister.await.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
    summary.failed += refused.failed;
    summary.errors.extend(refused.errors);
    Ok(summary)
}

async fn download_one(client: &Client, bucket: &str, dir: &Path, item: &DownloadItem) -> Result<PathBuf> {
    client.restriction().check_key(bucket, &item.key)?;
    let path = safe_path(dir, &item.relative)?;
    let request = Request { bucket: bucket.to_owned(), key: item.key.clone(), version_id: None };
    let listed = download::Listed { size: item.size, etag: item.etag.clone() };
    download::to_file_listed(client, &request, &path, Some(&listed)).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_keys_are_refused() {
        for bad in ["../x", "a/../../x", "/etc/passwd", "..\\x", "a\\..\\b", "a\0b", "C:/x", "c:x", "a//b", "./x", ".."] {
            assert!(unsafe_relative_key(bad).is_some(), "{bad:?}");
        }
        for good in ["x", "a/b.txt", "a..b", "...", "a/.hidden", "ünï cöde/ (1).txt"] {
            assert_eq!(unsafe_relative_key(good), None, "{good:?}");
        }
    }

    #[test]
    fn planted_symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("f"), dir.path().join("file")).unwrap();
        assert!(safe_path(dir.path(), "link/x").is_err());
        assert!(safe_path(dir.path(), "file").is_err());
        assert_eq!(safe_path(dir.path(), "a/b/c.txt").unwrap(), dir.path().join("a/b/c.txt"));
        assert!(dir.path().join("a/b").is_dir());
    }

    #[test]
    fn filters() {
        let filter = Filter::new(&["*.txt".into()], &["tmp/*".into()]).unwrap();
        assert!(filter.matches("a.txt"));
        assert!(filter.matches("x/a.txt"));
        assert!(!filter.matches("tmp/a.txt"));
        assert!(!filter.matches("a.log"));
        assert!(Filter::default().matches("anything"));
        assert!(Filter::new(&["a[".into()], &[]).is_err());
    }

    #[test]
    fn upload_plans_keys_from_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("top.txt"), "1").unwrap();
        std::fs::write(dir.path().join("a/b/deep.log"), "22").unwrap();
        let (items, summary) = plan_upload(dir.path(), "p/", &Filter::default()).unwrap();
        let keys: Vec<_> = items.iter().map(|i| (i.key.as_str(), i.len)).collect();
        assert_eq!(keys, [("p/a/b/deep.log", 2), ("p/top.txt", 1)]);
        assert_eq!(summary.failed, 0);
        let (items, _) = plan_upload(dir.path(), "", &Filter::new(&[], &["*.log".into()]).unwrap()).unwrap();
        assert_eq!(items.len(), 1);
    }
}
