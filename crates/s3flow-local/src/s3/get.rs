//! GetObject and HeadObject: conditional requests, ranges, part numbers; the body streams
//! from the data file.

use std::io::SeekFrom;

use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};
use tokio::io::AsyncSeekExt as _;

use super::common::{metadata_to_dto, strong_etag, timestamp, ReadConditions};
use super::LocalS3;
use crate::store::files::FileBody;
use crate::store::internal;
use crate::store::meta::ObjectMeta;

/// The bytes a read returns.
struct Slice {
    start: u64,
    len: u64,
    /// `Content-Range` when only part of the object is returned.
    content_range: Option<String>,
}

fn select(meta: &ObjectMeta, range: Option<&Range>, part_number: Option<i32>) -> S3Result<Slice> {
    if let Some(part_number) = part_number {
        if range.is_some() {
            return Err(s3_error!(
                InvalidRequest,
                "Cannot specify both Range header and partNumber query parameter"
            ));
        }
        return select_part(meta, part_number);
    }
    let Some(range) = range else {
        return Ok(Slice {
            start: 0,
            len: meta.size,
            content_range: None,
        });
    };
    let selected = range
        .check(meta.size)
        .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
    Ok(Slice {
        start: selected.start,
        len: selected.end - selected.start,
        content_range: Some(format!(
            "bytes {}-{}/{}",
            selected.start,
            selected.end - 1,
            meta.size
        )),
    })
}

/// `?partNumber=N`: part N of a multipart object; part 1 of a single-part object is all of it.
fn select_part(meta: &ObjectMeta, part_number: i32) -> S3Result<Slice> {
    let sizes: &[u64] = if meta.part_sizes.is_empty() {
        &[meta.size]
    } else {
        &meta.part_sizes
    };
    let index = usize::try_from(part_number)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|&i| i < sizes.len())
        .ok_or_else(|| {
            let mut err = S3Error::with_message(
                S3ErrorCode::Custom("InvalidPartNumber".into()),
                "The requested partnumber is not satisfiable",
            );
            err.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
            err
        })?;
    let start: u64 = sizes[..index].iter().sum();
    let len = sizes[index];
    let content_range = (meta.parts_count.is_some() && len > 0)
        .then(|| format!("bytes {}-{}/{}", start, start + len - 1, meta.size));
    Ok(Slice {
        start,
        len,
        content_range,
    })
}

fn storage_class(meta: &ObjectMeta) -> Option<StorageClass> {
    // S3 omits the header for STANDARD objects.
    meta.attrs
        .storage_class
        .as_deref()
        .filter(|c| *c != StorageClass::STANDARD)
        .map(|c| StorageClass::from(c.to_owned()))
}

fn checksums_enabled(mode: Option<&ChecksumMode>, slice: &Slice, meta: &ObjectMeta) -> bool {
    // Stored checksums cover the whole object: S3 returns them only for whole-object reads.
    mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
        && slice.start == 0
        && slice.len == meta.size
}

/// The conditional headers of a GetObject or HeadObject input (the two s3s types share these
/// field names).
macro_rules! read_conditions {
    ($input:expr) => {
        ReadConditions {
            if_match: $input.if_match.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
        }
    };
}

/// The headers GetObject and HeadObject share (the two s3s output types share these field
/// names), plus the fields of one of them given in the braces.
macro_rules! object_output {
    ($output:ident { $($field:ident),* }, meta: $meta:expr, slice: $slice:expr, part_number: $part:expr,
     with_checksums: $with:expr, version_id: $version:expr $(,)?) => {{
        let (meta, slice, with_checksums) = ($meta, $slice, $with);
        let (a, c) = (&meta.attrs, &meta.checksums);
        $output {
            $($field,)*
            accept_ranges: Some("bytes".to_owned()),
            content_length: i64::try_from(slice.len).ok(),
            content_range: slice.content_range.clone(),
            content_type: a.content_type.clone(),
            content_encoding: a.content_encoding.clone(),
            content_disposition: a.content_disposition.clone(),
            content_language: a.content_language.clone(),
            cache_control: a.cache_control.clone(),
            expires: a.expires.map(timestamp),
            website_redirect_location: a.website_redirect_location.clone(),
            e_tag: Some(strong_etag(&meta.etag)),
            last_modified: Some(timestamp(meta.last_modified)),
            metadata: metadata_to_dto(&a.metadata),
            storage_class: storage_class(meta),
            server_side_encryption: a
                .server_side_encryption
                .clone()
                .map(ServerSideEncryption::from),
            ssekms_key_id: a.ssekms_key_id.clone(),
            parts_count: $part.and(meta.parts_count).and_then(|n| i32::try_from(n).ok()),
            checksum_crc32: c.crc32.clone().filter(|_| with_checksums),
            checksum_crc32c: c.crc32c.clone().filter(|_| with_checksums),
            checksum_crc64nvme: c.crc64nvme.clone().filter(|_| with_checksums),
            checksum_sha1: c.sha1.clone().filter(|_| with_checksums),
            checksum_sha256: c.sha256.clone().filter(|_| with_checksums),
            checksum_type: c.checksum_type.clone().filter(|_| with_checksums).map(ChecksumType::from),
            version_id: $version,
            ..Default::default()
        }
    }};
}

impl LocalS3 {
    pub(super) async fn do_get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let (meta, mut file) = bucket
            .open_object(&input.key, input.version_id.as_deref())
            .await?;
        read_conditions!(input).check(&meta, S3ErrorCode::NotModified)?;
        let slice = select(&meta, input.range.as_ref(), input.part_number)?;
        if slice.start > 0 {
            file.seek(SeekFrom::Start(slice.start))
                .await
                .map_err(|err| internal("seeking in object data", err))?;
        }
        let with_checksums = checksums_enabled(input.checksum_mode.as_ref(), &slice, &meta);
        let body = Some(StreamingBlob::new(FileBody::new(file, slice.len)));
        let tag_count = (!meta.tags.is_empty()).then(|| i32::try_from(meta.tags.len()).unwrap_or(i32::MAX));
        Ok(S3Response::new(object_output!(
            GetObjectOutput { body, tag_count },
            meta: &meta,
            slice: &slice,
            part_number: input.part_number,
            with_checksums: with_checksums,
            version_id: bucket.version_header(&meta),
        )))
    }

    pub(super) fn do_head_object(
        &self,
        req: &S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let meta = bucket.lookup(&input.key, input.version_id.as_deref())?;
        read_conditions!(input).check(&meta, S3ErrorCode::NotModified)?;
        let slice = select(&meta, input.range.as_ref(), input.part_number)?;
        let with_checksums = checksums_enabled(input.checksum_mode.as_ref(), &slice, &meta);
        Ok(S3Response::new(object_output!(
            HeadObjectOutput {},
            meta: &meta,
            slice: &slice,
            part_number: input.part_number,
            with_checksums: with_checksums,
            version_id: bucket.version_header(&meta),
        )))
    }
}
