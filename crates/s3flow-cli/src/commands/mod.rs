//! One file per subcommand: its flags and the few lines that turn them into the action's
//! typed input and call the library. Nothing here talks to S3 directly.

pub mod api;
pub mod bucket;
pub mod copy;
pub mod delete;
pub mod dir;
pub mod download;
pub mod head;
pub mod list;
pub mod local;
pub mod presign;
pub mod run;
pub mod service;
pub mod upload;

use std::collections::BTreeMap;
use std::io::Read;

use s3flow::{Client, Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cli::Command;
use crate::connection_args::ConnectionArgs;

/// What a subcommand produced.
#[derive(Debug)]
pub enum Outcome {
    /// An action's output, rendered as JSON or a table.
    Json(serde_json::Value),
    /// Raw bytes for stdout (`download … -`).
    Raw(Vec<u8>),
    /// Everything was already printed (`local`).
    Done,
    /// A summary in which some items failed: printed as JSON, then exit 1.
    Partial(serde_json::Value),
}

pub async fn dispatch(command: Command, connection: &ConnectionArgs) -> Result<Outcome> {
    match command {
        Command::Upload(args) => upload::run(args, connection).await,
        Command::Download(args) => download::run(args, connection).await,
        Command::List(args) => list::run(args, connection).await,
        Command::Folders(args) => list::run_folders(args, connection).await,
        Command::Head(args) => head::run(args, connection).await,
        Command::Delete(args) => delete::run(args, connection).await,
        Command::DeleteObjects(args) => delete::run_objects(args, connection).await,
        Command::Copy(args) => copy::run(args, connection, copy::Mode::Copy).await,
        Command::Move(args) => copy::run(args, connection, copy::Mode::Move).await,
        Command::Presign(args) => presign::run(args, connection).await,
        Command::Bucket(args) => bucket::run(args, connection).await,
        Command::Api(args) => api::run(args, connection).await,
        Command::Run(args) => run::run(args, connection).await,
        Command::Schema(args) => run::schema(args),
        Command::Local(args) => local::run(args, connection).await,
        Command::Serve(args) => service::serve(args).await,
        Command::Token(args) => service::token(args).await,
        Command::Connection(args) => service::connection(args, connection).await,
        Command::Keys(args) => service::keys(args).await,
    }
}

/// The client for the global connection flags. Connecting does no network I/O for access
/// keys; credentials from the default chain are resolved on the first request.
pub async fn connect(connection: &ConnectionArgs) -> Result<Client> {
    if let Some(name) = &connection.connection {
        return Client::connect(service::stored_connection(name).await?).await;
    }
    Client::connect(connection.to_connection()?).await
}

/// An action's output as JSON.
pub fn json<T: Serialize>(output: T) -> Result<Outcome> {
    serde_json::to_value(output)
        .map(Outcome::Json)
        .map_err(|e| Error::invalid_input(format!("output: {e}")))
}

/// A library enum (`Acl`, `IfExists`, `DownloadAs`…) from its JSON name, so the CLI accepts
/// exactly what the JSON input does. serde's message lists the allowed values.
pub fn parse_enum<T: DeserializeOwned>(flag: &str, value: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|e| Error::invalid_input(format!("{flag}: {e}")))
}

pub fn parse_enum_opt<T: DeserializeOwned>(flag: &str, value: Option<&str>) -> Result<Option<T>> {
    value.map(|v| parse_enum(flag, v)).transpose()
}

/// `name=value` for --metadata, --tag, --var, --query, --header (the value may hold `=`).
pub fn key_value(text: &str) -> std::result::Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not name=value")),
    }
}

/// Repeated `name=value` flags as a map (`None` when none was given); the last value wins.
pub fn map_of(pairs: Vec<(String, String)>) -> Option<BTreeMap<String, String>> {
    (!pairs.is_empty()).then(|| pairs.into_iter().collect())
}

/// A JSON value given on the command line.
pub fn parse_json(flag: &str, text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::invalid_input(format!("{flag}: not valid JSON: {e}")))
}

/// All of stdin.
pub fn read_stdin(what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| Error::invalid_input(format!("{what}: cannot read stdin: {e}")))?;
    Ok(bytes)
}

/// `-` → stdin, anything else → the file at that path.
pub fn read_file_or_stdin(what: &str, path: &str) -> Result<Vec<u8>> {
    if path == "-" {
        read_stdin(what)
    } else {
        std::fs::read(path)
            .map_err(|e| Error::invalid_input(format!("{what}: cannot read {path:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3flow::actions::fields::Acl;
    use s3flow::ErrorCode;

    #[test]
    fn name_value_pairs() {
        assert_eq!(key_value("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(key_value("a=").unwrap(), ("a".into(), String::new()));
        assert!(key_value("=b").is_err());
        assert!(key_value("ab").is_err());
        assert_eq!(map_of(vec![]), None);
        let map = map_of(vec![("k".into(), "1".into()), ("k".into(), "2".into())]).unwrap();
        assert_eq!(map["k"], "2");
    }

    #[test]
    fn enums_use_their_json_names() {
        assert_eq!(
            parse_enum::<Acl>("--acl", "public-read").unwrap(),
            Acl::PublicRead
        );
        let err = parse_enum::<Acl>("--acl", "public").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.contains("--acl") && err.message.contains("public-read"),
            "{}",
            err.message
        );
    }
}
