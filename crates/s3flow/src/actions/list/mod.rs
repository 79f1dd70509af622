//! `list`: objects under a prefix, all levels or one level with its folders.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::fields;
use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::encode;
use crate::error::{Error, Result};

pub const DEFAULT_MAX: u64 = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    /// Most objects to return (default 1000; 0 = all).
    #[serde(default)]
    pub max: Option<u64>,
    #[serde(default)]
    pub start_after: Option<String>,
    /// From a previous `next_continuation_token`.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// Default true; false = one level, with its folders.
    #[serde(default)]
    pub recursive: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListOutput {
    pub bucket: String,
    pub prefix: String,
    pub objects: Vec<ObjectEntry>,
    /// Present when `recursive` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folders: Option<Vec<String>>,
    pub count: u64,
    pub is_truncated: bool,
    pub next_continuation_token: Option<String>,
}

pub async fn run(client: &Client, input: ListInput) -> Result<ListOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    let prefix = client.restriction().scope_prefix(&bucket, input.prefix.as_deref())?;
    let recursive = input.recursive.unwrap_or(true);
    let max = input.max.unwrap_or(DEFAULT_MAX);
    let mut objects = Vec::new();
    let mut folders = Vec::new();
    let mut token = input.continuation_token.clone();
    let what = format!("s3://{bucket}/{prefix}");
    let (is_truncated, next_token) = loop {
        let taken = (objects.len() + folders.len()) as u64;
        let page_size = if max == 0 { 1000 } else { (max - taken).min(1000) };
        let page = client
            .s3()
            .list_objects_v2()
            .bucket(&bucket)
            .prefix(&prefix)
            .max_keys(page_size as i32)
            .set_delimiter((!recursive).then(|| "/".to_owned()))
            .set_start_after(input.start_after.clone())
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| Error::from_sdk(e, &what))?;
        for object in page.contents() {
            objects.push(ObjectEntry {
                key: object.key().unwrap_or_default().to_owned(),
                size: object.size().unwrap_or(0).max(0) as u64,
                etag: fields::etag(object.e_tag()),
                last_modified: encode::rfc3339_opt(object.last_modified()),
                storage_class: object.storage_class().map(|c| c.as_str().to_owned()),
            });
        }
        folders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_owned)));
        let truncated = page.is_truncated().unwrap_or(false);
        token = page.next_continuation_token().map(str::to_owned);
        let full = max != 0 && (objects.len() + folders.len()) as u64 >= max;
        if !truncated || token.is_none() || full {
            break (truncated && token.is_some(), if truncated { token } else { None });
        }
    };
    Ok(ListOutput {
        count: (objects.len() + if recursive { 0 } else { folders.len() }) as u64,
        bucket,
        prefix,
        objects,
        folders: (!recursive).then_some(folders),
        is_truncated,
        next_continuation_token: next_token,
    })
}
