//! Connection restrictions: `restrict_bucket` and `restrict_prefix`.
//!
//! Keys are compared literally: S3 never normalizes a key, but HTTP clients, proxies and
//! file-backed stores may, so a key with a `.` or `..` segment is treated as outside, and the
//! prefix is a folder (`tenant-a` means `tenant-a/`, so `tenant-ab/x` is outside).

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restriction {
    pub bucket: Option<String>,
    /// Always ends with `/`.
    pub prefix: Option<String>,
}

impl Restriction {
    pub fn new(bucket: Option<String>, prefix: Option<String>) -> Self {
        let prefix = prefix.map(|p| if p.ends_with('/') { p } else { format!("{p}/") });
        Restriction { bucket, prefix }
    }

    pub fn is_restricted(&self) -> bool {
        self.bucket.is_some() || self.prefix.is_some()
    }

    /// The bucket to use when the input leaves it out.
    pub fn bucket_or_default(&self, bucket: Option<&str>) -> Result<String> {
        match (bucket, &self.bucket) {
            (Some(bucket), _) if !bucket.is_empty() => Ok(bucket.to_owned()),
            (_, Some(restricted)) => Ok(restricted.clone()),
            _ => Err(Error::invalid_input("bucket: is required")),
        }
    }

    pub fn check_bucket(&self, bucket: &str) -> Result<()> {
        match &self.bucket {
            Some(allowed) if allowed != bucket => Err(Error::outside_restriction(format!(
                "bucket {bucket:?} is outside this connection's restriction to bucket {allowed:?}"
            ))),
            _ => Ok(()),
        }
    }

    /// A key that is read, written, deleted, copied or presigned.
    pub fn check_key(&self, bucket: &str, key: &str) -> Result<()> {
        self.check_bucket(bucket)?;
        if let Some(prefix) = &self.prefix {
            if !key.starts_with(prefix.as_str()) || has_dot_segment(key) {
                return Err(Error::outside_restriction(format!(
                    "key {key:?} is outside this connection's restriction to prefix {prefix:?}"
                )));
            }
        }
        Ok(())
    }

    /// A listing or folder prefix: must lie under the restriction; an absent prefix becomes it.
    pub fn scope_prefix(&self, bucket: &str, prefix: Option<&str>) -> Result<String> {
        self.check_bucket(bucket)?;
        let given = prefix.unwrap_or("");
        match &self.prefix {
            None => Ok(given.to_owned()),
            Some(allowed) if given.is_empty() => Ok(allowed.clone()),
            Some(allowed) => {
                if given.starts_with(allowed.as_str()) && !has_dot_segment(given) {
                    Ok(given.to_owned())
                } else {
                    Err(Error::outside_restriction(format!(
                        "prefix {given:?} is outside this connection's restriction to prefix {allowed:?}"
                    )))
                }
            }
        }
    }
}

fn has_dot_segment(key: &str) -> bool {
    key.split('/').any(|segment| segment == "." || segment == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefix_comparison() {
        let r = Restriction::new(Some("b1".into()), Some("tenant-a".into()));
        assert!(r.check_key("b1", "tenant-a/x.pdf").is_ok());
        assert!(r.check_key("b1", "tenant-a/deep/x").is_ok());
        for outside in ["tenant-ab/x", "tenant-a/../b", "tenant-a/./x", "tenant-a%2Fx", "x/tenant-a/y", "tenant-a", "/tenant-a/x"] {
            let err = r.check_key("b1", outside).unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::OutsideRestriction, "{outside}");
        }
        assert_eq!(r.check_key("b2", "tenant-a/x").unwrap_err().code, crate::ErrorCode::OutsideRestriction);
    }

    #[test]
    fn listing_scope() {
        let r = Restriction::new(None, Some("t/".into()));
        assert_eq!(r.scope_prefix("b", None).unwrap(), "t/");
        assert_eq!(r.scope_prefix("b", Some("t/x")).unwrap(), "t/x");
        assert!(r.scope_prefix("b", Some("u/")).is_err());
        assert_eq!(Restriction::default().scope_prefix("b", None).unwrap(), "");
    }

    #[test]
    fn default_bucket() {
        let r = Restriction::new(Some("only".into()), None);
        assert_eq!(r.bucket_or_default(None).unwrap(), "only");
        assert_eq!(Restriction::default().bucket_or_default(None).unwrap_err().code, crate::ErrorCode::InvalidInput);
    }
}
