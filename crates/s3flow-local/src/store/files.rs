//! File helpers: atomic JSON writes, streaming a request body to disk while hashing it, and
//! streaming a byte range of a file back as a response body.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use s3s::crypto::Checksum as _;
use s3s::stream::{ByteStream, RemainingLength};
use s3s::StdError;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWriteExt as _, ReadBuf};

/// Read and write buffer size: large enough to keep syscalls rare, small enough that many
/// concurrent transfers stay cheap.
const IO_CHUNK: usize = 256 * 1024;

/// A fresh unique token for file names.
pub fn unique_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Lower-case hex SHA-256 of an object key: keys up to 1,024 bytes cannot be file names.
pub fn key_hash(key: &str) -> String {
    hex::encode(s3s::crypto::Sha256::checksum(key.as_bytes()))
}

/// Writes `value` as JSON to `target` atomically: a temporary file in `tmp_dir` (same file
/// system) is renamed over the target, so readers see the old or the new document, never half.
pub async fn write_json_atomic(
    tmp_dir: &Path,
    target: &Path,
    value: &impl Serialize,
) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    let tmp = tmp_dir.join(format!("{}.json.tmp", unique_token()));
    let target = target.to_owned();
    // Write and rename in one trip to the blocking pool (each trip is a thread hand-off).
    blocking(move || {
        let written = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, &target));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    })
    .await
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// Same as [`write_json_atomic`], for blocking contexts (start-up).
pub fn write_json_atomic_blocking(
    tmp_dir: &Path,
    target: &Path,
    value: &impl Serialize,
) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    let tmp = tmp_dir.join(format!("{}.json.tmp", unique_token()));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, target).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Hashes computed while a body streams to disk.
pub struct BodyDigest {
    pub size: u64,
    pub md5: [u8; 16],
    pub checksums: s3s::dto::Checksum,
}

/// Why storing a body failed: the client's stream (bad signature, checksum, disconnect) or
/// our disk.
pub enum WriteBodyError {
    Body(StdError),
    Io(io::Error),
}

/// Streams `body` into a new file at `path` (buffering at most IO_CHUNK of it), computing the
/// MD5 and the requested checksums. On any error the partial file is removed.
pub async fn write_body(
    path: &Path,
    mut body: impl Stream<Item = Result<Bytes, StdError>> + Unpin,
    mut hasher: s3s::checksum::ChecksumHasher,
) -> Result<BodyDigest, WriteBodyError> {
    let mut md5 = s3s::crypto::Md5::new();
    let mut size: u64 = 0;
    // A body that ends within IO_CHUNK (most objects of a workflow) is created and written in
    // one trip to the blocking pool; a longer one streams through a buffered file.
    let mut head = bytes::BytesMut::new();
    let mut writer: Option<tokio::io::BufWriter<tokio::fs::File>> = None;
    let create = |path: PathBuf| move || std::fs::OpenOptions::new().write(true).create_new(true).open(path);
    let result = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(WriteBodyError::Body)?;
            md5.update(&chunk);
            hasher.update(&chunk);
            size += chunk.len() as u64;
            match &mut writer {
                Some(writer) => writer.write_all(&chunk).await.map_err(WriteBodyError::Io)?,
                None if head.len() + chunk.len() <= IO_CHUNK => head.extend_from_slice(&chunk),
                None => {
                    let file = blocking(create(path.to_owned())).await.map_err(WriteBodyError::Io)?;
                    let file = tokio::fs::File::from_std(file);
                    let writer = writer.insert(tokio::io::BufWriter::with_capacity(IO_CHUNK, file));
                    writer.write_all(&head).await.map_err(WriteBodyError::Io)?;
                    writer.write_all(&chunk).await.map_err(WriteBodyError::Io)?;
                }
            }
        }
        match &mut writer {
            Some(writer) => writer.flush().await.map_err(WriteBodyError::Io),
            None => {
                let (create, head) = (create(path.to_owned()), std::mem::take(&mut head));
                blocking(move || std::io::Write::write_all(&mut create()?, &head))
                    .await
                    .map_err(WriteBodyError::Io)
            }
        }
    }
    .await;

    drop(writer);
    if let Err(err) = result {
        let _ = tokio::fs::remove_file(path).await;
        return Err(err);
    }
    Ok(BodyDigest {
        size,
        md5: md5.finalize(),
        checksums: hasher.finalize(),
    })
}

