//! `s3flow api METHOD PATH` → the `api_call` action.

use clap::Args;
use s3flow::actions::api_call::{self, ApiCallInput};
use s3flow::Result;

use super::{connect, json, key_value, map_of, parse_json, Outcome};
use crate::connection_args::ConnectionArgs;

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// GET, PUT, POST, DELETE or HEAD.
    pub method: String,

    /// Path relative to the endpoint, path-style: /bucket or /bucket/key.
    pub path: String,

    /// Query parameter, repeatable (NAME= for a bare one such as tagging=).
    #[arg(long, value_name = "NAME=VALUE", value_parser = key_value)]
    pub query: Vec<(String, String)>,

    /// Request header, repeatable (the signing headers are s3flow's).
    #[arg(long, value_name = "NAME=VALUE", value_parser = key_value)]
    pub header: Vec<(String, String)>,

    /// Body as UTF-8 text.
    #[arg(long, help_heading = "Body")]
    pub text: Option<String>,

    /// Body as standard base64.
    #[arg(long, help_heading = "Body")]
    pub base64: Option<String>,

    /// Body as a JSON document.
    #[arg(long, value_name = "JSON", help_heading = "Body")]
    pub json: Option<String>,
}

pub async fn run(args: ApiArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let input = ApiCallInput {
        method: args.method,
        path: args.path,
        query: map_of(args.query),
        headers: map_of(args.header),
        text: args.text,
        base64: args.base64,
        json: args
            .json
            .as_deref()
            .map(|j| parse_json("--json", j))
            .transpose()?,
    };
    let client = connect(connection).await?;
    json(api_call::run(&client, input).await?)
}
