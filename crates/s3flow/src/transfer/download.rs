//! Downloads: objects up to the threshold in one GET, larger ones in `download_threads`
//! parallel ranged GETs, all pinned to the object's ETag (`If-Match`) so a concurrent
//! overwrite fails the download instead of mixing two versions. Ranges are written in order
//! with at most `download_threads` buffers waiting, to a file ([`to_file`], written beside
//! the target and renamed after it verified) or to any `AsyncWrite` ([`to_writer`]).
//!
//! Checks: every range's length; the whole object's CRC32 when the store returns a
//! whole-object one (HEAD with `x-amz-checksum-mode: ENABLED`). A body that fails them is
//! fetched again (single-GET objects range by range, larger ones whole for files).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_s3::types::ChecksumMode;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::actions::fields;
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};
use crate::transfer::checksum::{self, Checksum, Running};
use crate::transfer::{ranges, BODY_ATTEMPTS};

/// What to download.
#[derive(Debug, Clone)]
pub struct Request {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

/// The object as it was downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub content_type: Option<String>,
    /// RFC 3339.
    pub last_modified: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The whole-object CRC32 of the bytes received, when the store returned one to check
    /// it against (and it matched).
    pub checksum: Option<Checksum>,
    /// Ranged GETs used (0 = one plain GET).
    pub ranges: usize,
}

/// Downloads to `path`: a temporary file beside it, renamed into place only after the size
/// and checksum verified, so a failure (or a kill) never leaves a file at `path`.
pub async fn to_file(client: &Client, request: &Request, path: &Path) -> Result<Downloaded> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid_input(format!("to: {} is not a file path", path.display())))?;
    let temp = dir.join(format!(".{}.s3flow-{}", name.to_string_lossy(), uuid::Uuid::new_v4().simple()));
    let result = to_file_via(client, request, path, &temp).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

async fn to_file_via(client: &Client, request: &Request, path: &Path, temp: &PathBuf) -> Result<Downloaded> {
    let cannot_write = |e: std::io::Error| Error::invalid_input(format!("to: cannot write {}: {e}", path.display()));
    let mut attempt = 1;
    loop {
        let mut file = tokio::fs::File::create(temp).await.map_err(cannot_write)?;
        match fetch(client, request, &mut file).await {
            Ok(downloaded) => {
                file.flush().await.map_err(cannot_write)?;
                file.sync_all().await.map_err(cannot_write)?;
                drop(file);
                tokio::fs::rename(temp, path).await.map_err(cannot_write)?;
                return Ok(downloaded);
            }
            Err(Fetch::Mismatch(_)) if attempt < BODY_ATTEMPTS => attempt += 1,
            Err(Fetch::Mismatch(e) | Fetch::Failed(e)) => return Err(e),
        }
    }
}

/// Writes the object's bytes, in order, to `writer` (stdout, a socket, a response body).
/// Bytes already written cannot be taken back: a body that fails its whole-object checksum
/// at the end is an error after the fact, so callers that can should write to a file.
pub async fn to_writer<W: AsyncWrite + Unpin + Send>(client: &Client, request: &Request, writer: &mut W) -> Result<Downloaded> {
    let downloaded = fetch(client, request, writer).await.map_err(Fetch::into_error)?;
    writer.flush().await.map_err(|e| Error::invalid_input(format!("output: write failed: {e}")))?;
    Ok(downloaded)
}

enum Fetch {
    /// The whole body arrived but its checksum did not match: worth one more try.
    Mismatch(Error),
    Failed(Error),
}

impl Fetch {
    fn into_error(self) -> Error {
        match self {
            Fetch::Mismatch(e) | Fetch::Failed(e) => e,
        }
    }
}

impl From<Error> for Fetch {
    fn from(e: Error) -> Self {
        Fetch::Failed(e)
    }
}

/// The object's size, ETag and whole-object checksum, before any byte is fetched.
struct Head {
    downloaded: Downloaded,
    crc: Option<u32>,
}

async fn head(client: &Client, request: &Request, what: &str) -> Result<Head> {
    let out = client
        .s3()
        .head_object()
        .bucket(&request.bucket)
        .key(&request.key)
        .set_version_id(request.version_id.clone())
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, what))?;
    Ok(Head {
        crc: out.checksum_crc32().and_then(checksum::decode),
        downloaded: Downloaded {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: out.e_tag().map(str::to_owned),
            version_id: out.version_id().map(str::to_owned),
            content_type: out.content_type().map(str::to_owned),
            last_modified: encode::rfc3339_opt(out.last_modified()),
            metadata: fields::metadata_map(out.metadata()),
            checksum: None,
            ranges: 0,
        },
    })
}

