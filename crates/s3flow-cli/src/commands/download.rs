//! `s3flow download s3://bucket/key [DEST]` → the `download` action.

use std::path::{Path, PathBuf};

use base64::Engine;
use clap::Args;
use s3flow::actions::download::{self, Content, DownloadAs, DownloadInput};
use s3flow::{Error, ErrorCode, Result};

use super::{connect, json, parse_enum_opt, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::{key_file_name, S3Uri};

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The object, s3://bucket/key.
    #[arg(value_name = "s3://bucket/key")]
    pub uri: String,

    /// A file (written whole, then renamed into place), a directory, or - for stdout.
    /// Leave it out for the content inside the JSON output.
    #[arg(value_name = "DEST")]
    pub dest: Option<String>,

    /// A version of the object.
    #[arg(long, value_name = "ID")]
    pub version_id: Option<String>,

    /// Part of the object: bytes=a-b, bytes=a- or bytes=-n.
    #[arg(long, value_name = "RANGE")]
    pub range: Option<String>,

    /// Inline content form: auto (default), text, json, base64.
    #[arg(long = "as", value_name = "FORM")]
    pub as_: Option<String>,

    /// Refuse inline content larger than this (default 10 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_inline_bytes: Option<u64>,

    /// The URI is a folder s3://bucket/prefix/ and DEST a directory: download every object
    /// under it, many at once; keys that would leave DEST are refused and reported. Prints a
    /// summary and exits 1 if any object failed.
    #[arg(long, short = 'r', help_heading = "Directories")]
    pub recursive: bool,

    #[command(flatten)]
    pub dir: super::dir::DirArgs,
}

pub async fn run(args: DownloadArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    if args.recursive {
        let Some(dest) = args.dest.as_deref().filter(|d| *d != "-") else {
            return Err(Error::invalid_input(
                "--recursive: give s3://bucket/prefix/ and a directory",
            ));
        };
        let target = S3Uri::parse(&args.uri)?;
        let options = args.dir.options()?;
        let client = connect(connection).await?;
        let bucket = client
            .restriction()
            .bucket_or_default(target.bucket.as_deref())?;
        let prefix = super::upload::folder_prefix(target.key.as_deref());
        return super::dir::download(&client, &bucket, &prefix, Path::new(dest), options).await;
    }
    let (bucket, key) = S3Uri::object(&args.uri)?;
    let mut input = DownloadInput {
        bucket,
        key,
        version_id: args.version_id,
        range: args.range,
        as_: parse_enum_opt("--as", args.as_.as_deref())?,
        to: None,
        max_inline_bytes: args.max_inline_bytes,
    };
    match args.dest.as_deref() {
        None => {
            let client = connect(connection).await?;
            json(download::run(&client, input).await?)
        }
        Some("-") => {
            if input.as_.is_some() {
                return Err(Error::invalid_input(
                    "--as: not with DEST -, which writes the raw bytes",
                ));
            }
            if input.range.is_none() {
                // Streamed in order, parallel ranges for large objects, bounded buffers.
                let client = connect(connection).await?;
                let mut stdout = tokio::io::stdout();
                download::run_to_writer(&client, input, &mut stdout).await?;
                return Ok(Outcome::Done);
            }
            // A range is small: fetched whole through the inline base64 form.
            input.as_ = Some(DownloadAs::Base64);
            input.max_inline_bytes.get_or_insert(u64::MAX);
            let client = connect(connection).await?;
            let output = download::run(&client, input).await?;
            match output.content {
                Some(Content::Base64(encoded)) => base64::engine::general_purpose::STANDARD
                    .decode(encoded)
                    .map(Outcome::Raw)
                    .map_err(|e| {
                        Error::new(ErrorCode::UpstreamUnavailable, format!("{}: {e}", args.uri))
                    }),
                _ => Err(Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!("{}: no content came back", args.uri),
                )),
            }
        }
        Some(dest) => {
            input.to = Some(
                file_target(dest, &input.key)?
                    .to_string_lossy()
                    .into_owned(),
            );
            input.as_.get_or_insert(DownloadAs::File);
            let client = connect(connection).await?;
            json(download::run(&client, input).await?)
        }
    }
}

/// A directory (or a path ending in `/`) gets the key's file name, as `aws s3 cp` does.
fn file_target(dest: &str, key: &str) -> Result<PathBuf> {
    let path = Path::new(dest);
    if !(dest.ends_with('/') || dest.ends_with(std::path::MAIN_SEPARATOR) || path.is_dir()) {
        return Ok(path.to_path_buf());
    }
    match key_file_name(key) {
        Some(name) => Ok(path.join(name)),
        None => Err(Error::invalid_input(format!(
            "DEST: the key {key:?} has no usable file name; give a file path"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_get_the_key_name() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().to_str().unwrap();
        assert_eq!(
            file_target(dest, "a/b/r.pdf").unwrap(),
            dir.path().join("r.pdf")
        );
        assert_eq!(
            file_target("out/", "r.pdf").unwrap(),
            Path::new("out/").join("r.pdf")
        );
        assert_eq!(
            file_target("out.pdf", "a/r.pdf").unwrap(),
            Path::new("out.pdf")
        );
        assert!(file_target(dest, "a/..").is_err());
        assert!(file_target(dest, "folder/").is_err());
    }
}
