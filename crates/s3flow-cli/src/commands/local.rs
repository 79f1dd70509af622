//! `s3flow local`: the embedded S3-compatible endpoint (`s3flow-local`) in the foreground.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use s3flow::{Error, ErrorCode, Result};
use s3flow_local::{LocalConfig, LocalServer};

use super::Outcome;
use crate::connection_args::ConnectionArgs;

#[derive(Debug, Args)]
pub struct LocalArgs {
    /// Folder holding the buckets, the objects and the generated secret.
    #[arg(long, value_name = "DIR", default_value = "./s3flow-data/local")]
    pub data: PathBuf,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,

    /// Access key to accept (default s3flow-local).
    #[arg(long, value_name = "KEY", requires = "secret_key")]
    pub access_key: Option<String>,

    /// Secret key to accept (default: generated on first start, kept in the data folder).
    #[arg(long, value_name = "SECRET", requires = "access_key")]
    pub secret_key: Option<String>,
}

pub async fn run(args: LocalArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let mut config = LocalConfig::new(&args.data);
    config.listen = args.listen;
    if let Some(access_key) = args.access_key {
        config.access_key = access_key;
    }
    if let Some(secret_key) = args.secret_key {
        config.secret_key = secret_key;
    }
    if let Some(region) = &connection.region {
        config.region = region.clone();
    }
    let server = LocalServer::start(config).await.map_err(|e| {
        let code = match e.kind() {
            std::io::ErrorKind::PermissionDenied => ErrorCode::AccessDenied,
            _ => ErrorCode::InvalidInput,
        };
        Error::new(
            code,
            format!(
                "local: cannot start on {} with data {}: {e}",
                args.listen,
                args.data.display()
            ),
        )
    })?;

    let data = std::path::absolute(&args.data).unwrap_or_else(|_| args.data.clone());
    let stop = stop_signal()?;
    announce(&server, &data);

    stop.await;
    eprintln!("s3flow: stopping the local S3 endpoint…");
    server.shutdown().await;
    Ok(Outcome::Done)
}

/// Endpoint and credentials for people on stderr, for scripts as one JSON line on stdout.
/// Printing the secret is the point here: it is this endpoint's own, made for this folder.
fn announce(server: &LocalServer, data: &std::path::Path) {
    let endpoint = server.endpoint();
    eprintln!(
        "s3flow: local S3 endpoint on {endpoint} (data: {})",
        data.display()
    );
    eprintln!("  access key: {}", server.access_key());
    eprintln!("  secret key: {}", server.secret_key());
    eprintln!("  region:     {}", server.region());
    eprintln!("Use it from another shell:");
    eprintln!(
        "  export S3FLOW_ENDPOINT={endpoint} S3FLOW_ACCESS_KEY_ID={} S3FLOW_SECRET_ACCESS_KEY={} S3FLOW_REGION={}",
        shell_quote(server.access_key()),
        shell_quote(server.secret_key()),
        shell_quote(server.region()),
    );
    eprintln!("Press Ctrl-C to stop.");
    let line = serde_json::json!({
        "endpoint": endpoint,
        "access_key_id": server.access_key(),
        "secret_access_key": server.secret_key(),
        "region": server.region(),
        "data": data.to_string_lossy(),
    });
    // One line whatever the terminal, flushed now: scripts read it while the server runs.
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Single quotes when the value holds anything a shell would interpret.
fn shell_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/@+,=".contains(&b));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// Ctrl-C, or SIGTERM on Unix (what `kill`, systemd and container runtimes send). The
/// handlers are installed before this returns, so a signal sent as soon as the endpoint is
/// announced already stops it gracefully instead of killing the process.
pub(crate) fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    let failed =
        |e: std::io::Error| Error::invalid_input(format!("local: cannot listen for signals: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(failed)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(failed)?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let _ = failed;
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("s3flow-local"), "s3flow-local");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
