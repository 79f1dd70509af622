//! The one error type of s3flow, with the stable codes of the contract (§5).
//!
//! Every failure a user can see is an [`Error`] with an [`ErrorCode`]; the mapping from S3
//! error codes to our codes lives in [`code_for_s3`], one arm per S3 code.
//! Messages never contain secrets: they are built from S3 error codes, bucket and key names,
//! and our own words.

use std::fmt;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The stable error codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A bad field, template, base64, JSON, name, expiry…
    InvalidInput,
    /// Missing or bad service token.
    Unauthorized,
    /// S3 rejected the credentials (InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken).
    CredentialsInvalid,
    /// S3 AccessDenied.
    AccessDenied,
    /// Bucket or key outside the connection's restriction.
    OutsideRestriction,
    /// NoSuchKey, NoSuchBucket, NoSuchVersion, unknown connection/document/trigger.
    NotFound,
    /// `if_exists: fail`, bucket exists.
    AlreadyExists,
    /// A conditional request failed.
    PreconditionFailed,
    /// Inline content too big.
    PayloadTooLarge,
    /// SlowDown after retries.
    Throttled,
    /// 5xx from the store after retries.
    UpstreamUnavailable,
    /// Network timeout after retries.
    Timeout,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::CredentialsInvalid => "credentials_invalid",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::OutsideRestriction => "outside_restriction",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::PreconditionFailed => "precondition_failed",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Throttled => "throttled",
            ErrorCode::UpstreamUnavailable => "upstream_unavailable",
            ErrorCode::Timeout => "timeout",
        }
    }

    /// HTTP status used by the service.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::CredentialsInvalid | ErrorCode::AccessDenied | ErrorCode::OutsideRestriction => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::AlreadyExists => 409,
            ErrorCode::PreconditionFailed => 412,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Throttled => 429,
            ErrorCode::UpstreamUnavailable => 502,
            ErrorCode::Timeout => 504,
        }
    }

    /// CLI exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::InvalidInput | ErrorCode::PayloadTooLarge => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::CredentialsInvalid
            | ErrorCode::AccessDenied
            | ErrorCode::OutsideRestriction
            | ErrorCode::Unauthorized => 4,
            ErrorCode::AlreadyExists | ErrorCode::PreconditionFailed => 5,
            ErrorCode::Throttled | ErrorCode::UpstreamUnavailable | ErrorCode::Timeout => 1,
        }
    }

    /// Whether trying the same request later may succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::Throttled | ErrorCode::UpstreamUnavailable | ErrorCode::Timeout
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An s3flow error: a stable code, a human message, and the S3 details when S3 answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    /// The S3 error code (`NoSuchKey`, `SlowDown`…) when the store returned one.
    pub s3_code: Option<String>,
    /// The store's request id, for support tickets.
    pub request_id: Option<String>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), s3_code: None, request_id: None }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::NotFound, message)
    }

    pub fn outside_restriction(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::OutsideRestriction, message)
    }

    pub fn retryable(&self) -> bool {
        self.code.retryable()
    }

    /// The JSON body of the contract: `{"error":{"code","message","s3_code"?,"request_id"?,"retryable"}}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut error = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable(),
        });
        if let Some(s3_code) = &self.s3_code {
            error["s3_code"] = s3_code.clone().into();
        }
        if let Some(request_id) = &self.request_id {
            error["request_id"] = request_id.clone().into();
        }
        serde_json::json!({ "error": error })
    }

    /// Builds an error from an AWS SDK error. `what` names the thing acted on
    /// (`s3://bucket/key`), so the message says what was not found or refused.
    pub fn from_sdk<E, R>(err: SdkError<E, R>, what: &str) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug + HttpStatus,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status();
                let meta = service.err();
                let s3_code = meta.code().map(str::to_owned);
                let mut code = match s3_code.as_deref() {
                    Some(s3) => code_for_s3(s3, status),
                    None => code_for_status(status),
                };
                // Garage and some other stores answer a bad signature or an unknown key with a
                // plain AccessDenied; their message tells the credentials problem apart.
                let text = meta.message().unwrap_or_default().to_ascii_lowercase();
                if code == ErrorCode::AccessDenied
                    && (text.contains("signature") || text.contains("access key") || text.contains("no such key"))
                {
                    code = ErrorCode::CredentialsInvalid;
                }
                let detail = meta.message().map(|m| format!(": {m}")).unwrap_or_default();
                let label = s3_code.clone().unwrap_or_else(|| format!("HTTP {status}"));
                Error {
                    code,
                    message: format!("{what}: {label}{detail}"),
                    s3_code,
                    request_id: meta.meta().extra("aws_request_id").map(str::to_owned),
                }
            }
            SdkError::TimeoutError(_) => Error::new(ErrorCode::Timeout, format!("{what}: the request timed out")),
            SdkError::DispatchFailure(dispatch) => {
                let chain = source_chain(&err);
                // Credentials are loaded at dispatch: no usable credentials is not an outage.
                if chain.contains("loading credentials") || chain.contains("no credentials") {
                    return Error::new(ErrorCode::CredentialsInvalid, format!("{what}: no usable credentials ({chain})"));
                }
                let code = if dispatch.is_timeout() { ErrorCode::Timeout } else { ErrorCode::UpstreamUnavailable };
                Error::new(code, format!("{what}: could not reach the S3 endpoint ({chain})"))
            }
            SdkError::ResponseError(_) => Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("{what}: the S3 endpoint sent an unreadable response ({})", source_chain(&err)),
            ),
            SdkError::ConstructionFailure(_) => {
                // Credentials that cannot be loaded surface here: say so plainly.
                let chain = source_chain(&err);
                let code = if chain.contains("credentials") || chain.contains("Credentials") {
                    ErrorCode::CredentialsInvalid
                } else {
                    ErrorCode::InvalidInput
                };
                Error::new(code, format!("{what}: {chain}"))
            }
            _ => Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: {}", source_chain(&err))),
        }
    }
}

