//! Shared harness: a real server on port 0 in a temporary folder, driven over real HTTP by
//! the official AWS SDK client.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_credential_types::Credentials;
use aws_sdk_s3::config::{BehaviorVersion, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use s3flow_local::{LocalConfig, LocalServer};

pub struct TestServer {
    pub server: LocalServer,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = start_in(dir.path()).await;
        Self { server, dir }
    }

    pub fn client(&self) -> aws_sdk_s3::Client {
        client(&self.server, RequestChecksumCalculation::WhenSupported)
    }

    /// A new bucket with a unique name.
    pub async fn bucket(&self) -> String {
        let name = unique_name("bucket");
        self.client()
            .create_bucket()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        name
    }
}

pub async fn start_in(dir: &Path) -> LocalServer {
    let mut config = LocalConfig::new(dir);
    config.listen = "127.0.0.1:0".parse().unwrap();
    LocalServer::start(config).await.unwrap()
}

pub fn client(server: &LocalServer, checksums: RequestChecksumCalculation) -> aws_sdk_s3::Client {
    client_with_keys(server, server.access_key(), server.secret_key(), checksums)
}

pub fn client_with_keys(
    server: &LocalServer,
    access_key: &str,
    secret_key: &str,
    checksums: RequestChecksumCalculation,
) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .region(Region::new(server.region().to_owned()))
        .credentials_provider(Credentials::new(access_key, secret_key, None, None, "test"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .request_checksum_calculation(checksums)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The S3 error code of a failed SDK call.
pub fn code<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => err.code().unwrap_or("<none>").to_owned(),
    }
}

/// The HTTP status of a failed SDK call.
pub fn status<T, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
) -> u16 {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => err
            .raw_response()
            .map(|r| r.status().as_u16())
            .expect("an HTTP response"),
    }
}

pub async fn put(client: &aws_sdk_s3::Client, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key:?}: {e:?}"));
}

pub async fn get(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key:?}: {e:?}"));
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

pub fn md5_hex(data: &[u8]) -> String {
    use s3s::crypto::Checksum as _;
    hex::encode(s3s::crypto::Md5::checksum(data))
}
