//! Documents: bytes the service keeps for a while, so a flow can hand a file to `upload`
//! (`document`) or take one from `download` (`as: "document"`) without base64. Each is a
//! folder `<documents>/<id>/` holding one file named after the document's file name (so an
//! upload to a key ending in `/` gets that name), indexed in the store with its expiry.

use std::path::{Path as FsPath, PathBuf};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use s3flow::{Client, Error, ErrorCode, Result};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::ApiResult;
use crate::store::{self, DocumentRow};
use crate::AppState;

/// The largest document (S3's largest single PUT).
pub const MAX_DOCUMENT_BYTES: u64 = 5 * 1024 * 1024 * 1024;
const DEFAULT_FILE_NAME: &str = "document";
const READ_CHUNK: usize = 64 * 1024;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateQuery {
    pub file_name: Option<String>,
}

pub fn validate_file_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "file_name: {name:?} must be 1 to 255 bytes with no slash or control character"
        )))
    }
}

pub fn validate_id(id: &str) -> Result<()> {
    let ok =
        id.len() == 36 && id.starts_with("doc_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(Error::not_found(format!("document {id:?} does not exist")))
    }
}

/// `filename="x"` (or `filename=x`) from a Content-Disposition header.
fn disposition_file_name(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_DISPOSITION)?.to_str().ok()?;
    value.split(';').map(str::trim).find_map(|part| {
        let name = part.strip_prefix("filename=")?;
        Some(name.trim_matches('"').to_owned())
    })
}

fn document_json(doc: &DocumentRow) -> Value {
    json!({
        "document_id": doc.id,
        "content_type": doc.content_type,
        "size": doc.size,
        "file_name": doc.file_name,
        "sha256": doc.sha256,
        "expires_at": store::rfc3339(doc.expires_at),
    })
}

fn new_id() -> String {
    format!("doc_{}", uuid::Uuid::new_v4().simple())
}

fn folder(state: &AppState, id: &str) -> PathBuf {
    state.documents_dir().join(id)
}

/// `POST /v1/documents`: the raw body, streamed to disk with its SHA-256.
pub async fn create(
    State(state): State<AppState>,
    query: std::result::Result<Query<CreateQuery>, axum::extract::rejection::QueryRejection>,
    request: Request,
) -> ApiResult<Response> {
    let Query(query) =
        query.map_err(|e| Error::invalid_input(format!("query: {}", e.body_text())))?;
    let headers = request.headers().clone();
    let file_name = query.file_name.or_else(|| disposition_file_name(&headers));
    if let Some(name) = &file_name {
        validate_file_name(name)?;
    }
    let content_type = match headers.get(header::CONTENT_TYPE) {
        Some(value) => value
            .to_str()
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::invalid_input("Content-Type: not a valid media type"))?
            .to_owned(),
        None => "application/octet-stream".to_owned(),
    };
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > state.max_document_bytes() {
            return Err(Error::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "document: {len} bytes is over the limit of {} bytes",
                    state.max_document_bytes()
                ),
            )
            .into());
        }
    }
    let id = new_id();
    let dir = folder(&state, &id);
    let path = dir.join(file_name.as_deref().unwrap_or(DEFAULT_FILE_NAME));
    let written = write_body(&dir, &path, request.into_body(), state.max_document_bytes()).await;
    let (size, sha256) = match written {
        Ok(done) => done,
        Err(err) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(err.into());
        }
    };
    let doc = DocumentRow {
        id,
        content_type,
        size,
        file_name,
        sha256,
        expires_at: store::now() + state.document_ttl().as_secs() as i64,
    };
    if let Err(err) = state.store().insert_document(&doc).await {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(err.into());
    }
    let mut response = (StatusCode::CREATED, Json(document_json(&doc))).into_response();
    response
        .extensions_mut()
        .insert(crate::metrics::BodyBytesIn(doc.size));
    Ok(response)
}

