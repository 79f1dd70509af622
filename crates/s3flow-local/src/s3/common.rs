//! Pieces shared by several actions: owner, validation of names/tags/ACLs/storage classes,
//! conditional requests, checksums and listing encodings.

use std::collections::BTreeMap;

use base64::Engine as _;
use http::HeaderMap;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3s::dto::{
    ChecksumAlgorithm, ETag, ETagCondition, ObjectCannedACL, Owner, StorageClass, Timestamp,
};
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use time::OffsetDateTime;

use crate::store::files::key_hash;
use crate::store::meta::{Checksums, ObjectMeta, TagPair};

/// Content type S3 gives an object uploaded without one.
pub const DEFAULT_CONTENT_TYPE: &str = "binary/octet-stream";

/// Display name of the only account.
pub const OWNER_NAME: &str = "s3flow-local";

/// S3 limits on tags (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html>).
const MAX_TAGS: usize = 10;
const MAX_TAG_KEY_CHARS: usize = 128;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// The owner of every bucket and object: a canonical-user-like id derived from the name.
pub fn owner() -> Owner {
    Owner {
        display_name: Some(OWNER_NAME.to_owned()),
        id: Some(key_hash(OWNER_NAME)),
    }
}

pub fn strong_etag(value: &str) -> ETag {
    ETag::Strong(value.to_owned())
}

pub fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from(t)
}

/// Bucket naming rules beyond what s3s checks on every request (length, characters, no IP
/// address, no `..`, no `xn--`): the reserved prefixes and suffixes
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html>).
pub fn check_new_bucket_name(name: &str) -> S3Result<()> {
    let reserved = name.starts_with("sthree-")
        || name.starts_with("amzn-s3-demo-")
        || name.ends_with("-s3alias")
        || name.ends_with("--ol-s3")
        || name.ends_with(".mrap")
        || name.ends_with("--x-s3")
        || name.ends_with("--table-s3");
    if !s3s::path::check_bucket_name(name) || reserved || name.contains(".-") || name.contains("-.")
    {
        return Err(s3_error!(
            InvalidBucketName,
            "The specified bucket is not valid."
        ));
    }
    Ok(())
}

pub fn check_storage_class(class: Option<&StorageClass>) -> S3Result<Option<String>> {
    let Some(class) = class else { return Ok(None) };
    const KNOWN: &[&str] = &[
        StorageClass::STANDARD,
        StorageClass::REDUCED_REDUNDANCY,
        StorageClass::STANDARD_IA,
        StorageClass::ONEZONE_IA,
        StorageClass::INTELLIGENT_TIERING,
        StorageClass::GLACIER,
        StorageClass::DEEP_ARCHIVE,
        StorageClass::GLACIER_IR,
        StorageClass::OUTPOSTS,
        StorageClass::SNOW,
        StorageClass::EXPRESS_ONEZONE,
    ];
    if KNOWN.contains(&class.as_str()) {
        Ok(Some(class.as_str().to_owned()))
    } else {
        Err(s3_error!(
            InvalidStorageClass,
            "The storage class you specified is not valid"
        ))
    }
}

pub fn check_canned_acl(acl: Option<&ObjectCannedACL>) -> S3Result<Option<String>> {
    let Some(acl) = acl else { return Ok(None) };
    const KNOWN: &[&str] = &[
        ObjectCannedACL::PRIVATE,
        ObjectCannedACL::PUBLIC_READ,
        ObjectCannedACL::PUBLIC_READ_WRITE,
        ObjectCannedACL::AUTHENTICATED_READ,
        ObjectCannedACL::AWS_EXEC_READ,
        ObjectCannedACL::BUCKET_OWNER_READ,
        ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL,
    ];
    if KNOWN.contains(&acl.as_str()) {
        Ok(Some(acl.as_str().to_owned()))
    } else {
        Err(s3_error!(InvalidArgument, "Unknown canned ACL"))
    }
}

