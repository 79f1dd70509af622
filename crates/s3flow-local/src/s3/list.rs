//! ListObjectsV2 and ListObjects (v1), served from the bucket's ordered key index.

use std::ops::Bound;
use std::sync::Arc;

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::common::{decode_token, encode_token, owner, strong_etag, timestamp, url_encode};
use super::LocalS3;
use crate::store::meta::ObjectMeta;
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
        for (key, meta) in index.range::<str, _>((lower, Bound::Unbounded)) {
            // Keys sharing a prefix are contiguous in the index: the first one outside ends it.
            if !key.starts_with(params.prefix) {
                break;
            }
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