async fn fetch<W: AsyncWrite + Unpin + Send>(client: &Client, request: &Request, writer: &mut W) -> std::result::Result<Downloaded, Fetch> {
    let what = format!("s3://{}/{}", request.bucket, request.key);
    let Head { mut downloaded, mut crc } = head(client, request, &what).await?;
    let size = downloaded.size;
    let etag = downloaded.etag.clone();
    let write = |e: std::io::Error| Error::invalid_input(format!("output: write failed: {e}"));

    let mut whole = Running::default();
    if size <= client.multipart_threshold() {
        // One GET; its body is the whole object, so the checksum is checked (and the GET
        // retried) before anything is written.
        let (body, checked) = get(client, request, etag.as_deref(), None, size, crc, &what).await?;
        crc = checked;
        whole.update(&body);
        writer.write_all(&body).await.map_err(write)?;
    } else {
        let pieces = ranges(size, client.part_size());
        downloaded.ranges = pieces.len();
        let mut bodies = futures::stream::iter(pieces)
            .map(|range| get(client, request, etag.as_deref(), Some(range), range.1 - range.0 + 1, None, &what))
            .buffered(client.download_threads());
        while let Some((body, _)) = bodies.try_next().await? {
            whole.update(&body);
            writer.write_all(&body).await.map_err(write)?;
        }
    }
    if whole.len() != size {
        return Err(Fetch::Failed(Error::new(
            ErrorCode::UpstreamUnavailable,
            format!("{what}: got {} of {size} bytes", whole.len()),
        )));
    }
    if let Some(expected) = crc {
        if whole.crc() != expected {
            return Err(Fetch::Mismatch(mismatch(&what)));
        }
        downloaded.checksum = Some(Checksum::crc32(expected));
    }
    Ok(downloaded)
}

fn mismatch(what: &str) -> Error {
    Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: the body does not match the object's CRC32 checksum"))
}

/// One GET (of `range` = `[start, end)`, or the whole object) into memory, pinned to `etag`.
/// A body that breaks off, comes back short or fails its CRC32 (`crc`, or for a whole object
/// the one the GET returns: moto returns it on GET but not on HEAD) is fetched again: the SDK
/// retries failed requests, but not a body that fails after the headers arrived. Returns the
/// body and the CRC32 it was checked against.
async fn get(
    client: &Client,
    request: &Request,
    etag: Option<&str>,
    range: Option<(u64, u64)>,
    bytes: u64,
    crc: Option<u32>,
    what: &str,
) -> Result<(Bytes, Option<u32>)> {
    let _permit = client.download_budget().take(bytes).await;
    let attempts = client.connection().max_attempts.unwrap_or(crate::client::DEFAULT_MAX_ATTEMPTS).max(BODY_ATTEMPTS);
    let mut attempt = 1;
    loop {
        let out = client
            .s3()
            .get_object()
            .bucket(&request.bucket)
            .key(&request.key)
            .set_version_id(request.version_id.clone())
            .set_if_match(etag.map(str::to_owned))
            .set_range(range.map(|(start, end)| format!("bytes={start}-{}", end - 1)))
            .set_checksum_mode(range.is_none().then_some(ChecksumMode::Enabled))
            .send()
            .await
            .map_err(|e| {
                let err = Error::from_sdk(e, what);
                if err.code == ErrorCode::PreconditionFailed {
                    Error { message: format!("{what} changed during the download ({})", err.message), ..err }
                } else {
                    err
                }
            })?;
        let crc = crc.or_else(|| out.checksum_crc32().and_then(checksum::decode).filter(|_| range.is_none()));
        let expected = match range {
            Some((start, end)) => end - start,
            None => out.content_length().unwrap_or(0).max(0) as u64,
        };
        let failure = match out.body.collect().await {
            Ok(body) => {
                let body = body.into_bytes();
                if body.len() as u64 != expected {
                    format!("{what}: the body ended after {} of {expected} bytes", body.len())
                } else if crc.is_some_and(|crc| crc != checksum::crc32(&body)) {
                    mismatch(what).message
                } else {
                    return Ok((body, crc));
                }
            }
            Err(e) => format!("{what}: reading the body failed: {e}"),
        };
        if attempt >= attempts {
            return Err(Error::new(ErrorCode::UpstreamUnavailable, failure));
        }
        tracing::debug!("{failure}; fetching it again");
        attempt += 1;
    }
}
