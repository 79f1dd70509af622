//! `download`: read an object as text, JSON, base64 (inline) or into a file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::actions::fields;
use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};
use crate::transfer::{self, Checksum};

/// Inline content larger than this fails with `payload_too_large` unless `max_inline_bytes` says otherwise.
pub const DEFAULT_MAX_INLINE_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DownloadAs {
    /// JSON types → json, text types or valid UTF-8 → text, else base64.
    #[default]
    Auto,
    Text,
    Json,
    Base64,
    /// Write to the local path `to`.
    File,
    /// Keep as a service document (service only).
    Document,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DownloadInput {
    #[serde(default)]
    pub bucket: Option<String>,
    pub key: String,
    #[serde(default)]
    pub version_id: Option<String>,
    /// `bytes=a-b`, `bytes=a-` or `bytes=-n`.
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default, rename = "as")]
    pub as_: Option<DownloadAs>,
    /// File path for `as: file`.
    #[serde(default)]
    pub to: Option<String>,
    /// Inline content over this size fails with `payload_too_large` (default 10 MiB).
    #[serde(default)]
    pub max_inline_bytes: Option<u64>,
}

/// Inline content: exactly one of the three forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Content {
    Text(String),
    Json(serde_json::Value),
    Base64(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DownloadOutput {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    pub size: u64,
    pub content_type: Option<String>,
    /// RFC 3339.
    pub last_modified: Option<String>,
    pub metadata: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// The file written (`as: file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The document created (`as: document`, service only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<serde_json::Value>,
    /// The whole object's checksum, checked against the bytes received, e.g.
    /// `{"algorithm":"CRC32","value":"…"}`; absent when the store returned none to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

pub async fn run(client: &Client, input: DownloadInput) -> Result<DownloadOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    validate_key("key", &input.key)?;
    client.restriction().check_key(&bucket, &input.key)?;
    if let Some(range) = &input.range {
        validate_range(range)?;
    }
    let as_ = input.as_.unwrap_or_default();
    let target = match (as_, &input.to) {
        (DownloadAs::File, Some(to)) if !to.is_empty() => Some(PathBuf::from(to)),
        (DownloadAs::File, _) => return Err(Error::invalid_input("to: is required with as \"file\"")),
        (_, Some(_)) => return Err(Error::invalid_input("to: only with as \"file\"")),
        _ => None,
    };
    if as_ == DownloadAs::Document {
        return Err(Error::invalid_input(
            "as: \"document\" needs the s3flow service; use \"file\" or inline content",
        ));
    }
    let max_inline = input.max_inline_bytes.unwrap_or(DEFAULT_MAX_INLINE_BYTES);

    if let (Some(path), None) = (&target, &input.range) {
        // Whole objects to a file: parallel ranges, verified, renamed into place.
        let request = transfer::download::Request {
            bucket: bucket.clone(),
            key: input.key.clone(),
            version_id: input.version_id.clone(),
        };
        let done = transfer::download::to_file(client, &request, path).await?;
        return Ok(DownloadOutput::of(bucket, input.key, done, Some(path.to_string_lossy().into_owned())));
    }

    let what = format!("s3://{bucket}/{}", input.key);
    let response = client
        .s3()
        .get_object()
        .bucket(&bucket)
        .key(&input.key)
        .set_version_id(input.version_id.clone())
        .set_range(input.range.clone())
        // Whole-object checksums come only with whole-object reads.
        .set_checksum_mode(input.range.is_none().then_some(aws_sdk_s3::types::ChecksumMode::Enabled))
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    let stored_crc = response.checksum_crc32().and_then(transfer::checksum::decode);

    let size = response.content_length().unwrap_or(0).max(0) as u64;
    let mut output = DownloadOutput {
        bucket,
        key: input.key.clone(),
        version_id: response.version_id().map(str::to_owned),
        etag: fields::etag(response.e_tag()),
        size,
        content_type: response.content_type().map(str::to_owned),
        last_modified: encode::rfc3339_opt(response.last_modified()),
        metadata: fields::metadata_map(response.metadata()),
        content: None,
        file: None,
        document: None,
        checksum: None,
    };

    if let Some(path) = target {
        let written = write_file(&path, response.body, size, &what).await?;
        output.size = written;
        output.file = Some(path.to_string_lossy().into_owned());
        return Ok(output);
    }

    if size > max_inline {
        return Err(Error::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "{what} is {size} bytes, over max_inline_bytes ({max_inline}); download it with as \"file\" (or \"document\" in the service)"
            ),
        ));
    }
    let bytes = response
        .body
        .collect()
        .await
        .map_err(|e| Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: reading the body failed: {e}")))?
        .into_bytes();
    if bytes.len() as u64 != size {
        return Err(Error::new(
            ErrorCode::UpstreamUnavailable,
            format!("{what}: the body ended after {} of {size} bytes", bytes.len()),
        ));
    }
    if let Some(expected) = stored_crc.filter(|_| input.range.is_none()) {
        if transfer::checksum::crc32(&bytes) != expected {
            return Err(Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("{what}: the body does not match the object's CRC32 checksum"),
            ));
        }
        output.checksum = Some(Checksum::crc32(expected));
    }
    output.content = Some(render(&bytes, output.content_type.as_deref(), as_, &what)?);
    Ok(output)
}

