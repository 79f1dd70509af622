//! Uploads: one PUT up to the threshold, a multipart upload above it, from memory, a file or
//! any `AsyncRead` (stdin). Every body carries our own CRC32; a failed multipart upload is
//! aborted, so no partial object and no billed leftover parts remain.
//!
//! Bodies are sent with `UNSIGNED-PAYLOAD`: the CRC32 header (checked by the store) already
//! guards the bytes, and the SDK's default SHA-256 of every body cost as much CPU as the rest
//! of the upload together.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_sdk_s3::operation::create_multipart_upload::CreateMultipartUploadOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, ServerSideEncryption,
    StorageClass,
};
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinSet;

use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};
use crate::transfer::checksum::{self, Checksum, Running};
use crate::transfer::{blocking, part_size_for, MAX_PARTS};

/// Where an upload's bytes come from.
pub enum Source {
    /// Bytes in memory (sliced into parts without copying).
    Bytes(Bytes),
    /// A local file of `len` bytes, read part by part.
    File { path: PathBuf, len: u64 },
    /// A stream of unknown length (stdin, a socket, a service request body), read one part
    /// at a time; one PUT when it ends within the first part.
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Bytes(bytes) => write!(f, "Source::Bytes({} bytes)", bytes.len()),
            Source::File { path, len } => {
                write!(f, "Source::File({}, {len} bytes)", path.display())
            }
            Source::Reader(_) => f.write_str("Source::Reader"),
        }
    }
}

/// Everything stored with the object besides its bytes; the same for a PUT, a multipart
/// upload and a multipart copy.
#[derive(Debug, Clone, Default)]
pub struct ObjectFields {
    pub content_type: Option<String>,
    pub acl: Option<ObjectCannedAcl>,
    pub storage_class: Option<StorageClass>,
    pub server_side_encryption: Option<ServerSideEncryption>,
    pub kms_key_id: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// URL-encoded tag set (`encode::tagging`).
    pub tagging: Option<String>,
    /// Send `If-None-Match: *` so the write fails when the key exists (AWS honours it).
    pub if_none_match: bool,
}

/// The result of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub size: u64,
    /// CRC32 of the whole object, computed while sending it.
    pub checksum: Checksum,
    /// 0 for a single PUT, else the number of parts.
    pub parts: usize,
}

/// Sets the [`ObjectFields`] on a PutObject or CreateMultipartUpload builder (same setters).
macro_rules! with_fields {
    ($builder:expr, $fields:expr) => {{
        let fields: &ObjectFields = $fields;
        let mut builder = $builder
            .set_content_type(fields.content_type.clone())
            .set_acl(fields.acl.clone())
            .set_storage_class(fields.storage_class.clone())
            .set_server_side_encryption(fields.server_side_encryption.clone())
            .set_ssekms_key_id(fields.kms_key_id.clone())
            .set_cache_control(fields.cache_control.clone())
            .set_content_disposition(fields.content_disposition.clone())
            .set_content_encoding(fields.content_encoding.clone())
            .set_tagging(fields.tagging.clone());
        for (name, value) in &fields.metadata {
            builder = builder.metadata(name, value);
        }
        builder
    }};
}
pub(crate) use with_fields;

/// Uploads `source` to `bucket`/`key`: one PUT up to [`Client::multipart_threshold`], else a
/// multipart upload with `upload_concurrency` parts in flight.
pub async fn put(client: &Client, bucket: &str, key: &str, fields: &ObjectFields, source: Source) -> Result<Uploaded> {
    let threshold = client.multipart_threshold();
    match source {
        Source::Bytes(bytes) if bytes.len() as u64 <= threshold => put_single(client, bucket, key, fields, bytes).await,
        Source::Bytes(bytes) => {
            let part_size = part_size_for(bytes.len() as u64, client.part_size());
            put_multipart(client, bucket, key, fields, Parts::Bytes { bytes, part_size, next: 0 }).await
        }
        Source::File { path, len } => {
            let cannot_read = |e| cannot_read(&path, e);
            if len <= threshold {
                // Held while the file is in memory: many small files at once stay bounded too.
                let _permit = client.upload_budget().take(len).await;
                // One trip to the blocking pool (open, read, close), not one per call.
                let read = path.clone();
                let bytes = blocking(move || std::fs::read(read)).await.map_err(cannot_read)?;
                if bytes.len() as u64 != len {
                    return Err(changed_while_reading(&path));
                }
                return put_single(client, bucket, key, fields, Bytes::from(bytes)).await;
            }
            let open = path.clone();
            let file = blocking(move || std::fs::File::open(open)).await.map_err(cannot_read)?;
            let part_size = part_size_for(len, client.part_size());
            let parts = Parts::File { file: std::sync::Arc::new(file), path, len, part_size, read: 0 };
            put_multipart(client, bucket, key, fields, parts).await
        }
        Source::Reader(mut reader) => {
            // The length is unknown: parts of the target size (so at most 10,000 × part_size).
            let part_size = client.part_size();
            let first = read_up_to(&mut reader, part_size, "input").await?;
            if (first.len() as u64) < part_size {
                return put_single(client, bucket, key, fields, first).await;
            }
            put_multipart(client, bucket, key, fields, Parts::Reader { reader, part_size, first: Some(first) }).await
        }
    }
}

