//! `s3flow bucket create|location|list|versioning` → `create_bucket`, `bucket_location`,
//! `list_buckets`, `set_versioning`.

use clap::{ArgGroup, Args, Subcommand};
use s3flow::actions::bucket_location::{self, BucketLocationInput};
use s3flow::actions::create_bucket::{self, CreateBucketInput};
use s3flow::actions::list_buckets::{self, ListBucketsInput};
use s3flow::actions::set_versioning::{self, SetVersioningInput};
use s3flow::Result;

use super::{connect, json, parse_enum_opt, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::S3Uri;

#[derive(Debug, Args)]
pub struct BucketArgs {
    #[command(subcommand)]
    pub command: BucketCommand,
}

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Create a bucket (in the global --region, default us-east-1).
    #[command(after_help = "\
Examples:
  s3flow bucket create s3://invoices
  s3flow bucket create s3://invoices-eu --region eu-west-1 --versioning")]
    Create(CreateArgs),

    /// Find a bucket's region.
    #[command(after_help = "\
Example:
  s3flow bucket location s3://invoices")]
    Location(BucketUri),

    /// List the buckets of the account (only the allowed one under --restrict-bucket).
    #[command(after_help = "\
Examples:
  s3flow bucket list
  s3flow bucket list --output table")]
    List,

    /// Turn a bucket's versioning on (--enable) or off (--suspend).
    #[command(after_help = "\
Examples:
  s3flow bucket versioning s3://invoices --enable
  s3flow bucket versioning s3://invoices --suspend")]
    Versioning(VersioningArgs),
}

#[derive(Debug, Args)]
pub struct BucketUri {
    /// The bucket, s3://bucket.
    #[arg(value_name = "s3://bucket")]
    pub uri: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The new bucket, s3://bucket.
    #[arg(value_name = "s3://bucket")]
    pub uri: String,

    /// Canned ACL: private, public-read, public-read-write, authenticated-read.
    #[arg(long)]
    pub acl: Option<String>,

    /// Turn versioning on.
    #[arg(long)]
    pub versioning: bool,

    /// Enable S3 Object Lock (needs versioning; cannot be undone).
    #[arg(long)]
    pub object_lock: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("status").required(true).args(["enable", "suspend"])))]
pub struct VersioningArgs {
    /// The bucket, s3://bucket.
    #[arg(value_name = "s3://bucket")]
    pub uri: String,

    /// Turn versioning on.
    #[arg(long)]
    pub enable: bool,

    /// Turn versioning off (existing versions are kept).
    #[arg(long)]
    pub suspend: bool,
}

pub async fn run(args: BucketArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    match args.command {
        BucketCommand::Create(args) => {
            let input = CreateBucketInput {
                bucket: S3Uri::bucket_only(&args.uri)?,
                // The global --region is the connection's region, which the action defaults to.
                region: None,
                acl: parse_enum_opt("--acl", args.acl.as_deref())?,
                versioning: args.versioning.then_some(true),
                object_lock: args.object_lock.then_some(true),
            };
            let client = connect(connection).await?;
            json(create_bucket::run(&client, input).await?)
        }
        BucketCommand::Location(args) => {
            let bucket = S3Uri::bucket_only(&args.uri)?;
            let client = connect(connection).await?;
            json(bucket_location::run(&client, BucketLocationInput { bucket }).await?)
        }
        BucketCommand::List => {
            let client = connect(connection).await?;
            json(list_buckets::run(&client, ListBucketsInput {}).await?)
        }
        BucketCommand::Versioning(args) => {
            let bucket = S3Uri::bucket_only(&args.uri)?;
            let client = connect(connection).await?;
            json(
                set_versioning::run(
                    &client,
                    SetVersioningInput {
                        bucket,
                        enabled: args.enable,
                    },
                )
                .await?,
            )
        }
    }
}
