//! The service's one error type: an [`s3flow::Error`] turned into the contract's JSON
//! `{"error":{"code","message","s3_code"?,"request_id"?,"retryable"}}` with the HTTP status
//! of §5. The request id is filled in by the request-id middleware (`crate::middleware`),
//! which finds the error in the response's extensions.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use s3flow::{Error, ErrorCode};

/// Any failure of a route.
#[derive(Debug)]
pub struct ApiError(pub Error);

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        ApiError(err)
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError(Error::new(code, message))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Unauthorized, message)
    }
}

/// The error a response carries, for the middleware (request id, metrics by code).
#[derive(Debug, Clone)]
pub struct ErrorInfo(pub Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.0)
    }
}

pub fn error_response(err: Error) -> Response {
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(err.to_json())).into_response();
    response.extensions_mut().insert(ErrorInfo(err));
    response
}
