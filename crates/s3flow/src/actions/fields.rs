//! Input fields shared by several actions: canned ACLs, storage classes, encryption,
//! metadata and tags, with their validation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A canned ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Acl {
    Private,
    PublicRead,
    PublicReadWrite,
    AuthenticatedRead,
    BucketOwnerRead,
    BucketOwnerFullControl,
}

impl Acl {
    pub fn object(self) -> aws_sdk_s3::types::ObjectCannedAcl {
        use aws_sdk_s3::types::ObjectCannedAcl as A;
        match self {
            Acl::Private => A::Private,
            Acl::PublicRead => A::PublicRead,
            Acl::PublicReadWrite => A::PublicReadWrite,
            Acl::AuthenticatedRead => A::AuthenticatedRead,
            Acl::BucketOwnerRead => A::BucketOwnerRead,
            Acl::BucketOwnerFullControl => A::BucketOwnerFullControl,
        }
    }

    pub fn bucket(self) -> Result<aws_sdk_s3::types::BucketCannedAcl> {
        use aws_sdk_s3::types::BucketCannedAcl as A;
        Ok(match self {
            Acl::Private => A::Private,
            Acl::PublicRead => A::PublicRead,
            Acl::PublicReadWrite => A::PublicReadWrite,
            Acl::AuthenticatedRead => A::AuthenticatedRead,
            Acl::BucketOwnerRead | Acl::BucketOwnerFullControl => {
                return Err(Error::invalid_input("acl: bucket-owner-* ACLs apply to objects, not buckets"))
            }
        })
    }
}

/// Server-side encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServerSideEncryption {
    #[serde(rename = "AES256")]
    Aes256,
    #[serde(rename = "aws:kms")]
    AwsKms,
}

impl ServerSideEncryption {
    pub fn sdk(self) -> aws_sdk_s3::types::ServerSideEncryption {
        match self {
            ServerSideEncryption::Aes256 => aws_sdk_s3::types::ServerSideEncryption::Aes256,
            ServerSideEncryption::AwsKms => aws_sdk_s3::types::ServerSideEncryption::AwsKms,
        }
    }
}

/// The storage classes S3 documents
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html#AmazonS3-PutObject-request-header-StorageClass>).
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
];

pub fn storage_class(value: Option<&str>) -> Result<Option<aws_sdk_s3::types::StorageClass>> {
    match value {
        None => Ok(None),
        Some(class) if STORAGE_CLASSES.contains(&class) => Ok(Some(class.into())),
        Some(class) => Err(Error::invalid_input(format!(
            "storage_class: {class:?} is not one of {}",
            STORAGE_CLASSES.join(", ")
        ))),
    }
}

/// User metadata travels as `x-amz-meta-*` headers: names are header tokens, values printable
/// ASCII (S3 would mangle anything else), 2 KB in all.
pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<()> {
    let mut total = 0;
    for (name, value) in metadata {
        let name_ok = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err(Error::invalid_input(format!(
                "metadata: name {name:?} may only hold letters, digits, '-', '_' and '.'"
            )));
        }
        if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(Error::invalid_input(format!(
                "metadata: the value of {name:?} must be printable ASCII"
            )));
        }
        total += name.len() + value.len();
    }
    if total > 2048 {
        return Err(Error::invalid_input("metadata: more than 2 KB in all"));
    }
    Ok(())
}

/// Tags: at most 10, keys up to 128 and values up to 256 characters.
pub fn validate_tags(tags: &BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 10 {
        return Err(Error::invalid_input("tags: at most 10 tags per object"));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(Error::invalid_input(format!(
                "tags: {key:?} — keys are 1 to 128 characters, values up to 256"
            )));
        }
    }
    Ok(())
}

/// Lower-cased S3 metadata (the SDK already strips `x-amz-meta-`).
pub fn metadata_map(metadata: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    metadata
        .map(|m| m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect())
        .unwrap_or_default()
}

/// ETags without their quotes.
pub fn etag(value: Option<&str>) -> Option<String> {
    value.map(|e| e.trim_matches('"').to_owned())
}

/// The bytes of an inline body: `text` as is, `base64` decoded (whitespace and line breaks
/// ignored: MIME tools wrap it at 76 columns), or `json` serialized; `None` when none is given.
/// Callers check first that at most one is.
pub fn inline_body(
    text: Option<&str>,
    base64: Option<&str>,
    json: Option<&serde_json::Value>,
) -> Result<Option<bytes::Bytes>> {
    use base64::Engine;
    if let Some(text) = text {
        return Ok(Some(bytes::Bytes::copy_from_slice(text.as_bytes())));
    }
    if let Some(encoded) = base64 {
        let cleaned: Vec<u8> = encoded.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        return base64::engine::general_purpose::STANDARD
            .decode(cleaned)
            .map(|bytes| Some(bytes.into()))
            .map_err(|e| Error::invalid_input(format!("base64: not valid base64: {e}")));
    }
    if let Some(json) = json {
        return serde_json::to_vec(json)
            .map(|bytes| Some(bytes.into()))
            .map_err(|e| Error::invalid_input(format!("json: {e}")));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn inline_bodies_decode_text_wrapped_base64_and_json() {
        let body = |t, b, j: Option<&serde_json::Value>| super::inline_body(t, b, j).map(|b| b.map(|b| b.to_vec()));
        assert_eq!(body(Some("hi"), None, None).unwrap(), Some(b"hi".to_vec()));
        assert_eq!(body(None, Some(" aGVs\r\nbG8=\n"), None).unwrap(), Some(b"hello".to_vec()));
        assert_eq!(body(None, None, Some(&serde_json::json!({"a": 1}))).unwrap(), Some(br#"{"a":1}"#.to_vec()));
        assert_eq!(body(None, None, None).unwrap(), None);
        let err = body(None, Some("not base64!!"), None).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidInput);
    }

    use super::*;

    #[test]
    fn metadata_rules() {
        assert!(validate_metadata(&BTreeMap::from([("invoice-id".into(), "INV 7".into())])).is_ok());
        assert!(validate_metadata(&BTreeMap::from([("bad name".into(), "x".into())])).is_err());
        assert!(validate_metadata(&BTreeMap::from([("a".into(), "caf\u{e9}".into())])).is_err());
        assert!(validate_metadata(&BTreeMap::from([("a".into(), "x\ny".into())])).is_err());
    }

    #[test]
    fn storage_classes() {
        assert!(storage_class(Some("STANDARD_IA")).unwrap().is_some());
        assert!(storage_class(Some("standard")).is_err());
    }
}
