//! GetObjectTagging, PutObjectTagging, DeleteObjectTagging (of the current object, or of the
//! version named by `versionId`).

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result};

use super::common::{tags_from_dto, tags_to_dto};
use super::LocalS3;

impl LocalS3 {
    pub(super) fn do_get_object_tagging(
        &self,
        req: &S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let input = &req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let meta = bucket.lookup(&input.key, input.version_id.as_deref())?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: tags_to_dto(&meta.tags),
            version_id: bucket.version_header(&meta),
        }))
    }

    pub(super) async fn do_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let tags = tags_from_dto(input.tagging.tag_set)?;
        let meta = bucket
            .update_meta(&input.key, input.version_id.as_deref(), |meta| {
                meta.tags = tags;
            })
            .await?;
        Ok(S3Response::new(PutObjectTaggingOutput {
            version_id: bucket.version_header(&meta),
        }))
    }

    pub(super) async fn do_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let meta = bucket
            .update_meta(&input.key, input.version_id.as_deref(), |meta| {
                meta.tags.clear();
            })
            .await?;
        Ok(S3Response::new(DeleteObjectTaggingOutput {
            version_id: bucket.version_header(&meta),
        }))
    }
}
