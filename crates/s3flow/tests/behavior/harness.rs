//! Backends, their capabilities, and the per-case context.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use s3flow::{Client, Connection, Provider};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Local,
    Seaweedfs,
    Moto,
    Garage,
}

/// What a store can do; cases for the rest are skipped on it (and say so).
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub versioning: bool,
    /// Canned ACLs are stored and read back.
    pub acl: bool,
    pub tagging: bool,
    /// Pre-signed links expire when they say.
    pub presign_expiry: bool,
    /// A pre-signed PUT refuses a Content-Type other than the signed one.
    pub presign_content_type_bound: bool,
    /// STS AssumeRole on the same endpoint.
    pub sts: bool,
    /// Storage classes other than STANDARD are accepted.
    pub storage_classes: bool,
    /// Wrong secrets are refused.
    pub auth: bool,
    /// Longest key the store keeps (Garage's LMDB metadata caps keys near 500 bytes).
    pub max_key_bytes: usize,
    /// Keys that start with `/` keep it in listings (Garage and SeaweedFS list them without it).
    pub leading_slash_prefix: bool,
    /// `//` inside a key survives a listing (SeaweedFS lists `a//b` as `a/b`).
    pub double_slash: bool,
    /// Keys with `.`/`..` segments are stored (SeaweedFS refuses them with 400).
    pub dot_segments: bool,
    /// A key ending in `/` keeps its body (SeaweedFS stores it as an empty folder marker).
    pub trailing_slash_body: bool,
    /// The store returns `x-amz-version-id` even for unversioned buckets (Garage does).
    pub version_ids_always: bool,
    /// CopyObject into a missing bucket says NoSuchBucket (SeaweedFS says 500 InternalError).
    pub copy_to_missing_bucket_404: bool,
    /// A multipart upload can ask for a `FULL_OBJECT` CRC32, returned by HEAD (moto ignores it
    /// and returns a part-checksum CRC without the `-N` suffix).
    pub full_object_checksum: bool,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Seaweedfs => "seaweedfs",
            Backend::Moto => "moto",
            Backend::Garage => "garage",
        }
    }

    pub fn caps(self) -> Caps {
        match self {
            Backend::Local => Caps {
                versioning: true,
                acl: false,
                tagging: true,
                presign_expiry: true,
                presign_content_type_bound: true,
                sts: false,
                storage_classes: true,
                auth: true,
                max_key_bytes: 1024,
                leading_slash_prefix: true,
                double_slash: true,
                dot_segments: true,
                trailing_slash_body: true,
                version_ids_always: false,
                copy_to_missing_bucket_404: true,
                full_object_checksum: true,
            },
            Backend::Seaweedfs => Caps {
                versioning: true,
                acl: false,
                tagging: true,
                presign_expiry: true,
                presign_content_type_bound: true,
                sts: false,
                storage_classes: true,
                auth: true,
                max_key_bytes: 1024,
                leading_slash_prefix: false,
                double_slash: false,
                dot_segments: false,
                trailing_slash_body: false,
                version_ids_always: false,
                copy_to_missing_bucket_404: false,
                full_object_checksum: true,
            },
            Backend::Moto => Caps {
                versioning: true,
                acl: true,
                tagging: true,
                presign_expiry: false,
                presign_content_type_bound: false,
                sts: true,
                storage_classes: true,
                auth: false,
                max_key_bytes: 1024,
                leading_slash_prefix: true,
                double_slash: true,
                dot_segments: true,
                trailing_slash_body: true,
                version_ids_always: false,
                copy_to_missing_bucket_404: true,
                full_object_checksum: false,
            },
            Backend::Garage => Caps {
                versioning: false,
                acl: false,
                tagging: false,
                presign_expiry: true,
                presign_content_type_bound: true,
                sts: false,
                storage_classes: false,
                auth: true,
                max_key_bytes: 1024,
                leading_slash_prefix: false,
                double_slash: true,
                dot_segments: true,
                trailing_slash_body: true,
                version_ids_always: true,
                copy_to_missing_bucket_404: true,
                full_object_checksum: true,
            },
        }
    }

    fn provider(self) -> Provider {
        match self {
            Backend::Local | Backend::Moto => Provider::Aws,
            Backend::Seaweedfs => Provider::Seaweedfs,
            Backend::Garage => Provider::Garage,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

static LOCAL: OnceLock<Endpoint> = OnceLock::new();

/// The embedded endpoint, started once per test binary on its own runtime (each test has its
/// own runtime, which would stop a server spawned on it).
fn local_endpoint() -> Endpoint {
    LOCAL
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let mut config = s3flow_local::LocalConfig::new(dir.path());
                    config.listen = "127.0.0.1:0".parse().unwrap();
                    let server = s3flow_local::LocalServer::start(config).await.expect("local endpoint starts");
                    tx.send(Endpoint {
                        url: server.endpoint(),
                        access_key_id: server.access_key().to_owned(),
                        secret_access_key: server.secret_key().to_owned(),
                        region: server.region().to_owned(),
                    })
                    .unwrap();
                    std::future::pending::<()>().await;
                    drop((server, dir));
                });
            });
            rx.recv().expect("local endpoint info")
        })
        .clone()
}

