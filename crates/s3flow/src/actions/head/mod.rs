//! `head`: an object's size, type, metadata and version without its body.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::fields;
use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeadInput {
    #[serde(default)]
    pub bucket: Option<String>,
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HeadOutput {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub last_modified: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub version_id: Option<String>,
    pub storage_class: String,
    pub server_side_encryption: Option<String>,
}

pub async fn run(client: &Client, input: HeadInput) -> Result<HeadOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    validate_key("key", &input.key)?;
    client.restriction().check_key(&bucket, &input.key)?;
    let what = format!("s3://{bucket}/{}", input.key);
    let out = match client
        .s3()
        .head_object()
        .bucket(&bucket)
        .key(&input.key)
        .set_version_id(input.version_id.clone())
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => return Err(not_found_detail(client, &bucket, Error::from_sdk(e, &what)).await),
    };
    Ok(HeadOutput {
        bucket,
        key: input.key,
        size: out.content_length().unwrap_or(0).max(0) as u64,
        etag: fields::etag(out.e_tag()),
        content_type: out.content_type().map(str::to_owned),
        last_modified: encode::rfc3339_opt(out.last_modified()),
        metadata: fields::metadata_map(out.metadata()),
        version_id: out.version_id().map(str::to_owned),
        // S3 leaves the header out for STANDARD.
        storage_class: out.storage_class().map(|c| c.as_str().to_owned()).unwrap_or_else(|| "STANDARD".to_owned()),
        server_side_encryption: out.server_side_encryption().map(|s| s.as_str().to_owned()),
    })
}

/// HEAD responses have no body, so a 404 does not say whether the key or the bucket is
/// missing: ask the bucket, and name the right one.
pub(crate) async fn not_found_detail(client: &Client, bucket: &str, err: Error) -> Error {
    // The SDK names a bodiless 404 "NotFound".
    if err.code != ErrorCode::NotFound || err.s3_code.as_deref().is_some_and(|c| c != "NotFound") {
        return err;
    }
    match client.s3().head_bucket().bucket(bucket).send().await {
        Ok(_) => Error { s3_code: Some("NoSuchKey".into()), message: format!("{}: NoSuchKey", err.message.split(": ").next().unwrap_or_default()), ..err },
        Err(bucket_err) => {
            let bucket_err = Error::from_sdk(bucket_err, &format!("s3://{bucket}"));
            if bucket_err.code == ErrorCode::NotFound {
                Error { s3_code: Some("NoSuchBucket".into()), message: format!("s3://{bucket}: NoSuchBucket"), ..err }
            } else {
                err
            }
        }
    }
}
