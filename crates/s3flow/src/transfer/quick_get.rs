//! The first GET of a download sent without the SDK's operation pipeline, on plain-HTTP
//! endpoints (local and in-cluster stores).
//!
//! Why: for small objects the pipeline (runtime plugins, interceptors, endpoint parameters,
//! signing, response deserialization) was about 45 % of the client's CPU in a 10,000-file
//! download, and on a few cores shared with the store the client's CPU is the download's time.
//! This path signs with `aws-sigv4` as the SDK does (`crate::sigv4`), resolves the endpoint
//! through the same rules and sends over the same kind of connection (`plain_http`).
//!
//! It takes only the happy path: a 200 (206 for a range) whose headers it reads into the SDK's
//! own `GetObjectOutput`. Anything else (an error status, a refused connection, a timeout,
//! endpoint rules that want another signer) gives `None`, and the caller sends the same GET
//! through the SDK, which retries (with its backoff; the quick attempt is one more, made at
//! once), maps the error and is the one that reports it. The body is
//! checked by the caller like any other (length, CRC32), and a body that fails is fetched again
//! through the SDK.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::ChecksumType;
use aws_smithy_types::body::SdkBody;
use http::{HeaderMap, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;

use super::download::Request;
use crate::client::Client;
use crate::plain_http::{self, QuickAckConnector};
use crate::sigv4::{self, Query, Signing};

/// Stores log it; it is not signed.
const USER_AGENT: &str = concat!("s3flow/", env!("CARGO_PKG_VERSION"));

/// The HTTP client of the quick GETs: its own pool of connections that ACK at once.
pub(crate) struct QuickGet {
    http: HyperClient<QuickAckConnector, SdkBody>,
    /// The SDK's per-attempt timeout (`timeout_seconds`), here for the response's head.
    attempt_timeout: Option<Duration>,
}

impl QuickGet {
    pub(crate) fn new(connect_timeout: Duration, attempt_timeout: Option<Duration>) -> Self {
        QuickGet { http: plain_http::hyper_client(Some(connect_timeout)), attempt_timeout }
    }
}

/// A GET of `range` (`[start, end)`, or the whole object) pinned to `etag`, as
/// `download::get_request` asks the SDK for it; `None` when the SDK should send it instead.
pub(crate) async fn get(client: &Client, request: &Request, etag: Option<&str>, range: Option<(u64, u64)>) -> Option<GetObjectOutput> {
    let quick = client.quick_get()?;
    let endpoint = client.object_endpoint(&request.bucket).await.ok()?;
    let region = sigv4::signing_region(&endpoint)?;
    if !endpoint.url().starts_with("http://") {
        return None; // TLS: the SDK's
    }

    let mut url = sigv4::object_url(&endpoint, &request.key);
    Query(&mut url, '?').push_opt("versionId", &request.version_id);
    let range_header = range.map(|(start, end)| format!("bytes={start}-{}", end - 1));
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(3);
    match &range_header {
        Some(range) => headers.push(("range", range)),
        None => headers.push(("x-amz-checksum-mode", "ENABLED")),
    }
    if let Some(etag) = etag {
        headers.push(("if-match", etag));
    }

    let credentials = client.credentials().await.ok()?;
    let signing = Signing { method: "GET", url: &url, headers: &headers, region, time: SystemTime::now(), expires_in: None };
    let (signed, _) = sigv4::sign(&signing, &credentials).ok()?.into_parts();
    let mut builder = http::Request::get(&url).header("user-agent", USER_AGENT);
    for (name, value) in &headers {
        builder = builder.header(*name, *value);
    }
    for header in &signed {
        builder = builder.header(header.name(), header.value());
    }
    let sent = quick.http.request(builder.body(SdkBody::empty()).ok()?);
    let response = match quick.attempt_timeout {
        Some(limit) => tokio::time::timeout(limit, sent).await.ok()?,
        None => sent.await,
    };
    let response = match response {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!("s3://{}/{}: quick GET failed ({e}); through the SDK", request.bucket, request.key);
            return None;
        }
    };
    let expected = if range.is_some() { StatusCode::PARTIAL_CONTENT } else { StatusCode::OK };
    if response.status() != expected {
        return None;
    }
    let (head, body) = response.into_parts();
    output(&head.headers, ByteStream::new(SdkBody::from_body_1_x(body)))
}

/// The headers `download` reads, as the SDK deserializes them; `None` for a value the SDK
/// would not parse either (it then answers for it).
fn output(headers: &HeaderMap, body: ByteStream) -> Option<GetObjectOutput> {
    fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<&'a str>> {
        match headers.get(name) {
            Some(value) => value.to_str().ok().map(Some),
            None => Some(None),
        }
    }
    let content_length = match text(headers, "content-length")? {
        Some(length) => Some(length.parse::<i64>().ok()?),
        None => None,
    };
    let last_modified = match text(headers, "last-modified")? {
        Some(date) => Some(DateTime::from_str(date, DateTimeFormat::HttpDate).ok()?),
        None => None,
    };
    let mut metadata = HashMap::new();
    for (name, value) in headers {
        if let Some(key) = name.as_str().strip_prefix("x-amz-meta-") {
            metadata.insert(key.to_owned(), value.to_str().ok()?.to_owned());
        }
    }
    Some(
        GetObjectOutput::builder()
            .set_content_length(content_length)
            .set_e_tag(text(headers, "etag")?.map(str::to_owned))
            .set_version_id(text(headers, "x-amz-version-id")?.map(str::to_owned))
            .set_content_type(text(headers, "content-type")?.map(str::to_owned))
            .set_last_modified(last_modified)
            .set_metadata((!metadata.is_empty()).then_some(metadata))
            .set_checksum_type(text(headers, "x-amz-checksum-type")?.map(ChecksumType::from))
            .set_checksum_crc32(text(headers, "x-amz-checksum-crc32")?.map(str::to_owned))
            .body(body)
            .build(),
    )
}