/// Writes the object's raw bytes, in order, to `writer` (stdout, a response body) with the
/// same checks as [`run`]: `bucket`, `key` and `version_id` of `input` are used; `range`, `as`
/// and `to` must be absent. Large objects come in parallel ranges with bounded buffers.
/// Returns the output without content.
pub async fn run_to_writer<W: tokio::io::AsyncWrite + Unpin + Send>(
    client: &Client,
    input: DownloadInput,
    writer: &mut W,
) -> Result<DownloadOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    validate_key("key", &input.key)?;
    client.restriction().check_key(&bucket, &input.key)?;
    if input.range.is_some() || input.as_.is_some() || input.to.is_some() {
        return Err(Error::invalid_input("range, as, to: not with a streamed download"));
    }
    let request = transfer::download::Request { bucket: bucket.clone(), key: input.key.clone(), version_id: input.version_id };
    let done = transfer::download::to_writer(client, &request, writer).await?;
    Ok(DownloadOutput::of(bucket, input.key, done, None))
}

impl DownloadOutput {
    /// The output of a transfer-engine download (no inline content), to `file` if any.
    fn of(bucket: String, key: String, done: transfer::download::Downloaded, file: Option<String>) -> Self {
        DownloadOutput {
            bucket,
            key,
            version_id: done.version_id,
            etag: fields::etag(done.etag.as_deref()),
            size: done.size,
            content_type: done.content_type,
            last_modified: done.last_modified,
            metadata: done.metadata,
            content: None,
            file,
            document: None,
            checksum: done.checksum,
        }
    }
}

/// Inline content in the requested form.
pub fn render(bytes: &[u8], content_type: Option<&str>, as_: DownloadAs, what: &str) -> Result<Content> {
    let base64 = || Content::Base64(base64::engine::general_purpose::STANDARD.encode(bytes));
    match as_ {
        DownloadAs::Base64 => Ok(base64()),
        DownloadAs::Text => std::str::from_utf8(bytes)
            .map(|t| Content::Text(t.to_owned()))
            .map_err(|_| Error::invalid_input(format!("{what} is not UTF-8 text; download it as base64 or a file"))),
        DownloadAs::Json => serde_json::from_slice(bytes)
            .map(Content::Json)
            .map_err(|e| Error::invalid_input(format!("{what} is not JSON ({e}); download it as text or base64"))),
        DownloadAs::Auto | DownloadAs::File | DownloadAs::Document => {
            if content_type.is_some_and(is_json_type) {
                if let Ok(json) = serde_json::from_slice(bytes) {
                    return Ok(Content::Json(json));
                }
            }
            Ok(match std::str::from_utf8(bytes) {
                Ok(text) => Content::Text(text.to_owned()),
                Err(_) => base64(),
            })
        }
    }
}

fn is_json_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

/// Writes the body to a temporary file beside `path` and renames it only once the whole
/// body arrived, so a failed download never leaves a partial file at the final path.
async fn write_file(path: &Path, body: aws_sdk_s3::primitives::ByteStream, expected: u64, what: &str) -> Result<u64> {
    let temp = crate::transfer::temp_path(path)?;
    let result = async {
        let mut file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| Error::invalid_input(format!("to: cannot write {}: {e}", path.display())))?;
        let mut reader = body.into_async_read();
        let written = tokio::io::copy(&mut reader, &mut file)
            .await
            .map_err(|e| Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: download failed: {e}")))?;
        file.flush().await?;
        file.sync_all().await?;
        if written != expected {
            return Err(Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("{what}: the body ended after {written} of {expected} bytes"),
            ));
        }
        tokio::fs::rename(&temp, path)
            .await
            .map_err(|e| Error::invalid_input(format!("to: cannot write {}: {e}", path.display())))?;
        Ok(written)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n`, one range only.
pub fn validate_range(range: &str) -> Result<()> {
    let bad = || Error::invalid_input(format!("range: {range:?} must be bytes=a-b, bytes=a- or bytes=-n"));
    let spec = range.strip_prefix("bytes=").ok_or_else(bad)?;
    let (start, end) = spec.split_once('-').ok_or_else(bad)?;
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok();
    match (start.is_empty(), end.is_empty()) {
        (false, false) if number(start) && number(end) && start.parse::<u64>().ok() <= end.parse::<u64>().ok() => Ok(()),
        (false, true) if number(start) => Ok(()),
        (true, false) if number(end) && end != "0" => Ok(()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        for ok in ["bytes=0-9", "bytes=5-", "bytes=-3"] {
            assert!(validate_range(ok).is_ok(), "{ok}");
        }
        for bad in ["0-9", "bytes=9-1", "bytes=-", "bytes=a-b", "bytes=0-1,3-4", "bytes=-0"] {
            assert!(validate_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_rendering() {
        let json = render(br#"{"a":1}"#, Some("application/json"), DownloadAs::Auto, "x").unwrap();
        assert_eq!(json, Content::Json(serde_json::json!({"a": 1})));
        let text = render(b"hello", Some("application/octet-stream"), DownloadAs::Auto, "x").unwrap();
        assert_eq!(text, Content::Text("hello".into()));
        let binary = render(&[0xff, 0x00], None, DownloadAs::Auto, "x").unwrap();
        assert_eq!(binary, Content::Base64("/wA=".into()));
        assert!(render(&[0xff], None, DownloadAs::Text, "x").is_err());
        assert!(render(b"nope", None, DownloadAs::Json, "x").is_err());
        let content = serde_json::to_value(Content::Text("t".into())).unwrap();
        assert_eq!(content, serde_json::json!({"text": "t"}));
    }
}
