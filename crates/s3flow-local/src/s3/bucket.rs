//! Bucket actions: create, delete, head, list, location, versioning, ACL.

use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

use super::acl::owner_full_control;
use super::common::{check_new_bucket_name, owner, timestamp};
use super::LocalS3;
use crate::store::version::Versioning;

/// The region AWS reports as an empty `LocationConstraint`.
const US_EAST_1: &str = "us-east-1";

impl LocalS3 {
    pub(super) async fn do_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        check_new_bucket_name(&bucket)?;
        self.store.create_bucket(&bucket).await?;
        tracing::info!(%bucket, "bucket created");
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{bucket}")),
        }))
    }

    pub(super) async fn do_delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.store.delete_bucket(&req.input.bucket).await?;
        tracing::info!(bucket = %req.input.bucket, "bucket deleted");
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    pub(super) fn do_head_bucket(
        &self,
        req: &S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.store.bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.region.clone()),
            ..Default::default()
        }))
    }

    pub(super) fn do_list_buckets(
        &self,
        req: &S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let prefix = req.input.prefix.as_deref().unwrap_or("");
        let buckets = self
            .store
            .buckets()
            .into_iter()
            .filter(|b| b.name.starts_with(prefix))
            .map(|b| Bucket {
                name: Some(b.name.clone()),
                creation_date: Some(timestamp(b.created)),
                bucket_region: Some(self.region.clone()),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(owner()),
            prefix: req.input.prefix.clone(),
            continuation_token: None,
        }))
    }

    pub(super) fn do_get_bucket_location(
        &self,
        req: &S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.store.bucket(&req.input.bucket)?;
        // AWS answers an empty LocationConstraint for us-east-1.
        let location_constraint =
            (self.region != US_EAST_1).then(|| BucketLocationConstraint::from(self.region.clone()));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint,
        }))
    }

    pub(super) fn do_get_bucket_versioning(
        &self,
        req: &S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        let bucket = self.store.bucket(&req.input.bucket)?;
        // No Status element while versioning was never enabled, as on S3.
        Ok(S3Response::new(GetBucketVersioningOutput {
            status: bucket
                .versioning()
                .status()
                .map(BucketVersioningStatus::from_static),
            mfa_delete: None,
        }))
    }

    pub(super) async fn do_put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        let input = req.input;
        let bucket = self.store.bucket(&input.bucket)?;
        let config = &input.versioning_configuration;
        if input.mfa.is_some()
            || config
                .mfa_delete
                .as_ref()
                .is_some_and(|m| m.as_str() == MFADelete::ENABLED)
        {
            return Err(s3_error!(
                NotImplemented,
                "MFA delete is not supported by the s3flow local endpoint"
            ));
        }
        let versioning = match config.status.as_ref().map(BucketVersioningStatus::as_str) {
            Some(BucketVersioningStatus::ENABLED) => Versioning::Enabled,
            Some(BucketVersioningStatus::SUSPENDED) => Versioning::Suspended,
            _ => {
                return Err(s3_error!(
                    IllegalVersioningConfigurationException,
                    "The versioning configuration specified in the request is invalid."
                ))
            }
        };
        bucket.set_versioning(versioning).await?;
        tracing::info!(bucket = %input.bucket, status = ?versioning, "bucket versioning changed");
        Ok(S3Response::new(PutBucketVersioningOutput {}))
    }

    pub(super) fn do_get_bucket_acl(
        &self,
        req: &S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        self.store.bucket(&req.input.bucket)?;
        Ok(S3Response::new(GetBucketAclOutput {
            grants: Some(owner_full_control(None)),
            owner: Some(owner()),
        }))
    }
}
