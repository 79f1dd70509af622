//! `upload`: put text, JSON, base64, a file or raw bytes under a (templated) key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};


use bytes::Bytes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::fields::{self, Acl, ServerSideEncryption};
use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};
use crate::template::{self, TemplateContext};
use crate::transfer::{self, upload::ObjectFields, upload::Source, Checksum};

/// What to do when the key already holds an object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IfExists {
    /// Replace it (S3's own behaviour).
    #[default]
    Overwrite,
    /// Fail with `already_exists` and write nothing.
    Fail,
    /// Copy the existing object to `backup_bucket`/`backup_prefix` first, then replace it.
    Backup,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// Target bucket (may be omitted when the connection has `restrict_bucket`).
    #[serde(default)]
    pub bucket: Option<String>,
    /// Target key; may be a template (`invoices/{yyyy}/{invoice_id}.pdf`); a key ending in `/`
    /// gets the source file name appended; absent = the source file or document name.
    #[serde(default)]
    pub key: Option<String>,
    /// Content as UTF-8 text.
    #[serde(default)]
    pub text: Option<String>,
    /// Content as standard base64.
    #[serde(default)]
    pub base64: Option<String>,
    /// Content as a JSON value (stored compact, `application/json`).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// Content from a local file path.
    #[serde(default)]
    pub file: Option<String>,
    /// Content from a service document id (service only).
    #[serde(default)]
    pub document: Option<String>,
    /// Raw bytes (library and CLI stdin only; never in JSON).
    #[serde(skip)]
    #[schemars(skip)]
    pub bytes: Option<Bytes>,
    /// Default: guessed from the key's extension; `application/json` for `json`.
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub acl: Option<Acl>,
    /// User metadata (`x-amz-meta-*`).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub tags: Option<BTreeMap<String, String>>,
    /// `STANDARD`, `STANDARD_IA`, `GLACIER_IR`…
    #[serde(default)]
    pub storage_class: Option<String>,
    #[serde(default)]
    pub server_side_encryption: Option<ServerSideEncryption>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub cache_control: Option<String>,
    #[serde(default)]
    pub content_disposition: Option<String>,
    /// Values for the key template's `{name}` placeholders.
    #[serde(default)]
    pub vars: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub if_exists: Option<IfExists>,
    /// Where `if_exists: backup` copies the old object (default: the same bucket).
    #[serde(default)]
    pub backup_bucket: Option<String>,
    /// Prefix of the backup key `{backup_prefix}{key}.{timestamp}` (default: none).
    #[serde(default)]
    pub backup_prefix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UploadOutput {
    pub bucket: String,
    pub key: String,
    pub etag: Option<String>,
    /// Null when the bucket is not versioned.
    pub version_id: Option<String>,
    pub size: u64,
    pub content_type: String,
    pub object_url: String,
    /// Where the replaced object was copied (`if_exists: backup`).
    pub backup: Option<ObjectRef>,
    /// The whole object's checksum as sent, e.g. `{"algorithm":"CRC32","value":"…"}`.
    pub checksum: Option<Checksum>,
}

pub async fn run(client: &Client, input: UploadInput) -> Result<UploadOutput> {
    // Decode the content first: bad base64 or a missing file fails before any request.
    let (body, source_name, default_type) = body_of(&input).await?;
    run_with_source(client, &input, body, source_name.as_deref(), default_type).await
}

/// Uploads the bytes of `reader` (stdin, a socket, a request body) of unknown length, with the
/// other fields of `input`, which must have no content field of its own. One PUT when the
/// stream ends within the first part, else a multipart upload; memory stays bounded by
/// `upload_concurrency` × `part_size`.
pub async fn run_stream(
    client: &Client,
    input: UploadInput,
    reader: impl tokio::io::AsyncRead + Send + Unpin + 'static,
) -> Result<UploadOutput> {
    let given = [input.text.is_some(), input.base64.is_some(), input.json.is_some(), input.file.is_some()];
    if given.contains(&true) || input.document.is_some() || input.bytes.is_some() {
        return Err(Error::invalid_input("content: a streamed upload takes no text, base64, json, file or document"));
    }
    run_with_source(client, &input, Source::Reader(Box::new(reader)), None, None).await
}

