//! PutObject, and the body-receiving step it shares with UploadPart.

use std::path::PathBuf;
use std::sync::Arc;

use s3s::dto::*;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

use super::common::{
    check_canned_acl, check_content_md5, check_storage_class, check_write_conditions, object_attrs,
    parse_tagging_header, strong_etag, ExpectedChecksums,
};
use super::LocalS3;
use crate::store::files::{write_body, BodyDigest, WriteBodyError};
use crate::store::meta::{now_seconds, Checksums, ObjectMeta};
use crate::store::Bucket;

/// Largest single PUT S3 accepts (5 GiB).
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// A body received into a file and verified.
pub struct ReceivedBody {
    pub path: PathBuf,
    pub digest: BodyDigest,
    pub checksums: Checksums,
}

/// What a request says about its body.
pub struct BodyExpectations<'a> {
    pub content_length: Option<i64>,
    pub content_md5: Option<&'a str>,
    pub checksums: ExpectedChecksums,
}

/// The [`BodyExpectations`] of a PutObject or UploadPart input (the two s3s types share these
/// field names); `?` on a checksum header that contradicts the input.
macro_rules! body_expectations {
    ($input:ident, $headers:expr) => {
        $crate::s3::put::BodyExpectations {
            content_length: $input.content_length,
            content_md5: $input.content_md5.as_deref(),
            checksums: $crate::s3::common::ExpectedChecksums::new(
                $crate::store::meta::Checksums {
                    crc32: $input.checksum_crc32.clone(),
                    crc32c: $input.checksum_crc32c.clone(),
                    crc64nvme: $input.checksum_crc64nvme.clone(),
                    sha1: $input.checksum_sha1.clone(),
                    sha256: $input.checksum_sha256.clone(),
                    checksum_type: None,
                },
                $input.checksum_algorithm.as_ref(),
                $headers,
            )?,
        }
    };
}
pub(crate) use body_expectations;

/// Streams a request body into a new file at `path` in `bucket`, then checks its length,
/// `Content-MD5` and flexible checksums (header or `aws-chunked` trailer). Nothing of a failed
/// body stays on disk.
pub async fn receive_body(
    bucket: &Bucket,
    path: PathBuf,
    body: Option<StreamingBlob>,
    expect: BodyExpectations<'_>,
    trailers: Option<&s3s::TrailingHeaders>,
) -> S3Result<ReceivedBody> {
    if expect
        .content_length
        .is_some_and(|len| u64::try_from(len).map_or(true, |len| len > MAX_PUT_SIZE))
    {
        return Err(s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed size"
        ));
    }
    let hasher = expect.checksums.hasher();
    let digest = match body {
        Some(body) => write_body(&path, body, hasher).await,
        None => write_body(&path, futures::stream::empty(), hasher).await,
    };
    let digest = digest.map_err(|err| match err {
        WriteBodyError::Io(err) => bucket.io_error("storing a request body", err),
        WriteBodyError::Body(err) => body_error(err),
    })?;
    let verified = (|| {
        if expect
            .content_length
            .is_some_and(|len| u64::try_from(len).ok() != Some(digest.size))
        {
            return Err(s3_error!(
                IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header."
            ));
        }
        check_content_md5(expect.content_md5, &digest.md5)?;
        expect.checksums.verify(digest.checksums.clone(), trailers)
    })();
    match verified {
        Ok(checksums) => Ok(ReceivedBody {
            path,
            digest,
            checksums,
        }),
        Err(err) => {
            crate::store::files::remove_quietly(&path).await;
            Err(err)
        }
    }
}

/// A failing request body. s3s's signature-checking streams (in private modules) can only be
/// told apart by their messages: a chunk signature or payload hash that does not match is the
/// client's signing error; anything else is a broken or truncated upload.
fn body_error(err: s3s::StdError) -> S3Error {
    let err = match err.downcast::<S3Error>() {
        Ok(err) => return *err,
        Err(err) => err,
    };
    let text = err.to_string();
    tracing::debug!(err = %text, "request body failed");
    if text.contains("SignatureMismatch") {
        S3Error::with_message(
            S3ErrorCode::SignatureDoesNotMatch,
            "The chunk signature does not match.",
        )
    } else if text.contains("Sha256Mismatch") {
        let mut err = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        err.set_status_code(http::StatusCode::BAD_REQUEST);
        err
    } else {
        S3Error::with_message(
            S3ErrorCode::IncompleteBody,
            "The request body ended early or could not be read.",
        )
    }
}

impl LocalS3 {
    pub(super) async fn do_put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let S3Request {
            input,
            headers,
            trailing_headers,
            ..
        } = req;
        let bucket = self.store.bucket(&input.bucket)?;

        let storage_class = check_storage_class(input.storage_class.as_ref())?;
        let acl = check_canned_acl(input.acl.as_ref())?;
        let tags = parse_tagging_header(input.tagging.as_deref())?;
        check_write_conditions(
            bucket.get(&input.key).as_deref(),
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
        )?;

        let expect = body_expectations!(input, &headers);
        // Straight into a new data file under `objects/`, not a temporary file renamed there
        // after: a rename is one more trip to the blocking pool per upload, and a file no
        // committed metadata names is invisible, and removed at the next start.
        let (data_file, path) = bucket.new_data_file(&input.key);
        let received =
            receive_body(&bucket, path, input.body, expect, trailing_headers.as_ref()).await?;

        // Checked again after the upload: another writer may have won meanwhile.
        if let Err(err) = check_write_conditions(
            bucket.get(&input.key).as_deref(),
            input.if_match.as_ref(),
            input.if_none_match.as_ref(),
        ) {
            crate::store::files::remove_quietly(&received.path).await;
            return Err(err);
        }

        let meta = ObjectMeta {
            key: input.key,
            version_id: None,
            delete_marker: false,
            seq: 0,
            data_file,
            size: received.digest.size,
            etag: hex::encode(received.digest.md5),
            last_modified: now_seconds(),
            parts_count: None,
            part_sizes: Vec::new(),
            attrs: object_attrs!(input,
                storage_class: storage_class,
                server_side_encryption: input.server_side_encryption.map(|s| s.as_str().to_owned()),
                ssekms_key_id: input.ssekms_key_id,
            ),
            tags,
            acl,
            checksums: received.checksums,
        };
        let meta: Arc<ObjectMeta> = bucket.commit(meta).await?;
        tracing::debug!(bucket = %bucket.name, size = meta.size, "object stored");

        let c = &meta.checksums;
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(strong_etag(&meta.etag)),
            checksum_crc32: c.crc32.clone(),
            checksum_crc32c: c.crc32c.clone(),
            checksum_crc64nvme: c.crc64nvme.clone(),
            checksum_sha1: c.sha1.clone(),
            checksum_sha256: c.sha256.clone(),
            server_side_encryption: meta
                .attrs
                .server_side_encryption
                .clone()
                .map(ServerSideEncryption::from),
            ssekms_key_id: meta.attrs.ssekms_key_id.clone(),
            size: i64::try_from(meta.size).ok(),
            version_id: bucket.version_header(&meta),
            ..Default::default()
        }))
    }
}
