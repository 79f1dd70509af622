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
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::{ByteStream, DateTime, DateTimeFormat};
use aws_sdk_s3::types::ChecksumType;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use hyper::body::{Body, Frame, SizeHint};
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
    output(&head.headers, ByteStream::new(SdkBody::from_body_1_x(Stalls::new(body))))
}

/// How long a quick GET's body may go without a byte before it fails (and is fetched again
/// through the SDK): the SDK's own stalled-stream grace period. hyper has no read timeout.
const BODY_STALL: Duration = Duration::from_secs(20);

/// A body that fails after [`BODY_STALL`] without a frame. The timer is moved only when it
/// fires (to [`BODY_STALL`] after the last frame), not on every frame: a timer reset takes the
/// runtime's timer lock, and a 1 GiB body comes in tens of thousands of frames.
struct Stalls<B> {
    inner: B,
    last_frame: tokio::time::Instant,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl<B> Stalls<B> {
    fn new(inner: B) -> Self {
        let now = tokio::time::Instant::now();
        Stalls { inner, last_frame: now, timer: Box::pin(tokio::time::sleep_until(now + BODY_STALL)) }
    }
}

impl<B> Body for Stalls<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.last_frame = tokio::time::Instant::now();
            return Poll::Ready(frame.map(|frame| frame.map_err(Into::into)));
        }
        loop {
            let deadline = this.last_frame + BODY_STALL;
            if this.timer.deadline() < deadline {
                this.timer.as_mut().reset(deadline);
            }
            match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) if this.last_frame + BODY_STALL <= tokio::time::Instant::now() => {
                    return Poll::Ready(Some(Err(format!("no bytes of the body for {BODY_STALL:?}").into())));
                }
                Poll::Ready(()) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
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

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    /// A body whose bytes stop coming fails after the grace period instead of waiting forever;
    /// one whose frames keep coming, however long it takes in all, does not.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_fails_and_a_slow_one_does_not() {
        let stalled = futures::stream::once(async { Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"first"))) })
            .chain(futures::stream::pending());
        let started = tokio::time::Instant::now();
        let mut body = Stalls::new(StreamBody::new(Box::pin(stalled)));
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(&first[..], b"first");
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(err.to_string().contains("no bytes"), "{err}");
        assert_eq!(started.elapsed(), BODY_STALL);

        // A frame every half grace period, for three grace periods in all.
        let slow = futures::stream::iter(0..6).then(|i| async move {
            tokio::time::sleep(BODY_STALL / 2).await;
            Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![i as u8; 3])))
        });
        let body = Stalls::new(StreamBody::new(Box::pin(slow)));
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(all.len(), 18);
    }
}
