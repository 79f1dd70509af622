//! Large-object transfers shared by `upload`, `download` and `copy` (and the service): multipart
//! uploads from files, memory or any `AsyncRead`; parallel ranged downloads to a file or any
//! `AsyncWrite`; multipart copies; checksums on the way up and checks on the way down.
//!
//! Memory stays bounded by parts in flight × part size + a constant, whatever the object's
//! size: every part buffer is taken under one of the client's permits
//! ([`crate::Client::upload_budget`], [`crate::Client::download_budget`]).
//!
//! Multipart limits from <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>.

pub mod checksum;
pub mod copy;
pub mod dir;
pub mod download;
pub(crate) mod quick_get;
pub mod upload;

pub use checksum::Checksum;

/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = crate::connection::MIN_PART_SIZE;
/// S3's most parts per upload.
pub const MAX_PARTS: u64 = 10_000;
/// Our default part size: big enough for throughput, small enough for bounded memory.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
/// Objects up to this size (or up to the part size, when larger) go in one PUT or one GET.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Parts in flight per client when the connection does not say.
pub const DEFAULT_UPLOAD_CONCURRENCY: u32 = 8;
/// Ranged GETs in flight per client when the connection does not say.
pub const DEFAULT_DOWNLOAD_THREADS: u32 = 8;
/// CopyObject copies at most 5 GiB; larger objects need UploadPartCopy
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html>).
pub const MULTIPART_COPY_THRESHOLD: u64 = 5 * 1024 * 1024 * 1024;
/// Files in flight at once in a directory transfer when the caller does not say. Memory is
/// bounded by the client's [`Budget`]s, not by this count, so small files can go many at once.
/// Small objects are bound by round trips, not bandwidth, so many go at once; 256 is s5cmd's
/// worker count (on a local Garage, 64 to 256 measure the same: the server's CPU is the limit).
pub const DEFAULT_DIR_CONCURRENCY: usize = 256;

/// The unit of a [`Budget`]: small objects take one, a part takes `part_size / UNIT`.
const BUDGET_UNIT: u64 = 64 * 1024;

/// A byte budget for transfer buffers in flight across one client: `slots × slot_bytes`
/// (parts in flight × part size), taken in 64 KiB units. A part takes one slot; a 4 KiB object
/// takes one unit, so many small objects fit where few large parts do, and memory stays bounded.
///
/// It also keeps the part buffers of finished parts for the next ones: every part would
/// otherwise be a fresh multi-MiB allocation, which the allocator does not always give back,
/// so memory crept above the budget. A buffer is only allocated when none is spare, so there
/// are never more than the parts in flight at the busiest moment; they are freed when the
/// last transfer ends.
#[derive(Debug)]
pub struct Budget {
    semaphore: std::sync::Arc<tokio::sync::Semaphore>,
    units: u32,
    slot_units: u32,
    spare: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Budget {
    pub fn new(slots: usize, slot_bytes: u64) -> Self {
        let slot_units = slot_bytes.div_ceil(BUDGET_UNIT).max(1).min(u64::from(u32::MAX / 1024)) as u32;
        let units = slot_units.saturating_mul(slots.max(1) as u32);
        Budget {
            semaphore: std::sync::Arc::new(tokio::sync::Semaphore::new(units as usize)),
            units,
            slot_units,
            spare: Default::default(),
        }
    }

    /// A buffer of `len` bytes for a part (taken under a slot), reused when one is spare.
    /// Its contents are whatever the last part left: the caller overwrites all of it.
    pub fn buffer(&self, len: usize) -> Vec<u8> {
        let mut buffer = self.spare.lock().map(|mut spare| spare.pop()).ok().flatten().unwrap_or_default();
        buffer.resize(len, 0);
        buffer
    }

    /// `buffer` as `Bytes` that hand it back for reuse when the last reference is dropped.
    pub fn bytes(&self, buffer: Vec<u8>) -> bytes::Bytes {
        bytes::Bytes::from_owner(Pooled { buffer, spare: self.spare.clone() })
    }

    /// Frees the spare buffers when nothing is in flight (a long-lived client keeps no
    /// idle part buffers).
    pub fn trim_if_idle(&self) {
        if self.semaphore.available_permits() == self.units as usize {
            if let Ok(mut spare) = self.spare.lock() {
                spare.clear();
            }
        }
    }

    /// Room for `bytes` in memory (at most the whole budget).
    pub async fn take(&self, bytes: u64) -> tokio::sync::OwnedSemaphorePermit {
        let wanted = bytes.div_ceil(BUDGET_UNIT).clamp(1, u64::from(self.units)) as u32;
        self.semaphore.clone().acquire_many_owned(wanted).await.expect("the budget's semaphore is never closed")
    }

    /// Room for one part.
    pub async fn take_slot(&self) -> tokio::sync::OwnedSemaphorePermit {
        let wanted = self.slot_units.min(self.units);
        self.semaphore.clone().acquire_many_owned(wanted).await.expect("the budget's semaphore is never closed")
    }
}

/// A part buffer lent to `Bytes`; back to the budget's spares on drop.
struct Pooled {
    buffer: Vec<u8>,
    spare: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut spare) = self.spare.lock() {
            spare.push(std::mem::take(&mut self.buffer));
        }
    }
}

