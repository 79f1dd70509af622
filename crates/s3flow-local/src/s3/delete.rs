//! DeleteObject and DeleteObjects.

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::common::check_version_id;
use super::LocalS3;

/// Most keys one DeleteObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

impl LocalS3 {
    pub(super) async fn do_delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        check_version_id(input.version_id.as_deref())?;
        let bucket = self.store.bucket(&input.bucket)?;
        if let Some(cond) = input.if_match.as_ref() {
            // Conditional delete: only the expected version (S3 answers 412 otherwise, and
            // NoSuchKey when there is nothing to delete).
            let meta = bucket
                .get(&input.key)
                .ok_or_else(crate::store::no_such_key)?;
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
        // Deleting a key that does not exist succeeds (204), as on S3.
        bucket.remove(&input.key).await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
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
            let result = match check_version_id(object.version_id.as_deref()) {
                Ok(()) => bucket.remove(&object.key).await.map(|_| ()),
                Err(err) => Err(err),
            };
            match result {
                Ok(()) => {
                    if !quiet {
                        deleted.push(DeletedObject {
                            key: Some(object.key),
                            version_id: object.version_id,
                            ..Default::default()
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
