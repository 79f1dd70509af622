//! `api_call`: any other S3 request, signed for the caller with SigV4.
//!
//! The request stays on the connection's endpoint and inside its restrictions; the signing
//! headers are ours to set, never the caller's.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::download::{render, Content, DownloadAs, DEFAULT_MAX_INLINE_BYTES};
use crate::actions::fields;
use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};

/// Headers the signature owns.
const RESERVED_HEADERS: &[&str] =
    &["authorization", "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

/// Listing parameters a prefix-restricted connection may use on a bucket-level GET.
const LIST_PARAMETERS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
    "marker",
];

/// Bytes escaped in the path: those not allowed in a URI path. `%` stays, so an already
/// encoded path is sent as given.
const PATH_ESCAPES: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`').add(b'{').add(b'}').add(b'|').add(b'\\').add(b'^').add(b'[').add(b']');

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiCallInput {
    /// `GET`, `PUT`, `POST`, `DELETE` or `HEAD`.
    pub method: String,
    /// Relative to the endpoint, path-style: `/bucket/key`. Query parameters go in `query`.
    pub path: String,
    #[serde(default)]
    pub query: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub base64: Option<String>,
    #[serde(default)]
    pub json: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiCallOutput {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    /// As `download` with `as: auto`.
    pub body: Content,
}

pub async fn run(client: &Client, input: ApiCallInput) -> Result<ApiCallOutput> {
    let method = input.method.to_ascii_uppercase();
    if !["GET", "PUT", "POST", "DELETE", "HEAD"].contains(&method.as_str()) {
        return Err(Error::invalid_input(format!("method: {:?} is not GET, PUT, POST, DELETE or HEAD", input.method)));
    }
    let path = validate_path(&input.path)?;
    let query = input.query.clone().unwrap_or_default();
    check_restriction(client, &method, &path, &query)?;
    let headers = input.headers.clone().unwrap_or_default();
    for (name, value) in &headers {
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::invalid_input(format!("headers: {name} is set by the signature, not by the caller")));
        }
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() || http::HeaderValue::from_str(value).is_err() {
            return Err(Error::invalid_input(format!("headers: {name:?} is not a valid header")));
        }
    }
    let body = body_of(&input)?;

    let base = match client.endpoint() {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None => format!("https://s3.{}.amazonaws.com", client.region()),
    };
    let mut url = format!("{base}{path}");
    if !query.is_empty() {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| if v.is_empty() { encode::component(k) } else { format!("{}={}", encode::component(k), encode::component(v)) })
            .collect();
        url.push('?');
        url.push_str(&pairs.join("&"));
    }

    let mut request = http::Request::builder().method(method.as_str()).uri(&url);
    for (name, value) in &headers {
        request = request.header(name, value);
    }
    let mut request = request
        .body(body.clone())
        .map_err(|e| Error::invalid_input(format!("path: cannot build the request: {e}")))?;
    sign_request(client, &mut request).await?;

    let request = reqwest::Request::try_from(request.map(reqwest::Body::from))
        .map_err(|e| Error::invalid_input(format!("path: {e}")))?;
    let response = client
        .http()?
        .execute(request)
        .await
        .map_err(|e| {
            let code = if e.is_timeout() { ErrorCode::Timeout } else { ErrorCode::UpstreamUnavailable };
            Error::new(code, format!("{method} {path}: could not reach the S3 endpoint: {e}"))
        })?;
    let status = response.status().as_u16();
    let mut response_headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        response_headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    if response.content_length().is_some_and(|len| len > DEFAULT_MAX_INLINE_BYTES) {
        return Err(Error::new(
            ErrorCode::PayloadTooLarge,
            format!("{method} {path}: the response body is over {DEFAULT_MAX_INLINE_BYTES} bytes; use download"),
        ));
    }
    let content_type = response_headers.get("content-type").cloned();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| Error::new(ErrorCode::UpstreamUnavailable, format!("{method} {path}: reading the body failed: {e}")))?;
    let body = render(&bytes, content_type.as_deref(), DownloadAs::Auto, &path)?;
    Ok(ApiCallOutput { status, headers: response_headers, body })
}

/// A path-style path on the endpoint: starts with one `/`, no scheme, no query or fragment.
fn validate_path(path: &str) -> Result<String> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains("://") {
        return Err(Error::invalid_input(format!("path: {path:?} must start with one '/' and stay on the endpoint")));
    }
    if path.contains(['?', '#']) {
        return Err(Error::invalid_input("path: put query parameters in \"query\"; '#' is not allowed"));
    }
    if path.len() > 4096 {
        return Err(Error::invalid_input("path: longer than 4,096 bytes"));
    }
    Ok(utf8_percent_encode(path, PATH_ESCAPES).to_string())
}

fn check_restriction(client: &Client, method: &str, path: &str, query: &BTreeMap<String, String>) -> Result<()> {
    let restriction = client.restriction();
    if !restriction.is_restricted() {
        return Ok(());
    }
    let outside = || Error::outside_restriction(format!("{method} {path} is outside this connection's restriction"));
    // Encoded slashes would let a "key" reach another folder on stores that decode them.
    if path.to_ascii_lowercase().contains("%2f") {
        return Err(outside());
    }
    let rest = &path[1..];
    let (bucket, key) = match rest.split_once('/') {
        Some((bucket, key)) => (bucket, key),
        None => (rest, ""),
    };
    let bucket = percent_decode_str(bucket).decode_utf8().map_err(|_| outside())?;
    if bucket.is_empty() {
        return Err(outside()); // account-level calls (ListBuckets) reach past the restriction
    }
    validate_bucket_name(&bucket)?;
    restriction.check_bucket(&bucket)?;
    if restriction.prefix.is_none() {
        return Ok(());
    }
    if key.is_empty() {
        // Bucket-level: only a listing inside the prefix.
        let listing_only = method == "GET" && query.keys().all(|k| LIST_PARAMETERS.contains(&k.as_str()));
        let prefix = query.get("prefix").map(String::as_str);
        if !listing_only || prefix.is_none() {
            return Err(outside());
        }
        restriction.scope_prefix(&bucket, prefix)?;
        return Ok(());
    }
    let key = percent_decode_str(key).decode_utf8().map_err(|_| outside())?;
    restriction.check_key(&bucket, &key)
}

fn body_of(input: &ApiCallInput) -> Result<Bytes> {
    let count = [input.text.is_some(), input.base64.is_some(), input.json.is_some()].iter().filter(|b| **b).count();
    if count > 1 {
        return Err(Error::invalid_input("body: give only one of text, base64 or json"));
    }
    Ok(fields::inline_body(input.text.as_deref(), input.base64.as_deref(), input.json.as_ref())?.unwrap_or_default())
}

/// Signs in place with SigV4 for S3: single URI encoding, no path normalization, payload hash
/// in `x-amz-content-sha256`, exactly as S3 expects.
async fn sign_request(client: &Client, request: &mut http::Request<Bytes>) -> Result<()> {
    let credentials = client.credentials().await?;
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(client.region())
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| Error::invalid_input(format!("signing: {e}")))?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| Error::invalid_input(format!("signing: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Error::invalid_input(format!("signing: {e}")))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_on_the_endpoint() {
        assert_eq!(validate_path("/b/my key").unwrap(), "/b/my%20key");
        assert_eq!(validate_path("/b/a%2Bb").unwrap(), "/b/a%2Bb");
        for bad in ["b/k", "//evil.example/x", "http://evil/x", "/b/k?x=1", "/b/k#f"] {
            assert_eq!(validate_path(bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad}");
        }
    }
}
