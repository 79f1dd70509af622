//! Request context (request id, structured log line, metrics, request id in error bodies)
//! and bearer-token authentication.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{error_response, ApiError, ErrorInfo};
use crate::AppState;

/// The request id of a request: the caller's `X-Request-Id` when it is short and plain,
/// else a fresh one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub async fn request_context(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(fresh_request_id);
    let method = request.method().to_string();
    // The route template, never the concrete path: paths hold bucket and key names and would
    // make the metrics unbounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let bytes_in = content_length(request.headers());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));

    let mut response = next.run(request).await;

    let bytes_in = response
        .extensions()
        .get::<crate::metrics::BodyBytesIn>()
        .map_or(bytes_in, |read| read.0);
    let error = response.extensions_mut().remove::<ErrorInfo>();
    if let Some(ErrorInfo(mut err)) = error.clone() {
        if err.request_id.is_none() {
            err.request_id = Some(request_id.clone());
        }
        let status = response.status();
        let mut rebuilt = error_response(err);
        *rebuilt.status_mut() = status;
        rebuilt.extensions_mut().remove::<ErrorInfo>();
        response = rebuilt;
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let code = error.as_ref().map(|e| e.0.code.as_str());
    state.metrics().record(crate::metrics::Sample {
        method: &method,
        route: &route,
        status,
        elapsed,
        bytes_in,
        bytes_out: content_length(response.headers()),
        error_code: code,
    });
    // One line per request; never the headers (tokens) or bodies (secrets).
    tracing::info!(
        target: "s3flow::http",
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        elapsed_ms = elapsed.as_millis() as u64,
        error_code = code.unwrap_or(""),
        "request"
    );
    response
}

/// 32 hex digits, like a UUID's simple form, from a per-thread generator seeded once from the
/// operating system: a UUID v4 asked the kernel for randomness on every request. Request ids
/// need to be distinct, not secret.
fn fresh_request_id() -> String {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new(u64::from_le_bytes(crate::crypto::random_bytes()));
    }
    STATE.with(|state| {
        let (high, low) = (splitmix64(state), splitmix64(state));
        format!("{high:016x}{low:016x}")
    })
}

/// SplitMix64: a 64-bit state stepped by a constant, its output a bijective mix of it.
fn splitmix64(state: &std::cell::Cell<u64>) -> u64 {
    let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(next);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn content_length(headers: &axum::http::HeaderMap) -> u64 {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// `Authorization: Bearer <token>` with a live token, else `unauthorized` (401).
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = given else {
        return ApiError::unauthorized(
            "missing Authorization: Bearer <token> (create one with `s3flow token create`)",
        )
        .into_response();
    };
    match state.store().check_token(token).await {
        Ok(Some(_id)) => next.run(request).await,
        Ok(None) => {
            ApiError::unauthorized("the bearer token is unknown or revoked").into_response()
        }
        Err(err) => ApiError(err).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_request_ids_are_distinct_32_hex_digits() {
        let here: Vec<String> = (0..10_000).map(|_| fresh_request_id()).collect();
        let there = std::thread::spawn(|| (0..10_000).map(|_| fresh_request_id()).collect::<Vec<_>>()).join().unwrap();
        assert!(here.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())), "{}", here[0]);
        let distinct: std::collections::HashSet<&String> = here.iter().chain(&there).collect();
        assert_eq!(distinct.len(), 20_000);
    }
}
