//! ListObjectsV2, ListObjects (v1) and ListObjectVersions, served from the bucket's ordered
//! key index.

use std::ops::Bound;
use std::sync::Arc;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::common::{decode_token, encode_token, owner, strong_etag, timestamp, url_encode};
use super::LocalS3;
use crate::store::meta::ObjectMeta;
use crate::store::version::{invalid_version_id, is_valid_version_id, stamp_of};
use crate::store::Bucket;

/// S3 never returns more than 1,000 entries per page.
const MAX_KEYS: usize = 1000;

struct ListParams<'a> {
    prefix: &'a str,
    delimiter: Option<&'a str>,
    /// Resume strictly after this key or common prefix.
    after: Option<&'a str>,
    max_keys: usize,
}

struct ListPage {
    objects: Vec<Arc<ObjectMeta>>,
    prefixes: Vec<String>,
    is_truncated: bool,
    /// The last entry returned (key or common prefix): where the next page starts.
    last: Option<String>,
}

/// The common prefix `key` rolls up into, if any.
fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let delimiter = delimiter?;
    let rest = key.strip_prefix(prefix)?;
    let at = rest.find(delimiter)?;
    Some(&key[..prefix.len() + at + delimiter.len()])
}

fn list_page(bucket: &Bucket, params: &ListParams<'_>) -> ListPage {
    let mut page = ListPage {
        objects: Vec::new(),
        prefixes: Vec::new(),
        is_truncated: false,
        last: None,
    };
    bucket.with_index(|index| {
        let lower = match params.after {
            Some(after) if after >= params.prefix => Bound::Excluded(after),
            _ => Bound::Included(params.prefix),
        };
        // When resuming after a common prefix, the keys under it were already rolled up.
        let mut last_prefix: Option<&str> = params
            .after
            .filter(|after| common_prefix(after, params.prefix, params.delimiter) == Some(*after));
        let mut count = 0;
        for (key, versions) in index.range::<str, _>((lower, Bound::Unbounded)) {
            // Keys sharing a prefix are contiguous in the index: the first one outside ends it.
            if !key.starts_with(params.prefix) {
                break;
            }
            // Only current objects are listed: a key whose latest version is a delete marker
            // (or that has only older versions) is absent, from common prefixes too.
            let Some(meta) = versions.current() else {
                continue;
            };
            let rolled_up = common_prefix(key, params.prefix, params.delimiter);
            if rolled_up.is_some() && rolled_up == last_prefix {
                continue;
            }
            if count == params.max_keys {
                page.is_truncated = params.max_keys > 0;
                break;
            }
            count += 1;
            if let Some(cp) = rolled_up {
                page.prefixes.push(cp.to_owned());
                page.last = Some(cp.to_owned());
                last_prefix = Some(cp);
            } else {
                page.objects.push(Arc::clone(meta));
                page.last = Some(key.clone());
            }
        }
    });
    page
}

struct VersionParams<'a> {
    prefix: &'a str,
    delimiter: Option<&'a str>,
    /// Resume after this key (or common prefix)…
    key_marker: Option<&'a str>,
    /// …or, with a key marker, after this version of that key.
    version_marker: Option<&'a str>,
    max_keys: usize,
}

struct VersionPage {
    /// Versions and delete markers, each with its IsLatest flag, in listing order.
    entries: Vec<(Arc<ObjectMeta>, bool)>,
    prefixes: Vec<String>,
    is_truncated: bool,
    next_key_marker: Option<String>,
    next_version_marker: Option<String>,
}

/// Where listing resumes in a key's versions (newest first) after `marker`. A marker that is
/// gone (deleted between two pages) resumes by its stamp.
fn resume_after(versions: &[Arc<ObjectMeta>], marker: &str) -> usize {
    if let Some(pos) = versions.iter().position(|m| m.version() == marker) {
        return pos + 1;
    }
    match stamp_of(marker) {
        Some(stamp) => versions
            .iter()
            .position(|m| m.seq < stamp)
            .unwrap_or(versions.len()),
        None => versions.len(),
    }
}

