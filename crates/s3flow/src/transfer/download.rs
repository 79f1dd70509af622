//! Downloads: objects up to the threshold in one GET, larger ones in `download_threads`
//! parallel ranged GETs (to a file two per thread, to a writer one per part), all pinned to
//! the object's ETag (`If-Match`) so a concurrent overwrite fails the download instead of
//! mixing two versions. To a file ([`to_file`]), each range streams straight to its offsets
//! in a temporary file beside the target (written in batches from a blocking thread, no
//! reassembly buffer), renamed after the whole body verified; to any `AsyncWrite`
//! ([`to_writer`]) ranges are written in order with at most `download_threads` buffers waiting.
//!
//! Checks: every range's length; the whole object's CRC32 when the store returns a
//! whole-object one (HEAD with `x-amz-checksum-mode: ENABLED`). A body that fails them is
//! fetched again (single-GET objects range by range, larger ones whole for files).

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use aws_sdk_s3::types::ChecksumMode;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::actions::fields;
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};
use crate::transfer::checksum::{self, Checksum, Running};
use crate::transfer::{blocking, ranges, BODY_ATTEMPTS};

/// Bytes of a ranged body gathered before one positioned write: few system calls, little memory.
const WRITE_BATCH: u64 = 1024 * 1024;

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

/// What a listing already said of an object (directory downloads): an object this small
/// needs no HEAD before its one GET.
#[derive(Debug, Clone)]
pub struct Listed {
    pub size: u64,
    pub etag: Option<String>,
}

/// Downloads to `path`: a temporary file beside it, renamed into place only after the size
/// and checksum verified, so a failure (or a kill) never leaves a file at `path`.
pub async fn to_file(client: &Client, request: &Request, path: &Path) -> Result<Downloaded> {
    to_file_listed(client, request, path, None).await
}

