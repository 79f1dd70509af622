//! `s3flow delete` → `delete` (one object) or `delete_folder` (`--recursive`), and
//! `s3flow delete-objects` → `delete_objects`.

use clap::Args;
use s3flow::actions::delete::{self, DeleteInput};
use s3flow::actions::delete_folder::{self, DeleteFolderInput};
use s3flow::actions::delete_objects::{self, DeleteObjectsInput};
use s3flow::{Error, Result};

use super::{connect, json, read_file_or_stdin, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::S3Uri;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The object s3://bucket/key, or with --recursive the folder s3://bucket/prefix/.
    #[arg(value_name = "s3://bucket/key")]
    pub uri: String,

    /// One version of the object (deleted for good).
    #[arg(long, value_name = "ID", conflicts_with = "recursive")]
    pub version_id: Option<String>,

    /// Delete every object under the folder.
    #[arg(long, short = 'r')]
    pub recursive: bool,

    /// With --recursive: count what would be deleted, delete nothing.
    #[arg(long, requires = "recursive")]
    pub dry_run: bool,

    /// With --recursive: allow s3://bucket/ itself, every object of the bucket.
    #[arg(long, requires = "recursive")]
    pub allow_entire_bucket: bool,
}

pub async fn run(args: DeleteArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    if args.recursive {
        let (bucket, prefix) = S3Uri::prefix(&args.uri)?;
        let input = DeleteFolderInput {
            bucket,
            prefix: folder(prefix),
            allow_entire_bucket: args.allow_entire_bucket,
            dry_run: args.dry_run,
        };
        let client = connect(connection).await?;
        return json(delete_folder::run(&client, input).await?);
    }
    let (bucket, key) = S3Uri::object(&args.uri)?;
    let client = connect(connection).await?;
    json(
        delete::run(
            &client,
            DeleteInput {
                bucket,
                key,
                version_id: args.version_id,
            },
        )
        .await?,
    )
}

/// `--recursive` works on folders: `logs` means `logs/`, so `logs-old/` is never caught by
/// a missing slash (the aws-cli pitfall).
fn folder(prefix: Option<String>) -> String {
    match prefix {
        Some(prefix) if !prefix.ends_with('/') => format!("{prefix}/"),
        Some(prefix) => prefix,
        None => String::new(),
    }
}

#[derive(Debug, Args)]
pub struct DeleteObjectsArgs {
    /// The bucket, s3://bucket.
    #[arg(value_name = "s3://bucket")]
    pub uri: String,

    /// A key to delete, repeatable.
    #[arg(long = "key", value_name = "KEY")]
    pub keys: Vec<String>,

    /// A file with one key per line, or - for stdin.
    #[arg(long, value_name = "FILE")]
    pub keys_from: Option<String>,
}

pub async fn run_objects(args: DeleteObjectsArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let bucket = S3Uri::bucket_only(&args.uri)?;
    let mut keys = args.keys;
    if let Some(path) = &args.keys_from {
        let bytes = read_file_or_stdin("--keys-from", path)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            Error::invalid_input(format!("--keys-from: {path:?} is not UTF-8 text"))
        })?;
        keys.extend(key_lines(&text));
    }
    if keys.is_empty() {
        return Err(Error::invalid_input(
            "keys: give --key KEY (repeatable) or --keys-from FILE|-",
        ));
    }
    let client = connect(connection).await?;
    json(delete_objects::run(&client, DeleteObjectsInput { bucket, keys }).await?)
}

/// One key per line; `\r\n` endings and empty lines are dropped, spaces are kept (they are
/// legal in keys).
fn key_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recursive_prefixes_are_folders() {
        assert_eq!(folder(Some("logs".into())), "logs/");
        assert_eq!(folder(Some("logs/".into())), "logs/");
        assert_eq!(folder(None), "");
    }

    #[test]
    fn keys_one_per_line() {
        let keys: Vec<String> = key_lines("a.txt\r\n b c \n\nd/e\n").collect();
        assert_eq!(keys, ["a.txt", " b c ", "d/e"]);
    }
}