async fn run_with_source(
    client: &Client,
    input: &UploadInput,
    body: Source,
    source_name: Option<&str>,
    default_type: Option<&'static str>,
) -> Result<UploadOutput> {
    let restriction = client.restriction();
    let bucket = restriction.bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    let key = resolve_key(input, source_name)?;
    validate_key("key", &key)?;
    restriction.check_key(&bucket, &key)?;

    let metadata = input.metadata.clone().unwrap_or_default();
    fields::validate_metadata(&metadata)?;
    let tags = input.tags.clone().unwrap_or_default();
    fields::validate_tags(&tags)?;
    let storage_class = fields::storage_class(input.storage_class.as_deref())?;
    if input.kms_key_id.is_some() && input.server_side_encryption != Some(ServerSideEncryption::AwsKms) {
        return Err(Error::invalid_input("kms_key_id: needs server_side_encryption \"aws:kms\""));
    }
    let content_type = match &input.content_type {
        Some(t) => {
            if t.parse::<http::HeaderValue>().is_err() || t.is_empty() {
                return Err(Error::invalid_input(format!("content_type: {t:?} is not a valid header value")));
            }
            t.clone()
        }
        None => default_type.map(str::to_owned).unwrap_or_else(|| guess_content_type(&key)),
    };
    let if_exists = input.if_exists.unwrap_or_default();
    if if_exists != IfExists::Backup && (input.backup_bucket.is_some() || input.backup_prefix.is_some()) {
        return Err(Error::invalid_input("backup_bucket/backup_prefix: only with if_exists \"backup\""));
    }

    let backup = match if_exists {
        IfExists::Overwrite => None,
        IfExists::Fail => {
            if exists(client, &bucket, &key).await? {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!("s3://{bucket}/{key} already exists (if_exists: fail)"),
                ));
            }
            None
        }
        IfExists::Backup => backup_existing(client, input, &bucket, &key).await?,
    };

    let fields = ObjectFields {
        content_type: Some(content_type.clone()),
        acl: input.acl.map(Acl::object),
        storage_class,
        server_side_encryption: input.server_side_encryption.map(ServerSideEncryption::sdk),
        kms_key_id: input.kms_key_id.clone(),
        cache_control: input.cache_control.clone(),
        content_disposition: input.content_disposition.clone(),
        content_encoding: None,
        tagging: (!tags.is_empty()).then(|| encode::tagging(&tags)),
        metadata,
        // AWS honours conditional writes: closes the race between the check above and this PUT.
        if_none_match: if_exists == IfExists::Fail && client.connection().provider.checksums_by_default(),
    };
    let out = transfer::upload::put(client, &bucket, &key, &fields, body).await.map_err(|err| {
        if err.code == ErrorCode::PreconditionFailed && if_exists == IfExists::Fail {
            Error { code: ErrorCode::AlreadyExists, ..err }
        } else {
            err
        }
    })?;

    Ok(UploadOutput {
        object_url: client.object_url(&bucket, &key),
        bucket,
        key,
        etag: fields::etag(out.etag.as_deref()),
        version_id: out.version_id,
        size: out.size,
        content_type,
        backup,
        checksum: Some(out.checksum),
    })
}

/// Exactly one content source, decoded. Returns the body, the source's file name (for
/// templates and default keys) and a content type implied by the source.
async fn body_of(input: &UploadInput) -> Result<(Source, Option<String>, Option<&'static str>)> {
    let given = [
        input.text.is_some(),
        input.base64.is_some(),
        input.json.is_some(),
        input.file.is_some(),
        input.document.is_some(),
        input.bytes.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        1 => {}
        0 => return Err(Error::invalid_input("content: give one of text, base64, json, file or document")),
        _ => return Err(Error::invalid_input("content: give only one of text, base64, json, file or document")),
    }
    if let Some(bytes) = fields::inline_body(input.text.as_deref(), input.base64.as_deref(), input.json.as_ref())? {
        let content_type = input.json.is_some().then_some("application/json");
        return Ok((Source::Bytes(bytes), None, content_type));
    }
    if let Some(bytes) = &input.bytes {
        return Ok((Source::Bytes(bytes.clone()), None, None));
    }
    if let Some(file) = &input.file {
        let path = PathBuf::from(file);
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| Error::invalid_input(format!("file: cannot read {file:?}: {e}")))?;
        if !meta.is_file() {
            return Err(Error::invalid_input(format!("file: {file:?} is not a regular file")));
        }
        let name = Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned());
        return Ok((Source::File { path, len: meta.len() }, name, None));
    }
    Err(Error::invalid_input(
        "document: documents are kept by the s3flow service; use it, or upload text, base64, json or a file",
    ))
}