/// [`to_file`] for an object a listing described.
pub async fn to_file_listed(client: &Client, request: &Request, path: &Path, listed: Option<&Listed>) -> Result<Downloaded> {
    let temp = crate::transfer::temp_path(path)?;
    let result = to_file_via(client, request, listed, path, &temp).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

async fn to_file_via(client: &Client, request: &Request, listed: Option<&Listed>, path: &Path, temp: &Path) -> Result<Downloaded> {
    let cannot_write = |e: std::io::Error| Error::invalid_input(format!("to: cannot write {}: {e}", path.display()));
    if let Some(listed) = listed.filter(|listed| listed.size <= client.multipart_threshold()) {
        // One GET, whose own headers describe the object and whose body is checked in memory;
        // then one trip to the blocking pool writes, syncs and renames the file.
        let what = format!("s3://{}/{}", request.bucket, request.key);
        let got = get(client, request, listed.etag.as_deref(), None, listed.size, None, &what).await?;
        let (temp, target, body) = (temp.to_path_buf(), path.to_path_buf(), got.body);
        blocking(move || {
            let mut file = std::fs::File::create(&temp)?;
            std::io::Write::write_all(&mut file, &body)?;
            file.sync_all()?;
            std::fs::rename(&temp, &target)
        })
        .await
        .map_err(cannot_write)?;
        return Ok(Downloaded { checksum: got.crc.map(Checksum::crc32), ..got.described });
    }
    let mut attempt = 1;
    loop {
        let create = temp.to_path_buf();
        let file = blocking(move || std::fs::File::create(create)).await.map_err(cannot_write)?;
        let file: Target = Arc::new(tokio::sync::Mutex::new(file));
        match fetch_to_file(client, request, &file, path).await {
            Ok(downloaded) => {
                let file = file.lock_owned().await;
                blocking(move || file.sync_all()).await.map_err(cannot_write)?;
                tokio::fs::rename(temp, path).await.map_err(cannot_write)?;
                return Ok(downloaded);
            }
            Err(Fetch::Mismatch(_)) if attempt < BODY_ATTEMPTS => attempt += 1,
            Err(Fetch::Mismatch(e) | Fetch::Failed(e)) => return Err(e),
        }
    }
}

/// The temporary file the ranges of a download are written into, one write at a time: the
/// kernel serializes writes to one file on its inode lock anyway, and there the waiting threads
/// spin (a fifth of a 1 GiB download's CPU with 8 ranges into tmpfs); here they wait on an
/// async lock and their ranges keep arriving meanwhile.
type Target = Arc<tokio::sync::Mutex<std::fs::File>>;

/// Writes `chunks`, one after the other, at `offset` of `file`.
async fn write_at(file: &Target, offset: u64, chunks: Vec<Bytes>, path: &Path) -> Result<()> {
    if chunks.is_empty() {
        return Ok(());
    }
    let file = file.clone().lock_owned().await;
    blocking(move || {
        let mut at = offset;
        for chunk in &chunks {
            file.write_all_at(chunk, at)?;
            at += chunk.len() as u64;
        }
        Ok(())
    })
    .await
    .map_err(|e| Error::invalid_input(format!("to: cannot write {}: {e}", path.display())))
}

async fn fetch_to_file(client: &Client, request: &Request, file: &Target, path: &Path) -> std::result::Result<Downloaded, Fetch> {
    let what = format!("s3://{}/{}", request.bucket, request.key);
    let Head { mut downloaded, crc } = head(client, request, &what).await?;
    let size = downloaded.size;
    let etag = downloaded.etag.clone();
    if size <= client.multipart_threshold() {
        // `get` checked the body's CRC32 already.
        let got = get(client, request, etag.as_deref(), None, size, crc, &what).await?;
        let received = got.body.len() as u64;
        write_at(file, 0, vec![got.body], path).await?;
        downloaded.checksum = got.crc.map(Checksum::crc32);
        check_size(received, size, &what)?;
        return Ok(downloaded);
    }
    // One thread: one GET of the whole object, resumed where it breaks off, rather than a
    // request per part one after the other. More threads: a range streams to the file in
    // batches, so its length costs no memory, and two ranges per thread (never under the part
    // size) spare the store its per-request work (1 GiB from Garage in 64 MiB ranges instead
    // of 8 MiB ones: 5–8 % less wall time and less Garage CPU, bench/NOTES.md).
    let threads = client.download_threads() as u64;
    let pieces = if threads > 1 { ranges(size, client.part_size().max(size.div_ceil(2 * threads))) } else { vec![(0, size)] };
    downloaded.ranges = pieces.len();
    let mut crcs: Vec<(u64, u32, u64)> = futures::stream::iter(pieces)
        .map(|range| get_range_to_file(client, request, etag.as_deref(), range, file, path, &what))
        .buffer_unordered(client.download_threads())
        .try_collect()
        .await?;
    crcs.sort_unstable_by_key(|(start, ..)| *start);
    let mut whole = Running::default();
    for (_, crc, len) in crcs {
        whole.push(crc, len);
    }
    check_size(whole.len(), size, &what)?;
    if let Some(expected) = crc {
        if whole.crc() != expected {
            return Err(Fetch::Mismatch(mismatch(&what)));
        }
        downloaded.checksum = Some(Checksum::crc32(expected));
    }
    Ok(downloaded)
}

fn check_size(received: u64, size: u64, what: &str) -> Result<()> {
    if received != size {
        return Err(Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: got {received} of {size} bytes")));
    }
    Ok(())
}

/// One ranged GET (`[start, end)`) streamed into `file` at its offsets, in batches of
/// [`WRITE_BATCH`]. A body that breaks off or ends short is resumed from the first missing
/// byte. Returns `(start, CRC32, length)` of the range, for the caller's whole-object check.
async fn get_range_to_file(
    client: &Client,
    request: &Request,
    etag: Option<&str>,
    (start, end): (u64, u64),
    file: &Target,
    path: &Path,
    what: &str,
) -> Result<(u64, u32, u64)> {
    let _permit = client.download_budget().take(WRITE_BATCH.min(end - start)).await;
    let attempts = client.connection().max_attempts.unwrap_or(crate::client::DEFAULT_MAX_ATTEMPTS).max(BODY_ATTEMPTS);
    let mut running = Running::default();
    let mut at = start;
    let mut attempt = 1;
    loop {
        // As in `get`: the first attempt without the SDK's pipeline where it applies (here
        // for its body: no per-frame throughput bookkeeping on a stream of a gigabyte).
        let quick = match attempt {
            1 => super::quick_get::get(client, request, etag, Some((at, end))).await,
            _ => None,
        };
        let out = match quick {
            Some(out) => out,
            None => get_request(client, request, etag, Some((at, end)), what).await?,
        };
        let mut body = out.body;
        let (mut batch, mut batch_at, mut batch_len) = (Vec::new(), at, 0u64);
        let failure = loop {
            match body.next().await {
                Some(Ok(chunk)) => {
                    let len = chunk.len() as u64;
                    if at + len > end {
                        break Some(format!("{what}: the range {start}-{end} got more bytes than asked"));
                    }
                    running.update(&chunk);
                    at += len;
                    batch_len += len;
                    batch.push(chunk);
                    if batch_len >= WRITE_BATCH {
                        write_at(file, batch_at, std::mem::take(&mut batch), path).await?;
                        (batch_at, batch_len) = (at, 0);
                    }
                }
                Some(Err(e)) => break Some(format!("{what}: reading the body failed: {e}")),
                None if at < end => break Some(format!("{what}: the range {start}-{end} ended after {} bytes", at - start)),
                None => break None,
            }
        };
        write_at(file, batch_at, batch, path).await?;
        let Some(failure) = failure else { return Ok((start, running.crc(), end - start)) };
        if attempt >= attempts {
            return Err(Error::new(ErrorCode::UpstreamUnavailable, failure));
        }
        tracing::debug!("{failure}; fetching the rest again");
        attempt += 1;
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

/// A [`Downloaded`] from a HEAD's or a GET's headers (same accessor names).
macro_rules! described {
    ($out:expr) => {{
        let out = &$out;
        Downloaded {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: out.e_tag().map(str::to_owned),
            version_id: out.version_id().map(str::to_owned),
            content_type: out.content_type().map(str::to_owned),
            last_modified: encode::rfc3339_opt(out.last_modified()),
            metadata: fields::metadata_map(out.metadata()),
            checksum: None,
            ranges: 0,
        }
    }};
}

/// The CRC32 a HEAD or whole GET returned, when it covers the whole object: typed
/// `FULL_OBJECT`, or untyped on an object that is not multipart (a PUT's checksum). Untyped on
/// a multipart object it may be a checksum of part checksums (moto sends one without the
/// `-N` suffix), which no download can check.
macro_rules! whole_object_crc {
    ($out:expr) => {{
        let out = &$out;
        let multipart = out.e_tag().is_some_and(|etag| etag.contains('-'));
        let whole = match out.checksum_type() {
            Some(kind) => *kind == aws_sdk_s3::types::ChecksumType::FullObject,
            None => !multipart,
        };
        out.checksum_crc32().filter(|_| whole).and_then(checksum::decode)
    }};
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
    Ok(Head { crc: whole_object_crc!(out), downloaded: described!(out) })
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
        let got = get(client, request, etag.as_deref(), None, size, crc, &what).await?;
        crc = got.crc;
        whole.update(&got.body);
        writer.write_all(&got.body).await.map_err(write)?;
    } else {
        // In order, a part at a time in memory: memory stays at threads × part size.
        let pieces = ranges(size, client.part_size());
        downloaded.ranges = pieces.len();
        let mut bodies = futures::stream::iter(pieces)
            .map(|range| get(client, request, etag.as_deref(), Some(range), range.1 - range.0, None, &what))
            .buffered(client.download_threads());
        while let Some(got) = bodies.try_next().await? {
            whole.update(&got.body);
            writer.write_all(&got.body).await.map_err(write)?;
        }
    }
    check_size(whole.len(), size, &what)?;
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

/// A GET (of `range` = `[start, end)`, or the whole object) pinned to `etag`.
async fn get_request(
    client: &Client,
    request: &Request,
    etag: Option<&str>,
    range: Option<(u64, u64)>,
    what: &str,
) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput> {
    client
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
        })
}

/// A body in memory, checked, with what its GET said of the object.
struct Got {
    body: Bytes,
    /// The CRC32 the body was checked against.
    crc: Option<u32>,
    described: Downloaded,
}

/// One GET into memory (`bytes` long, for the memory budget), the first attempt through
/// [`super::quick_get`] where it applies. A body that breaks off, comes
/// back short or fails its CRC32 (`crc`, or for a whole object the one the GET returns: moto
/// returns it on GET but not on HEAD) is fetched again: the SDK retries failed requests, but
/// not a body that fails after the headers arrived.
async fn get(
    client: &Client,
    request: &Request,
    etag: Option<&str>,
    range: Option<(u64, u64)>,
    bytes: u64,
    crc: Option<u32>,
    what: &str,
) -> Result<Got> {
    let _permit = client.download_budget().take(bytes).await;
    let attempts = client.connection().max_attempts.unwrap_or(crate::client::DEFAULT_MAX_ATTEMPTS).max(BODY_ATTEMPTS);
    let mut attempt = 1;
    loop {
        let quick = match attempt {
            1 => super::quick_get::get(client, request, etag, range).await,
            _ => None,
        };
        let out = match quick {
            Some(out) => out,
            None => get_request(client, request, etag, range, what).await?,
        };
        let crc = crc.or_else(|| whole_object_crc!(out).filter(|_| range.is_none()));
        let described = described!(out);
        let expected = match range {
            Some((start, end)) => end - start,
            None => described.size,
        };
        let failure = match out.body.collect().await {
            Ok(body) => {
                let body = body.into_bytes();
                if body.len() as u64 != expected {
                    format!("{what}: the body ended after {} of {expected} bytes", body.len())
                } else if crc.is_some_and(|crc| crc != checksum::crc32(&body)) {
                    mismatch(what).message
                } else {
                    return Ok(Got { body, crc, described });
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

#[cfg(test)]
mod tests {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{BucketVersioningStatus, ChecksumAlgorithm, VersioningConfiguration};

    use super::*;
    use crate::connection::Connection;
    use crate::transfer::quick_get;

    /// The quick first GET reads what the SDK reads (size, ETag, version, type, date, metadata,
    /// checksum, body), whole and ranged, and leaves every error to the SDK.
    #[tokio::test]
    async fn quick_get_reads_what_the_sdk_reads() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = s3flow_local::LocalConfig::new(dir.path());
        config.listen = "127.0.0.1:0".parse().unwrap();
        let server = s3flow_local::LocalServer::start(config).await.unwrap();
        let connection = Connection::with_access_key(&server.endpoint(), server.access_key(), server.secret_key(), server.region());
        let client = Client::connect(connection.clone()).await.unwrap();
        assert!(client.quick_get().is_some(), "a plain-HTTP endpoint with access keys takes the quick GET");

        let s3 = client.s3();
        s3.create_bucket().bucket("quick").send().await.unwrap();
        let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
        s3.put_bucket_versioning().bucket("quick").versioning_configuration(enabled).send().await.unwrap();
        let key = "dir/a b+c=d&e?f#g%h~i/ü 😀.txt";
        let put = s3
            .put_object()
            .bucket("quick")
            .key(key)
            .content_type("text/plain; charset=utf-8")
            .metadata("Owner", "Ada Lovelace")
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from_static(b"the quick brown fox"))
            .send()
            .await
            .unwrap();
        let etag = put.e_tag().map(str::to_owned);
        let request = Request { bucket: "quick".into(), key: key.into(), version_id: put.version_id().map(str::to_owned) };

        for (etag, range) in [(None, None), (etag.as_deref(), None), (etag.as_deref(), Some((4, 9)))] {
            let quick = quick_get::get(&client, &request, etag, range).await.expect("the quick GET answers");
            let sdk = get_request(&client, &request, etag, range, "sdk").await.unwrap();
            let (quick_described, sdk_described) = (described!(quick), described!(sdk));
            assert_eq!(quick_described, sdk_described, "{etag:?} {range:?}");
            let quick_crc = whole_object_crc!(quick);
            assert_eq!(quick_crc, whole_object_crc!(sdk), "{etag:?} {range:?}");
            let quick_body = quick.body.collect().await.unwrap().into_bytes();
            assert_eq!(quick_body, sdk.body.collect().await.unwrap().into_bytes());
            // Not equal by being empty: the object's own fields came through.
            assert_eq!(quick_described.metadata.get("owner").map(String::as_str), Some("Ada Lovelace"));
            assert_eq!(quick_described.content_type.as_deref(), Some("text/plain; charset=utf-8"));
            assert!(quick_described.version_id.is_some() && quick_described.last_modified.is_some());
            match range {
                Some(_) => assert_eq!(&quick_body[..], b"quick"),
                None => assert_eq!(quick_crc, Some(checksum::crc32(b"the quick brown fox"))),
            }
        }

        // Errors are the SDK's to send again and report: a missing key, a changed object, bad keys.
        let missing = Request { key: "nothing here".into(), version_id: None, ..request.clone() };
        assert!(quick_get::get(&client, &missing, None, None).await.is_none());
        assert!(quick_get::get(&client, &request, Some("\"0123456789abcdef\""), None).await.is_none());
        let wrong = Client::connect(Connection::with_access_key(&server.endpoint(), server.access_key(), "not-the-secret", server.region()))
            .await
            .unwrap();
        assert!(quick_get::get(&wrong, &request, None, None).await.is_none());
        let Err(err) = get(&wrong, &request, None, None, 19, None, "s3://quick/key").await else {
            panic!("a wrong secret downloads nothing");
        };
        assert_eq!(err.code, ErrorCode::CredentialsInvalid, "{err:?}");
    }
}
