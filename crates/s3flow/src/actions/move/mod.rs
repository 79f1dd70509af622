//! `move`: copy, then delete the source — only after the copy succeeded.

use crate::actions::copy::{self, CopyInput, CopyOutput};
use crate::client::Client;
use crate::error::{Error, Result};

pub type MoveInput = CopyInput;
pub type MoveOutput = CopyOutput;

pub async fn run(client: &Client, input: MoveInput) -> Result<MoveOutput> {
    let same_object = input.source_bucket == input.bucket && input.source_key == input.key;
    if same_object && input.source_version_id.is_none() {
        return Err(Error::invalid_input("key: moving an object onto itself would delete it"));
    }
    // A given source version is removed for good; otherwise a versioned bucket keeps the old
    // versions behind a delete marker, as `aws s3 mv` does.
    let source_version = input.source_version_id.clone();
    let output = copy::run(client, input).await?;
    let source = &output.source;
    client
        .s3()
        .delete_object()
        .bucket(&source.bucket)
        .key(&source.key)
        .set_version_id(source_version)
        .send()
        .await
        .map_err(|e| {
            Error::from_sdk(e, &format!("copied, but deleting the source s3://{}/{} failed", source.bucket, source.key))
        })?;
    Ok(output)
}
