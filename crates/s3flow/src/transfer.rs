//! Transfer tuning shared by uploads, downloads and copies.
//!
//! Multipart limits from <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>.

/// S3's smallest part (all but the last).
pub const MIN_PART_SIZE: u64 = crate::connection::MIN_PART_SIZE;
/// S3's most parts per upload.
pub const MAX_PARTS: u64 = 10_000;
/// Our default part size: big enough for throughput, small enough for bounded memory.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;

/// The part size for an object of `len` bytes: at least `target`, grown so the object fits
/// in [`MAX_PARTS`] parts.
pub fn part_size_for(len: u64, target: u64) -> u64 {
    target.max(MIN_PART_SIZE).max(len.div_ceil(MAX_PARTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_grows_with_the_object() {
        assert_eq!(part_size_for(1, DEFAULT_PART_SIZE), DEFAULT_PART_SIZE);
        assert_eq!(part_size_for(1, 1), MIN_PART_SIZE);
        let huge = 5 * 1024 * 1024 * 1024 * 1024u64; // 5 TiB
        assert!(part_size_for(huge, DEFAULT_PART_SIZE) * MAX_PARTS >= huge);
    }
}