/// Parses `x-amz-tagging` (`k1=v1&k2=v2`, URL-query encoded, so `+` is a space); no header,
/// no tags.
pub fn parse_tagging_header(header: Option<&str>) -> S3Result<Vec<TagPair>> {
    let Some(header) = header else {
        return Ok(Vec::new());
    };
    let decode = |s: &str| -> S3Result<String> {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| s3_error!(InvalidTag, "The tag header is not valid UTF-8"))
    };
    let mut tags = Vec::new();
    for pair in header.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        tags.push(TagPair {
            key: decode(key)?,
            value: decode(value)?,
        });
    }
    check_tags(&tags)?;
    Ok(tags)
}

pub fn tags_from_dto(tag_set: Vec<s3s::dto::Tag>) -> S3Result<Vec<TagPair>> {
    let tags = tag_set
        .into_iter()
        .map(|t| TagPair {
            key: t.key.unwrap_or_default(),
            value: t.value.unwrap_or_default(),
        })
        .collect::<Vec<_>>();
    check_tags(&tags)?;
    Ok(tags)
}

pub fn tags_to_dto(tags: &[TagPair]) -> Vec<s3s::dto::Tag> {
    tags.iter()
        .map(|t| s3s::dto::Tag {
            key: Some(t.key.clone()),
            value: Some(t.value.clone()),
        })
        .collect()
}

fn check_tags(tags: &[TagPair]) -> S3Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(s3_error!(
            InvalidTag,
            "Object tags cannot be greater than 10"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > MAX_TAG_KEY_CHARS {
            return Err(s3_error!(
                InvalidTag,
                "The TagKey you have provided is invalid"
            ));
        }
        if tag.value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(s3_error!(
                InvalidTag,
                "The TagValue you have provided is invalid"
            ));
        }
        if !seen.insert(tag.key.as_str()) {
            return Err(s3_error!(
                InvalidTag,
                "Cannot provide multiple Tags with the same key"
            ));
        }
    }
    Ok(())
}

/// The attributes PutObject, CreateMultipartUpload and CopyObject (REPLACE) give an object:
/// the three s3s input types share these field names. Storage class and encryption are
/// passed in, as each request checks (or ignores) them its own way.
macro_rules! object_attrs {
    ($input:ident, storage_class: $class:expr, server_side_encryption: $sse:expr, ssekms_key_id: $kms:expr $(,)?) => {
        $crate::store::meta::ObjectAttrs {
            content_type: Some(
                $input
                    .content_type
                    .unwrap_or_else(|| $crate::s3::common::DEFAULT_CONTENT_TYPE.to_owned()),
            ),
            content_encoding: $input.content_encoding,
            content_disposition: $input.content_disposition,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires.map(Into::into),
            website_redirect_location: $input.website_redirect_location,
            metadata: $crate::s3::common::metadata_to_map($input.metadata),
            storage_class: $class,
            server_side_encryption: $sse,
            ssekms_key_id: $kms,
        }
    };
}
pub(crate) use object_attrs;

pub fn metadata_to_map(metadata: Option<s3s::dto::Metadata>) -> BTreeMap<String, String> {
    metadata
        .map(|m| m.into_iter().collect())
        .unwrap_or_default()
}

pub fn metadata_to_dto(metadata: &BTreeMap<String, String>) -> Option<s3s::dto::Metadata> {
    (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

fn etag_matches(condition: &ETagCondition, etag: &str) -> bool {
    match condition {
        ETagCondition::Any => true,
        ETagCondition::ETag(candidate) => candidate.value() == etag,
    }
}

/// The conditional headers of a read, as S3 evaluates them
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html>): a failed
/// `If-Match` or `If-Unmodified-Since` is 412; a matching `If-None-Match` or an unmet
/// `If-Modified-Since` is 304. `If-Match` success overrides `If-Unmodified-Since`, and
/// `If-None-Match` decides alone when present.
pub struct ReadConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

impl ReadConditions<'_> {
    pub fn check(&self, meta: &ObjectMeta, not_modified: S3ErrorCode) -> S3Result<()> {
        let last_modified = Timestamp::from(meta.last_modified);
        match self.if_match {
            Some(cond) => {
                if !etag_matches(cond, &meta.etag) {
                    return Err(s3_error!(
                        PreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold"
                    ));
                }
            }
            None => {
                if self
                    .if_unmodified_since
                    .is_some_and(|since| last_modified > *since)
                {
                    return Err(s3_error!(
                        PreconditionFailed,
                        "At least one of the pre-conditions you specified did not hold"
                    ));
                }
            }
        }
        match self.if_none_match {
            Some(cond) => {
                if etag_matches(cond, &meta.etag) {
                    return Err(S3Error::new(not_modified));
                }
            }
            None => {
                if self
                    .if_modified_since
                    .is_some_and(|since| last_modified <= *since)
                {
                    return Err(S3Error::new(not_modified));
                }
            }
        }
        Ok(())
    }
}

