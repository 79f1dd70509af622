//! `delete_objects`: many keys, sent in batches of 1,000 (S3's limit per DeleteObjects).

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use futures::{StreamExt, TryStreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::error::{Error, Result};

/// Keys per DeleteObjects request
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html>).
pub const BATCH_SIZE: usize = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteObjectsInput {
    #[serde(default)]
    pub bucket: Option<String>,
    pub keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KeyError {
    pub key: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteObjectsOutput {
    pub bucket: String,
    pub deleted_count: u64,
    pub errors: Vec<KeyError>,
}

pub async fn run(client: &Client, input: DeleteObjectsInput) -> Result<DeleteObjectsOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    // Every key is checked before the first request: one bad key deletes nothing.
    for key in &input.keys {
        validate_key("keys[]", key)?;
        client.restriction().check_key(&bucket, key)?;
    }
    let (deleted_count, errors) = delete_batches(client, &bucket, &input.keys).await?;
    Ok(DeleteObjectsOutput { bucket, deleted_count, errors })
}

/// DeleteObjects requests in flight at once: one batch at a time left the store idle between
/// round trips.
pub const CONCURRENT_BATCHES: usize = 8;

/// Deletes `keys` in batches of [`BATCH_SIZE`], [`CONCURRENT_BATCHES`] at once; returns how
/// many went and the per-key errors.
pub(crate) async fn delete_batches(client: &Client, bucket: &str, keys: &[String]) -> Result<(u64, Vec<KeyError>)> {
    // Batches by index: a stream of borrowed slices trips the compiler's `Send` inference
    // in the service's handlers.
    let mut batches = futures::stream::iter((0..keys.len()).step_by(BATCH_SIZE))
        .map(|start| delete_batch(client, bucket, &keys[start..(start + BATCH_SIZE).min(keys.len())]))
        .buffer_unordered(CONCURRENT_BATCHES);
    let mut deleted = 0u64;
    let mut errors = Vec::new();
    while let Some((count, failed)) = batches.try_next().await? {
        deleted += count;
        errors.extend(failed);
    }
    Ok((deleted, errors))
}

/// One DeleteObjects request (at most [`BATCH_SIZE`] keys).
pub(crate) async fn delete_batch(client: &Client, bucket: &str, batch: &[String]) -> Result<(u64, Vec<KeyError>)> {
    let objects = batch
        .iter()
        .map(|key| ObjectIdentifier::builder().key(key).build())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid_input(format!("keys: {e}")))?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| Error::invalid_input(format!("keys: {e}")))?;
    let out = client
        .s3()
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &format!("s3://{bucket}")))?;
    let failed: Vec<KeyError> = out
        .errors()
        .iter()
        .map(|e| KeyError {
            key: e.key().unwrap_or_default().to_owned(),
            code: crate::error::code_for_s3(e.code().unwrap_or_default(), 0).as_str().to_owned(),
            message: format!("{}: {}", e.code().unwrap_or("Error"), e.message().unwrap_or_default()),
        })
        .collect();
    Ok(((batch.len() - failed.len()) as u64, failed))
}
