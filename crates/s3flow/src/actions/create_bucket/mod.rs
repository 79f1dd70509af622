//! `create_bucket`: with a region, a canned ACL, versioning and object lock.

use aws_sdk_s3::types::{BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, VersioningConfiguration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::fields::Acl;
use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBucketInput {
    #[serde(default)]
    pub bucket: Option<String>,
    /// Default: the connection's region.
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub acl: Option<Acl>,
    #[serde(default)]
    pub versioning: Option<bool>,
    #[serde(default)]
    pub object_lock: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CreateBucketOutput {
    pub bucket: String,
    pub region: String,
    pub location: Option<String>,
}

pub async fn run(client: &Client, input: CreateBucketInput) -> Result<CreateBucketOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    client.restriction().check_bucket(&bucket)?;
    let region = input.region.clone().unwrap_or_else(|| client.region().to_owned());
    if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid_input(format!("region: {region:?} is not a region name")));
    }
    let acl = input.acl.map(Acl::bucket).transpose()?;
    let s3 = client.s3_in_region(&region);
    // us-east-1 (and moto) answer 200 to creating a bucket you already own: ask first.
    if s3.head_bucket().bucket(&bucket).send().await.is_ok() {
        return Err(Error::new(ErrorCode::AlreadyExists, format!("bucket {bucket:?} already exists")));
    }
    // us-east-1 is the one region S3 wants no LocationConstraint for.
    let configuration = (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region.as_str()))
            .build()
    });
    let out = s3
        .create_bucket()
        .bucket(&bucket)
        .set_create_bucket_configuration(configuration)
        .set_acl(acl)
        .set_object_lock_enabled_for_bucket(input.object_lock)
        .send()
        .await
        .map_err(|e| {
            let err = Error::from_sdk(e, &format!("s3://{bucket}"));
            if err.code == ErrorCode::AlreadyExists {
                Error { message: format!("bucket {bucket:?} already exists"), ..err }
            } else {
                err
            }
        })?;
    if input.versioning == Some(true) {
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
            .send()
            .await
            .map_err(|e| Error::from_sdk(e, &format!("bucket {bucket:?} was created, but enabling versioning failed")))?;
    }
    Ok(CreateBucketOutput { bucket, region, location: out.location().map(str::to_owned) })
}
