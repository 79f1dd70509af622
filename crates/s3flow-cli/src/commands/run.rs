//! `s3flow run ACTION --input …` (any action from its JSON input) and `s3flow schema [ACTION]`.

use clap::Args;
use s3flow::actions::{self, ACTIONS};
use s3flow::{Error, Result};
use serde_json::{json, Value};

use super::{connect, parse_json, read_file_or_stdin, Outcome};
use crate::connection_args::ConnectionArgs;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The action: upload, download, list, list_folders, head, delete, delete_objects,
    /// delete_folder, copy, move, presign, create_bucket, bucket_location, list_buckets,
    /// set_versioning, api_call.
    pub action: String,

    /// The input: JSON, @FILE, or - for stdin (default: no fields).
    #[arg(long, value_name = "JSON|@FILE|-", allow_hyphen_values = true)]
    pub input: Option<String>,
}

pub async fn run(args: RunArgs, connection: &ConnectionArgs) -> Result<Outcome> {
    let action = known_action(&args.action)?;
    let input = match args.input.as_deref() {
        None => Value::Null,
        Some(source) => read_input(source)?,
    };
    let client = connect(connection).await?;
    actions::run_json(&client, action, input)
        .await
        .map(Outcome::Json)
}

/// `JSON`, `@file` or `-`.
fn read_input(source: &str) -> Result<Value> {
    let text = match source {
        "-" => read_file_or_stdin("--input", "-")?,
        _ => match source.strip_prefix('@') {
            Some(path) => read_file_or_stdin("--input", path)?,
            None => return parse_json("--input", source),
        },
    };
    let text =
        String::from_utf8(text).map_err(|_| Error::invalid_input("--input: not UTF-8 text"))?;
    parse_json("--input", &text)
}

/// The catalog name, also accepting the CLI's dashes (`list-folders`).
fn known_action(name: &str) -> Result<&'static str> {
    let wanted = name.replace('-', "_");
    ACTIONS
        .iter()
        .copied()
        .find(|a| *a == wanted)
        .ok_or_else(|| {
            // The same code the library gives an unknown action, so `run` and the service agree.
            Error::not_found(format!(
                "unknown action {name:?}; actions: {}",
                ACTIONS.join(", ")
            ))
        })
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// One action (default: every action, as an array).
    pub action: Option<String>,
}

pub fn schema(args: SchemaArgs) -> Result<Outcome> {
    let value = match args.action {
        Some(name) => action_schema(known_action(&name)?)?,
        None => Value::Array(
            ACTIONS
                .iter()
                .map(|a| action_schema(a))
                .collect::<Result<_>>()?,
        ),
    };
    Ok(Outcome::Json(value))
}

fn action_schema(action: &str) -> Result<Value> {
    let (input, output) = actions::schemas(action)
        .ok_or_else(|| Error::not_found(format!("unknown action {action:?}")))?;
    let as_json = |schema| {
        serde_json::to_value(schema).map_err(|e| Error::invalid_input(format!("schema: {e}")))
    };
    Ok(json!({
        "action": action,
        "summary": actions::summary(action),
        "input": as_json(input)?,
        "output": as_json(output)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3flow::ErrorCode;

    #[test]
    fn action_names() {
        assert_eq!(known_action("list_folders").unwrap(), "list_folders");
        assert_eq!(known_action("list-folders").unwrap(), "list_folders");
        assert_eq!(known_action("nope").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn inline_input() {
        assert_eq!(
            read_input(r#"{"bucket":"b"}"#).unwrap(),
            json!({"bucket": "b"})
        );
        assert_eq!(
            read_input("{nope").unwrap_err().code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            read_input("@/nonexistent/input.json").unwrap_err().code,
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn every_action_has_a_schema() {
        let Outcome::Json(Value::Array(all)) = schema(SchemaArgs { action: None }).unwrap() else {
            panic!()
        };
        assert_eq!(all.len(), ACTIONS.len());
        for entry in &all {
            assert!(
                entry["summary"].is_string()
                    && entry["input"].is_object()
                    && entry["output"].is_object(),
                "{entry}"
            );
        }
    }
}