fn resolve_key(input: &UploadInput, source_name: Option<&str>) -> Result<String> {
    let vars = input.vars.clone().unwrap_or_default();
    let ctx = TemplateContext { now: time::OffsetDateTime::now_utc(), file_name: source_name, vars: &vars };
    let key = match &input.key {
        Some(template) if !template.is_empty() => template::render(template, &ctx)?,
        _ => source_name
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid_input("key: is required when the content has no file name"))?,
    };
    // `reports/` + report.pdf = `reports/report.pdf`, as aws-cli and s5cmd do.
    Ok(match (key.ends_with('/'), source_name) {
        (true, Some(name)) => format!("{key}{name}"),
        _ => key,
    })
}

/// `text/plain` for .txt and friends, `application/octet-stream` when the extension says nothing.
pub fn guess_content_type(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    mime_guess::from_path(name)
        .first_raw()
        .map(|t| if t.starts_with("text/") { format!("{t}; charset=utf-8") } else { t.to_owned() })
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

pub(crate) async fn exists(client: &Client, bucket: &str, key: &str) -> Result<bool> {
    match client.s3().head_object().bucket(bucket).key(key).send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = Error::from_sdk(e, &format!("s3://{bucket}/{key}"));
            if err.code == ErrorCode::NotFound && err.s3_code.as_deref() != Some("NoSuchBucket") {
                // HEAD has no body, so a missing bucket also looks like a 404: tell them apart.
                client
                    .s3()
                    .head_bucket()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(e, &format!("s3://{bucket}")))?;
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}

async fn backup_existing(client: &Client, input: &UploadInput, bucket: &str, key: &str) -> Result<Option<ObjectRef>> {
    let backup_bucket = input.backup_bucket.clone().unwrap_or_else(|| bucket.to_owned());
    validate_bucket_name(&backup_bucket)?;
    let stamp = encode::compact_timestamp(time::OffsetDateTime::now_utc());
    let backup_key = format!("{}{key}.{stamp}", input.backup_prefix.as_deref().unwrap_or(""));
    validate_key("backup key", &backup_key)?;
    client.restriction().check_key(&backup_bucket, &backup_key)?;
    if !exists(client, bucket, key).await? {
        return Ok(None);
    }
    let out = client
        .s3()
        .copy_object()
        .copy_source(encode::copy_source(bucket, key, None))
        .bucket(&backup_bucket)
        .key(&backup_key)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &format!("backup of s3://{bucket}/{key} to s3://{backup_bucket}/{backup_key}")))?;
    Ok(Some(ObjectRef { bucket: backup_bucket, key: backup_key, version_id: out.version_id().map(str::to_owned) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(guess_content_type("a/b.pdf"), "application/pdf");
        assert_eq!(guess_content_type("a/b.txt"), "text/plain; charset=utf-8");
        assert_eq!(guess_content_type("a/b"), "application/octet-stream");
        assert_eq!(guess_content_type("a.b/c"), "application/octet-stream");
    }

    #[test]
    fn keys_from_file_names() {
        let input = UploadInput { key: Some("in/".into()), ..Default::default() };
        assert_eq!(resolve_key(&input, Some("x.pdf")).unwrap(), "in/x.pdf");
        let input = UploadInput::default();
        assert_eq!(resolve_key(&input, Some("x.pdf")).unwrap(), "x.pdf");
        assert!(resolve_key(&input, None).is_err());
    }
}
