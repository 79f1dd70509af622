//! `s3flow serve`: the HTTP connector service (§4). Every action over HTTP, connections in an
//! encrypted store, streaming objects, documents, bearer tokens, Prometheus metrics and an
//! OpenAPI document.
//!
//! [`app`] builds the router from an [`AppState`] and is kept apart from the listener
//! ([`serve`]), so tests drive it with `tower::ServiceExt::oneshot` and no socket.

pub mod crypto;
pub mod documents;
pub mod error;
pub mod in_process;
pub mod metrics;
pub mod middleware;
pub mod objects;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::{get, post};
use axum::Router;
use s3flow::{Client, Result};

pub use error::{ApiError, ApiResult};
pub use store::Store;

/// How long a document is kept by default.
pub const DEFAULT_DOCUMENT_TTL: Duration = Duration::from_secs(24 * 3600);

/// How long a cached client is used before the stored connection is read again to see
/// whether another instance changed it (reading it on every request cost a database query).
pub const CONNECTION_CHECK_EVERY: Duration = Duration::from_secs(1);

struct CachedClient {
    raw: String,
    client: Client,
    checked: Instant,
}

/// Everything the routes share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// One client per connection, with the stored (sealed) JSON it was made from: a
    /// connection changed through this instance gets a fresh client at once, through
    /// another instance within [`CONNECTION_CHECK_EVERY`].
    clients: Mutex<HashMap<String, CachedClient>>,
    documents_dir: PathBuf,
    document_ttl: Duration,
    max_document_bytes: u64,
    metrics: metrics::Metrics,
    /// The embedded endpoint's URL and an HTTP client that serves it in this process:
    /// connections to that URL skip the loopback hop.
    embedded: Option<Embedded>,
}

/// The embedded endpoint's URL and the HTTP client that serves it in process.
type Embedded = (String, aws_smithy_runtime_api::client::http::SharedHttpClient);

impl AppState {
    pub fn new(store: Store, documents_dir: PathBuf) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store,
                clients: Mutex::new(HashMap::new()),
                documents_dir,
                document_ttl: DEFAULT_DOCUMENT_TTL,
                max_document_bytes: documents::MAX_DOCUMENT_BYTES,
                metrics: metrics::Metrics::default(),
                embedded: None,
            }),
        }
    }

    /// A state over the same store and folders with other document limits (how long
    /// documents are kept, how big they may be); its client cache and metrics start empty.
    pub fn with_document_limits(&self, ttl: Duration, max_bytes: u64) -> Self {
        self.rebuilt(ttl, max_bytes, self.inner.embedded.clone())
    }

    /// A state whose access-key connections to `endpoint` (the embedded endpoint's URL) call
    /// `service` in this process instead of over TCP; its client cache and metrics start empty.
    pub fn with_embedded_endpoint(&self, endpoint: String, service: s3s::service::S3Service) -> Self {
        let embedded = Some((endpoint, in_process::http_client(service)));
        self.rebuilt(self.inner.document_ttl, self.inner.max_document_bytes, embedded)
    }

    /// A state over the same store and documents folder, with an empty client cache and metrics.
    fn rebuilt(&self, document_ttl: Duration, max_document_bytes: u64, embedded: Option<Embedded>) -> Self {
        AppState {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                clients: Mutex::new(HashMap::new()),
                documents_dir: self.inner.documents_dir.clone(),
                document_ttl,
                max_document_bytes,
                metrics: metrics::Metrics::default(),
                embedded,
            }),
        }
    }

    pub fn max_document_bytes(&self) -> u64 {
        self.inner.max_document_bytes
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub fn documents_dir(&self) -> &std::path::Path {
        &self.inner.documents_dir
    }

    pub fn document_ttl(&self) -> Duration {
        self.inner.document_ttl
    }

    /// The cached client of a connection, rebuilt when the stored connection changed. When
    /// the check is due, the first request reads the store and the others go on with the
    /// cached client meanwhile (one read per connection, not one per request in flight).
    pub async fn client(&self, name: &str) -> Result<Client> {
        s3flow::connection::validate_name(name)?;
        if let Some(cached) = self.lock_clients().get_mut(name) {
            if cached.checked.elapsed() < CONNECTION_CHECK_EVERY {
                return Ok(cached.client.clone());
            }
            cached.checked = Instant::now();
        }
        let Some(raw) = self.store().raw_connection(name).await? else {
            // Removed, maybe through another instance: no request may use it any longer.
            self.forget_client(name);
            return Err(s3flow::Error::not_found(format!(
                "connection {name:?} does not exist"
            )));
        };
        if let Some(cached) = self.lock_clients().get_mut(name) {
            if cached.raw == raw {
                cached.checked = Instant::now();
                return Ok(cached.client.clone());
            }
        }
        let connection = self.store().open_connection(&raw)?;
        // Access keys only: the embedded endpoint has no STS for a role to be assumed through.
        let endpoint = connection.endpoint.as_deref().map(|e| e.trim_end_matches('/'));
        let keys = matches!(connection.auth, s3flow::Auth::AccessKey { .. });
        let client = match &self.inner.embedded {
            Some((embedded, http)) if keys && endpoint == Some(embedded.as_str()) => {
                Client::connect_over(connection, http.clone()).await?
            }
            _ => Client::connect(connection).await?,
        };
        let checked = Instant::now();
        self.lock_clients().insert(
            name.to_owned(),
            CachedClient {
                raw,
                client: client.clone(),
                checked,
            },
        );
        Ok(client)
    }

    /// Drops the cached client of a connection (after PUT or DELETE).
    pub fn forget_client(&self, name: &str) {
        self.lock_clients().remove(name);
    }

    fn lock_clients(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedClient>> {
        self.inner.clients.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The router of the service. Every route but `/v1/health` needs a bearer token.
pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/metrics", get(routes::metrics))
        .route("/v1/openapi.json", get(openapi::serve_openapi))
        .route("/v1/actions", get(routes::list_actions))
        .route(
            "/v1/connections",
            get(routes::list_connections).post(routes::create_connection),
        )
        .route(
            "/v1/connections/{name}",
            get(routes::get_connection)
                .put(routes::put_connection)
                .delete(routes::delete_connection),
        )
        .route("/v1/connections/{name}/test", post(routes::test_connection))
        .route(
            "/v1/connections/{name}/actions/{action}",
            post(routes::run_action),
        )
        .route(
            "/v1/connections/{name}/objects/{bucket}/{*key}",
            get(objects::get_object)
                .head(objects::head_object)
                .put(objects::put_object)
                .delete(objects::delete_object),
        )
        .route("/v1/documents", post(documents::create))
        .route(
            "/v1/documents/{id}",
            get(documents::get).delete(documents::delete),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::require_token,
        ));
    Router::new()
        .route("/v1/health", get(routes::health))
        .merge(protected)
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(routes::MAX_JSON_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::request_context,
        ))
        .with_state(state)
}
