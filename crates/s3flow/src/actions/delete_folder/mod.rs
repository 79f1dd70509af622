//! `delete_folder`: every object under a prefix, listed page by page (a page is at most one
//! DeleteObjects batch), the next page listed while earlier batches are deleted.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use tokio::task::JoinSet;

use crate::actions::delete_objects::{delete_batch, KeyError, BATCH_SIZE, CONCURRENT_BATCHES};
use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::error::{Error, ErrorCode, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteFolderInput {
    #[serde(default)]
    pub bucket: Option<String>,
    /// Non-empty, unless `allow_entire_bucket` is true.
    pub prefix: String,
    /// Needed to delete everything in the bucket (empty prefix).
    #[serde(default)]
    pub allow_entire_bucket: bool,
    /// Count what would be deleted, delete nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeleteFolderOutput {
    pub bucket: String,
    pub prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_count: Option<u64>,
    /// On a dry run: how many objects would be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_delete: Option<u64>,
    pub errors: Vec<KeyError>,
}

pub async fn run(client: &Client, input: DeleteFolderInput) -> Result<DeleteFolderOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    if input.prefix.is_empty() && !input.allow_entire_bucket {
        return Err(Error::invalid_input(
            "prefix: must not be empty (to delete the whole bucket, set allow_entire_bucket: true)",
        ));
    }
    let prefix = client.restriction().scope_prefix(&bucket, Some(&input.prefix))?;
    let what = format!("s3://{bucket}/{prefix}");
    let mut pages = client.s3().list_objects_v2().bucket(&bucket).prefix(&prefix).into_paginator().send();
    let mut found = 0u64;
    let mut deleted = 0u64;
    let mut errors = Vec::new();
    // Spawned, not just pushed into a set of futures: a batch must run while the next page
    // is listed, not only when its result is awaited.
    let mut in_flight = JoinSet::new();
    let mut settle = |joined: std::result::Result<Result<(u64, Vec<KeyError>)>, tokio::task::JoinError>| -> Result<()> {
        let (count, failed) = joined.map_err(|e| {
            Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: a delete batch stopped: {e}"))
        })??;
        deleted += count;
        errors.extend(failed);
        Ok(())
    };
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(e, &what))?;
        let keys: Vec<String> = page.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect();
        found += keys.len() as u64;
        if input.dry_run || keys.is_empty() {
            continue;
        }
        // A page holds at most 1,000 keys (one batch), but a store may send more.
        for batch in keys.chunks(BATCH_SIZE).map(<[String]>::to_vec) {
            while in_flight.len() >= CONCURRENT_BATCHES {
                settle(in_flight.join_next().await.expect("not empty"))?;
            }
            let (client, bucket) = (client.clone(), bucket.clone());
            in_flight.spawn(async move { delete_batch(&client, &bucket, &batch).await });
        }
    }
    while let Some(joined) = in_flight.join_next().await {
        settle(joined)?;
    }
    Ok(DeleteFolderOutput {
        bucket,
        prefix,
        deleted_count: (!input.dry_run).then_some(deleted),
        would_delete: input.dry_run.then_some(found),
        errors,
    })
}
