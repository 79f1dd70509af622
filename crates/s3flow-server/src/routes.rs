//! The JSON routes: health, catalog, connections, actions, metrics.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use s3flow::actions::{self, ACTIONS};
use s3flow::{Connection, Error, ErrorCode};
use serde_json::{json, Value};

use crate::documents;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}

pub async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "no such route (see GET /v1/openapi.json)",
    )
}

/// A known route with another method: 405, with the contract's error body.
pub async fn method_not_allowed() -> Response {
    let mut response = ApiError::new(
        ErrorCode::InvalidInput,
        "this route does not take this method (see GET /v1/openapi.json)",
    )
    .into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// The catalog with the JSON Schema of each action's input and output, as `s3flow schema`.
pub async fn list_actions() -> ApiResult<Json<Value>> {
    Ok(Json(Value::Array(
        ACTIONS
            .iter()
            .map(|a| action_entry(a))
            .collect::<Result<_, _>>()?,
    )))
}

pub fn action_entry(action: &str) -> Result<Value, Error> {
    let (input, output) = actions::schemas(action)
        .ok_or_else(|| Error::not_found(format!("unknown action {action:?}")))?;
    Ok(json!({
        "action": action,
        "summary": actions::summary(action),
        "input": serde_json::to_value(input).map_err(|e| Error::invalid_input(e.to_string()))?,
        "output": serde_json::to_value(output).map_err(|e| Error::invalid_input(e.to_string()))?,
    }))
}

/// The largest JSON request body: inline content beyond this goes through documents or the
/// streaming object routes.
pub const MAX_JSON_BODY: usize = 32 * 1024 * 1024;

/// A buffered request body, or why it could not be read.
pub type BodyResult = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The body, with a too-big body as `payload_too_large` in the contract's shape.
pub fn read_body(body: BodyResult) -> Result<Bytes, Error> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::new(
                ErrorCode::PayloadTooLarge,
                format!("body: over {MAX_JSON_BODY} bytes; send big content as a document (POST /v1/documents) or through the objects route"),
            )
        } else {
            Error::invalid_input(format!("body: {}", rejection.body_text()))
        }
    })
}

/// A JSON request body; an empty body is `null`.
pub fn json_body(body: &Bytes) -> Result<Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input(format!("body: not valid JSON: {e}")))
}

fn connection_from(body: &Bytes, name: Option<&str>) -> Result<Connection, Error> {
    let value = json_body(body)?;
    if !value.is_object() {
        return Err(Error::invalid_input(
            "body: a connection JSON object is required",
        ));
    }
    let mut connection: Connection = serde_json::from_value(value)
        .map_err(|e| Error::invalid_input(format!("connection: {e}")))?;
    match (name, connection.name.as_deref()) {
        (Some(path), Some(body)) if path != body => {
            return Err(Error::invalid_input(format!(
                "name: {body:?} in the body differs from {path:?} in the path"
            )))
        }
        (Some(path), _) => connection.name = Some(path.to_owned()),
        (None, None) => return Err(Error::invalid_input("name: is required")),
        _ => {}
    }
    connection.validate()?;
    Ok(connection)
}

pub async fn list_connections(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let connections = state.store().list_connections().await?;
    Ok(Json(
        json!({"connections": connections.iter().map(Connection::redacted).collect::<Vec<_>>()}),
    ))
}

/// `POST /v1/connections`: creates; an existing name is `already_exists`.
pub async fn create_connection(
    State(state): State<AppState>,
    body: BodyResult,
) -> ApiResult<Response> {
    let connection = connection_from(&read_body(body)?, None)?;
    let name = connection.name.clone().unwrap_or_default();
    if state.store().raw_connection(&name).await?.is_some() {
        return Err(Error::new(
            ErrorCode::AlreadyExists,
            format!("connection {name:?} already exists; PUT /v1/connections/{name} replaces it"),
        )
        .into());
    }
    state.store().put_connection(&connection).await?;
    state.forget_client(&name);
    Ok((StatusCode::CREATED, Json(connection.redacted())).into_response())
}

/// `PUT /v1/connections/{name}`: creates or replaces.
pub async fn put_connection(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: BodyResult,
) -> ApiResult<Response> {
    s3flow::connection::validate_name(&name)?;
    let connection = connection_from(&read_body(body)?, Some(&name))?;
    let created = state.store().put_connection(&connection).await?;
    state.forget_client(&name);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(connection.redacted())).into_response())
}

