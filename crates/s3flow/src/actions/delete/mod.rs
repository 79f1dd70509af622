//! `delete`: one object, or one version of it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteInput {
    #[serde(default)]
    pub bucket: Option<String>,
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteOutput {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    /// True when the delete made (or removed) a delete marker in a versioned bucket.
    pub delete_marker: bool,
}

pub async fn run(client: &Client, input: DeleteInput) -> Result<DeleteOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    validate_key("key", &input.key)?;
    client.restriction().check_key(&bucket, &input.key)?;
    let out = client
        .s3()
        .delete_object()
        .bucket(&bucket)
        .key(&input.key)
        .set_version_id(input.version_id.clone())
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &format!("s3://{bucket}/{}", input.key)))?;
    Ok(DeleteOutput {
        bucket,
        key: input.key,
        version_id: out.version_id().map(str::to_owned),
        delete_marker: out.delete_marker().unwrap_or(false),
    })
}
