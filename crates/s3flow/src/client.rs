//! [`Client`]: a [`Connection`] made real — the AWS SDK client with the connection's
//! credentials, region, endpoint, retry and checksum policy, plus its restriction.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::connection::{Auth, Connection};
use crate::error::{Error, ErrorCode, Result};
use crate::restrict::Restriction;

/// Attempts per request when the connection does not say (the SDK's standard mode uses 3;
/// workflows prefer to ride out a short SlowDown burst).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Temporary credentials are fetched again when they have less than this left, so a link
/// signed with them still has a useful life (STS sessions last at least 15 minutes).
const CREDENTIALS_REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// A connected S3 client. Cheap to clone; share one per connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    connection: Connection,
    s3: aws_sdk_s3::Client,
    /// The SDK presigner's client for `presign_endpoint` (presign signs with `aws-sigv4`
    /// itself and falls back to this one only for endpoint rules it does not cover).
    presign_s3: aws_sdk_s3::Client,
    sdk_config: SdkConfig,
    /// The last credentials the provider gave, reused until close to their expiry: providers
    /// such as assume-role call STS on every `provide_credentials`.
    credentials: Mutex<Option<Credentials>>,
    /// One refresh at a time.
    credentials_refresh: tokio::sync::Mutex<()>,
    region: String,
    endpoint: Option<String>,
    /// The endpoint pre-signed links are made for: `presign_endpoint`, else `endpoint`.
    presign_endpoint: Option<String>,
    /// The SDK's S3 endpoint rules, kept per bucket (one bucket is one lookup).
    endpoint_resolver: crate::endpoints::CachedEndpoints,
    path_style: bool,
    restriction: Restriction,
    /// `ca_bundle`'s certificates, for [`Client::http`].
    extra_roots: Vec<reqwest::Certificate>,
    http: std::sync::OnceLock<reqwest::Client>,
    upload_budget: crate::transfer::Budget,
    download_budget: crate::transfer::Budget,
    /// For the first GET of a download, on plain-HTTP endpoints (`transfer::quick_get`).
    quick_get: Option<crate::transfer::quick_get::QuickGet>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("connection", &self.inner.connection)
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.endpoint)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Validates the connection and builds the client. Credentials are resolved lazily on the
    /// first request (assume-role calls STS then), so this does no network I/O for access keys.
    pub async fn connect(connection: Connection) -> Result<Client> {
        Client::build(connection, None).await
    }

    /// [`Client::connect`] with the HTTP client every S3 request goes through, e.g. one that
    /// serves them in this process (`s3flow serve` does so for its embedded endpoint).
    pub async fn connect_over(connection: Connection, http_client: SharedHttpClient) -> Result<Client> {
        Client::build(connection, Some(http_client)).await
    }

    async fn build(connection: Connection, http_client: Option<SharedHttpClient>) -> Result<Client> {
        connection.validate()?;
        let ca_bundle = match &connection.ca_bundle {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                Error::invalid_input(format!("ca_bundle: cannot read {path:?}: {e}"))
            })?),
            None => None,
        };
        // A plain-HTTP endpoint signed with access keys never needs TLS: skip loading the
        // system's root certificates (a few hundred files, a visible share of a cold start).
        let plain = connection.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"))
            && matches!(connection.auth, Auth::AccessKey { .. });
        let quick_get = (plain && http_client.is_none())
            .then(|| crate::transfer::quick_get::QuickGet::new(CONNECT_TIMEOUT, connection.timeout_seconds.map(Duration::from_secs)));
        let http_client = match http_client {
            Some(given) => given,
            None if plain => crate::plain_http::client(),
            None => sdk_http_client(ca_bundle.as_deref())?,
        };
        let sdk_config = load_sdk_config(&connection, &connection.auth, http_client.clone()).await?;
        let region = sdk_config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".to_owned());
        let endpoint = connection.endpoint.clone().or_else(|| shared_s3_endpoint(&sdk_config));

        let path_style = connection.force_path_style.unwrap_or(endpoint.is_some() || connection.path_style());
        let mut s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .region(Region::new(region.clone()))
            .force_path_style(path_style)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(connection.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS))
                    .with_initial_backoff(Duration::from_millis(100)),
            )
            .timeout_config(timeouts(&connection))
            .endpoint_resolver(crate::endpoints::CachedEndpoints::default());
        if let Some(endpoint) = &endpoint {
            s3_config = s3_config.endpoint_url(endpoint);
        }
        if !connection.provider.checksums_by_default() {
            s3_config = s3_config
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        let s3_config = s3_config.build();
        let presign_s3 = match &connection.presign_endpoint {
            Some(public) => aws_sdk_s3::Client::from_conf(s3_config.to_builder().endpoint_url(public).build()),
            None => aws_sdk_s3::Client::from_conf(s3_config.clone()),
        };
        let s3 = aws_sdk_s3::Client::from_conf(s3_config);

        // Checked now, so a bad bundle fails at connect; the client itself is built on first
        // use (only `api_call` needs it, and building it loads the system roots).
        let extra_roots = match &ca_bundle {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::invalid_input(format!("ca_bundle: not a PEM bundle: {e}")))?,
            None => Vec::new(),
        };

        let restriction = Restriction::new(connection.restrict_bucket.clone(), connection.restrict_prefix.clone());
        let part_size = connection.part_size.unwrap_or(crate::transfer::DEFAULT_PART_SIZE);
        let upload_budget = crate::transfer::Budget::new(
            connection.upload_concurrency.unwrap_or(crate::transfer::DEFAULT_UPLOAD_CONCURRENCY) as usize,
            part_size,
        );
        let download_budget = crate::transfer::Budget::new(
            connection.download_threads.unwrap_or(crate::transfer::DEFAULT_DOWNLOAD_THREADS) as usize,
            part_size,
        );
        let presign_endpoint = connection.presign_endpoint.clone().or_else(|| endpoint.clone());
        Ok(Client {
            inner: Arc::new(Inner {
                presign_endpoint,
                endpoint_resolver: crate::endpoints::CachedEndpoints::default(),
                connection,
                s3,
                presign_s3,
                sdk_config,
                credentials: Mutex::new(None),
                credentials_refresh: tokio::sync::Mutex::new(()),
                region,
                endpoint,
                path_style,
                restriction,
                extra_roots,
                http: std::sync::OnceLock::new(),
                upload_budget,
                download_budget,
                quick_get,
            }),
        })
    }

    pub fn s3(&self) -> &aws_sdk_s3::Client {
        &self.inner.s3
    }

    pub(crate) fn presign_s3(&self) -> &aws_sdk_s3::Client {
        &self.inner.presign_s3
    }

    /// An S3 client for another region (create_bucket, cross-region copy).
    pub(crate) fn s3_in_region(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.inner.region {
            return self.inner.s3.clone();
        }
        let config = self.inner.s3.config().to_builder().region(Region::new(region.to_owned())).build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn connection(&self) -> &Connection {
        &self.inner.connection
    }

    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The custom endpoint, if any (from the connection, `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> Option<&str> {
        self.inner.endpoint.as_deref()
    }

    pub fn restriction(&self) -> &Restriction {
        &self.inner.restriction
    }

    /// A plain HTTP client (for `api_call`), built on first use.
    pub(crate) fn http(&self) -> Result<&reqwest::Client> {
        if let Some(http) = self.inner.http.get() {
            return Ok(http);
        }
        let mut http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        for cert in &self.inner.extra_roots {
            http = http.add_root_certificate(cert.clone());
        }
        let http = http
            .build()
            .map_err(|e| Error::invalid_input(format!("cannot build the HTTP client: {e}")))?;
        Ok(self.inner.http.get_or_init(|| http))
    }

    /// The current credentials: cached, and fetched from the provider (resolving the chain
    /// or calling STS) only the first time and when they are about to expire.
    pub async fn credentials(&self) -> Result<Credentials> {
        if let Some(credentials) = self.fresh_cached_credentials() {
            return Ok(credentials);
        }
        let _refreshing = self.inner.credentials_refresh.lock().await;
        if let Some(credentials) = self.fresh_cached_credentials() {
            return Ok(credentials); // another task refreshed them meanwhile
        }
        let provider = self
            .inner
            .sdk_config
            .credentials_provider()
            .ok_or_else(|| Error::new(ErrorCode::CredentialsInvalid, "no credentials are configured"))?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            Error::new(
                ErrorCode::CredentialsInvalid,
                format!("could not load credentials: {}", crate::error::source_chain(&e)),
            )
        })?;
        *self.inner.credentials.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials.clone());
        Ok(credentials)
    }

    fn fresh_cached_credentials(&self) -> Option<Credentials> {
        let cached = self.inner.credentials.lock().unwrap_or_else(|e| e.into_inner());
        let credentials = cached.as_ref()?;
        match credentials.expiry() {
            Some(expiry) if SystemTime::now() + CREDENTIALS_REFRESH_BEFORE >= expiry => None,
            _ => Some(credentials.clone()),
        }
    }

    /// The endpoint of a pre-signed link to `bucket`: the SDK's endpoint rules with the
    /// parameters its object operations set (the key plays no part in the rules).
    pub(crate) async fn presign_endpoint(&self, bucket: &str) -> Result<aws_smithy_types::endpoint::Endpoint> {
        self.resolve_endpoint(bucket, self.inner.presign_endpoint.clone()).await
    }

    /// The endpoint of the client's own requests to `bucket`, as [`Client::presign_endpoint`].
    pub(crate) async fn object_endpoint(&self, bucket: &str) -> Result<aws_smithy_types::endpoint::Endpoint> {
        self.resolve_endpoint(bucket, self.inner.endpoint.clone()).await
    }

    async fn resolve_endpoint(&self, bucket: &str, endpoint: Option<String>) -> Result<aws_smithy_types::endpoint::Endpoint> {
        use aws_sdk_s3::config::endpoint::{Params, ResolveEndpoint};
        let params = Params::builder()
            .bucket(bucket)
            .region(self.inner.region.clone())
            .set_endpoint(endpoint)
            .force_path_style(self.inner.path_style)
            .set_use_fips(self.inner.sdk_config.use_fips())
            .set_use_dual_stack(self.inner.sdk_config.use_dual_stack())
            .build()
            .map_err(|e| Error::invalid_input(format!("endpoint: {e}")))?;
        self.inner
            .endpoint_resolver
            .resolve_endpoint(&params)
            .await
            .map_err(|e| Error::invalid_input(format!("endpoint: {e}")))
    }

    /// The plain URL of an object (not signed): path-style under a custom endpoint,
    /// virtual-hosted on AWS.
    pub fn object_url(&self, bucket: &str, key: &str) -> String {
        let key = crate::encode::key_path(key);
        match (&self.inner.endpoint, self.inner.path_style) {
            (Some(endpoint), true) => format!("{}/{bucket}/{key}", endpoint.trim_end_matches('/')),
            (Some(endpoint), false) => {
                let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", endpoint));
                format!("{scheme}://{bucket}.{}/{key}", host.trim_end_matches('/'))
            }
            (None, true) => format!("https://s3.{}.amazonaws.com/{bucket}/{key}", self.inner.region),
            (None, false) => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.inner.region),
        }
    }

    pub(crate) fn quick_get(&self) -> Option<&crate::transfer::quick_get::QuickGet> {
        self.inner.quick_get.as_ref()
    }

    /// Part size and concurrency for multipart transfers.
    pub fn part_size(&self) -> u64 {
        self.inner.connection.part_size.unwrap_or(crate::transfer::DEFAULT_PART_SIZE)
    }

    /// Objects larger than this are uploaded in parts and downloaded in parallel ranges.
    pub fn multipart_threshold(&self) -> u64 {
        self.part_size().max(crate::transfer::MULTIPART_THRESHOLD)
    }

    /// Objects larger than this are copied with UploadPartCopy.
    pub fn multipart_copy_threshold(&self) -> u64 {
        self.inner.connection.multipart_copy_threshold.unwrap_or(crate::transfer::MULTIPART_COPY_THRESHOLD)
    }

    /// Buffers in flight across every upload and copy of this client: `upload_concurrency`
    /// parts of `part_size`, one shared budget, so memory stays bounded however many
    /// transfers run at once.
    pub fn upload_budget(&self) -> &crate::transfer::Budget {
        &self.inner.upload_budget
    }

    /// Buffers in flight across every download of this client: `download_threads` ranges.
    pub fn download_budget(&self) -> &crate::transfer::Budget {
        &self.inner.download_budget
    }

    /// `upload_concurrency`, as a count.
    pub fn upload_concurrency(&self) -> usize {
        self.inner.connection.upload_concurrency.unwrap_or(crate::transfer::DEFAULT_UPLOAD_CONCURRENCY) as usize
    }

    /// `download_threads`, as a count.
    pub fn download_threads(&self) -> usize {
        self.inner.connection.download_threads.unwrap_or(crate::transfer::DEFAULT_DOWNLOAD_THREADS) as usize
    }
}

fn timeouts(connection: &Connection) -> TimeoutConfig {
    let mut timeouts = TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT);
    if let Some(seconds) = connection.timeout_seconds {
        timeouts = timeouts.operation_attempt_timeout(Duration::from_secs(seconds));
    }
    timeouts.build()
}

/// The endpoint the shared AWS configuration gives S3, as the SDK reads it: `AWS_ENDPOINT_URL_S3`
/// or a profile's `services` section before `AWS_ENDPOINT_URL`/`endpoint_url`. Kept here too
/// (not only in the SDK client) so path style and pre-signed links follow it.
fn shared_s3_endpoint(sdk_config: &aws_types::SdkConfig) -> Option<String> {
    use aws_types::service_config::ServiceConfigKey;
    let key = ServiceConfigKey::builder().service_id("S3").env("AWS_ENDPOINT_URL").profile("endpoint_url").build().ok()?;
    sdk_config
        .service_config()
        .and_then(|config| config.load_config(key))
        .or_else(|| sdk_config.endpoint_url().map(str::to_owned))
}

/// The SDK's hyper client with rustls on ring, trusting the system roots plus `ca_bundle`.
fn sdk_http_client(ca_bundle: Option<&[u8]>) -> Result<SharedHttpClient> {
    let mut trust = TrustStore::default();
    if let Some(pem) = ca_bundle {
        trust = trust.with_pem_certificate(pem.to_vec());
    }
    let tls_context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| Error::invalid_input(format!("ca_bundle: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls_context)
        .build_https())
}

/// Loads the SDK configuration for one `auth`: region, endpoint and credentials.
fn load_sdk_config<'a>(
    connection: &'a Connection,
    auth: &'a Auth,
    http_client: SharedHttpClient,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<SdkConfig>> + Send + 'a>> {
    Box::pin(async move {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client.clone());
        if let Some(region) = connection.configured_region() {
            loader = loader.region(Region::new(region));
        }
        if let Some(endpoint) = &connection.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        match auth {
            Auth::AccessKey { access_key_id, secret_access_key, session_token } => {
                loader = loader.credentials_provider(Credentials::new(
                    access_key_id,
                    secret_access_key.expose(),
                    session_token.as_ref().map(|t| t.expose().to_owned()),
                    None,
                    "s3flow",
                ));
            }
            Auth::DefaultChain { profile } => {
                if let Some(profile) = profile {
                    loader = loader.profile_name(profile);
                }
            }
            Auth::AssumeRole { role_arn, external_id, session_name, duration_seconds, source } => {
                let source_config = load_sdk_config(connection, source, http_client.clone()).await?;
                let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                    .session_name(session_name.clone().unwrap_or_else(|| "s3flow".to_owned()))
                    .session_length(Duration::from_secs(u64::from(duration_seconds.unwrap_or(3600))))
                    .configure(&source_config);
                if let Some(external_id) = external_id {
                    builder = builder.external_id(external_id);
                }
                if let Some(region) = source_config.region() {
                    builder = builder.region(region.clone());
                }
                loader = loader.credentials_provider(builder.build().await);
            }
        }
        Ok(loader.load().await)
    })
}