fn list_versions_page(bucket: &Bucket, params: &VersionParams<'_>) -> VersionPage {
    let mut page = VersionPage {
        entries: Vec::new(),
        prefixes: Vec::new(),
        is_truncated: false,
        next_key_marker: None,
        next_version_marker: None,
    };
    bucket.with_index(|index| {
        let lower = match params.key_marker {
            Some(marker) if marker >= params.prefix => {
                if params.version_marker.is_some() {
                    Bound::Included(marker)
                } else {
                    Bound::Excluded(marker)
                }
            }
            _ => Bound::Included(params.prefix),
        };
        let mut last_prefix: Option<&str> = params.key_marker.filter(|marker| {
            common_prefix(marker, params.prefix, params.delimiter) == Some(*marker)
        });
        let mut count = 0;
        'keys: for (key, versions) in index.range::<str, _>((lower, Bound::Unbounded)) {
            if !key.starts_with(params.prefix) {
                break;
            }
            let rolled_up = common_prefix(key, params.prefix, params.delimiter);
            if let Some(cp) = rolled_up {
                if Some(cp) == last_prefix {
                    continue;
                }
                if count == params.max_keys {
                    page.is_truncated = params.max_keys > 0;
                    break;
                }
                count += 1;
                page.prefixes.push(cp.to_owned());
                page.next_key_marker = Some(cp.to_owned());
                page.next_version_marker = None;
                last_prefix = Some(cp);
                continue;
            }
            let all = versions.all();
            let start = match (params.key_marker, params.version_marker) {
                (Some(marker), Some(version)) if marker == key => resume_after(all, version),
                _ => 0,
            };
            for (i, meta) in all.iter().enumerate().skip(start) {
                if count == params.max_keys {
                    page.is_truncated = params.max_keys > 0;
                    break 'keys;
                }
                count += 1;
                page.entries.push((Arc::clone(meta), i == 0));
                page.next_key_marker = Some(key.clone());
                page.next_version_marker = Some(meta.version().to_owned());
            }
        }
    });
    if !page.is_truncated {
        page.next_key_marker = None;
        page.next_version_marker = None;
    }
    page
}

fn max_keys(requested: Option<i32>) -> S3Result<usize> {
    match requested {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must be non-negative")),
        Some(n) => Ok(usize::try_from(n).unwrap_or(MAX_KEYS).min(MAX_KEYS)),
    }
}

fn wants_url_encoding(encoding_type: Option<&EncodingType>) -> S3Result<bool> {
    match encoding_type {
        None => Ok(false),
        Some(e) if e.as_str() == EncodingType::URL => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

/// Wire form of a key or prefix: as is, or URL-encoded when the client asked.
fn wire(url: bool, s: &str) -> String {
    if url {
        url_encode(s)
    } else {
        s.to_owned()
    }
}

fn object_entry(meta: &ObjectMeta, url: bool, with_owner: bool) -> Object {
    Object {
        key: Some(wire(url, &meta.key)),
        size: i64::try_from(meta.size).ok(),
        e_tag: Some(strong_etag(&meta.etag)),
        last_modified: Some(timestamp(meta.last_modified)),
        storage_class: Some(ObjectStorageClass::from(
            meta.attrs
                .storage_class
                .clone()
                .unwrap_or_else(|| ObjectStorageClass::STANDARD.to_owned()),
        )),
        owner: with_owner.then(owner),
        ..Default::default()
    }
}

fn delimiter(d: Option<&String>) -> Option<&str> {
    d.map(String::as_str).filter(|d| !d.is_empty())
}

impl LocalS3 {
    pub(super) fn do_list_objects_v2(
        &self,
        req: &S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let url = wants_url_encoding(input.encoding_type.as_ref())?;
        let token = input
            .continuation_token
            .as_deref()
            .map(decode_token)
            .transpose()?;
        // A continuation token supersedes StartAfter.
        let after = token
            .as_deref()
            .or(input.start_after.as_deref())
            .filter(|a| !a.is_empty());
        let params = ListParams {
            prefix: input.prefix.as_deref().unwrap_or(""),
            delimiter: delimiter(input.delimiter.as_ref()),
            after,
            max_keys: max_keys(input.max_keys)?,
        };
        let page = list_page(&bucket, &params);
        let with_owner = input.fetch_owner.unwrap_or(false);
        let key_count = page.objects.len() + page.prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket.clone()),
            prefix: Some(wire(url, params.prefix)),
            delimiter: input.delimiter.as_deref().map(|d| wire(url, d)),
            max_keys: input.max_keys.or(Some(1000)),
            key_count: i32::try_from(key_count).ok(),
            continuation_token: input.continuation_token.clone(),
            start_after: input.start_after.as_deref().map(|s| wire(url, s)),
            is_truncated: Some(page.is_truncated),
            next_continuation_token: page
                .is_truncated
                .then(|| page.last.as_deref().map(encode_token))
                .flatten(),
            contents: Some(
                page.objects
                    .iter()
                    .map(|m| object_entry(m, url, with_owner))
                    .collect(),
            ),
            common_prefixes: Some(
                page.prefixes
                    .iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(wire(url, p)),
                    })
                    .collect(),
            ),
            encoding_type: input.encoding_type.clone(),
            request_charged: None,
        }))
    }

    pub(super) fn do_list_objects(
        &self,
        req: &S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let url = wants_url_encoding(input.encoding_type.as_ref())?;
        let params = ListParams {
            prefix: input.prefix.as_deref().unwrap_or(""),
            delimiter: delimiter(input.delimiter.as_ref()),
            after: input.marker.as_deref().filter(|m| !m.is_empty()),
            max_keys: max_keys(input.max_keys)?,
        };
        let page = list_page(&bucket, &params);
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket.clone()),
            prefix: Some(wire(url, params.prefix)),
            delimiter: input.delimiter.as_deref().map(|d| wire(url, d)),
            marker: Some(
                input
                    .marker
                    .as_deref()
                    .map(|m| wire(url, m))
                    .unwrap_or_default(),
            ),
            max_keys: input.max_keys.or(Some(1000)),
            is_truncated: Some(page.is_truncated),
            // S3 sends NextMarker only with a delimiter; sending it always is harmless and
            // spares clients from deriving it.
            next_marker: page
                .is_truncated
                .then(|| page.last.as_deref().map(|l| wire(url, l)))
                .flatten(),
            contents: Some(
                page.objects
                    .iter()
                    .map(|m| object_entry(m, url, true))
                    .collect(),
            ),
            common_prefixes: Some(
                page.prefixes
                    .iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(wire(url, p)),
                    })
                    .collect(),
            ),
            encoding_type: input.encoding_type.clone(),
            request_charged: None,
        }))
    }
}