/// Removes a file, ignoring "not found"; other errors are logged, since callers use this to
/// clean up after the operation that matters already succeeded or failed.
pub async fn remove_quietly(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => tracing::warn!(path = %path.display(), %err, "could not remove a file"),
    }
}

/// Copies `len` bytes starting at `offset` of `src` into a new file `dst`, in a blocking
/// thread (the kernel may copy without user-space buffers). Returns the MD5 of the copied bytes
/// when `with_md5`.
pub async fn copy_range(
    src: PathBuf,
    offset: u64,
    len: u64,
    dst: PathBuf,
    with_md5: bool,
) -> io::Result<Option<[u8; 16]>> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Seek as _, Write as _};
        let result = (|| {
            let mut input = std::fs::File::open(&src)?;
            input.seek(io::SeekFrom::Start(offset))?;
            let mut output = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&dst)?;
            let mut limited = input.take(len);
            let md5 = if with_md5 {
                let mut md5 = s3s::crypto::Md5::new();
                let mut buf = vec![0u8; IO_CHUNK];
                loop {
                    let n = limited.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    md5.update(&buf[..n]);
                    output.write_all(&buf[..n])?;
                }
                Some(md5.finalize())
            } else {
                io::copy(&mut limited, &mut output)?;
                None
            };
            if limited.limit() != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "source file shorter than recorded",
                ));
            }
            Ok(md5)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&dst);
        }
        result
    })
    .await
    .map_err(io::Error::other)?
}

/// The CRC32 of a whole file, base64 of the big-endian value as S3 sends it.
pub async fn crc32_of_file(path: PathBuf) -> io::Result<String> {
    use base64::Engine as _;
    use s3s::crypto::Checksum as _;
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        let mut crc = s3s::crypto::Crc32::new();
        let mut buffer = vec![0; 1 << 20];
        loop {
            let read = io::Read::read(&mut file, &mut buffer)?;
            if read == 0 {
                break;
            }
            crc.update(&buffer[..read]);
        }
        Ok(base64::engine::general_purpose::STANDARD.encode(crc.finalize()))
    })
    .await
    .map_err(io::Error::other)?
}

/// Appends whole files to a new file `dst` in order (completing a multipart upload).
pub async fn concat_files(parts: Vec<(PathBuf, u64)>, dst: PathBuf) -> io::Result<u64> {
    tokio::task::spawn_blocking(move || {
        let result = (|| {
            let mut output = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&dst)?;
            let mut total = 0;
            for (path, expected) in &parts {
                let mut input = std::fs::File::open(path)?;
                let copied = io::copy(&mut input, &mut output)?;
                if copied != *expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "part file size changed",
                    ));
                }
                total += copied;
            }
            Ok(total)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&dst);
        }
        result
    })
    .await
    .map_err(io::Error::other)?
}

/// A byte range of a file as a response body: read in chunks as hyper asks for them, so a
/// large object never sits in memory.
pub struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    scratch: Vec<u8>,
}

impl FileBody {
    /// `file` must already be positioned at the first byte to send.
    pub fn new(file: tokio::fs::File, len: u64) -> Self {
        let scratch_len = usize::try_from(len).unwrap_or(IO_CHUNK).clamp(1, IO_CHUNK);
        Self {
            file,
            remaining: len,
            scratch: vec![0; scratch_len],
        }
    }
}

impl Stream for FileBody {
    type Item = Result<Bytes, StdError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.scratch.len());
        let mut buf = ReadBuf::new(&mut this.scratch[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(err)) => {
                this.remaining = 0;
                Poll::Ready(Some(Err(Box::new(err))))
            }
            Poll::Ready(Ok(())) => {
                let filled = buf.filled();
                if filled.is_empty() {
                    // The file is shorter than its metadata says: end the body with an error
                    // so the client sees a truncated transfer instead of silently short data.
                    this.remaining = 0;
                    let err = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "object data file is truncated",
                    );
                    return Poll::Ready(Some(Err(Box::new(err))));
                }
                this.remaining -= filled.len() as u64;
                Poll::Ready(Some(Ok(Bytes::copy_from_slice(filled))))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl ByteStream for FileBody {
    fn remaining_length(&self) -> RemainingLength {
        match usize::try_from(self.remaining) {
            Ok(n) => RemainingLength::new_exact(n),
            Err(_) => RemainingLength::unknown(),
        }
    }
}
