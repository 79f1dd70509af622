//! `s3flow head s3://bucket/key` → the `head` action.

use clap::Args;
use s3flow::actions::head::{self, HeadInput};
use s3flow::Result;

use super::{connect, json, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::S3Uri;

#[derive(Debug, Args)]
pub struct HeadArgs {
    /// The object, s3://bucket/key.
    #[arg(value_name = "s3://bucket/key")]
    pub uri: String,

    /// A version of the object.
    #[arg(long, value_name = "ID")]
    pub version_id: Option<String>,
}

pub async fn run(args: HeadArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let (bucket, key) = S3Uri::object(&args.uri)?;
    let client = connect(connection).await?;
    json(
        head::run(
            &client,
            HeadInput {
                bucket,
                key,
                version_id: args.version_id,
            },
        )
        .await?,
    )
}
