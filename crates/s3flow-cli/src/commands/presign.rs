//! `s3flow presign s3://bucket/key` → the `presign` action.

use clap::Args;
use s3flow::actions::presign::{self, ExpiresIn, PresignInput};
use s3flow::Result;

use super::{connect, json, parse_enum_opt, Outcome};
use crate::connection_args::ConnectionArgs;
use crate::uri::S3Uri;

#[derive(Debug, Args)]
pub struct PresignArgs {
    /// The object, s3://bucket/key.
    #[arg(value_name = "s3://bucket/key")]
    pub uri: String,

    /// GET (default), PUT, DELETE or HEAD.
    #[arg(long)]
    pub method: Option<String>,

    /// Lifetime: seconds, or 90s, 15m, 12h, 7d (1 second to 7 days; default 1h).
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,

    /// With PUT: the Content-Type the uploader must send (bound into the signature).
    #[arg(long, value_name = "TYPE")]
    pub content_type: Option<String>,

    /// With GET: the Content-Disposition of the response.
    #[arg(long, value_name = "VALUE")]
    pub response_content_disposition: Option<String>,

    /// With GET: the Content-Type of the response.
    #[arg(long, value_name = "TYPE")]
    pub response_content_type: Option<String>,

    /// A version of the object.
    #[arg(long, value_name = "ID")]
    pub version_id: Option<String>,
}

pub async fn run(args: PresignArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let (bucket, key) = S3Uri::object(&args.uri)?;
    let method = args.method.map(|m| m.to_ascii_uppercase());
    let input = PresignInput {
        bucket,
        key,
        method: parse_enum_opt("--method", method.as_deref())?,
        expires_in: args.expires.map(ExpiresIn::Text),
        content_type: args.content_type,
        response_content_disposition: args.response_content_disposition,
        response_content_type: args.response_content_type,
        version_id: args.version_id,
    };
    let client = connect(connection).await?;
    json(presign::run(&client, input).await?)
}
