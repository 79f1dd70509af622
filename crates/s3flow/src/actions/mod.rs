//! The actions of the contract (§2), one folder each. Every action has a typed input and
//! output and one `run` function; [`run_json`] and [`schemas`] serve the CLI's `run`/`schema`
//! and the HTTP service from the same types.

pub mod fields;

pub mod api_call;
pub mod bucket_location;
pub mod copy;
pub mod create_bucket;
pub mod delete;
pub mod delete_folder;
pub mod delete_objects;
pub mod download;
pub mod head;
pub mod list;
pub mod list_buckets;
pub mod list_folders;
pub mod r#move;
pub mod presign;
pub mod set_versioning;
pub mod upload;

use schemars::schema::RootSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::Client;
use crate::error::{Error, Result};

/// The catalog: name, one-line summary, and the module that runs it.
macro_rules! catalog {
    ($( $name:literal => $module:ident :: $input:ident -> $output:ident, $summary:literal; )*) => {
        /// Every action name, in catalog order.
        pub const ACTIONS: &[&str] = &[$($name),*];

        /// One line about each action, for `--help` and `GET /v1/actions`.
        pub fn summary(action: &str) -> Option<&'static str> {
            match action { $($name => Some($summary),)* _ => None }
        }

        /// Runs an action from JSON input to JSON output.
        pub async fn run_json(client: &Client, action: &str, input: serde_json::Value) -> Result<serde_json::Value> {
            match action {
                $($name => to_json($module::run(client, parse::<$module::$input>(input)?).await?),)*
                other => Err(unknown_action(other)),
            }
        }

        /// Runs an action from JSON bytes to JSON bytes, with no [`serde_json::Value`] in
        /// between (the service's path; the tree round trip was a visible part of a small
        /// action's cost). Empty input or `null` means "no fields".
        pub async fn run_json_bytes(client: &Client, action: &str, input: &[u8]) -> Result<Vec<u8>> {
            match action {
                $($name => to_json_bytes(&$module::run(client, parse_bytes::<$module::$input>(input)?).await?),)*
                other => Err(unknown_action(other)),
            }
        }

        /// The JSON Schemas of an action's input and output.
        pub fn schemas(action: &str) -> Option<(RootSchema, RootSchema)> {
            match action {
                $($name => Some((schema_for::<$module::$input>(), schema_for::<$module::$output>())),)*
                _ => None,
            }
        }
    };
}

catalog! {
    "upload" => upload::UploadInput -> UploadOutput, "Upload text, JSON, base64 or a file under a (templated) key";
    "download" => download::DownloadInput -> DownloadOutput, "Download an object as text, JSON, base64 or to a file";
    "list" => list::ListInput -> ListOutput, "List objects under a prefix";
    "list_folders" => list_folders::ListFoldersInput -> ListFoldersOutput, "List the folders (common prefixes) under a prefix";
    "head" => head::HeadInput -> HeadOutput, "Read an object's size, type and metadata";
    "delete" => delete::DeleteInput -> DeleteOutput, "Delete one object (or one version)";
    "delete_objects" => delete_objects::DeleteObjectsInput -> DeleteObjectsOutput, "Delete many objects, in batches of 1,000";
    "delete_folder" => delete_folder::DeleteFolderInput -> DeleteFolderOutput, "Delete every object under a prefix";
    "copy" => copy::CopyInput -> CopyOutput, "Copy an object, across buckets and regions";
    "move" => r#move::MoveInput -> MoveOutput, "Copy an object, then delete the source";
    "presign" => presign::PresignInput -> PresignOutput, "Make a pre-signed GET, PUT, DELETE or HEAD link";
    "create_bucket" => create_bucket::CreateBucketInput -> CreateBucketOutput, "Create a bucket";
    "bucket_location" => bucket_location::BucketLocationInput -> BucketLocationOutput, "Find a bucket's region";
    "list_buckets" => list_buckets::ListBucketsInput -> ListBucketsOutput, "List the buckets of the account";
    "set_versioning" => set_versioning::SetVersioningInput -> SetVersioningOutput, "Turn a bucket's versioning on or off";
    "api_call" => api_call::ApiCallInput -> ApiCallOutput, "Make any other S3 call, signed";
}

fn parse<T: DeserializeOwned>(input: serde_json::Value) -> Result<T> {
    // `null` input means "no fields", as for list_buckets.
    let input = if input.is_null() { serde_json::Value::Object(Default::default()) } else { input };
    serde_json::from_value(input).map_err(|e| Error::invalid_input(format!("input: {e}")))
}

fn to_json<T: Serialize>(output: T) -> Result<serde_json::Value> {
    serde_json::to_value(output).map_err(|e| Error::invalid_input(format!("output: {e}")))
}

fn parse_bytes<T: DeserializeOwned>(input: &[u8]) -> Result<T> {
    let text = input.trim_ascii();
    let text = if text.is_empty() || text == b"null" { b"{}" } else { text };
    serde_json::from_slice(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            Error::invalid_input(format!("body: not valid JSON: {e}"))
        }
        _ => Error::invalid_input(format!("input: {e}")),
    })
}

fn to_json_bytes<T: Serialize>(output: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(output).map_err(|e| Error::invalid_input(format!("output: {e}")))
}

fn schema_for<T: schemars::JsonSchema>() -> RootSchema {
    schemars::gen::SchemaSettings::draft2019_09().into_generator().into_root_schema_for::<T>()
}

fn unknown_action(action: &str) -> Error {
    Error::not_found(format!("unknown action {action:?}; actions: {}", ACTIONS.join(", ")))
}
