//! Multipart uploads: create, upload part (and part copy), complete, abort, list parts,
//! list uploads.

use s3s::crypto::Checksum as _;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::common::{
    check_canned_acl, check_storage_class, check_write_conditions, object_attrs, owner,
    parse_tagging_header, strong_etag, timestamp, url_encode,
};
use super::copy::{resolve_copy_source, CopySourceConditions};
use super::put::{body_expectations, receive_body, MAX_PUT_SIZE};
use super::LocalS3;
use crate::store::files::{concat_files, copy_range, crc32_of_file, unique_token};
use crate::store::internal;
use crate::store::meta::{now_seconds, Checksums, ObjectMeta, PartMeta, UploadMeta};

/// Part numbers run from 1 to 10,000
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>).
const MAX_PART_NUMBER: i32 = 10_000;
/// Every part but the last must be at least 5 MiB.
const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Page size limit of ListParts and ListMultipartUploads.
const MAX_LIST: usize = 1000;

fn check_part_number(part_number: i32) -> S3Result<()> {
    if (1..=MAX_PART_NUMBER).contains(&part_number) {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "Part number must be an integer between 1 and 10000, inclusive"
        ))
    }
}

/// `x-amz-copy-source-range: bytes=first-last` against a source of `size` bytes.
fn parse_copy_range(range: Option<&str>, size: u64) -> S3Result<(u64, u64)> {
    let Some(range) = range else {
        return Ok((0, size));
    };
    let invalid = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last"
        )
    };
    let (first, last) = range
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(invalid)?;
    let first: u64 = first.parse().map_err(|_| invalid())?;
    let last: u64 = last.parse().map_err(|_| invalid())?;
    if first > last || last >= size {
        return Err(s3_error!(
            InvalidRange,
            "The requested range is not satisfiable"
        ));
    }
    Ok((first, last - first + 1))
}

/// `"etag"` or `etag` → `etag`.
fn bare_etag(etag: &ETag) -> &str {
    etag.value().trim_matches('"')
}

