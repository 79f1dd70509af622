//! `s3flow list` and `s3flow folders` → the `list` and `list_folders` actions.

use clap::Args;
use s3flow::actions::list::{self, ListInput};
use s3flow::actions::list_folders::{self, ListFoldersInput};
use s3flow::Result;

use super::{connect, json, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::S3Uri;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The bucket and an optional prefix, s3://bucket/[prefix].
    #[arg(value_name = "s3://bucket/[prefix]")]
    pub uri: String,

    /// Most objects to return (default 1000; 0 = all, every page).
    #[arg(long, value_name = "N")]
    pub max: Option<u64>,

    /// List keys after this one.
    #[arg(long, value_name = "KEY")]
    pub start_after: Option<String>,

    /// Continue a listing from its next_continuation_token.
    #[arg(long, value_name = "TOKEN")]
    pub continuation_token: Option<String>,

    /// One level only, with its folders.
    #[arg(long)]
    pub no_recursive: bool,
}

pub async fn run(args: ListArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let (bucket, prefix) = S3Uri::prefix(&args.uri)?;
    let input = ListInput {
        bucket,
        prefix,
        max: args.max,
        start_after: args.start_after,
        continuation_token: args.continuation_token,
        recursive: args.no_recursive.then_some(false),
    };
    let client = connect(connection).await?;
    json(list::run(&client, input).await?)
}

#[derive(Debug, Args)]
pub struct FoldersArgs {
    /// The bucket and an optional prefix, s3://bucket/[prefix].
    #[arg(value_name = "s3://bucket/[prefix]")]
    pub uri: String,
}

pub async fn run_folders(args: FoldersArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let (bucket, prefix) = S3Uri::prefix(&args.uri)?;
    let client = connect(connection).await?;
    json(list_folders::run(&client, ListFoldersInput { bucket, prefix }).await?)
}