/// Conditions of a write (`If-None-Match: *` to create only, `If-Match` to replace only a
/// known version).
pub fn check_write_conditions(
    existing: Option<&ObjectMeta>,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<()> {
    if let (Some(cond), Some(existing)) = (if_none_match, existing) {
        if etag_matches(cond, &existing.etag) {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
    }
    if let Some(cond) = if_match {
        match existing {
            Some(existing) if etag_matches(cond, &existing.etag) => {}
            Some(_) => {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ))
            }
            None => return Err(crate::store::no_such_key()),
        }
    }
    Ok(())
}

/// The checksums a client announced for a body: values in headers, the algorithm named by
/// `x-amz-sdk-checksum-algorithm`, and the one whose value comes in the `aws-chunked` trailer
/// (`x-amz-trailer`, what the AWS SDKs send by default).
#[derive(Default)]
pub struct ExpectedChecksums {
    pub values: Checksums,
    pub algorithms: Vec<&'static str>,
}

const ALGORITHMS: &[(&str, &str)] = &[
    (ChecksumAlgorithm::CRC32, "x-amz-checksum-crc32"),
    (ChecksumAlgorithm::CRC32C, "x-amz-checksum-crc32c"),
    (ChecksumAlgorithm::CRC64NVME, "x-amz-checksum-crc64nvme"),
    (ChecksumAlgorithm::SHA1, "x-amz-checksum-sha1"),
    (ChecksumAlgorithm::SHA256, "x-amz-checksum-sha256"),
];

impl ExpectedChecksums {
    pub fn new(
        values: Checksums,
        algorithm: Option<&ChecksumAlgorithm>,
        headers: &HeaderMap,
    ) -> S3Result<Self> {
        let mut algorithms = Vec::new();
        let mut enable = |name: &str| -> S3Result<()> {
            let upper = name.to_ascii_uppercase();
            let found = ALGORITHMS
                .iter()
                .find(|(alg, header)| *alg == upper || header.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    s3_error!(InvalidRequest, "Unsupported checksum algorithm: {name}")
                })?;
            if !algorithms.contains(&found.0) {
                algorithms.push(found.0);
            }
            Ok(())
        };
        for (alg, value) in [
            (ChecksumAlgorithm::CRC32, &values.crc32),
            (ChecksumAlgorithm::CRC32C, &values.crc32c),
            (ChecksumAlgorithm::CRC64NVME, &values.crc64nvme),
            (ChecksumAlgorithm::SHA1, &values.sha1),
            (ChecksumAlgorithm::SHA256, &values.sha256),
        ] {
            if value.is_some() {
                enable(alg)?;
            }
        }
        if let Some(algorithm) = algorithm {
            enable(algorithm.as_str())?;
        }
        for trailer in headers.get_all("x-amz-trailer") {
            let trailer = trailer
                .to_str()
                .map_err(|_| s3_error!(InvalidRequest, "invalid x-amz-trailer"))?;
            for name in trailer.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                enable(name)?;
            }
        }
        Ok(Self { values, algorithms })
    }

    pub fn hasher(&self) -> s3s::checksum::ChecksumHasher {
        let mut hasher = s3s::checksum::ChecksumHasher::default();
        for alg in &self.algorithms {
            match *alg {
                ChecksumAlgorithm::CRC32 => hasher.crc32 = Some(Default::default()),
                ChecksumAlgorithm::CRC32C => hasher.crc32c = Some(Default::default()),
                ChecksumAlgorithm::CRC64NVME => hasher.crc64nvme = Some(Default::default()),
                ChecksumAlgorithm::SHA1 => hasher.sha1 = Some(s3s::crypto::Checksum::new()),
                ChecksumAlgorithm::SHA256 => hasher.sha256 = Some(s3s::crypto::Checksum::new()),
                _ => {}
            }
        }
        hasher
    }

    /// Compares what was computed with what the client sent (headers, then trailer values,
    /// available once the body was read). Returns the computed checksums to store.
    pub fn verify(
        mut self,
        computed: s3s::dto::Checksum,
        trailers: Option<&s3s::TrailingHeaders>,
    ) -> S3Result<Checksums> {
        if let Some(trailers) = trailers.and_then(s3s::TrailingHeaders::take) {
            let get = |name: &str| {
                trailers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let v = &mut self.values;
            v.crc32 = v.crc32.take().or_else(|| get("x-amz-checksum-crc32"));
            v.crc32c = v.crc32c.take().or_else(|| get("x-amz-checksum-crc32c"));
            v.crc64nvme = v
                .crc64nvme
                .take()
                .or_else(|| get("x-amz-checksum-crc64nvme"));
            v.sha1 = v.sha1.take().or_else(|| get("x-amz-checksum-sha1"));
            v.sha256 = v.sha256.take().or_else(|| get("x-amz-checksum-sha256"));
        }
        let computed = Checksums::from_dto(computed);
        for (name, expected, actual) in [
            ("CRC32", &self.values.crc32, &computed.crc32),
            ("CRC32C", &self.values.crc32c, &computed.crc32c),
            ("CRC64NVME", &self.values.crc64nvme, &computed.crc64nvme),
            ("SHA1", &self.values.sha1, &computed.sha1),
            ("SHA256", &self.values.sha256, &computed.sha256),
        ] {
            if expected.is_some() && expected != actual {
                return Err(s3_error!(
                    BadDigest,
                    "The {name} you specified did not match the calculated checksum."
                ));
            }
        }
        Ok(computed)
    }
}

