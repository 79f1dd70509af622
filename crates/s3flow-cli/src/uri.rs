//! `s3://bucket/key` URIs, as aws-cli and s5cmd users write them.
//!
//! The key is everything after the first `/` after the bucket, byte for byte: no percent
//! decoding, no `//` or dot-segment collapsing (keys round-trip exactly, §2).

use s3flow::{Error, Result};

const SCHEME: &str = "s3://";

/// A parsed `s3://` URI. An empty bucket (`s3:///key`) is `None`, so a connection with
/// `restrict_bucket` supplies it; an empty key (`s3://bucket` or `s3://bucket/`) is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

impl S3Uri {
    pub fn parse(uri: &str) -> Result<S3Uri> {
        let rest = uri.strip_prefix(SCHEME).ok_or_else(|| {
            Error::invalid_input(format!(
                "{uri:?} is not an s3:// URI (expected s3://bucket/key)"
            ))
        })?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(S3Uri {
            bucket: (!bucket.is_empty()).then(|| bucket.to_owned()),
            key: (!key.is_empty()).then(|| key.to_owned()),
        })
    }

    /// A URI that must name an object: `s3://bucket` alone is refused.
    pub fn object(uri: &str) -> Result<(Option<String>, String)> {
        let parsed = S3Uri::parse(uri)?;
        match parsed.key {
            Some(key) => Ok((parsed.bucket, key)),
            None => Err(Error::invalid_input(format!(
                "{uri}: a key is required (s3://bucket/key)"
            ))),
        }
    }

    /// A URI that names a bucket only: `s3://bucket/key` is refused.
    pub fn bucket_only(uri: &str) -> Result<Option<String>> {
        let parsed = S3Uri::parse(uri)?;
        if parsed.key.is_some() {
            return Err(Error::invalid_input(format!(
                "{uri}: expected a bucket only (s3://bucket)"
            )));
        }
        Ok(parsed.bucket)
    }

    /// A URI that names a bucket and an optional prefix (list, folders, delete --recursive).
    pub fn prefix(uri: &str) -> Result<(Option<String>, Option<String>)> {
        let parsed = S3Uri::parse(uri)?;
        Ok((parsed.bucket, parsed.key))
    }
}

/// The last segment of a key: the file name it would have on disk, if it is a usable one.
pub fn key_file_name(key: &str) -> Option<&str> {
    let name = key.rsplit('/').next().unwrap_or(key);
    (!name.is_empty() && name != "." && name != ".." && !name.contains('\\')).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3flow::ErrorCode;

    #[test]
    fn bucket_and_key() {
        let uri = S3Uri::parse("s3://invoices/2026/a b+c?.pdf").unwrap();
        assert_eq!(uri.bucket.as_deref(), Some("invoices"));
        assert_eq!(uri.key.as_deref(), Some("2026/a b+c?.pdf"));
    }

    #[test]
    fn keys_are_taken_literally() {
        let uri = S3Uri::parse("s3://b//double//./x/../%41#frag").unwrap();
        assert_eq!(uri.key.as_deref(), Some("/double//./x/../%41#frag"));
    }

    #[test]
    fn bucket_alone() {
        assert_eq!(
            S3Uri::parse("s3://b").unwrap(),
            S3Uri {
                bucket: Some("b".into()),
                key: None
            }
        );
        assert_eq!(
            S3Uri::parse("s3://b/").unwrap(),
            S3Uri {
                bucket: Some("b".into()),
                key: None
            }
        );
        assert_eq!(
            S3Uri::parse("s3:///k").unwrap(),
            S3Uri {
                bucket: None,
                key: Some("k".into())
            }
        );
    }

    #[test]
    fn refusals_are_invalid_input() {
        for bad in ["/tmp/x", "https://b/k", "S3:/b/k", "b/k", ""] {
            assert_eq!(
                S3Uri::parse(bad).unwrap_err().code,
                ErrorCode::InvalidInput,
                "{bad}"
            );
        }
        assert_eq!(
            S3Uri::object("s3://b").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            S3Uri::object("s3://b/").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            S3Uri::bucket_only("s3://b/k").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(S3Uri::bucket_only("s3://b").unwrap(), Some("b".into()));
    }

    #[test]
    fn file_names_of_keys() {
        assert_eq!(key_file_name("a/b/report.pdf"), Some("report.pdf"));
        assert_eq!(key_file_name("report.pdf"), Some("report.pdf"));
        assert_eq!(key_file_name("a/"), None);
        assert_eq!(key_file_name("a/.."), None);
        assert_eq!(key_file_name("a/..\\x"), None);
    }
}
