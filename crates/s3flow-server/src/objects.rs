//! Streaming objects: `PUT|GET|HEAD|DELETE /v1/connections/{name}/objects/{bucket}/{*key}`.
//! Bodies pass through with bounded memory and no base64: a PUT is cut into parts of the
//! connection's part size (one PutObject when it fits in one part, else a multipart upload,
//! so no Content-Length is needed); a GET streams GetObject's body. The connection's
//! restrictions apply to every key.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::BytesMut;
use futures::StreamExt;
use s3flow::{Client, Error, ErrorCode, Result};
use serde_json::json;

use crate::error::ApiResult;
use crate::AppState;

async fn target(state: &AppState, name: &str, bucket: &str, key: &str) -> Result<Client> {
    s3flow::bucket::validate_bucket_name(bucket)?;
    if key.is_empty() || key.len() > 1024 {
        return Err(Error::invalid_input("key: must be 1 to 1,024 bytes"));
    }
    let client = state.client(name).await?;
    client.restriction().check_key(bucket, key)?;
    Ok(client)
}

fn header_str(headers: &HeaderMap, name: HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: Option<impl AsRef<str>>) {
    if let Some(value) = value {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            headers.insert(name, v);
        }
    }
}

pub async fn put_object(
    State(state): State<AppState>,
    Path((name, bucket, key)): Path<(String, String, String)>,
    request: Request,
) -> ApiResult<Response> {
    let client = target(&state, &name, &bucket, &key).await?;
    let content_type = header_str(request.headers(), header::CONTENT_TYPE)
        .map(str::to_owned)
        .unwrap_or_else(|| s3flow::actions::upload::guess_content_type(&key));
    let what = format!("s3://{bucket}/{key}");
    let part_size = client.part_size() as usize;
    let mut body = request.into_body().into_data_stream();
    let mut buffer = BytesMut::new();
    let mut size = 0u64;
    // The first part decides: a body that fits in one part is one PutObject.
    let mut ended = fill(&mut body, &mut buffer, part_size, &mut size).await?;
    let s3 = client.s3();
    let (etag, version_id) = if ended {
        let out = s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .content_type(&content_type)
            .body(ByteStream::from(buffer.split().freeze()))
            .send()
            .await
            .map_err(|e| Error::from_sdk(e, &what))?;
        (
            out.e_tag().map(str::to_owned),
            out.version_id().map(str::to_owned),
        )
    } else {
        let created = s3
            .create_multipart_upload()
            .bucket(&bucket)
            .key(&key)
            .content_type(&content_type)
            .send()
            .await
            .map_err(|e| Error::from_sdk(e, &what))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let result: Result<_> = async {
            let mut parts = Vec::new();
            let mut number = 1;
            loop {
                let chunk = buffer.split().freeze();
                if !chunk.is_empty() {
                    let part = s3
                        .upload_part()
                        .bucket(&bucket)
                        .key(&key)
                        .upload_id(&upload_id)
                        .part_number(number)
                        .body(ByteStream::from(chunk))
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk(e, &what))?;
                    parts.push(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(part.e_tag().map(str::to_owned))
                            .build(),
                    );
                    number += 1;
                    if number > 10_000 {
                        return Err(Error::new(
                            ErrorCode::PayloadTooLarge,
                            format!("{what}: over 10,000 parts; raise the connection's part_size"),
                        ));
                    }
                }
                if ended {
                    break;
                }
                ended = fill(&mut body, &mut buffer, part_size, &mut size).await?;
            }
            let done = s3
                .complete_multipart_upload()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| Error::from_sdk(e, &what))?;
            Ok((
                done.e_tag().map(str::to_owned),
                done.version_id().map(str::to_owned),
            ))
        }
        .await;
        if result.is_err() {
            let _ = s3
                .abort_multipart_upload()
                .bucket(&bucket)
                .key(&key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result?
    };
    let mut response = Json(json!({
        "bucket": bucket,
        "key": key,
        "etag": s3flow::actions::fields::etag(etag.as_deref()),
        "version_id": version_id,
        "size": size,
        "content_type": content_type,
        "object_url": client.object_url(&bucket, &key),
    }))
    .into_response();
    response
        .extensions_mut()
        .insert(crate::metrics::BodyBytesIn(size));
    Ok(response)
}

/// Reads the body until `buffer` holds `part_size` bytes or the body ends (→ true).
async fn fill(
    body: &mut axum::body::BodyDataStream,
    buffer: &mut BytesMut,
    part_size: usize,
    size: &mut u64,
) -> Result<bool> {
    while buffer.len() < part_size {
        match body.next().await {
            Some(Ok(chunk)) => {
                *size += chunk.len() as u64;
                buffer.extend_from_slice(&chunk);
            }
            Some(Err(e)) => return Err(Error::invalid_input(format!("body: {e}"))),
            None => return Ok(true),
        }
    }
    Ok(false)
}

pub async fn get_object(
    State(state): State<AppState>,
    Path((name, bucket, key)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let client = target(&state, &name, &bucket, &key).await?;
    let what = format!("s3://{bucket}/{key}");
    let range = header_str(&headers, header::RANGE).map(str::to_owned);
    let out = client
        .s3()
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .set_range(range.clone())
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    let status = if out.content_range().is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response_headers = HeaderMap::new();
    set(
        &mut response_headers,
        header::CONTENT_TYPE,
        out.content_type(),
    );
    set(
        &mut response_headers,
        header::CONTENT_LENGTH,
        out.content_length().map(|n| n.to_string()),
    );
    set(&mut response_headers, header::ETAG, out.e_tag());
    set(
        &mut response_headers,
        header::CONTENT_RANGE,
        out.content_range(),
    );
    set(
        &mut response_headers,
        header::LAST_MODIFIED,
        out.last_modified()
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::HttpDate).ok()),
    );
    set(&mut response_headers, header::ACCEPT_RANGES, Some("bytes"));
    let stream = futures::stream::unfold(out.body, |mut body| async move {
        match body.try_next().await {
            Ok(Some(chunk)) => Some((Ok::<Bytes, std::io::Error>(chunk), body)),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), body)),
        }
    });
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    Ok(response)
}

pub async fn head_object(
    State(state): State<AppState>,
    Path((name, bucket, key)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let client = target(&state, &name, &bucket, &key).await?;
    let what = format!("s3://{bucket}/{key}");
    let out = client
        .s3()
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    set(headers, header::CONTENT_TYPE, out.content_type());
    set(
        headers,
        header::CONTENT_LENGTH,
        out.content_length().map(|n| n.to_string()),
    );
    set(headers, header::ETAG, out.e_tag());
    set(
        headers,
        header::LAST_MODIFIED,
        out.last_modified()
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::HttpDate).ok()),
    );
    set(headers, header::ACCEPT_RANGES, Some("bytes"));
    Ok(response)
}

pub async fn delete_object(
    State(state): State<AppState>,
    Path((name, bucket, key)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let client = target(&state, &name, &bucket, &key).await?;
    let what = format!("s3://{bucket}/{key}");
    client
        .s3()
        .delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| Error::from_sdk(e, &what))?;
    Ok(StatusCode::NO_CONTENT)
}
