//! The `local` connection's S3 requests go to the embedded endpoint inside this process
//! instead of over loopback TCP: the same s3s service (signatures checked, same handlers),
//! minus an HTTP/1 encode and parse on each side and the socket round trip per S3 call.
//! Bodies still stream both ways.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use http::header::HOST;
use http::{HeaderValue, Uri};
use s3s::service::S3Service;

/// An SDK HTTP client whose every request is answered by `service`.
pub fn http_client(service: S3Service) -> SharedHttpClient {
    SharedHttpClient::new(InProcessClient(SharedHttpConnector::new(InProcess(service))))
}

#[derive(Debug)]
struct InProcessClient(SharedHttpConnector);

impl HttpClient for InProcessClient {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.0.clone()
    }
}

#[derive(Debug)]
struct InProcess(S3Service);

impl HttpConnector for InProcess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let (mut parts, body) = request.into_parts();
        // What the server would see on the wire: a Host header (signed by SigV4; hyper's client
        // adds it from the URI) and an origin-form target.
        if !parts.headers.contains_key(HOST) {
            if let Some(host) = parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
                parts.headers.insert(HOST, host);
            }
        }
        if let Some(target) = parts.uri.path_and_query().cloned() {
            parts.uri = Uri::from(target);
        }
        let request = http::Request::from_parts(parts, s3s::Body::http_body(body));
        let service = self.0.clone();
        // A task of its own, as on the server side of a socket: the handler's many wake-ups
        // (file work on the blocking pool) then poll only it, not the SDK's whole request stack.
        let handled = tokio::spawn(async move { service.call(request).await });
        HttpConnectorFuture::new(async move {
            let response = handled
                .await
                .map_err(|e| ConnectorError::other(e.into(), None))?
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}
