//! `bucket_location`: a bucket's region.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketLocationInput {
    #[serde(default)]
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BucketLocationOutput {
    pub bucket: String,
    pub region: String,
}

pub async fn run(client: &Client, input: BucketLocationInput) -> Result<BucketLocationOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    client.restriction().check_bucket(&bucket)?;
    let what = format!("s3://{bucket}");
    if client.connection().provider.has_bucket_location() {
        match client.s3().get_bucket_location().bucket(&bucket).send().await {
            Ok(out) => {
                let region = match out.location_constraint().map(|c| c.as_str()) {
                    // S3 answers nothing for us-east-1 and the legacy "EU" for eu-west-1.
                    None | Some("") => "us-east-1".to_owned(),
                    Some("EU") => "eu-west-1".to_owned(),
                    Some(region) => region.to_owned(),
                };
                return Ok(BucketLocationOutput { bucket, region });
            }
            Err(e) => {
                let err = Error::from_sdk(e, &what);
                if err.code != ErrorCode::InvalidInput {
                    return Err(err);
                }
                // NotImplemented and friends: fall back to HeadBucket's region header.
            }
        }
    }
    let out = client.s3().head_bucket().bucket(&bucket).send().await.map_err(|e| {
        let err = Error::from_sdk(e, &what);
        if err.code == ErrorCode::NotFound {
            Error { s3_code: Some("NoSuchBucket".into()), ..err }
        } else {
            err
        }
    })?;
    let region = out.bucket_region().map(str::to_owned).unwrap_or_else(|| client.region().to_owned());
    Ok(BucketLocationOutput { bucket, region })
}
