//! The HTTP server: binds, serves the s3s service on tokio, shuts down gracefully.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use s3s::config::{S3Config, StaticConfigProvider};
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::auth::LocalAuth;
use crate::config::LocalConfig;
use crate::s3::LocalS3;
use crate::store::Store;

/// A running embedded S3 endpoint.
///
/// Dropping it without [`LocalServer::shutdown`] also stops it (gracefully, in the
/// background).
pub struct LocalServer {
    local_addr: SocketAddr,
    access_key: String,
    secret_key: String,
    region: String,
    service: S3Service,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl LocalServer {
    /// Loads the data folder, binds `config.listen` (port 0 picks a free port) and serves on
    /// the current tokio runtime. Returns once the socket is listening.
    pub async fn start(config: LocalConfig) -> io::Result<LocalServer> {
        if config.access_key.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the access key must not be empty",
            ));
        }
        let resolve = config.clone();
        let secret_key = tokio::task::spawn_blocking(move || resolve.resolve_secret_key())
            .await
            .map_err(io::Error::other)??;
        let store = Arc::new(Store::open(&config.data_dir).await?);
        let service = build_service(store, &config, &secret_key);

        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, service.clone(), stopped));
        info!(endpoint = %format!("http://{local_addr}"), access_key = %config.access_key, region = %config.region, "local S3 endpoint listening");

        Ok(LocalServer {
            local_addr,
            access_key: config.access_key,
            secret_key,
            region: config.region,
            service,
            stop,
            task,
        })
    }

    /// Base URL for path-style requests, e.g. `http://127.0.0.1:9000`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The S3 service behind the socket (auth included), for callers in this process that
    /// want to skip the loopback hop. It keeps answering after [`LocalServer::shutdown`].
    pub fn service(&self) -> S3Service {
        self.service.clone()
    }

    /// Stops accepting connections, closes idle ones, and returns once every request in
    /// flight has finished.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            warn!(%err, "the local S3 endpoint's server task failed");
        }
        info!(endpoint = %format!("http://{}", self.local_addr), "local S3 endpoint stopped");
    }
}

impl fmt::Debug for LocalServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalServer")
            .field("local_addr", &self.local_addr)
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

fn build_service(store: Arc<Store>, config: &LocalConfig, secret_key: &str) -> S3Service {
    let mut builder = S3ServiceBuilder::new(LocalS3::new(store, config.region.clone()));
    builder.set_auth(LocalAuth::new(
        config.access_key.clone(),
        secret_key.to_owned(),
    ));
    let mut s3_config = S3Config::default();
    // Keys are exact: `//`, a leading `/` and a trailing `/` must survive (default is off,
    // pinned here so an s3s default change cannot alter keys).
    s3_config.normalize_forward_slash_path = false;
    builder.set_config(Arc::new(StaticConfigProvider::new(Arc::new(s3_config))));
    builder.build()
}

async fn accept_loop(
    listener: TcpListener,
    service: S3Service,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // A send (shutdown) or a dropped `LocalServer` both stop the server.
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve_connection(stream, peer, service.clone(), stopped.clone()));
                }
                Err(err) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    debug!(
        open = connections.len(),
        "waiting for open connections to finish"
    );
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    service: S3Service,
    mut stopped: watch::Receiver<bool>,
) {
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stopped.changed() => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(err) = result {
        debug!(%peer, %err, "connection ended with an error");
    }
}
