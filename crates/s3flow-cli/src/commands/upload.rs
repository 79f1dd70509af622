//! `s3flow upload SRC [s3://bucket/key]` → the `upload` action.

use std::path::Path;

use clap::Args;
use s3flow::actions::upload::{self, UploadInput};
use s3flow::{Error, Result};

use super::{connect, json, key_value, map_of, parse_enum_opt, parse_json, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::S3Uri;

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// A file, or - for stdin. Leave it out with --text, --base64 or --json.
    #[arg(value_name = "SRC")]
    pub source: Option<String>,

    /// Target s3://bucket/key (a template); a key ending in / or no key takes the file's name.
    #[arg(value_name = "s3://bucket/key")]
    pub target: Option<String>,

    /// Content as UTF-8 text.
    #[arg(long, help_heading = "Content")]
    pub text: Option<String>,

    /// Content as standard base64.
    #[arg(long, help_heading = "Content")]
    pub base64: Option<String>,

    /// Content as a JSON document (stored compact, application/json).
    #[arg(long, value_name = "JSON", help_heading = "Content")]
    pub json: Option<String>,

    /// Content-Type (default: guessed from the key's extension).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,

    /// Canned ACL: private, public-read, public-read-write, authenticated-read,
    /// bucket-owner-read, bucket-owner-full-control.
    #[arg(long)]
    pub acl: Option<String>,

    /// User metadata (x-amz-meta-NAME), repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = key_value)]
    pub metadata: Vec<(String, String)>,

    /// Object tag, repeatable (at most 10).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = key_value)]
    pub tags: Vec<(String, String)>,

    /// STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR…
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,

    /// Server-side encryption: AES256 or aws:kms.
    #[arg(long, value_name = "ALGORITHM")]
    pub sse: Option<String>,

    /// KMS key for --sse aws:kms.
    #[arg(long, value_name = "KEY_ID")]
    pub kms_key_id: Option<String>,

    /// Cache-Control header stored with the object.
    #[arg(long, value_name = "VALUE")]
    pub cache_control: Option<String>,

    /// Content-Disposition header stored with the object.
    #[arg(long, value_name = "VALUE")]
    pub content_disposition: Option<String>,

    /// Value for a {NAME} placeholder of the key template, repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = key_value)]
    pub vars: Vec<(String, String)>,

    /// When the key already holds an object: overwrite (default), fail, backup.
    #[arg(long, value_name = "POLICY")]
    pub if_exists: Option<String>,

    /// Bucket of the backup copy (with --if-exists backup; default: the same bucket).
    #[arg(long, value_name = "BUCKET")]
    pub backup_bucket: Option<String>,

    /// Prefix of the backup key {prefix}{key}.{timestamp} (with --if-exists backup).
    #[arg(long, value_name = "PREFIX")]
    pub backup_prefix: Option<String>,

    /// SRC is a directory: upload every file in it (and its subfolders) under the target
    /// prefix, many at once; prints a summary and exits 1 if any file failed.
    #[arg(long, short = 'r', help_heading = "Directories")]
    pub recursive: bool,

    #[command(flatten)]
    pub dir: super::dir::DirArgs,
}

impl UploadArgs {
    fn has_inline_content(&self) -> bool {
        self.text.is_some() || self.base64.is_some() || self.json.is_some()
    }

    /// SRC and DEST from the positionals: with inline content a lone `s3://` argument is the
    /// target, so `upload --text hi s3://b/k` reads naturally.
    fn source_and_target(&self) -> Result<(Option<&str>, Option<&str>)> {
        match (self.source.as_deref(), self.target.as_deref()) {
            (Some(only), None) if only.starts_with("s3://") => {
                if self.has_inline_content() {
                    Ok((None, Some(only)))
                } else {
                    Err(Error::invalid_input(format!(
                        "SRC: missing before {only}: give a file, - for stdin, --text, --base64 or --json"
                    )))
                }
            }
            (source, target) => Ok((source, target)),
        }
    }
}

