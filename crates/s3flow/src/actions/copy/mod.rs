//! `copy`: server-side copy across buckets (and regions: the request goes to the target).

use std::collections::BTreeMap;

use aws_sdk_s3::types::{MetadataDirective, TaggingDirective};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::fields::{self, Acl};
use crate::actions::upload::ObjectRef;
use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::encode;
use crate::error::{Error, Result};
use crate::transfer::{self, copy::CopySource, upload::ObjectFields};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyInput {
    #[serde(default)]
    pub source_bucket: Option<String>,
    pub source_key: String,
    #[serde(default)]
    pub source_version_id: Option<String>,
    #[serde(default)]
    pub bucket: Option<String>,
    pub key: String,
    #[serde(default)]
    pub acl: Option<Acl>,
    /// Given = replace the source's metadata.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Given = replace the content type (the rest of the metadata is kept).
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Given = replace the source's tags.
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CopyOutput {
    pub source: ObjectRef,
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    pub version_id: Option<String>,
}

pub async fn run(client: &Client, input: CopyInput) -> Result<CopyOutput> {
    let restriction = client.restriction();
    let source_bucket = restriction.bucket_or_default(input.source_bucket.as_deref())?;
    let bucket = restriction.bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&source_bucket)?;
    validate_bucket_name(&bucket)?;
    validate_key("source_key", &input.source_key)?;
    validate_key("key", &input.key)?;
    restriction.check_key(&source_bucket, &input.source_key)?;
    restriction.check_key(&bucket, &input.key)?;
    let storage_class = fields::storage_class(input.storage_class.as_deref())?;
    if let Some(metadata) = &input.metadata {
        fields::validate_metadata(metadata)?;
    }
    if let Some(tags) = &input.tags {
        fields::validate_tags(tags)?;
    }

    let source_what = format!("s3://{source_bucket}/{}", input.source_key);
    let source = client
        .s3()
        .head_object()
        .bucket(&source_bucket)
        .key(&input.source_key)
        .set_version_id(input.source_version_id.clone())
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &source_what))?;
    let size = source.content_length().unwrap_or(0).max(0) as u64;
    if size > client.multipart_copy_threshold() {
        return multipart(client, input, source, source_bucket, bucket, storage_class, size).await;
    }
    let mut copy = client
        .s3()
        .copy_object()
        .copy_source(encode::copy_source(&source_bucket, &input.source_key, input.source_version_id.as_deref()))
        .bucket(&bucket)
        .key(&input.key)
        .set_acl(input.acl.map(Acl::object))
        .set_storage_class(storage_class);
    if input.metadata.is_some() || input.content_type.is_some() {
        // REPLACE swaps all metadata at once: start from the source's so that giving only a
        // content type (or only metadata) keeps the other.
        let metadata = match &input.metadata {
            Some(metadata) => metadata.clone(),
            None => fields::metadata_map(source.metadata()),
        };
        copy = copy
            .metadata_directive(MetadataDirective::Replace)
            .set_content_type(input.content_type.clone().or_else(|| source.content_type().map(str::to_owned)))
            .set_cache_control(source.cache_control().map(str::to_owned))
            .set_content_disposition(source.content_disposition().map(str::to_owned))
            .set_content_encoding(source.content_encoding().map(str::to_owned));
        for (name, value) in metadata {
            copy = copy.metadata(name, value);
        }
    }
    if let Some(tags) = &input.tags {
        copy = copy.tagging_directive(TaggingDirective::Replace).tagging(encode::tagging(tags));
    }
    let out = copy
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &format!("copy of {source_what} to s3://{bucket}/{}", input.key)))?;
    let result = out.copy_object_result();
    Ok(CopyOutput {
        source: ObjectRef {
            bucket: source_bucket,
            key: input.source_key,
            version_id: out.copy_source_version_id().map(str::to_owned).or(input.source_version_id),
        },
        bucket,
        key: input.key,
        etag: fields::etag(result.and_then(|r| r.e_tag())),
        version_id: out.version_id().map(str::to_owned),
    })
}

/// Over CopyObject's limit: UploadPartCopy ranges, carrying the source's headers, metadata
/// and tags over as CopyObject's COPY directives would (or the replacements given).
async fn multipart(
    client: &Client,
    input: CopyInput,
    source: aws_sdk_s3::operation::head_object::HeadObjectOutput,
    source_bucket: String,
    bucket: String,
    storage_class: Option<aws_sdk_s3::types::StorageClass>,
    size: u64,
) -> Result<CopyOutput> {
    let tagging = match &input.tags {
        Some(tags) => Some(encode::tagging(tags)),
        None => source_tagging(client, &source_bucket, &input.source_key, input.source_version_id.as_deref()).await,
    };
    let fields = ObjectFields {
        content_type: input.content_type.clone().or_else(|| source.content_type().map(str::to_owned)),
        acl: input.acl.map(Acl::object),
        storage_class,
        server_side_encryption: None,
        kms_key_id: None,
        cache_control: source.cache_control().map(str::to_owned),
        content_disposition: source.content_disposition().map(str::to_owned),
        content_encoding: source.content_encoding().map(str::to_owned),
        metadata: input.metadata.clone().unwrap_or_else(|| fields::metadata_map(source.metadata())),
        tagging,
        if_none_match: false,
    };
    let copy_source = CopySource {
        bucket: source_bucket.clone(),
        key: input.source_key.clone(),
        version_id: input.source_version_id.clone(),
        size,
        etag: source.e_tag().map(str::to_owned),
    };
    let copied = transfer::copy::multipart_copy(client, &copy_source, &bucket, &input.key, &fields).await?;
    Ok(CopyOutput {
        source: ObjectRef {
            bucket: source_bucket,
            key: input.source_key,
            version_id: input.source_version_id.or_else(|| source.version_id().map(str::to_owned)),
        },
        bucket,
        key: input.key,
        etag: fields::etag(copied.etag.as_deref()),
        version_id: copied.version_id,
    })
}

/// The source's tags, so the copy keeps them; none when the store has no tagging.
async fn source_tagging(client: &Client, bucket: &str, key: &str, version_id: Option<&str>) -> Option<String> {
    let out = client
        .s3()
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .send()
        .await
        .ok()?;
    let tags: BTreeMap<String, String> = out.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    (!tags.is_empty()).then(|| encode::tagging(&tags))
}