/// Checks a `Content-MD5` header (base64 of the binary MD5) against the received body.
pub fn check_content_md5(content_md5: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    let Some(content_md5) = content_md5 else {
        return Ok(());
    };
    let expected = base64::engine::general_purpose::STANDARD
        .decode(content_md5.trim())
        .map_err(|_| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if expected.len() != 16 {
        return Err(s3_error!(
            InvalidDigest,
            "The Content-MD5 you specified was invalid."
        ));
    }
    if expected != md5 {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}

/// Characters `encoding-type=url` leaves as they are: RFC 3986 unreserved plus `/`, as S3
/// does. `+` and space are encoded, so both `unquote` and `unquote_plus` decoders get the key
/// back exactly.
const URL_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_ENCODE_SET).to_string()
}

/// Opaque continuation tokens: the last key (or common prefix) returned.
pub fn encode_token(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.as_bytes())
}

pub fn decode_token(token: &str) -> S3Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "The continuation token provided is incorrect"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_header_is_query_encoded() {
        let tags = parse_tagging_header(Some("a=1&b%20c=d+e&empty=&f=%2B")).unwrap();
        let pairs: Vec<(&str, &str)> = tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [("a", "1"), ("b c", "d e"), ("empty", ""), ("f", "+")]
        );
    }

    #[test]
    fn duplicate_and_oversized_tags_are_refused() {
        assert!(parse_tagging_header(Some("a=1&a=2")).is_err());
        let many = (0..11)
            .map(|i| format!("k{i}=v"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(parse_tagging_header(Some(&many)).is_err());
    }

    #[test]
    fn url_encoding_keeps_slashes_and_escapes_the_rest() {
        assert_eq!(url_encode("a b+c/ü%"), "a%20b%2Bc/%C3%BC%25");
    }

    #[test]
    fn tokens_round_trip() {
        let key = "dir//ü +/x";
        assert_eq!(decode_token(&encode_token(key)).unwrap(), key);
        assert!(decode_token("!!!").is_err());
    }

    #[test]
    fn reserved_bucket_names_are_refused() {
        assert!(check_new_bucket_name("my-bucket").is_ok());
        assert!(check_new_bucket_name("sthree-x").is_err());
        assert!(check_new_bucket_name("abc-s3alias").is_err());
        assert!(check_new_bucket_name("Upper").is_err());
        assert!(check_new_bucket_name("192.168.1.1").is_err());
        assert!(check_new_bucket_name("ab").is_err());
    }
}