impl LocalS3 {
    pub(super) async fn do_create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let storage_class = check_storage_class(input.storage_class.as_ref())?;
        let acl = check_canned_acl(input.acl.as_ref())?;
        let tags = parse_tagging_header(input.tagging.as_deref())?;
        let meta = UploadMeta {
            upload_id: unique_token(),
            key: input.key,
            initiated: now_seconds(),
            attrs: object_attrs!(input,
                storage_class: storage_class,
                server_side_encryption: input.server_side_encryption.map(|s| s.as_str().to_owned()),
                ssekms_key_id: input.ssekms_key_id,
            ),
            tags,
            acl,
            checksum_algorithm: input
                .checksum_algorithm
                .as_ref()
                .map(|a| a.as_str().to_owned()),
        };
        let upload = bucket.create_upload(meta).await?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(upload.meta.key.clone()),
            upload_id: Some(upload.meta.upload_id.clone()),
            checksum_algorithm: input.checksum_algorithm,
            server_side_encryption: upload
                .meta
                .attrs
                .server_side_encryption
                .clone()
                .map(ServerSideEncryption::from),
            ..Default::default()
        }))
    }

    pub(super) async fn do_upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let S3Request {
            input,
            headers,
            trailing_headers,
            ..
        } = req;
        check_part_number(input.part_number)?;
        let bucket = self.store.bucket(&input.bucket)?;
        let upload = bucket.upload(&input.upload_id, &input.key)?;
        let expect = body_expectations!(input, &headers);
        let received = receive_body(
            &bucket,
            bucket.tmp_path(),
            input.body,
            expect,
            trailing_headers.as_ref(),
        )
        .await?;
        let part = PartMeta {
            part_number: input.part_number,
            data_file: String::new(),
            size: received.digest.size,
            etag: hex::encode(received.digest.md5),
            last_modified: now_seconds(),
        };
        let etag = part.etag.clone();
        bucket.add_part(&upload, &received.path, part).await?;
        let c = received.checksums;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(strong_etag(&etag)),
            checksum_crc32: c.crc32,
            checksum_crc32c: c.crc32c,
            checksum_crc64nvme: c.crc64nvme,
            checksum_sha1: c.sha1,
            checksum_sha256: c.sha256,
            ..Default::default()
        }))
    }

    pub(super) async fn do_upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let input = req.input;
        check_part_number(input.part_number)?;
        let bucket = self.store.bucket(&input.bucket)?;
        let upload = bucket.upload(&input.upload_id, &input.key)?;
        let conditions = CopySourceConditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        };
        let mut attempts = 0;
        let mut copy_source_version_id;
        let (tmp, size, md5) = loop {
            let source = resolve_copy_source(&self.store, &input.copy_source, &conditions)?;
            copy_source_version_id = source.version_header();
            let (start, len) =
                parse_copy_range(input.copy_source_range.as_deref(), source.meta.size)?;
            if len > MAX_PUT_SIZE {
                return Err(s3_error!(
                    InvalidRequest,
                    "A copied part may be at most 5 GiB"
                ));
            }
            let tmp = bucket.tmp_path();
            match copy_range(
                source.bucket.data_path(&source.meta),
                start,
                len,
                tmp.clone(),
                true,
            )
            .await
            {
                Ok(md5) => break (tmp, len, md5.unwrap_or_default()),
                // A concurrent overwrite replaced the source's data file: look it up again.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound && attempts < 8 => {
                    attempts += 1
                }
                Err(err) => return Err(bucket.io_error("copying a part", err)),
            }
        };
        let part = PartMeta {
            part_number: input.part_number,
            data_file: String::new(),
            size,
            etag: hex::encode(md5),
            last_modified: now_seconds(),
        };
        let (etag, last_modified) = (part.etag.clone(), part.last_modified);
        bucket.add_part(&upload, &tmp, part).await?;
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_source_version_id,
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(strong_etag(&etag)),
                last_modified: Some(timestamp(last_modified)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    pub(super) async fn do_complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let upload = bucket.upload(&input.upload_id, &input.key)?;
        let requested = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if requested.is_empty() {
            return Err(s3_error!(
                MalformedXML,
                "You must specify at least one part"
            ));
        }
        let mut previous = 0;
        for part in &requested {
            let number = part
                .part_number
                .ok_or_else(|| s3_error!(MalformedXML, "A part is missing its PartNumber"))?;
            if number <= previous {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order. The parts list must be specified in order by part number."
                ));
            }
            previous = number;
        }
        check_write_conditions(
            bucket.get(&input.key).as_deref(),
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
        )?;

        let mut guard = upload.parts.lock().await;
        let table = guard.as_ref().ok_or_else(crate::store::no_such_upload)?;
        let mut files = Vec::with_capacity(requested.len());
        let mut etag_md5 = s3s::crypto::Md5::new();
        let mut part_sizes = Vec::with_capacity(requested.len());
        for part in &requested {
            let number = part.part_number.unwrap_or_default();
            let invalid_part = || {
                s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."
                )
            };
            let stored = table.get(&number).ok_or_else(invalid_part)?;
            if part
                .e_tag
                .as_ref()
                .is_some_and(|etag| bare_etag(etag) != stored.etag)
            {
                return Err(invalid_part());
            }
            let md5 =
                hex::decode(&stored.etag).map_err(|err| internal("reading a part's ETag", err))?;
            etag_md5.update(&md5);
            files.push((upload.part_path(stored), stored.size));
            part_sizes.push(stored.size);
        }
        // Sizes are checked once every part is known to exist, as S3 reports a missing part
        // first.
        if part_sizes[..part_sizes.len() - 1]
            .iter()
            .any(|&size| size < MIN_PART_SIZE)
        {
            return Err(s3_error!(
                EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size."
            ));
        }
        let count = requested.len();
        let etag = format!("{}-{count}", hex::encode(etag_md5.finalize()));

        let tmp = bucket.tmp_path();
        let size = concat_files(files, tmp.clone())
            .await
            .map_err(|err| bucket.io_error("assembling a multipart object", err))?;
        let checksums = match full_object_crc32(input.checksum_type.as_ref(), input.checksum_crc32.as_ref(), &tmp).await {
            Ok(checksums) => checksums,
            Err(err) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(err);
            }
        };
        let data_file = bucket.adopt_data_file(&input.key, &tmp).await?;
        let meta = ObjectMeta {
            key: input.key.clone(),
            version_id: None,
            delete_marker: false,
            seq: 0,
            data_file,
            size,
            etag,
            last_modified: now_seconds(),
            parts_count: u32::try_from(count).ok(),
            part_sizes,
            attrs: upload.meta.attrs.clone(),
            tags: upload.meta.tags.clone(),
            acl: upload.meta.acl.clone(),
            checksums,
        };
        let meta = bucket.commit(meta).await?;
        *guard = None;
        drop(guard);
        bucket.forget_upload(&upload).await;
        tracing::debug!(bucket = %bucket.name, parts = count, size, "multipart upload completed");

        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(strong_etag(&meta.etag)),
            location: Some(format!("/{}/{}", input.bucket, url_encode(&input.key))),
            version_id: bucket.version_header(&meta),
            server_side_encryption: meta
                .attrs
                .server_side_encryption
                .clone()
                .map(ServerSideEncryption::from),
            ..Default::default()
        }))
    }

    pub(super) async fn do_abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let upload = bucket.upload(&input.upload_id, &input.key)?;
        let mut guard = upload.parts.lock().await;
        if guard.take().is_none() {
            return Err(crate::store::no_such_upload());
        }
        drop(guard);
        bucket.forget_upload(&upload).await;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    pub(super) async fn do_list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let upload = bucket.upload(&input.upload_id, &input.key)?;
        let marker = input.part_number_marker.unwrap_or(0);
        let max = input
            .max_parts
            .map_or(MAX_LIST, |m| usize::try_from(m).unwrap_or(0).min(MAX_LIST));
        let guard = upload.parts.lock().await;
        let table = guard.as_ref().ok_or_else(crate::store::no_such_upload)?;
        let mut parts: Vec<Part> = table
            .range(marker.saturating_add(1)..)
            .take(max + 1)
            .map(|(_, p)| Part {
                part_number: Some(p.part_number),
                e_tag: Some(strong_etag(&p.etag)),
                size: i64::try_from(p.size).ok(),
                last_modified: Some(timestamp(p.last_modified)),
                ..Default::default()
            })
            .collect();
        let is_truncated = parts.len() > max;
        parts.truncate(max);
        let next_marker = parts.last().and_then(|p| p.part_number);
        let owner = owner();
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            part_number_marker: input.part_number_marker,
            next_part_number_marker: if is_truncated { next_marker } else { None },
            max_parts: i32::try_from(max).ok(),
            is_truncated: Some(is_truncated),
            parts: Some(parts),
            initiator: Some(initiator(&owner)),
            owner: Some(owner),
            storage_class: Some(storage_class(&upload.meta)),
            checksum_algorithm: checksum_algorithm(&upload.meta),
            ..Default::default()
        }))
    }

    pub(super) fn do_list_multipart_uploads(
        &self,
        req: &S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let url = match input.encoding_type.as_ref() {
            None => false,
            Some(e) if e.as_str() == EncodingType::URL => true,
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "Invalid Encoding Method specified in Request"
                ))
            }
        };
        let wire = |s: &str| if url { url_encode(s) } else { s.to_owned() };
        let prefix = input.prefix.as_deref().unwrap_or("");
        let delimiter = input.delimiter.as_deref().filter(|d| !d.is_empty());
        let max = input
            .max_uploads
            .map_or(MAX_LIST, |m| usize::try_from(m).unwrap_or(0).min(MAX_LIST));

        let mut uploads = bucket.uploads();
        uploads.sort_by(|a, b| {
            (&a.meta.key, a.meta.initiated, &a.meta.upload_id).cmp(&(
                &b.meta.key,
                b.meta.initiated,
                &b.meta.upload_id,
            ))
        });
        // Resume after (key-marker, upload-id-marker): without an upload id marker, after all
        // uploads of the marker key.
        let start = match input.key_marker.as_deref().filter(|k| !k.is_empty()) {
            None => 0,
            Some(key_marker) => {
                let after_id = input.upload_id_marker.as_deref().and_then(|id| {
                    uploads
                        .iter()
                        .position(|u| u.meta.key == key_marker && u.meta.upload_id == id)
                });
                match after_id {
                    Some(at) => at + 1,
                    None => uploads.partition_point(|u| u.meta.key.as_str() <= key_marker),
                }
            }
        };

        let mut entries = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut is_truncated = false;
        let mut last: Option<(String, Option<String>)> = None;
        for upload in &uploads[start..] {
            let key = upload.meta.key.as_str();
            if !key.starts_with(prefix) {
                continue;
            }
            let rolled = delimiter.and_then(|d| {
                let rest = &key[prefix.len()..];
                rest.find(d)
                    .map(|at| key[..prefix.len() + at + d.len()].to_owned())
            });
            if rolled.is_some() && rolled.as_ref() == prefixes.last() {
                continue;
            }
            if entries.len() + prefixes.len() == max {
                is_truncated = max > 0;
                break;
            }
            if let Some(cp) = rolled {
                last = Some((cp.clone(), None));
                prefixes.push(cp);
            } else {
                last = Some((key.to_owned(), Some(upload.meta.upload_id.clone())));
                let owner = owner();
                entries.push(MultipartUpload {
                    key: Some(wire(key)),
                    upload_id: Some(upload.meta.upload_id.clone()),
                    initiated: Some(timestamp(upload.meta.initiated)),
                    initiator: Some(initiator(&owner)),
                    owner: Some(owner),
                    storage_class: Some(storage_class(&upload.meta)),
                    checksum_algorithm: checksum_algorithm(&upload.meta),
                    ..Default::default()
                });
            }
        }
        let (next_key_marker, next_upload_id_marker) = match (is_truncated, last) {
            (true, Some((key, id))) => (Some(wire(&key)), id),
            _ => (None, None),
        };
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(input.bucket.clone()),
            prefix: input.prefix.as_deref().map(wire),
            delimiter: input.delimiter.as_deref().map(wire),
            key_marker: input.key_marker.as_deref().map(wire),
            upload_id_marker: input.upload_id_marker.clone(),
            max_uploads: i32::try_from(max).ok(),
            is_truncated: Some(is_truncated),
            next_key_marker,
            next_upload_id_marker,
            uploads: Some(entries),
            common_prefixes: Some(
                prefixes
                    .iter()
                    .map(|p| CommonPrefix {
                        prefix: Some(wire(p)),
                    })
                    .collect(),
            ),
            encoding_type: input.encoding_type.clone(),
            request_charged: None,
        }))
    }
}

