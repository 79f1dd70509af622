//! The SDK's HTTP client for plain-`http://` endpoints (local and in-cluster stores): hyper's
//! pooled HTTP/1 client, as the SDK builds it, except that every connection ACKs at once.
//!
//! Why: a server that writes a response's head and body in two writes without TCP_NODELAY
//! (Garage does, for small objects) has its second write held by Nagle until the first is
//! ACKed, and on a kept-alive connection Linux delays that ACK by ~40 ms. Every small GET then
//! takes ~44 ms instead of ~0.7 ms (measured on Garage 2.5 with a 4 KiB object). Re-arming
//! TCP_QUICKACK before each read turns the delayed ACK off; it is one `setsockopt` per read.
//! TLS endpoints keep the SDK's own client.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector as TcpConnector};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Idle pooled connections close after this long (the SDK's default too).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A shared HTTP client for plain-HTTP endpoints whose connections ACK at once.
pub fn client() -> SharedHttpClient {
    SharedHttpClient::new(QuickAckClient::default())
}

/// The connector (and so the connection pool) for each pair of connect and read timeouts:
/// the SDK asks for a connector on every attempt, and a new one would mean a new pool.
#[derive(Debug, Default)]
struct QuickAckClient {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

/// Connect and read timeouts.
type Timeouts = (Option<Duration>, Option<Duration>);

impl HttpClient for QuickAckClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
        connectors
            .entry(key)
            .or_insert_with(|| SharedHttpConnector::new(Connector { client: hyper_client(key.0), read_timeout: key.1 }))
            .clone()
    }
}

/// hyper's pooled HTTP/1 client over TCP connections that ACK at once: the SDK's client for
/// plain-HTTP endpoints, and the benchmark's raw client (bench/ceiling) for the same reason.
pub fn hyper_client<B>(connect_timeout: Option<Duration>) -> HyperClient<QuickAckConnector, B>
where
    B: hyper::body::Body + Send,
    B::Data: Send,
{
    let mut tcp = TcpConnector::new();
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    HyperClient::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build(QuickAckConnector(tcp))
}

#[derive(Debug)]
struct Connector {
    client: HyperClient<QuickAckConnector, SdkBody>,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let response = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, response)
                    .await
                    .map_err(|_| ConnectorError::timeout(format!("no response within {limit:?}").into()))?,
                None => response.await,
            }
            .map_err(classify)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// The SDK's classification of a failed request: connection problems and resets are I/O
/// errors (retried), a connection closed before the whole response is a transient error.
fn classify(error: hyper_util::client::legacy::Error) -> ConnectorError {
    if error.is_connect() || find::<std::io::Error>(&error).is_some() {
        return ConnectorError::io(error.into());
    }
    match find::<hyper::Error>(&error) {
        Some(e) if e.is_timeout() => ConnectorError::timeout(error.into()),
        Some(e) if e.is_user() => ConnectorError::user(error.into()),
        Some(e) if e.is_closed() || e.is_canceled() => ConnectorError::io(error.into()),
        Some(e) if e.is_incomplete_message() => ConnectorError::other(error.into(), Some(ErrorKind::TransientError)),
        _ => ConnectorError::other(error.into(), None),
    }
}

/// The first error of type `E` in `error`'s source chain (itself included).
fn find<'a, E: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a E> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// hyper's TCP connector, its streams wrapped in [`QuickAck`].
#[derive(Debug, Clone)]
pub struct QuickAckConnector(TcpConnector);

impl tower_service::Service<Uri> for QuickAckConnector {
    type Response = QuickAck;
    type Error = BoxError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<QuickAck, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.0.call(uri);
        Box::pin(async move { Ok(QuickAck { stream: connecting.await?, armed: false }) })
    }
}

/// A TCP stream that re-arms TCP_QUICKACK before the first read after a write (Linux;
/// elsewhere a plain stream).
///
/// Why only then: Linux turns delayed ACKs back on ("ping-pong mode") when the socket sends
/// data soon after receiving some, that is when the next request goes out; reads never turn
/// them on. So one `setsockopt` per request keeps every response ACKed at once, where one per
/// read cost ~7 calls per small GET (reads that find nothing count too).
#[derive(Debug)]
pub struct QuickAck {
    stream: TokioIo<TcpStream>,
    /// TCP_QUICKACK was set and nothing was written since.
    armed: bool,
}

impl QuickAck {
    fn arm(&mut self) {
        if self.armed {
            return;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // Best effort: a socket that refuses only means delayed ACKs again.
            let _ = socket2::SockRef::from(self.stream.inner()).set_tcp_quickack(true);
        }
        self.armed = true;
    }
}

impl Read for QuickAck {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<std::io::Result<()>> {
        self.arm();
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl Write for QuickAck {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.armed = false;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.armed = false;
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
}

impl Connection for QuickAck {
    fn connected(&self) -> Connected {
        self.stream.connected()
    }
}
