//! `list_buckets`: the buckets this connection can see (only its own under `restrict_bucket`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::encode;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBucketsInput {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BucketEntry {
    pub name: String,
    /// RFC 3339.
    pub created: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListBucketsOutput {
    pub buckets: Vec<BucketEntry>,
}

pub async fn run(client: &Client, _input: ListBucketsInput) -> Result<ListBucketsOutput> {
    let mut buckets = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .s3()
            .list_buckets()
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| Error::from_sdk(e, "list buckets"))?;
        for bucket in out.buckets() {
            let name = bucket.name().unwrap_or_default().to_owned();
            // Under a bucket restriction the other names are not this connection's to see.
            if client.restriction().check_bucket(&name).is_ok() {
                buckets.push(BucketEntry { name, created: encode::rfc3339_opt(bucket.creation_date()) });
            }
        }
        token = out.continuation_token().filter(|t| !t.is_empty()).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(ListBucketsOutput { buckets })
}