pub async fn run(args: UploadArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let (source, target) = args.source_and_target()?;
    let target = target.map(S3Uri::parse).transpose()?;
    if args.recursive {
        let (Some(source), Some(target)) = (source, target) else {
            return Err(Error::invalid_input(
                "--recursive: give a directory and s3://bucket/prefix/",
            ));
        };
        if !Path::new(source).is_dir() {
            return Err(Error::invalid_input(format!(
                "SRC: {source:?} is not a directory (--recursive)"
            )));
        }
        let options = args.dir.options()?;
        let client = connect(connection).await?;
        let bucket = client
            .restriction()
            .bucket_or_default(target.bucket.as_deref())?;
        let prefix = folder_prefix(target.key.as_deref());
        return super::dir::upload(&client, Path::new(source), &bucket, &prefix, options).await;
    }
    let mut input = UploadInput {
        bucket: target.as_ref().and_then(|t| t.bucket.clone()),
        key: target.and_then(|t| t.key),
        text: args.text.clone(),
        base64: args.base64.clone(),
        json: args
            .json
            .as_deref()
            .map(|j| parse_json("--json", j))
            .transpose()?,
        content_type: args.content_type.clone(),
        acl: parse_enum_opt("--acl", args.acl.as_deref())?,
        metadata: map_of(args.metadata.clone()),
        tags: map_of(args.tags.clone()),
        storage_class: args.storage_class.clone(),
        server_side_encryption: parse_enum_opt("--sse", args.sse.as_deref())?,
        kms_key_id: args.kms_key_id.clone(),
        cache_control: args.cache_control.clone(),
        content_disposition: args.content_disposition.clone(),
        vars: map_of(args.vars.clone()),
        if_exists: parse_enum_opt("--if-exists", args.if_exists.as_deref())?,
        backup_bucket: args.backup_bucket.clone(),
        backup_prefix: args.backup_prefix.clone(),
        ..UploadInput::default()
    };
    match source {
        // Streamed: one PUT when stdin ends within the first part, else a multipart upload.
        Some("-") => {
            let client = connect(connection).await?;
            return json(upload::run_stream(&client, input, tokio::io::stdin()).await?);
        }
        Some(path) => {
            if Path::new(path).is_dir() {
                return Err(Error::invalid_input(format!(
                    "SRC: {path:?} is a directory; add --recursive to upload every file in it"
                )));
            }
            input.file = Some(path.to_owned());
        }
        None => {}
    }
    let client = connect(connection).await?;
    json(upload::run(&client, input).await?)
}

/// `p` and `p/` both mean the folder `p/`; none means the bucket's top.
pub fn folder_prefix(key: Option<&str>) -> String {
    match key {
        None | Some("") => String::new(),
        Some(key) if key.ends_with('/') => key.to_owned(),
        Some(key) => format!("{key}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Probe {
        #[command(flatten)]
        upload: UploadArgs,
    }

    fn args(argv: &[&str]) -> UploadArgs {
        Probe::try_parse_from(std::iter::once("upload").chain(argv.iter().copied()))
            .unwrap()
            .upload
    }

    #[test]
    fn positionals() {
        let a = args(&["r.pdf", "s3://b/k"]);
        assert_eq!(
            a.source_and_target().unwrap(),
            (Some("r.pdf"), Some("s3://b/k"))
        );
        let a = args(&["--text", "hi", "s3://b/k"]);
        assert_eq!(a.source_and_target().unwrap(), (None, Some("s3://b/k")));
        let a = args(&["r.pdf"]);
        assert_eq!(a.source_and_target().unwrap(), (Some("r.pdf"), None));
        // Two content sources reach the library, which refuses them.
        let a = args(&["--text", "hi", "r.pdf", "s3://b/k"]);
        assert_eq!(
            a.source_and_target().unwrap(),
            (Some("r.pdf"), Some("s3://b/k"))
        );
        let err = args(&["s3://b/k"]).source_and_target().unwrap_err();
        assert_eq!(err.code, s3flow::ErrorCode::InvalidInput);
    }
}