/// A `FULL_OBJECT` CRC32 named by CompleteMultipartUpload is checked against the assembled
/// object and stored, so HEAD and GET return it (as S3 and Garage do); composite checksums are
/// not kept.
async fn full_object_crc32(
    checksum_type: Option<&ChecksumType>,
    claimed: Option<&String>,
    assembled: &std::path::Path,
) -> S3Result<Checksums> {
    let full_object = checksum_type.is_some_and(|t| t.as_str() == ChecksumType::FULL_OBJECT);
    let Some(claimed) = claimed.filter(|_| full_object) else {
        return Ok(Checksums::default());
    };
    let actual = crc32_of_file(assembled.to_path_buf())
        .await
        .map_err(|err| internal("checksumming a multipart object", err))?;
    if &actual != claimed {
        return Err(s3_error!(BadDigest, "The CRC32 you specified did not match the calculated checksum."));
    }
    Ok(Checksums { crc32: Some(actual), checksum_type: Some(ChecksumType::FULL_OBJECT.to_owned()), ..Default::default() })
}

/// The account that started an upload: the endpoint's one owner.
fn initiator(owner: &Owner) -> Initiator {
    Initiator {
        display_name: owner.display_name.clone(),
        id: owner.id.clone(),
    }
}

fn storage_class(upload: &UploadMeta) -> StorageClass {
    StorageClass::from(
        upload
            .attrs
            .storage_class
            .clone()
            .unwrap_or_else(|| StorageClass::STANDARD.to_owned()),
    )
}

fn checksum_algorithm(upload: &UploadMeta) -> Option<ChecksumAlgorithm> {
    upload.checksum_algorithm.clone().map(ChecksumAlgorithm::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_ranges_are_inclusive_and_bounded() {
        assert_eq!(parse_copy_range(Some("bytes=0-9"), 10).unwrap(), (0, 10));
        assert_eq!(parse_copy_range(Some("bytes=5-5"), 10).unwrap(), (5, 1));
        assert_eq!(parse_copy_range(None, 10).unwrap(), (0, 10));
        assert!(parse_copy_range(Some("bytes=0-10"), 10).is_err());
        assert!(parse_copy_range(Some("bytes=5-4"), 10).is_err());
        assert!(parse_copy_range(Some("bytes=-4"), 10).is_err());
        assert!(parse_copy_range(Some("0-4"), 10).is_err());
    }
}