pub async fn get_connection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    s3flow::connection::validate_name(&name)?;
    Ok(Json(state.store().get_connection(&name).await?.redacted()))
}

pub async fn delete_connection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s3flow::connection::validate_name(&name)?;
    state.store().delete_connection(&name).await?;
    state.forget_client(&name);
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/connections/{name}/test`.
pub async fn test_connection(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let client = state.client(&name).await?;
    Ok(Json(probe(&client, &name).await?))
}

/// One cheap signed call (list the restricted bucket, or the buckets of the account): S3's
/// answer says whether the connection works. Shared by the route and `s3flow connection test`.
pub async fn probe(client: &s3flow::Client, name: &str) -> Result<Value, Error> {
    let started = std::time::Instant::now();
    match &client.connection().restrict_bucket {
        Some(bucket) => {
            actions::run_json(client, "list", json!({"bucket": bucket, "max": 1})).await?;
        }
        None => {
            actions::run_json(client, "list_buckets", Value::Null).await?;
        }
    }
    Ok(json!({"ok": true, "connection": name, "elapsed_ms": started.elapsed().as_millis() as u64}))
}

/// `POST /v1/connections/{name}/actions/{action}`: the same JSON as `s3flow run`. Local
/// files are the server's, not the caller's: `file` and `as: "file"` are refused here, and
/// documents take their place.
pub async fn run_action(
    State(state): State<AppState>,
    Path((name, action)): Path<(String, String)>,
    body: BodyResult,
) -> ApiResult<Response> {
    s3flow::connection::validate_name(&name)?;
    if actions::summary(&action).is_none() {
        return Err(Error::not_found(format!(
            "unknown action {action:?}; actions: {}",
            ACTIONS.join(", ")
        ))
        .into());
    }
    let body = read_body(body)?;
    let not_an_object = || Error::invalid_input("body: the action input must be a JSON object");
    if action != "upload" && action != "download" {
        // Nothing to rewrite: the bytes go straight into the typed input.
        if !matches!(body.trim_ascii().first(), None | Some(b'{' | b'n')) {
            return Err(not_an_object().into());
        }
        let client = state.client(&name).await?;
        let output = actions::run_json_bytes(&client, &action, &body).await?;
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            output,
        )
            .into_response());
    }
    let mut input = json_body(&body)?;
    if !(input.is_object() || input.is_null()) {
        return Err(not_an_object().into());
    }
    let client = state.client(&name).await?;
    match action.as_str() {
        "upload" => {
            if input.get("file").is_some_and(|f| !f.is_null()) {
                return Err(Error::invalid_input(
                    "file: server files are not reachable through the service; POST the bytes to /v1/documents and give document",
                )
                .into());
            }
            if let Some(id) = input
                .get("document")
                .and_then(Value::as_str)
                .map(str::to_owned)
            {
                let (doc, path) = documents::resolve(&state, &id).await?;
                let map = input.as_object_mut().expect("checked above");
                map.remove("document");
                map.insert(
                    "file".into(),
                    Value::String(path.to_string_lossy().into_owned()),
                );
                if !map.contains_key("content_type") {
                    map.insert(
                        "content_type".into(),
                        Value::String(doc.content_type.clone()),
                    );
                }
            } else if input.get("document").is_some_and(|d| !d.is_null()) {
                return Err(Error::invalid_input("document: must be a document id string").into());
            }
            Ok(Json(actions::run_json(&client, "upload", input).await?).into_response())
        }
        _ => {
            // download
            let as_ = input
                .get("as")
                .and_then(Value::as_str)
                .unwrap_or("auto")
                .to_owned();
            if as_ == "file" || input.get("to").is_some_and(|t| !t.is_null()) {
                return Err(Error::invalid_input(
                    "as: \"file\" and to write on the server; use as \"document\" (then GET /v1/documents/{id}) or the streaming GET /v1/connections/{name}/objects/{bucket}/{key}",
                )
                .into());
            }
            if as_ == "document" {
                return Ok(Json(
                    documents::download_to_document(&state, &client, input).await?,
                )
                .into_response());
            }
            Ok(Json(actions::run_json(&client, "download", input).await?).into_response())
        }
    }
}