async fn put_single(client: &Client, bucket: &str, key: &str, fields: &ObjectFields, body: Bytes) -> Result<Uploaded> {
    let size = body.len() as u64;
    let crc = checksum::crc32(&body);
    let mut put = with_fields!(client.s3().put_object().bucket(bucket).key(key), fields)
        .content_length(size as i64)
        // The algorithm too: moto stores a checksum only when it is named
        // (`x-amz-sdk-checksum-algorithm`); the SDK keeps the value we give.
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_crc32(checksum::encode(crc))
        .body(ByteStream::from(body));
    if fields.if_none_match {
        put = put.if_none_match("*");
    }
    let out = put
        .customize()
        .disable_payload_signing()
        .send()
        .await.map_err(|e| Error::from_sdk(e, &format!("s3://{bucket}/{key}")))?;
    Ok(Uploaded {
        etag: out.e_tag().map(str::to_owned),
        version_id: out.version_id().map(str::to_owned),
        size,
        checksum: Checksum::crc32(crc),
        parts: 0,
    })
}

/// The parts of a multipart upload, produced in order, one buffer at a time.
enum Parts {
    Bytes { bytes: Bytes, part_size: u64, next: u64 },
    /// Read with `pread` on the blocking pool: one trip and no extra copy per part.
    File { file: std::sync::Arc<std::fs::File>, path: PathBuf, len: u64, part_size: u64, read: u64 },
    Reader { reader: Box<dyn AsyncRead + Send + Unpin>, part_size: u64, first: Option<Bytes> },
}

impl Parts {
    /// The next part, in a buffer of `budget`'s (file parts) or a slice (bytes) or a fresh
    /// read (streams).
    async fn next_part(&mut self, budget: &crate::transfer::Budget) -> Result<Option<Bytes>> {
        match self {
            Parts::Bytes { bytes, part_size, next } => {
                let start = *next as usize;
                if start >= bytes.len() {
                    return Ok(None);
                }
                let end = (start + *part_size as usize).min(bytes.len());
                *next = end as u64;
                Ok(Some(bytes.slice(start..end)))
            }
            Parts::File { file, path, len, part_size, read } => {
                if *read >= *len {
                    return Ok(None);
                }
                let want = (*part_size).min(*len - *read);
                let (file, offset) = (file.clone(), *read);
                let mut buffer = budget.buffer(want as usize);
                let part = blocking(move || {
                    std::os::unix::fs::FileExt::read_exact_at(&*file, &mut buffer, offset).map(|()| buffer)
                })
                .await;
                let part = match part {
                    Ok(part) => part,
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(changed_while_reading(path)),
                    Err(e) => return Err(cannot_read(path, e)),
                };
                *read += want;
                Ok(Some(budget.bytes(part)))
            }
            Parts::Reader { reader, part_size, first } => {
                if let Some(first) = first.take() {
                    return Ok(Some(first));
                }
                let part = read_up_to(reader, *part_size, "input").await?;
                Ok((!part.is_empty()).then_some(part))
            }
        }
    }
}

/// Reads until `limit` bytes or the end of the input.
async fn read_up_to<R: AsyncRead + Unpin>(reader: &mut R, limit: u64, what: &str) -> Result<Bytes> {
    let mut buffer = Vec::with_capacity(limit as usize);
    reader
        .take(limit)
        .read_to_end(&mut buffer)
        .await
        .map_err(|e| Error::invalid_input(format!("{what}: read failed: {e}")))?;
    Ok(Bytes::from(buffer))
}

fn cannot_read(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::invalid_input(format!("file: cannot read {}: {e}", path.display()))
}

fn changed_while_reading(path: &std::path::Path) -> Error {
    Error::invalid_input(format!("file: {} changed size while it was uploaded", path.display()))
}

/// Aborts the multipart upload unless disarmed, also when the upload's future is dropped
/// (a cancelled workflow step must not leave billed parts behind).
pub(crate) struct AbortGuard {
    pub client: Client,
    pub bucket: String,
    pub key: String,
    /// `None` once completed (disarmed) or aborted.
    pub upload_id: Option<String>,
}

impl AbortGuard {
    pub async fn abort_now(&mut self) {
        if let Some(upload_id) = self.upload_id.take() {
            abort(&self.client, &self.bucket, &self.key, &upload_id).await;
        }
    }
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let (Some(upload_id), Ok(runtime)) = (self.upload_id.take(), tokio::runtime::Handle::try_current()) {
            let (client, bucket, key) = (self.client.clone(), self.bucket.clone(), self.key.clone());
            runtime.spawn(async move { abort(&client, &bucket, &key, &upload_id).await });
        }
    }
}