impl LocalS3 {
    pub(super) fn do_list_object_versions(
        &self,
        req: &S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let url = wants_url_encoding(input.encoding_type.as_ref())?;
        let key_marker = input.key_marker.as_deref().filter(|m| !m.is_empty());
        let version_marker = input.version_id_marker.as_deref().filter(|m| !m.is_empty());
        if let Some(version) = version_marker {
            if key_marker.is_none() {
                return Err(s3_error!(
                    InvalidArgument,
                    "A version-id marker cannot be specified without a key marker."
                ));
            }
            if !is_valid_version_id(version) {
                return Err(invalid_version_id());
            }
        }
        let params = VersionParams {
            prefix: input.prefix.as_deref().unwrap_or(""),
            delimiter: delimiter(input.delimiter.as_ref()),
            key_marker,
            version_marker,
            max_keys: max_keys(input.max_keys)?,
        };
        let page = list_versions_page(&bucket, &params);
        let mut versions = Vec::new();
        let mut delete_markers = Vec::new();
        for (meta, is_latest) in &page.entries {
            if meta.delete_marker {
                delete_markers.push(DeleteMarkerEntry {
                    is_latest: Some(*is_latest),
                    key: Some(wire(url, &meta.key)),
                    last_modified: Some(timestamp(meta.last_modified)),
                    owner: Some(owner()),
                    version_id: Some(meta.version().to_owned()),
                });
            } else {
                versions.push(ObjectVersion {
                    e_tag: Some(strong_etag(&meta.etag)),
                    is_latest: Some(*is_latest),
                    key: Some(wire(url, &meta.key)),
                    last_modified: Some(timestamp(meta.last_modified)),
                    owner: Some(owner()),
                    size: i64::try_from(meta.size).ok(),
                    storage_class: Some(ObjectVersionStorageClass::from(
                        meta.attrs
                            .storage_class
                            .clone()
                            .unwrap_or_else(|| ObjectVersionStorageClass::STANDARD.to_owned()),
                    )),
                    version_id: Some(meta.version().to_owned()),
                    ..Default::default()
                });
            }
        }
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket.clone()),
            prefix: Some(wire(url, params.prefix)),
            delimiter: input.delimiter.as_deref().map(|d| wire(url, d)),
            key_marker: Some(key_marker.map(|m| wire(url, m)).unwrap_or_default()),
            version_id_marker: Some(version_marker.unwrap_or_default().to_owned()),
            max_keys: input.max_keys.or(Some(1000)),
            is_truncated: Some(page.is_truncated),
            next_key_marker: page.next_key_marker.as_deref().map(|k| wire(url, k)),
            next_version_id_marker: page.next_version_marker,
            versions: Some(versions),
            delete_markers: Some(delete_markers),
            common_prefixes: Some(
                page.prefixes
                    .iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(wire(url, p)),
                    })
                    .collect(),
            ),
            encoding_type: input.encoding_type.clone(),
            request_charged: None,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes_roll_up_at_the_first_delimiter() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a//b", "a/", Some("/")), Some("a//"));
        assert_eq!(common_prefix("abc", "", Some("/")), None);
        assert_eq!(common_prefix("a/b", "", None), None);
        assert_eq!(common_prefix("x--y--z", "", Some("--")), Some("x--"));
    }
}