async fn write_body(
    dir: &FsPath,
    path: &FsPath,
    body: Body,
    max_bytes: u64,
) -> Result<(u64, String)> {
    tokio::fs::create_dir_all(dir).await?;
    let mut file = tokio::fs::File::create(path).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::invalid_input(format!("body: {e}")))?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(Error::new(
                ErrorCode::PayloadTooLarge,
                format!("document: over the limit of {max_bytes} bytes"),
            ));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await?;
    }
    file.sync_all().await?;
    Ok((size, hex::encode(hasher.finalize())))
}

/// A document's row and the path of its file.
pub async fn resolve(state: &AppState, id: &str) -> Result<(DocumentRow, PathBuf)> {
    validate_id(id)?;
    let doc = state.store().get_document(id).await?;
    let path = folder(state, id).join(doc.file_name.as_deref().unwrap_or(DEFAULT_FILE_NAME));
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        return Err(Error::not_found(format!(
            "document {id:?} is indexed but its file is gone"
        )));
    }
    Ok((doc, path))
}

/// `GET /v1/documents/{id}`: the bytes, streamed, with the document's type and name.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let (doc, path) = resolve(&state, &id).await?;
    let file = tokio::fs::File::open(&path).await.map_err(Error::from)?;
    let stream = futures::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; READ_CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&doc.content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(doc.size));
    if let Some(name) = &doc.file_name {
        let quoted = name.replace('"', "");
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{quoted}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", doc.sha256)) {
        headers.insert(header::ETAG, v);
    }
    Ok(response)
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    validate_id(&id)?;
    if !state.store().delete_document(&id).await? {
        return Err(Error::not_found(format!("document {id:?} does not exist")).into());
    }
    let _ = tokio::fs::remove_dir_all(folder(&state, &id)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// `download` with `as: "document"`: the object goes to a new document, whose JSON is
/// returned under `document`.
pub async fn download_to_document(
    state: &AppState,
    client: &Client,
    mut input: Value,
) -> Result<Value> {
    let key = input
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let file_name = key
        .rsplit('/')
        .next()
        .filter(|n| validate_file_name(n).is_ok())
        .map(str::to_owned);
    let id = new_id();
    let dir = folder(state, &id);
    let path = dir.join(file_name.as_deref().unwrap_or(DEFAULT_FILE_NAME));
    tokio::fs::create_dir_all(&dir).await?;
    let map = input
        .as_object_mut()
        .ok_or_else(|| Error::invalid_input("body: the action input must be a JSON object"))?;
    map.insert("as".into(), Value::String("file".into()));
    map.insert(
        "to".into(),
        Value::String(path.to_string_lossy().into_owned()),
    );
    let result = async {
        let mut output = s3flow::actions::run_json(client, "download", input).await?;
        let (size, sha256) = hash_file(&path).await?;
        let doc = DocumentRow {
            id: id.clone(),
            content_type: output
                .get("content_type")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream")
                .to_owned(),
            size,
            file_name: file_name.clone(),
            sha256,
            expires_at: store::now() + state.document_ttl().as_secs() as i64,
        };
        state.store().insert_document(&doc).await?;
        output["file"] = Value::Null;
        output["document"] = document_json(&doc);
        Ok(output)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
    result
}

async fn hash_file(path: &FsPath) -> Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// Deletes expired documents: index rows first (so none is served half-deleted), then their
/// files. Returns how many were removed.
pub async fn cleanup_expired(state: &AppState) -> Result<usize> {
    let ids = state.store().take_expired_documents().await?;
    for id in &ids {
        let _ = tokio::fs::remove_dir_all(folder(state, id)).await;
        tracing::info!(target: "s3flow::documents", document_id = %id, "expired document removed");
    }
    Ok(ids.len())
}

/// Runs [`cleanup_expired`] every `every`, until the task is dropped.
pub async fn cleanup_loop(state: AppState, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        if let Err(err) = cleanup_expired(&state).await {
            tracing::warn!(target: "s3flow::documents", error = %err, "document cleanup failed");
        }
    }
}
