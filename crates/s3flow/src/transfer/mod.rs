//! Large-object transfers shared by `upload`, `download` and `copy` (and the service): multipart
//! uploads from files, memory or any `AsyncRead`; parallel ranged downloads to a file or any
//! `AsyncWrite`; multipart copies; checksums on the way up and checks on the way down.
//!
//! Memory stays bounded by parts in flight × part size + a constant, whatever the object's
//! size: every part buffer is taken under one of the client's permits
//! ([`crate::Client::upload_permits`], [`crate::Client::download_permits`]).
//!
//! Multipart limits from <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>.

pub mod checksum;
pub mod copy;
pub mod dir;
pub mod download;
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
    fn ranges_cover_the_object() {
        assert_eq!(ranges(0, 5), vec![]);
        assert_eq!(ranges(10, 5), vec![(0, 5), (5, 10)]);
        assert_eq!(ranges(11, 5), vec![(0, 5), (5, 10), (10, 11)]);
    }

    #[test]
    fn part_size_grows_with_the_object() {
        assert_eq!(part_size_for(1, DEFAULT_PART_SIZE), DEFAULT_PART_SIZE);
        assert_eq!(part_size_for(1, 1), MIN_PART_SIZE);
        let huge = 5 * 1024 * 1024 * 1024 * 1024u64; // 5 TiB
        assert!(part_size_for(huge, DEFAULT_PART_SIZE) * MAX_PARTS >= huge);
    }
}
