//! `set_versioning`: turn versioning on (`Enabled`) or off (`Suspended`).

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVersioningInput {
    #[serde(default)]
    pub bucket: Option<String>,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SetVersioningOutput {
    pub bucket: String,
    /// `Enabled` or `Suspended`, as read back from the store.
    pub status: String,
}

pub async fn run(client: &Client, input: SetVersioningInput) -> Result<SetVersioningOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    client.restriction().check_bucket(&bucket)?;
    let what = format!("s3://{bucket}");
    let status = if input.enabled { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
    client
        .s3()
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status.clone()).build())
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    // Read the status back: a store that accepts and ignores the call must not look versioned.
    // moto answers with a differently named XML root the SDK cannot parse; then the
    // accepted PUT is all we know.
    let status = match client.s3().get_bucket_versioning().bucket(&bucket).send().await {
        Ok(read_back) => read_back.status().cloned().unwrap_or(status),
        Err(e) => {
            tracing::debug!("reading back the versioning status of {what} failed: {}", Error::from_sdk(e, &what));
            status
        }
    };
    Ok(SetVersioningOutput { bucket, status: status.as_str().to_owned() })
}
