//! CopyObject (same or other bucket, MetadataDirective, TaggingDirective) and the
//! copy-source checks it shares with UploadPartCopy.

use std::sync::Arc;

use s3s::dto::*;
use s3s::{s3_error, S3ErrorCode, S3Request, S3Response, S3Result};

use super::common::{
    check_canned_acl, check_storage_class, object_attrs, parse_tagging_header, strong_etag,
    timestamp,
};
use super::LocalS3;
use crate::store::meta::{now_seconds, ObjectMeta};
use crate::store::{Bucket, Store};

/// The source of a copy, resolved and checked against its `x-amz-copy-source-if-*` headers.
pub struct CopySourceObject {
    pub bucket: Arc<Bucket>,
    pub meta: Arc<ObjectMeta>,
}

impl CopySourceObject {
    /// `x-amz-copy-source-version-id`: the version copied, when the source bucket is
    /// versioned.
    pub fn version_header(&self) -> Option<String> {
        self.bucket.version_header(&self.meta)
    }
}

pub struct CopySourceConditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

pub fn resolve_copy_source(
    store: &Store,
    source: &CopySource,
    conditions: &CopySourceConditions<'_>,
) -> S3Result<CopySourceObject> {
    let CopySource::Bucket {
        bucket,
        key,
        version_id,
    } = source
    else {
        return Err(s3_error!(
            NotImplemented,
            "Access point and Outposts copy sources are not supported"
        ));
    };
    let bucket = store.bucket(bucket)?;
    let meta = bucket
        .lookup(key, version_id.as_deref())
        .map_err(|err| match err.code() {
            // S3's answers for a copy: a plain 404 for a deleted source, 400 for a delete
            // marker named by version id.
            S3ErrorCode::NoSuchKey => crate::store::no_such_key(),
            S3ErrorCode::MethodNotAllowed => s3_error!(
                InvalidRequest,
                "The source of a copy request may not specifically refer to a delete marker by version id."
            ),
            _ => err,
        })?;
    // Copy-source conditions all answer 412 (no 304 for copies), with the same precedence
    // as reads.
    super::common::ReadConditions {
        if_match: conditions.if_match,
        if_none_match: conditions.if_none_match,
        if_modified_since: conditions.if_modified_since,
        if_unmodified_since: conditions.if_unmodified_since,
    }
    .check(&meta, S3ErrorCode::PreconditionFailed)?;
    Ok(CopySourceObject { bucket, meta })
}

fn is_replace(directive: Option<&str>, copy: &str, replace: &str) -> S3Result<bool> {
    match directive {
        None => Ok(false),
        Some(d) if d == copy => Ok(false),
        Some(d) if d == replace => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Unknown metadata or tagging directive"
        )),
    }
}

impl LocalS3 {
    pub(super) async fn do_copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let input = req.input;
        let conditions = CopySourceConditions {
            if_match: input.copy_source_if_match.as_ref(),
            if_none_match: input.copy_source_if_none_match.as_ref(),
            if_modified_since: input.copy_source_if_modified_since.as_ref(),
            if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
        };
        let mut source = resolve_copy_source(&self.store, &input.copy_source, &conditions)?;
        let target = self.store.bucket(&input.bucket)?;

        let replace_metadata = is_replace(
            input
                .metadata_directive
                .as_ref()
                .map(MetadataDirective::as_str),
            MetadataDirective::COPY,
            MetadataDirective::REPLACE,
        )?;
        let replace_tags = is_replace(
            input
                .tagging_directive
                .as_ref()
                .map(TaggingDirective::as_str),
            TaggingDirective::COPY,
            TaggingDirective::REPLACE,
        )?;
        let storage_class = check_storage_class(input.storage_class.as_ref())?;
        let acl = check_canned_acl(input.acl.as_ref())?;
        let sse = input
            .server_side_encryption
            .as_ref()
            .map(|s| s.as_str().to_owned());

        // S3 refuses a copy onto itself that changes nothing
        // (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html); copying an
        // older version over the current one restores it and is allowed.
        if Arc::ptr_eq(&source.bucket, &target)
            && source.meta.key == input.key
            && target
                .get(&input.key)
                .is_some_and(|current| Arc::ptr_eq(&current, &source.meta))
            && !replace_metadata
            && storage_class.is_none()
            && sse.is_none()
            && input.website_redirect_location.is_none()
        {
            return Err(s3_error!(
                InvalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            ));
        }

        let tags = if replace_tags {
            parse_tagging_header(input.tagging.as_deref())?
        } else {
            source.meta.tags.clone()
        };
        let mut attrs = if replace_metadata {
            object_attrs!(input, storage_class: None, server_side_encryption: None, ssekms_key_id: None)
        } else {
            let mut attrs = source.meta.attrs.clone();
            if input.website_redirect_location.is_some() {
                attrs.website_redirect_location = input.website_redirect_location;
            }
            attrs
        };
        // Storage class and encryption are the request's, not the source's, as on S3.
        attrs.storage_class = storage_class;
        attrs.server_side_encryption = sse;
        attrs.ssekms_key_id = input.ssekms_key_id;

        // The source's data file can be replaced by a concurrent overwrite between the lookup
        // and the link: look it up again then.
        let mut attempts = 0;
        let data_file = loop {
            match target
                .link_data_file(&source.bucket.data_path(&source.meta), &input.key)
                .await
            {
                Ok(name) => break name,
                Err(err) if attempts < 8 && *err.code() == S3ErrorCode::NoSuchKey => {
                    attempts += 1;
                    source = resolve_copy_source(&self.store, &input.copy_source, &conditions)?;
                }
                Err(err) => return Err(err),
            }
        };

        let meta = ObjectMeta {
            key: input.key,
            version_id: None,
            delete_marker: false,
            seq: 0,
            data_file,
            size: source.meta.size,
            etag: source.meta.etag.clone(),
            last_modified: now_seconds(),
            parts_count: source.meta.parts_count,
            part_sizes: source.meta.part_sizes.clone(),
            attrs,
            tags,
            acl,
            checksums: source.meta.checksums.clone(),
        };
        let meta = target.commit(meta).await?;
        Ok(S3Response::new(CopyObjectOutput {
            version_id: target.version_header(&meta),
            copy_source_version_id: source.version_header(),
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(strong_etag(&meta.etag)),
                last_modified: Some(timestamp(meta.last_modified)),
                ..Default::default()
            }),
            server_side_encryption: meta
                .attrs
                .server_side_encryption
                .clone()
                .map(ServerSideEncryption::from),
            ..Default::default()
        }))
    }
}
