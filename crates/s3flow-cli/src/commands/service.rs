//! `s3flow serve`, `s3flow token …`, `s3flow connection …` and `s3flow keys rotate`: the
//! connector service and its store (`s3flow-server`), plus the store behind the global
//! `--connection NAME`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use s3flow::{Client, Connection, Error, ErrorCode, Result};
use s3flow_server::crypto::{MasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE};
use s3flow_server::serve::{open_store, ServeConfig};
use s3flow_server::Store;
use serde_json::json;

use super::Outcome;
use crate::connection_args::ConnectionArgs;

/// Where the store is: the data folder (SQLite and the master key file) and an optional
/// PostgreSQL URL.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Data folder: the SQLite store, the master key file, documents, the embedded endpoint's data.
    #[arg(
        long,
        env = "S3FLOW_DATA",
        global = true,
        value_name = "DIR",
        default_value = "./s3flow-data"
    )]
    pub data: PathBuf,

    /// postgres://… to keep the state in PostgreSQL (shared by several instances); default
    /// SQLite in the data folder.
    #[arg(long, env = "S3FLOW_DATABASE", global = true, value_name = "URL")]
    pub database: Option<String>,
}

impl StoreArgs {
    async fn open(&self) -> Result<Store> {
        open_store(&self.data, self.database.as_deref()).await
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the connector API (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the embedded S3 endpoint (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
    pub local_listen: SocketAddr,

    /// Do not start the embedded S3 endpoint (and its `local` connection).
    #[arg(long)]
    pub no_local: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    /// Log lines on stderr as text or JSON (with --log-level, default info).
    #[arg(long, value_enum, env = "S3FLOW_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints {"id","token"} (the token is shown only this once).
    #[command(after_help = "Example:\n  s3flow token create --data ./s3flow-data")]
    Create,
    /// List tokens (ids and dates, never the tokens).
    #[command(after_help = "Example:\n  s3flow token list")]
    List,
    /// Revoke a token by id.
    #[command(after_help = "Example:\n  s3flow token revoke 3f9a0c1b2d4e")]
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ConnectionCmdArgs {
    #[command(subcommand)]
    pub command: ConnectionCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Save a connection from the connection flags (--endpoint, --access-key-id…) or --json.
    #[command(
        after_help = "Examples:\n  s3flow connection add minio --endpoint http://127.0.0.1:9000 --provider minio --access-key-id KEY --secret-access-key SECRET\n  s3flow connection add prod --json '{\"region\":\"eu-west-1\",\"auth\":{\"type\":\"default_chain\"}}'"
    )]
    Add {
        /// Name, [a-z0-9][a-z0-9_-]{0,62}.
        name: String,
        /// The connection as JSON (or @file, or - for stdin) instead of the flags.
        #[arg(long, value_name = "JSON")]
        json: Option<String>,
        /// Replace a connection of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// List saved connections, secrets redacted.
    #[command(after_help = "Example:\n  s3flow connection list")]
    List,
    /// Show one connection, secrets redacted.
    #[command(after_help = "Example:\n  s3flow connection show prod")]
    Show { name: String },
    /// Remove a connection.
    #[command(after_help = "Example:\n  s3flow connection remove prod")]
    Remove { name: String },
    /// Check that the store accepts the connection's credentials (one signed call).
    #[command(after_help = "Example:\n  s3flow connection test prod")]
    Test { name: String },
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every secret under a new master key, in one transaction.
    ///
    /// With a key file, the new key replaces it. With S3FLOW_MASTER_KEY, the new key is
    /// printed once: set the variable to it before the next start.
    #[command(after_help = "Example:\n  s3flow keys rotate --data ./s3flow-data")]
    Rotate,
}

pub async fn serve(args: ServeArgs) -> Result<Outcome> {
    let config = ServeConfig {
        listen: args.listen,
        local_listen: args.local_listen,
        no_local: args.no_local,
        data: args.store.data,
        database: args.store.database,
    };
    let stop = super::local::stop_signal()?;
    s3flow_server::serve::serve(config, stop).await?;
    Ok(Outcome::Done)
}

pub async fn token(args: TokenArgs) -> Result<Outcome> {
    let store = args.store.open().await?;
    let out = match args.command {
        TokenCommand::Create => {
            let (id, token) = store.create_token().await?;
            json!({"id": id, "token": token})
        }
        TokenCommand::List => json!({"tokens": store.list_tokens().await?}),
        TokenCommand::Revoke { id } => {
            store.revoke_token(&id).await?;
            json!({"id": id, "revoked": true})
        }
    };
    store.close().await;
    Ok(Outcome::Json(out))
}

pub async fn connection(args: ConnectionCmdArgs, flags: &ConnectionArgs) -> Result<Outcome> {
    let store = args.store.open().await?;
    let out = match args.command {
        ConnectionCommand::Add {
            name,
            json,
            replace,
        } => {
            s3flow::connection::validate_name(&name)?;
            let mut connection = match json {
                Some(text) => {
                    let text = if text == "-" || text.starts_with('@') {
                        let bytes = super::read_file_or_stdin(
                            "--json",
                            text.strip_prefix('@').unwrap_or("-"),
                        )?;
                        String::from_utf8(bytes)
                            .map_err(|_| Error::invalid_input("--json: not UTF-8"))?
                    } else {
                        text
                    };
                    serde_json::from_str::<Connection>(&text)
                        .map_err(|e| Error::invalid_input(format!("--json: {e}")))?
                }
                None => flags.to_connection()?,
            };
            if connection.name.as_deref().is_some_and(|n| n != name) {
                return Err(Error::invalid_input(format!(
                    "name: {:?} in --json differs from {name:?}",
                    connection.name.unwrap_or_default()
                )));
            }
            connection.name = Some(name.clone());
            if !replace && store.raw_connection(&name).await?.is_some() {
                return Err(Error::new(
                    ErrorCode::AlreadyExists,
                    format!("connection {name:?} already exists (--replace replaces it)"),
                ));
            }
            store.put_connection(&connection).await?;
            connection.redacted()
        }
        ConnectionCommand::List => {
            let list = store.list_connections().await?;
            json!({"connections": list.iter().map(Connection::redacted).collect::<Vec<_>>()})
        }
        ConnectionCommand::Show { name } => store.get_connection(&name).await?.redacted(),
        ConnectionCommand::Remove { name } => {
            store.delete_connection(&name).await?;
            json!({"name": name, "removed": true})
        }
        ConnectionCommand::Test { name } => {
            let client = Client::connect(store.get_connection(&name).await?).await?;
            s3flow_server::routes::probe(&client, &name).await?
        }
    };
    store.close().await;
    Ok(Outcome::Json(out))
}

pub async fn keys(args: KeysArgs) -> Result<Outcome> {
    let KeysCommand::Rotate = args.command;
    let store = args.store.open().await?;
    let new_key = MasterKey::generate();
    let from_env = std::env::var(MASTER_KEY_ENV).is_ok_and(|v| !v.trim().is_empty());
    let out = if from_env {
        let count = store.rotate_key(&new_key).await?;
        json!({"rotated": count, "master_key": new_key.to_base64(), "note": format!("set {MASTER_KEY_ENV} to master_key before the next start")})
    } else {
        // The new key is on disk before the transaction commits, so a crash in between
        // leaves both keys and loses nothing.
        let path = args.store.data.join(MASTER_KEY_FILE);
        let pending = args.store.data.join(format!("{MASTER_KEY_FILE}.new"));
        new_key.write_file(&pending)?;
        let count = store.rotate_key(&new_key).await?;
        std::fs::rename(&pending, &path)?;
        json!({"rotated": count, "key_file": absolute(&path)})
    };
    store.close().await;
    Ok(Outcome::Json(out))
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .to_string_lossy()
        .into_owned()
}

/// The connection saved under `name`, from the store in `S3FLOW_DATA` (default
/// `./s3flow-data`) or `S3FLOW_DATABASE`. A folder without a store is `not_found`, and
/// nothing is created there.
pub async fn stored_connection(name: &str) -> Result<Connection> {
    let data =
        PathBuf::from(std::env::var("S3FLOW_DATA").unwrap_or_else(|_| "./s3flow-data".to_owned()));
    let database = std::env::var("S3FLOW_DATABASE")
        .ok()
        .filter(|d| !d.is_empty());
    if database.is_none() && !data.join("s3flow.db").exists() {
        return Err(Error::not_found(format!(
            "--connection {name:?}: no connection store in {} (save one with `s3flow connection add`, or set S3FLOW_DATA / S3FLOW_DATABASE)",
            data.display()
        )));
    }
    let store = open_store(&data, database.as_deref()).await?;
    let connection = store.get_connection(name).await;
    store.close().await;
    connection
}