/// The HTTP status of a raw SDK response, so [`Error::from_sdk`] works for every operation.
pub trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::http::Response {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Walks the source chain of an error into one line. SDK errors carry no secrets in their
/// messages; signatures and keys are never part of them.
pub(crate) fn source_chain(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

/// The S3 error code → s3flow code mapping, one arm per code
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList>).
pub fn code_for_s3(s3_code: &str, status: u16) -> ErrorCode {
    match s3_code {
        // The object, bucket, version or upload is not there.
        "NoSuchKey" | "NoSuchBucket" | "NoSuchVersion" | "NoSuchUpload" | "NotFound" | "NoSuchTagSet"
        | "NoSuchBucketPolicy" | "NoSuchLifecycleConfiguration" | "NoSuchCORSConfiguration" => ErrorCode::NotFound,
        // The store does not accept who we are.
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken" | "TokenRefreshRequired"
        | "InvalidClientTokenId" | "AuthorizationHeaderMalformed" | "RequestTimeTooSkewed" => {
            ErrorCode::CredentialsInvalid
        }
        // We are known but not allowed.
        "AccessDenied" | "AllAccessDisabled" | "AccountProblem" => ErrorCode::AccessDenied,
        // Create on something that is there.
        "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" => ErrorCode::AlreadyExists,
        // If-Match / If-None-Match / If-Unmodified-Since failed.
        "PreconditionFailed" | "ConditionalRequestConflict" => ErrorCode::PreconditionFailed,
        // The store asks us to slow down (S3 sends 503 SlowDown). "ServiceUnavailable" is left
        // to the status: Garage sends it for internal errors, not for rate limits.
        "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "TooManyRequests" => {
            ErrorCode::Throttled
        }
        "ServiceUnavailable" | "InternalError" => ErrorCode::UpstreamUnavailable,
        "EntityTooLarge" => ErrorCode::PayloadTooLarge,
        // The request itself was wrong.
        "InvalidBucketName" | "InvalidArgument" | "InvalidRequest" | "KeyTooLongError" | "InvalidRange"
        | "MalformedXML" | "InvalidStorageClass" | "InvalidDigest" | "BadDigest" | "InvalidPart"
        | "InvalidPartOrder" | "EntityTooSmall" | "InvalidLocationConstraint" | "IllegalLocationConstraintException"
        | "InvalidObjectState" | "InvalidTag" | "MalformedPolicy" | "InvalidURI" | "MethodNotAllowed"
        | "NotImplemented" | "BucketNotEmpty" | "InvalidBucketState" | "XAmzContentSHA256Mismatch" => {
            ErrorCode::InvalidInput
        }
        "RequestTimeout" => ErrorCode::Timeout,
        _ => code_for_status(status),
    }
}

