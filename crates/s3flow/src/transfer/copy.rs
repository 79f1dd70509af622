//! Multipart copy: objects over CopyObject's 5 GiB limit are copied server-side in
//! UploadPartCopy ranges, `upload_concurrency` at a time, pinned to the source's ETag.
//! A failure aborts the upload.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use tokio::task::JoinSet;

use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};
use crate::transfer::upload::{guarded, with_fields, ObjectFields};
use crate::transfer::{part_size_for, ranges};

/// The copy's source, as found by a HEAD.
#[derive(Debug, Clone)]
pub struct CopySource {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub size: u64,
    /// Pins every part to the same version of the source.
    pub etag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub parts: usize,
}

/// Copies `source` to `bucket`/`key` in parts of [`Client::part_size`] (grown to fit
/// 10,000 parts), storing `fields` with the new object.
pub async fn multipart_copy(client: &Client, source: &CopySource, bucket: &str, key: &str, fields: &ObjectFields) -> Result<Copied> {
    let what = format!("copy of s3://{}/{} to s3://{bucket}/{key}", source.bucket, source.key);
    let created = with_fields!(client.s3().create_multipart_upload().bucket(bucket).key(key), fields)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    let what = what.as_str();
    guarded(client, bucket, key, &created, what, |upload_id| async move {
        copy_parts(client, source, bucket, key, &upload_id, what).await
    })
    .await
}

async fn copy_parts(client: &Client, source: &CopySource, bucket: &str, key: &str, upload_id: &str, what: &str) -> Result<Copied> {
    let copy_source = encode::copy_source(&source.bucket, &source.key, source.version_id.as_deref());
    let part_size = part_size_for(source.size, client.part_size());
    let mut tasks = JoinSet::new();
    let mut parts = Vec::new();
    for (index, (start, end)) in ranges(source.size, part_size).into_iter().enumerate() {
        let number = index as i32 + 1;
        let permit = client.upload_budget().take_slot().await;
        let request = client
            .s3()
            .upload_part_copy()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .copy_source(&copy_source)
            .copy_source_range(format!("bytes={start}-{}", end - 1))
            .set_copy_source_if_match(source.etag.clone());
        let what = format!("{what} part {number}");
        tasks.spawn(async move {
            let _permit = permit;
            let out = request.send().await.map_err(|e| Error::from_sdk(e, &what))?;
            Ok::<_, Error>((number, out.copy_part_result().and_then(|r| r.e_tag()).map(str::to_owned)))
        });
        while let Some(joined) = tasks.try_join_next() {
            parts.push(joined_copy(joined)?);
        }
    }
    while let Some(joined) = tasks.join_next().await {
        parts.push(joined_copy(joined)?);
    }
    parts.sort_by_key(|(number, _)| *number);
    let count = parts.len();
    let completed = parts
        .into_iter()
        .map(|(number, etag)| CompletedPart::builder().part_number(number).set_e_tag(etag).build())
        .collect();
    let out = client
        .s3()
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, what))?;
    Ok(Copied { etag: out.e_tag().map(str::to_owned), version_id: out.version_id().map(str::to_owned), parts: count })
}

fn joined_copy(
    joined: std::result::Result<Result<(i32, Option<String>)>, tokio::task::JoinError>,
) -> Result<(i32, Option<String>)> {
    joined.map_err(|e| Error::new(ErrorCode::UpstreamUnavailable, format!("a part copy stopped: {e}")))?
}