/// Runs file I/O on the blocking pool (a panicked task becomes an I/O error).
pub(crate) async fn blocking<T: Send + 'static>(io: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
    tokio::task::spawn_blocking(io).await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// Where a download to `path` is written before it is renamed into place: a hidden name beside
/// it (same file system, so the rename is atomic) that no other download, in this process or
/// another, picks. The unique part is a per-process random prefix and a counter: a UUID v4 per
/// file cost a `getrandom` call each, 10,000 for a directory of 10,000 small files.
pub(crate) fn temp_path(path: &std::path::Path) -> crate::error::Result<std::path::PathBuf> {
    static PREFIX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| crate::error::Error::invalid_input(format!("to: {} is not a file path", path.display())))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let prefix = *PREFIX.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(dir.join(format!(".{}.s3flow-{prefix:016x}{n:016x}", name.to_string_lossy())))
}

/// Whole-transfer attempts when a download's body fails its size or checksum check.
pub const BODY_ATTEMPTS: u32 = 3;

/// The part size for an object of `len` bytes: at least `target`, grown so the object fits
/// in [`MAX_PARTS`] parts.
pub fn part_size_for(len: u64, target: u64) -> u64 {
    target.max(MIN_PART_SIZE).max(len.div_ceil(MAX_PARTS))
}

/// Byte ranges `[start, end)` of `part_size` covering `len` bytes.
pub fn ranges(len: u64, part_size: u64) -> Vec<(u64, u64)> {
    (0..len.div_ceil(part_size)).map(|i| (i * part_size, ((i + 1) * part_size).min(len))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_paths_are_hidden_beside_the_target_and_never_repeat() {
        let first = temp_path(std::path::Path::new("out/report.pdf")).unwrap();
        assert_eq!(first.parent(), Some(std::path::Path::new("out")));
        let name = first.file_name().unwrap().to_str().unwrap();
        let unique = name.strip_prefix(".report.pdf.s3flow-").unwrap();
        assert!(unique.len() == 32 && unique.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert_eq!(temp_path(std::path::Path::new("report.pdf")).unwrap().parent(), Some(std::path::Path::new(".")));
        let here: Vec<_> = (0..1_000).map(|_| temp_path(std::path::Path::new("a")).unwrap()).collect();
        let there = std::thread::spawn(|| (0..1_000).map(|_| temp_path(std::path::Path::new("a")).unwrap()).collect::<Vec<_>>());
        let all: std::collections::HashSet<_> = here.into_iter().chain(there.join().unwrap()).collect();
        assert_eq!(all.len(), 2_000);
        let refused = temp_path(std::path::Path::new("/")).unwrap_err();
        assert_eq!(refused.code, crate::error::ErrorCode::InvalidInput);
    }

    #[test]
    fn ranges_cover_the_object() {
        assert_eq!(ranges(0, 5), vec![]);
        assert_eq!(ranges(10, 5), vec![(0, 5), (5, 10)]);
        assert_eq!(ranges(11, 5), vec![(0, 5), (5, 10), (10, 11)]);
    }

    #[tokio::test]
    async fn small_objects_share_one_part_slot() {
        let budget = Budget::new(2, 8 * 1024 * 1024);
        // 256 small objects fit in the room of the two 8 MiB parts…
        let mut small = Vec::new();
        for _ in 0..256 {
            small.push(budget.take(4096).await);
        }
        assert_eq!(budget.semaphore.available_permits(), 0);
        drop(small);
        // …and two parts take it all.
        let a = budget.take_slot().await;
        let _b = budget.take_slot().await;
        assert_eq!(budget.semaphore.available_permits(), 0);
        drop(a);
        assert_eq!(budget.semaphore.available_permits(), 128);
    }

    #[test]
    fn part_buffers_are_reused_then_freed_when_idle() {
        let budget = Budget::new(2, 1024);
        let first = budget.bytes(budget.buffer(1000));
        let address = first.as_ptr();
        drop(first);
        let again = budget.buffer(800);
        assert_eq!((again.as_ptr(), again.len()), (address, 800), "the spare buffer came back");
        drop(budget.bytes(again));
        budget.trim_if_idle();
        assert!(budget.spare.lock().unwrap().is_empty());
    }

    #[test]
    fn part_size_grows_with_the_object() {
        assert_eq!(part_size_for(1, DEFAULT_PART_SIZE), DEFAULT_PART_SIZE);
        assert_eq!(part_size_for(1, 1), MIN_PART_SIZE);
        let huge = 5 * 1024 * 1024 * 1024 * 1024u64; // 5 TiB
        assert!(part_size_for(huge, DEFAULT_PART_SIZE) * MAX_PARTS >= huge);
    }
}
