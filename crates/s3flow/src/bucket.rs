//! Bucket and key names: validated before any request, so bad names fail with
//! `invalid_input` and nothing is sent.

use crate::error::{Error, Result};

/// The longest key S3 accepts, in bytes of UTF-8
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>).
pub const MAX_KEY_BYTES: usize = 1024;

/// S3 bucket naming rules
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>):
/// 3–63 characters of lowercase letters, digits, dots and hyphens, starting and ending with a
/// letter or digit, no `..`, not an IP address, none of the reserved prefixes and suffixes.
pub fn validate_bucket_name(bucket: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid_input(format!("bucket: {bucket:?} {why}")));
    if bucket.is_empty() {
        return bad("is empty");
    }
    if !(3..=63).contains(&bucket.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return bad("may only hold lowercase letters, digits, dots and hyphens");
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(bucket.as_bytes()[0]) || !edge_ok(bucket.as_bytes()[bucket.len() - 1]) {
        return bad("must start and end with a letter or digit");
    }
    if bucket.contains("..") || bucket.contains(".-") || bucket.contains("-.") {
        return bad("must not hold adjacent dots or a dot next to a hyphen");
    }
    if bucket.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not be an IP address");
    }
    if bucket.starts_with("xn--") || bucket.starts_with("sthree-") || bucket.starts_with("amzn-s3-demo-") {
        return bad("uses a reserved prefix");
    }
    if bucket.ends_with("-s3alias") || bucket.ends_with("--ol-s3") || bucket.ends_with(".mrap") || bucket.ends_with("--x-s3") {
        return bad("uses a reserved suffix");
    }
    Ok(())
}

/// A key: non-empty and at most 1,024 bytes. Every other character is allowed and sent as is.
pub fn validate_key(field: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid_input(format!("{field}: must not be empty")));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::invalid_input(format!(
            "{field}: is {} bytes long; S3 keys are at most {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket", "my.bucket.1", "a1b", &"a".repeat(63)] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ab", "Abc", "my_bucket", "-abc", "abc-", "a..b", "192.168.1.1", "xn--abc", "abc-s3alias", &"a".repeat(64), "a b c"] {
            let err = validate_bucket_name(bad).unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn key_lengths() {
        assert!(validate_key("key", &"k".repeat(1024)).is_ok());
        assert!(validate_key("key", &"é".repeat(512)).is_ok());
        assert!(validate_key("key", &"k".repeat(1025)).is_err());
        assert!(validate_key("key", "").is_err());
    }
}