fn endpoint(backend: Backend) -> Option<Endpoint> {
    if backend == Backend::Local {
        return Some(local_endpoint());
    }
    let var = |suffix: &str| std::env::var(format!("S3FLOW_TEST_{}_{suffix}", backend.name().to_uppercase())).ok();
    Some(Endpoint {
        url: var("ENDPOINT")?,
        access_key_id: var("ACCESS_KEY_ID")?,
        secret_access_key: var("SECRET_ACCESS_KEY")?,
        region: var("REGION").unwrap_or_else(|| "us-east-1".to_owned()),
    })
}

/// Everything a case needs: the s3flow client under test, an independent SDK client to check
/// effects with, and a fresh bucket.
pub struct Ctx {
    pub backend: Backend,
    pub caps: Caps,
    pub endpoint: Endpoint,
    pub conn: Connection,
    pub client: Client,
    /// Plain aws-sdk-s3, configured apart from s3flow, to cross-check every effect.
    pub raw: aws_sdk_s3::Client,
    pub bucket: String,
    pub http: reqwest::Client,
}

pub type CaseFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

pub async fn run_case(backend: Backend, name: &str, case: impl FnOnce(Arc<Ctx>) -> CaseFuture) {
    let Some(endpoint) = endpoint(backend) else {
        let required = std::env::var("S3FLOW_TEST_REQUIRE_BACKENDS").unwrap_or_default();
        if required == "all" || required.split([' ', ',']).any(|name| name == backend.name()) {
            panic!("backend {} is required but S3FLOW_TEST_{}_ENDPOINT is not set", backend.name(), backend.name().to_uppercase());
        }
        eprintln!("SKIP {}::{name}: backend not configured", backend.name());
        return;
    };
    let conn = Connection {
        provider: backend.provider(),
        ..Connection::with_access_key(&endpoint.url, &endpoint.access_key_id, &endpoint.secret_access_key, &endpoint.region)
    };
    let client = Client::connect(conn.clone()).await.expect("client connects");
    let raw = raw_client(&endpoint);
    let bucket = fresh_bucket_name();
    raw.create_bucket().bucket(&bucket).send().await.unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
    let ctx = Arc::new(Ctx {
        backend,
        caps: backend.caps(),
        endpoint,
        conn,
        client,
        raw,
        bucket: bucket.clone(),
        http: reqwest::Client::new(),
    });
    let outcome = tokio::spawn(case(ctx.clone())).await;
    empty_and_remove(&ctx.raw, &bucket).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

pub fn fresh_bucket_name() -> String {
    format!("s3flow-t-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

pub fn raw_client(endpoint: &Endpoint) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .endpoint_url(&endpoint.url)
        .region(Region::new(endpoint.region.clone()))
        .credentials_provider(Credentials::new(&endpoint.access_key_id, &endpoint.secret_access_key, None, None, "test"))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Best effort: every version, then the bucket.
pub async fn empty_and_remove(raw: &aws_sdk_s3::Client, bucket: &str) {
    if let Ok(versions) = raw.list_object_versions().bucket(bucket).send().await {
        for v in versions.versions() {
            let _ = raw.delete_object().bucket(bucket).key(v.key().unwrap_or_default()).set_version_id(v.version_id().map(str::to_owned)).send().await;
        }
        for m in versions.delete_markers() {
            let _ = raw.delete_object().bucket(bucket).key(m.key().unwrap_or_default()).set_version_id(m.version_id().map(str::to_owned)).send().await;
        }
    }
    let mut token = None;
    loop {
        let Ok(page) = raw.list_objects_v2().bucket(bucket).set_continuation_token(token).send().await else { break };
        for object in page.contents() {
            let _ = raw.delete_object().bucket(bucket).key(object.key().unwrap_or_default()).send().await;
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let _ = raw.delete_bucket().bucket(bucket).send().await;
}

impl Ctx {
    /// An s3flow client on the same backend with a changed connection.
    pub async fn client_with(&self, edit: impl FnOnce(&mut Connection)) -> Client {
        let mut conn = self.conn.clone();
        edit(&mut conn);
        Client::connect(conn).await.expect("client connects")
    }

    /// Runs an action from JSON, as the CLI's `run` and the service do.
    pub async fn run(&self, action: &str, input: serde_json::Value) -> s3flow::Result<serde_json::Value> {
        s3flow::actions::run_json(&self.client, action, input).await
    }

    /// Runs an action that must succeed.
    pub async fn ok(&self, action: &str, input: serde_json::Value) -> serde_json::Value {
        match self.run(action, input.clone()).await {
            Ok(out) => out,
            Err(e) => panic!("[{}] {action} {input} failed: {e}", self.backend.name()),
        }
    }

    /// Runs an action that must fail with `code`; returns the error.
    pub async fn fails(&self, action: &str, input: serde_json::Value, code: s3flow::ErrorCode) -> s3flow::Error {
        match self.run(action, input.clone()).await {
            Ok(out) => panic!("[{}] {action} {input} should fail with {code}, got {out}", self.backend.name()),
            Err(e) => {
                assert_eq!(e.code, code, "[{}] {action} {input}: {e}", self.backend.name());
                e
            }
        }
    }

    pub async fn put(&self, key: &str, body: &[u8]) {
        self.raw
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("raw put {key}: {e:?}"));
    }

    /// The object's bytes via the independent client, or None when it is not there.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.get_in(&self.bucket, key).await
    }

    pub async fn get_in(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match self.raw.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => Some(out.body.collect().await.expect("body").into_bytes().to_vec()),
            Err(e) => {
                let service = e.into_service_error();
                assert!(service.is_no_such_key(), "raw get {key}: {service:?}");
                None
            }
        }
    }

    pub async fn head(&self, key: &str) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        self.raw.head_object().bucket(&self.bucket).key(key).send().await.unwrap_or_else(|e| panic!("raw head {key}: {e:?}"))
    }

    /// Every key in the bucket, via the independent client.
    pub async fn keys(&self) -> Vec<String> {
        keys_in(&self.raw, &self.bucket).await
    }

    pub fn skip(&self, why: &str) {
        eprintln!("SKIP on {}: {why}", self.backend.name());
    }
}

pub async fn keys_in(raw: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = raw.list_objects_v2().bucket(bucket).set_continuation_token(token).send().await.expect("raw list");
        keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            return keys;
        }
    }
}
