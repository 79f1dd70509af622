//! `list_folders`: the folders (common prefixes) right under a prefix.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFoldersInput {
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListFoldersOutput {
    pub bucket: String,
    pub prefix: String,
    pub folders: Vec<String>,
    pub count: u64,
}

pub async fn run(client: &Client, input: ListFoldersInput) -> Result<ListFoldersOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    let prefix = client.restriction().scope_prefix(&bucket, input.prefix.as_deref())?;
    let what = format!("s3://{bucket}/{prefix}");
    let mut folders = Vec::new();
    let mut pages = client
        .s3()
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(&prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(e, &what))?;
        folders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_owned)));
    }
    Ok(ListFoldersOutput { count: folders.len() as u64, bucket, prefix, folders })
}
