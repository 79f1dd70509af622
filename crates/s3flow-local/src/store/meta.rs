//! The JSON documents kept next to the data files: one per object, per bucket, per
//! multipart upload and per uploaded part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `<bucket>/.bucket.json`: its presence marks a directory as a bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketMeta {
    pub name: String,
    #[serde(with = "rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    /// `Enabled` or `Suspended`; absent while versioning was never enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
}

/// What an object carries besides its bytes; set by PutObject / CreateMultipartUpload /
/// CopyObject (REPLACE) and kept by CopyObject (COPY).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectAttrs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub expires: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_redirect_location: Option<String>,
    /// User metadata (`x-amz-meta-*`), names lower-cased as HTTP delivers them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_side_encryption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssekms_key_id: Option<String>,
}

/// One object tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagPair {
    pub key: String,
    pub value: String,
}

/// Full-object checksums (base64, as S3 sends them) computed or verified at upload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksums {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `FULL_OBJECT` when a multipart upload asked for a whole-object checksum; `None` for a
    /// PUT (whose checksums always cover the whole object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_type: Option<String>,
}

impl Checksums {
    pub fn from_dto(c: s3s::dto::Checksum) -> Self {
        Self {
            crc32: c.checksum_crc32,
            crc32c: c.checksum_crc32c,
            crc64nvme: c.checksum_crc64nvme,
            sha1: c.checksum_sha1,
            sha256: c.checksum_sha256,
            checksum_type: None,
        }
    }
}

/// `objects/<sha256(key)>.meta.json` (the latest version of a key) and
/// `versions/<sha256(key)>/<version-id>.meta.json` (older versions): the object's key and
/// everything S3 returns about it. A delete marker is a version without data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    /// Version id; `None` is the `null` version (unversioned or suspended bucket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// A delete marker: no data, `size` 0, no ETag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// Creation stamp (see `version::next_stamp`): orders the versions of a key, newest
    /// highest. 0 for objects stored before versioning existed here.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
    /// File name (in the bucket's `objects/` folder) of the immutable data file; empty for a
    /// delete marker.
    #[serde(default)]
    pub data_file: String,
    pub size: u64,
    /// ETag without quotes: MD5 hex, or `<md5 of part md5s>-<N>` after multipart.
    pub etag: String,
    #[serde(with = "rfc3339")]
    pub last_modified: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_count: Option<u32>,
    /// Sizes of the parts of a multipart object, for `GET ?partNumber=N`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
    #[serde(flatten)]
    pub attrs: ObjectAttrs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagPair>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    #[serde(default)]
    pub checksums: Checksums,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes `&T`
fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl ObjectMeta {
    /// The version id as S3 spells it (`null` for the null version).
    pub fn version(&self) -> &str {
        self.version_id
            .as_deref()
            .unwrap_or(super::version::NULL_VERSION)
    }

    /// A delete marker for `key`.
    pub fn new_delete_marker(key: String) -> Self {
        Self {
            key,
            version_id: None,
            delete_marker: true,
            seq: 0,
            data_file: String::new(),
            size: 0,
            etag: String::new(),
            last_modified: now_seconds(),
            parts_count: None,
            part_sizes: Vec::new(),
            attrs: ObjectAttrs::default(),
            tags: Vec::new(),
            acl: None,
            checksums: Checksums::default(),
        }
    }
}

/// `uploads/<upload-id>/upload.json`: a multipart upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadMeta {
    pub upload_id: String,
    pub key: String,
    #[serde(with = "rfc3339")]
    pub initiated: OffsetDateTime,
    #[serde(flatten)]
    pub attrs: ObjectAttrs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagPair>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
}

/// `uploads/<upload-id>/<part-number>.json`: one uploaded part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartMeta {
    pub part_number: i32,
    pub data_file: String,
    pub size: u64,
    /// MD5 hex of the part, no quotes.
    pub etag: String,
    #[serde(with = "rfc3339")]
    pub last_modified: OffsetDateTime,
}

/// The current time truncated to whole seconds: Last-Modified travels as an HTTP date, so a
/// sub-second stored value would make `If-Modified-Since: <our own Last-Modified>` misfire.
pub fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

mod rfc3339 {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(value: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = value.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use serde::{Deserialize as _, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    #[allow(clippy::ref_option)] // serde's `with` passes `&Option<T>`
    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => super::rfc3339::serialize(value, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| OffsetDateTime::parse(&t, &Rfc3339).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_meta_round_trips_through_json() {
        let meta = ObjectMeta {
            key: "a//b/../ c+d%".to_owned(),
            version_id: Some("0123456789abcdef0123456789abcdef".to_owned()),
            delete_marker: false,
            seq: 42,
            data_file: "x.data".to_owned(),
            size: 3,
            etag: "abc".to_owned(),
            last_modified: now_seconds(),
            parts_count: None,
            part_sizes: Vec::new(),
            attrs: ObjectAttrs {
                content_type: Some("text/plain".to_owned()),
                expires: Some(now_seconds()),
                metadata: [("k".to_owned(), "v".to_owned())].into(),
                ..ObjectAttrs::default()
            },
            tags: vec![TagPair {
                key: "t".to_owned(),
                value: "u".to_owned(),
            }],
            acl: Some("private".to_owned()),
            checksums: Checksums::default(),
        };
        let json = serde_json::to_string(&meta).unwrap();
        let back: ObjectMeta = serde_json::from_str(&json).unwrap();
        assert_eq!(back.key, meta.key);
        assert_eq!(back.last_modified, meta.last_modified);
        assert_eq!(back.attrs, meta.attrs);
        assert_eq!(back.tags, meta.tags);
        assert_eq!(back.version_id, meta.version_id);
        assert_eq!(back.seq, 42);
    }

    #[test]
    fn documents_from_before_versioning_are_null_versions() {
        let json = r#"{"key":"k","data_file":"x.data","size":1,"etag":"e",
            "last_modified":"2024-01-01T00:00:00Z"}"#;
        let meta: ObjectMeta = serde_json::from_str(json).unwrap();
        assert_eq!(meta.version(), "null");
        assert!(!meta.delete_marker);
        assert_eq!(meta.seq, 0);
        let marker = ObjectMeta::new_delete_marker("k".to_owned());
        let json = serde_json::to_string(&marker).unwrap();
        let back: ObjectMeta = serde_json::from_str(&json).unwrap();
        assert!(back.delete_marker && back.data_file.is_empty());
    }
}