/// For responses without an S3 code (HEAD has no body), the status decides.
pub fn code_for_status(status: u16) -> ErrorCode {
    match status {
        400 | 405 | 411 | 416 => ErrorCode::InvalidInput,
        401 => ErrorCode::CredentialsInvalid,
        403 => ErrorCode::AccessDenied,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::AlreadyExists,
        412 => ErrorCode::PreconditionFailed,
        413 => ErrorCode::PayloadTooLarge,
        429 | 503 => ErrorCode::Throttled,
        408 | 504 => ErrorCode::Timeout,
        _ if status >= 500 => ErrorCode::UpstreamUnavailable,
        _ => ErrorCode::InvalidInput,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let code = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorCode::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorCode::AlreadyExists,
            std::io::ErrorKind::PermissionDenied => ErrorCode::AccessDenied,
            std::io::ErrorKind::TimedOut => ErrorCode::Timeout,
            _ => ErrorCode::InvalidInput,
        };
        Error::new(code, err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_codes_map_to_contract_codes() {
        assert_eq!(code_for_s3("NoSuchKey", 404), ErrorCode::NotFound);
        assert_eq!(code_for_s3("NoSuchBucket", 404), ErrorCode::NotFound);
        assert_eq!(code_for_s3("SignatureDoesNotMatch", 403), ErrorCode::CredentialsInvalid);
        assert_eq!(code_for_s3("AccessDenied", 403), ErrorCode::AccessDenied);
        assert_eq!(code_for_s3("BucketAlreadyOwnedByYou", 409), ErrorCode::AlreadyExists);
        assert_eq!(code_for_s3("SlowDown", 503), ErrorCode::Throttled);
        assert_eq!(code_for_s3("InternalError", 500), ErrorCode::UpstreamUnavailable);
        assert_eq!(code_for_s3("ServiceUnavailable", 503), ErrorCode::UpstreamUnavailable);
        assert_eq!(code_for_s3("PreconditionFailed", 412), ErrorCode::PreconditionFailed);
        assert_eq!(code_for_status(404), ErrorCode::NotFound);
        assert_eq!(code_for_status(502), ErrorCode::UpstreamUnavailable);
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(ErrorCode::InvalidInput.exit_code(), 2);
        assert_eq!(ErrorCode::PayloadTooLarge.exit_code(), 2);
        assert_eq!(ErrorCode::NotFound.exit_code(), 3);
        assert_eq!(ErrorCode::OutsideRestriction.exit_code(), 4);
        assert_eq!(ErrorCode::AlreadyExists.exit_code(), 5);
        assert_eq!(ErrorCode::Throttled.exit_code(), 1);
    }

    #[test]
    fn json_shape() {
        let mut err = Error::not_found("s3://b/k: NoSuchKey");
        err.s3_code = Some("NoSuchKey".into());
        let json = err.to_json();
        assert_eq!(json["error"]["code"], "not_found");
        assert_eq!(json["error"]["s3_code"], "NoSuchKey");
        assert_eq!(json["error"]["retryable"], false);
        assert!(json["error"].get("request_id").is_none());
    }
}
