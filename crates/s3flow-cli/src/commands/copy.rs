//! `s3flow copy` and `s3flow move SRC_URI DST_URI` → the `copy` and `move` actions.

use clap::Args;
use s3flow::actions::copy::{self, CopyInput};
use s3flow::actions::r#move;
use s3flow::{Error, Result};

use super::{connect, json, key_value, map_of, parse_enum_opt, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::{key_file_name, S3Uri};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Copy,
    Move,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The source object, s3://bucket/key.
    #[arg(value_name = "SRC_URI")]
    pub source: String,

    /// The target, s3://bucket/key (a key ending in / takes the source's file name).
    #[arg(value_name = "DST_URI")]
    pub target: String,

    /// A version of the source object.
    #[arg(long, value_name = "ID")]
    pub source_version_id: Option<String>,

    /// Canned ACL of the copy: private, public-read, public-read-write, authenticated-read,
    /// bucket-owner-read, bucket-owner-full-control.
    #[arg(long)]
    pub acl: Option<String>,

    /// Replace the metadata with these, repeatable (default: keep the source's).
    #[arg(long, value_name = "NAME=VALUE", value_parser = key_value)]
    pub metadata: Vec<(String, String)>,

    /// Replace the Content-Type (the rest of the metadata is kept).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,

    /// STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR…
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,

    /// Replace the tags with these, repeatable (default: keep the source's).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = key_value)]
    pub tags: Vec<(String, String)>,
}

pub async fn run(args: CopyArgs, connection: &ConnectionArgs, mode: Mode) -> Result<Outcome> {
    let (source_bucket, source_key) = S3Uri::object(&args.source)?;
    let target = S3Uri::parse(&args.target)?;
    let key = target_key(target.key, &source_key)?;
    let input = CopyInput {
        source_bucket,
        source_key,
        source_version_id: args.source_version_id,
        bucket: target.bucket,
        key,
        acl: parse_enum_opt("--acl", args.acl.as_deref())?,
        metadata: map_of(args.metadata),
        content_type: args.content_type,
        storage_class: args.storage_class,
        tags: map_of(args.tags),
    };
    let client = connect(connection).await?;
    match mode {
        Mode::Copy => json(copy::run(&client, input).await?),
        Mode::Move => json(r#move::run(&client, input).await?),
    }
}

/// `s3://b/` or `s3://b/archive/` take the source's file name, as `aws s3 cp` does.
fn target_key(target: Option<String>, source_key: &str) -> Result<String> {
    let folder = match target {
        Some(key) if !key.ends_with('/') => return Ok(key),
        Some(folder) => folder,
        None => String::new(),
    };
    match key_file_name(source_key) {
        Some(name) => Ok(format!("{folder}{name}")),
        None => Err(Error::invalid_input(format!(
            "DST_URI: {source_key:?} has no file name to append; give the full target key"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_targets_take_the_file_name() {
        assert_eq!(
            target_key(Some("x/y.pdf".into()), "a/r.pdf").unwrap(),
            "x/y.pdf"
        );
        assert_eq!(
            target_key(Some("archive/".into()), "a/r.pdf").unwrap(),
            "archive/r.pdf"
        );
        assert_eq!(target_key(None, "a/r.pdf").unwrap(), "r.pdf");
        assert!(target_key(None, "a/").is_err());
    }
}
