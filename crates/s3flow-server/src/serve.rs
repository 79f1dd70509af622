//! `s3flow serve`: the store, the embedded endpoint with its `local` connection, the API
//! listener with graceful shutdown, and the document cleanup task.

use std::future::{Future, IntoFuture};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::serve::ListenerExt;
use s3flow::{Connection, Error, ErrorCode, Result};
use s3flow_local::{LocalConfig, LocalServer};

use crate::crypto::MasterKey;
use crate::store::Store;
use crate::AppState;

/// The name of the connection to the embedded endpoint.
pub const LOCAL_CONNECTION: &str = "local";
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
/// How long requests in flight may run on after SIGTERM or Ctrl-C.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub local_listen: SocketAddr,
    pub no_local: bool,
    pub data: PathBuf,
    pub database: Option<String>,
}

/// Opens the store of a data folder (and database URL) under its master key.
pub async fn open_store(data: &std::path::Path, database: Option<&str>) -> Result<Store> {
    std::fs::create_dir_all(data)
        .map_err(|e| Error::invalid_input(format!("--data {}: {e}", data.display())))?;
    let key = MasterKey::load_or_create(data)?;
    Store::open(data, database, key).await
}

/// Runs the service until `shutdown` resolves; in-flight requests then finish.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let store = open_store(&config.data, config.database.as_deref()).await?;
    let first_token = if store.count_tokens().await? == 0 {
        Some(store.create_token().await?)
    } else {
        None
    };

    let local = if config.no_local {
        None
    } else {
        let local_config = LocalConfig {
            listen: config.local_listen,
            ..LocalConfig::new(config.data.join("local"))
        };
        let server = LocalServer::start(local_config).await.map_err(|e| {
            Error::new(
                ErrorCode::InvalidInput,
                format!(
                    "--local-listen {}: cannot start the embedded endpoint: {e}",
                    config.local_listen
                ),
            )
        })?;
        let connection = Connection {
            name: Some(LOCAL_CONNECTION.to_owned()),
            ..Connection::with_access_key(
                &server.endpoint(),
                server.access_key(),
                server.secret_key(),
                server.region(),
            )
        };
        store.put_connection(&connection).await?;
        Some(server)
    };

    let mut state = AppState::new(store.clone(), config.data.join("documents"));
    if let Some(local) = &local {
        state = state.with_embedded_endpoint(local.endpoint(), local.service());
    }
    let cleanup = tokio::spawn(crate::documents::cleanup_loop(state.clone(), CLEANUP_EVERY));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::invalid_input(format!("--listen {}: {e}", config.listen)))?;
    let addr = listener.local_addr()?;

    announce(addr, local.as_ref(), &config, first_token.as_ref());
    tracing::info!(target: "s3flow::serve", api = %format!("http://{addr}"), "s3flow service listening");

    // On the signal, stop accepting and let requests in flight finish — for at most
    // SHUTDOWN_GRACE, so one stalled client cannot hold the process forever.
    let (signalled, on_signal) = tokio::sync::oneshot::channel::<()>();
    let mut server = tokio::spawn(
        // TCP_NODELAY: a streamed response goes out as a head, then body chunks; with Nagle on,
        // a small body waits for the client's delayed ACK of the head (~40 ms on keep-alive).
        axum::serve(listener.tap_io(|tcp| drop(tcp.set_nodelay(true))), crate::app(state))
            .with_graceful_shutdown(async move {
                shutdown.await;
                tracing::info!(target: "s3flow::serve", "stopping: finishing the requests in flight");
                let _ = signalled.send(());
            })
            .into_future(),
    );
    let served = tokio::select! {
        done = &mut server => done,
        _ = on_signal => match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!(target: "s3flow::serve", grace_seconds = SHUTDOWN_GRACE.as_secs(), "requests still running after the grace period; stopping anyway");
                server.abort();
                Ok(Ok(()))
            }
        },
    };
    let served = served.unwrap_or(Ok(()));
    tracing::info!(target: "s3flow::serve", "stopped");
    cleanup.abort();
    if let Some(local) = local {
        local.shutdown().await;
    }
    store.close().await;
    served.map_err(|e| Error::new(ErrorCode::UpstreamUnavailable, format!("serve: {e}")))
}

/// One JSON line on stdout for scripts and people (the first token is in it, shown only this
/// once), a few lines on stderr without it.
fn announce(
    addr: SocketAddr,
    local: Option<&LocalServer>,
    config: &ServeConfig,
    token: Option<&(String, String)>,
) {
    let data = std::path::absolute(&config.data).unwrap_or_else(|_| config.data.clone());
    eprintln!(
        "s3flow: service on http://{addr} (data: {})",
        data.display()
    );
    if let Some(local) = local {
        eprintln!(
            "s3flow: embedded S3 endpoint on {} (connection \"{LOCAL_CONNECTION}\")",
            local.endpoint()
        );
    }
    if let Some((id, _)) = token {
        // The token itself goes to stdout only: stderr is where logs are collected.
        eprintln!("s3flow: created a first API token (id {id}); it is in the JSON line on stdout, shown only this once");
    }
    let line = serde_json::json!({
        "api": format!("http://{addr}"),
        "local_endpoint": local.map(|l| l.endpoint()),
        "data": data.to_string_lossy(),
        "token": token.map(|(id, token)| serde_json::json!({"id": id, "token": token})),
    });
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// The size of the service's blocking pool: twice the cores, at least 4 (tokio's default is
/// 512). The pool runs the embedded endpoint's and the documents' file work, short calls that
/// keep a core busy rather than wait; under many small uploads at once the default grew to
/// ~100 threads taking turns on 2 cores, and 4 threads served 20 % more uploads a second with a
/// p99 lower by 5-20 ms at 64 in flight (bench/w6/RESULTS.md). Work beyond it queues in the pool.
pub fn blocking_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (2 * cores).max(4)
}

/// Keeps the service's log writer running; dropping it writes out the lines still queued.
#[derive(Debug)]
#[must_use = "log lines still queued are lost unless this lives until the service stops"]
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// Logs for the service: `text` or `json` lines on stderr. The `s3s` target stays at info or
/// above whatever the filter says: it logs whole requests, Authorization headers included,
/// at debug.
///
/// A request's line is queued, not written: one thread writes the queue out through a buffer,
/// as many lines per system call as are waiting, so requests never wait on stderr (one `write` per request
/// cost about 15 % of presign throughput at 64 in flight, bench/w6/RESULTS.md). A full queue
/// makes callers wait rather than lose lines.
pub fn init_logging(format: &str, filter: Option<&str>) -> Result<LogGuard> {
    let filter = filter.unwrap_or("info");
    let directives = format!("{filter},s3s=info");
    let env_filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .map_err(|e| Error::invalid_input(format!("--log-level: {filter:?}: {e}")))?;
    let stderr = std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr());
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("s3flow-log")
        .finish(stderr);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(writer);
    let result = match format {
        "json" => builder.json().try_init(),
        "text" => builder.with_ansi(false).try_init(),
        other => {
            return Err(Error::invalid_input(format!(
                "--log-format: {other:?} must be json or text"
            )))
        }
    };
    result.map_err(|e| Error::invalid_input(format!("logging: {e}")))?;
    Ok(LogGuard(guard))
}