/// Best effort: the SDK retries it; a store that lost the upload already has no parts.
pub(crate) async fn abort(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    if let Err(e) = client.s3().abort_multipart_upload().bucket(bucket).key(key).upload_id(upload_id).send().await {
        tracing::warn!("abort of multipart upload to s3://{bucket}/{key} failed: {}", Error::from_sdk(e, "abort"));
    }
}

/// One uploaded part.
pub(crate) struct PartDone {
    pub number: i32,
    pub etag: Option<String>,
    pub crc: u32,
    pub len: u64,
}

async fn put_multipart(client: &Client, bucket: &str, key: &str, fields: &ObjectFields, mut parts: Parts) -> Result<Uploaded> {
    let what = format!("s3://{bucket}/{key}");
    let created = with_fields!(client.s3().create_multipart_upload().bucket(bucket).key(key), fields)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        // A whole-object CRC32 (not a checksum of part checksums), so a download can verify
        // the object whatever its ranges; stores that do not know it keep a composite one.
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    let sent = guarded(client, bucket, key, &created, &what, |upload_id| async move {
        send_parts_and_complete(client, bucket, key, fields, &upload_id, &mut parts).await
    })
    .await;
    client.upload_budget().trim_if_idle();
    sent
}

/// Runs `work` with the id of the multipart upload `created` started; the upload is aborted
/// if the work fails (before returning) or is dropped (by the guard).
pub(crate) async fn guarded<T, Work>(
    client: &Client,
    bucket: &str,
    key: &str,
    created: &CreateMultipartUploadOutput,
    what: &str,
    work: impl FnOnce(String) -> Work,
) -> Result<T>
where
    Work: std::future::Future<Output = Result<T>>,
{
    let upload_id = created
        .upload_id()
        .ok_or_else(|| Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: no upload id came back")))?
        .to_owned();
    let mut guard = AbortGuard {
        client: client.clone(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        upload_id: Some(upload_id.clone()),
    };
    match work(upload_id).await {
        Ok(done) => {
            guard.upload_id = None;
            Ok(done)
        }
        Err(e) => {
            guard.abort_now().await;
            Err(e)
        }
    }
}

async fn send_parts_and_complete(
    client: &Client,
    bucket: &str,
    key: &str,
    fields: &ObjectFields,
    upload_id: &str,
    parts: &mut Parts,
) -> Result<Uploaded> {
    let what = format!("s3://{bucket}/{key}");
    let mut tasks = JoinSet::new();
    let mut done = Vec::new();
    let mut number = 0i32;
    loop {
        // The permit is taken before the part is read: buffers in flight never exceed it.
        let permit = client.upload_budget().take_slot().await;
        while let Some(joined) = tasks.try_join_next() {
            done.push(joined_part(joined)?);
        }
        let Some(body) = parts.next_part(client.upload_budget()).await? else {
            break;
        };
        number += 1;
        if number as u64 > MAX_PARTS {
            return Err(Error::invalid_input(format!(
                "{what}: the input needs more than {MAX_PARTS} parts; raise part_size"
            )));
        }
        let (client, bucket, key, upload_id) = (client.clone(), bucket.to_owned(), key.to_owned(), upload_id.to_owned());
        tasks.spawn(async move {
            let _permit = permit;
            upload_part(&client, &bucket, &key, &upload_id, number, body).await
        });
    }
    while let Some(joined) = tasks.join_next().await {
        done.push(joined_part(joined)?);
    }
    done.sort_by_key(|p| p.number);

    let mut whole = Running::default();
    let mut completed = Vec::with_capacity(done.len());
    for part in &done {
        whole.push(part.crc, part.len);
        completed.push(
            CompletedPart::builder()
                .part_number(part.number)
                .set_e_tag(part.etag.clone())
                .checksum_crc32(checksum::encode(part.crc))
                .build(),
        );
    }
    let mut complete = client
        .s3()
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .checksum_crc32(checksum::encode(whole.crc()))
        .checksum_type(ChecksumType::FullObject)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build());
    if fields.if_none_match {
        complete = complete.if_none_match("*");
    }
    let out = complete.send().await.map_err(|e| Error::from_sdk(e, &what))?;
    Ok(Uploaded {
        etag: out.e_tag().map(str::to_owned),
        version_id: out.version_id().map(str::to_owned),
        size: whole.len(),
        checksum: Checksum::crc32(whole.crc()),
        parts: done.len(),
    })
}

pub(crate) fn joined_part(joined: std::result::Result<Result<PartDone>, tokio::task::JoinError>) -> Result<PartDone> {
    joined.map_err(|e| Error::new(ErrorCode::UpstreamUnavailable, format!("a part upload stopped: {e}")))?
}

async fn upload_part(client: &Client, bucket: &str, key: &str, upload_id: &str, number: i32, body: Bytes) -> Result<PartDone> {
    let len = body.len() as u64;
    let crc = checksum::crc32(&body);
    let out = client
        .s3()
        .upload_part()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .part_number(number)
        .content_length(len as i64)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_crc32(checksum::encode(crc))
        .body(ByteStream::from(body))
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &format!("s3://{bucket}/{key} part {number}")))?;
    Ok(PartDone { number, etag: out.e_tag().map(str::to_owned), crc, len })
}
