//! DeleteObject and DeleteObjects: removal in an unversioned bucket, delete markers and
//! permanent deletion of versions in a versioned one.

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::LocalS3;
use crate::store::{Bucket, DeleteOutcome};

/// Most keys one DeleteObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

/// Deletes the version `version_id` of `key`, or (without one) the object itself: a delete
/// marker when versioning is on. A missing key or version succeeds, as on S3.
async fn delete(bucket: &Bucket, key: &str, version_id: Option<&str>) -> S3Result<DeleteOutcome> {
    match version_id {
        None => bucket.delete_object(key).await,
        Some(version) => bucket.delete_version(key, version).await,
    }
}

impl LocalS3 {
    pub(super) async fn do_delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        if let Some(cond) = input.if_match.as_ref() {
            // Conditional delete: only the expected version (S3 answers 412 otherwise, and
            // NoSuchKey when there is nothing to delete).
            let meta = bucket
                .lookup(&input.key, input.version_id.as_deref())
                .map_err(|err| match err.code() {
                    s3s::S3ErrorCode::NoSuchKey => crate::store::no_such_key(),
                    _ => err,
                })?;
            let matches = match cond {
                ETagCondition::Any => true,
                ETagCondition::ETag(etag) => etag.value() == meta.etag,
            };
            if !matches {
                return Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold"
                ));
            }
        }
        let outcome = delete(&bucket, &input.key, input.version_id.as_deref()).await?;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: outcome.delete_marker.then_some(true),
            version_id: outcome.version_id,
            request_charged: None,
        }))
    }

    pub(super) async fn do_delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let objects = input.delete.objects;
        if objects.len() > MAX_DELETE_KEYS {
            return Err(s3_error!(
                MalformedXML,
                "The request may name at most 1000 keys"
            ));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for object in objects {
            match delete(&bucket, &object.key, object.version_id.as_deref()).await {
                Ok(outcome) => {
                    if !quiet {
                        let marker_id = outcome
                            .delete_marker
                            .then(|| outcome.version_id.clone())
                            .flatten();
                        deleted.push(DeletedObject {
                            key: Some(object.key),
                            // The version named in the request; a new delete marker is
                            // reported as DeleteMarkerVersionId only.
                            version_id: object.version_id,
                            delete_marker: outcome.delete_marker.then_some(true),
                            delete_marker_version_id: marker_id,
                        });
                    }
                }
                Err(err) => errors.push(Error {
                    code: Some(err.code().as_str().to_owned()),
                    key: Some(object.key),
                    message: err.message().map(str::to_owned),
                    version_id: object.version_id,
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            request_charged: None,
        }))
    }
}
