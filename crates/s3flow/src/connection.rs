//! Connections (§1): everything needed to reach one S3 account.
//!
//! A [`Connection`] is plain data (serde + JSON Schema); [`crate::Client::connect`] turns it
//! into a working client. Secrets are [`Secret`]s whose `Debug` prints `***`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A secret string (secret access key, session token). `Debug` and `Display` redact it;
/// only [`Secret::expose`] gives the value, at the one place it is needed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

/// How a connection authenticates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// A fixed access key, with a session token for temporary credentials.
    AccessKey {
        access_key_id: String,
        secret_access_key: Secret,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_token: Option<Secret>,
    },
    /// The default AWS credentials chain: environment variables, shared config/credentials
    /// files (optionally one `profile`), web identity, container and instance metadata.
    DefaultChain {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        profile: Option<String>,
    },
    /// Assume an IAM role through STS, with credentials from `source`.
    AssumeRole {
        role_arn: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session_name: Option<String>,
        /// 900 … 43,200 seconds (STS limits); default 3,600.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_seconds: Option<u32>,
        /// Where the credentials that call STS come from: `access_key` or `default_chain`.
        source: Box<Auth>,
    },
}

impl Default for Auth {
    fn default() -> Self {
        Auth::DefaultChain { profile: None }
    }
}

/// Presets that make S3-compatible stores just work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    #[default]
    Aws,
    Minio,
    R2,
    Garage,
    Seaweedfs,
    Ceph,
    Other,
}

impl Provider {
    pub fn parse(value: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(value.to_ascii_lowercase())).map_err(|_| {
            Error::invalid_input(format!(
                "provider: unknown provider {value:?} (aws, minio, r2, garage, seaweedfs, ceph, other)"
            ))
        })
    }

    /// The 2025 SDK sends CRC checksum headers (and aws-chunked bodies) on every upload;
    /// several S3-compatible stores reject them, so only AWS gets them by default.
    pub fn checksums_by_default(self) -> bool {
        matches!(self, Provider::Aws)
    }

    /// Whether the store answers GetBucketLocation usefully.
    pub fn has_bucket_location(self) -> bool {
        !matches!(self, Provider::R2)
    }

    pub fn default_region(self) -> Option<&'static str> {
        match self {
            Provider::R2 => Some("auto"),
            Provider::Garage => Some("garage"),
            _ => None,
        }
    }
}

/// A connection: credentials, region, endpoint, restrictions and tuning. Every field is also
/// a CLI flag (`--restrict-prefix`) and an environment variable (`S3FLOW_RESTRICT_PREFIX`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// Unique name, `[a-z0-9][a-z0-9_-]{0,62}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// e.g. `eu-west-1`; default `us-east-1` (or the AWS environment/profile region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Custom S3 endpoint URL for S3-compatible stores; absent = AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Path-style addressing (default true when `endpoint` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_path_style: Option<bool>,
    /// Credentials; default: the AWS default chain.
    #[serde(default)]
    pub auth: Auth,
    /// If set, every action on any other bucket fails with `outside_restriction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_bucket: Option<String>,
    /// If set, every key must lie under this folder, compared on the literal key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict_prefix: Option<String>,
    /// Parallel ranged GETs per large download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_threads: Option<u32>,
    /// Parts uploaded at once in a multipart upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_concurrency: Option<u32>,
    /// Multipart part size in bytes (at least 5 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
    /// Attempts per request, including the first (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Timeout per request attempt in seconds (default: none for bodies, 10 s to connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// `aws` (default), `minio`, `r2`, `garage`, `seaweedfs`, `ceph`, `other`.
    #[serde(default)]
    pub provider: Provider,
    /// Public base URL used in pre-signed links when the store is reached internally under another host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presign_endpoint: Option<String>,
    /// Path of a PEM file with extra trusted CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Test knob: copies above this many bytes use multipart copy (default 5 GiB, S3's
    /// CopyObject limit). Not part of the contract.
    #[doc(hidden)]
    #[serde(skip)]
    #[schemars(skip)]
    pub multipart_copy_threshold: Option<u64>,
}

pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;

impl Connection {
    /// A connection with a fixed access key to a custom endpoint (path-style).
    pub fn with_access_key(endpoint: &str, access_key_id: &str, secret_access_key: &str, region: &str) -> Self {
        Connection {
            endpoint: Some(endpoint.to_owned()),
            region: Some(region.to_owned()),
            auth: Auth::AccessKey {
                access_key_id: access_key_id.to_owned(),
                secret_access_key: Secret::new(secret_access_key),
                session_token: None,
            },
            ..Connection::default()
        }
    }

    /// Checks every field that can be checked without the network.
    pub fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            validate_name(name)?;
        }
        if let Some(region) = &self.region {
            if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(Error::invalid_input(format!("region: {region:?} is not a region name")));
            }
        }
        for (field, url) in [("endpoint", &self.endpoint), ("presign_endpoint", &self.presign_endpoint)] {
            if let Some(url) = url {
                validate_url(field, url)?;
            }
        }
        if let Some(bucket) = &self.restrict_bucket {
            crate::bucket::validate_bucket_name(bucket).map_err(|e| Error::invalid_input(format!("restrict_{}", e.message)))?;
        }
        if let Some(prefix) = &self.restrict_prefix {
            if prefix.is_empty() || prefix.len() > 1024 {
                return Err(Error::invalid_input("restrict_prefix: must be 1 to 1,024 bytes"));
            }
        }
        if self.download_threads == Some(0) || self.download_threads.is_some_and(|n| n > 256) {
            return Err(Error::invalid_input("download_threads: must be 1 to 256"));
        }
        if self.upload_concurrency == Some(0) || self.upload_concurrency.is_some_and(|n| n > 256) {
            return Err(Error::invalid_input("upload_concurrency: must be 1 to 256"));
        }
        if let Some(part_size) = self.part_size {
            if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part_size) {
                return Err(Error::invalid_input("part_size: must be 5 MiB to 5 GiB"));
            }
        }
        if self.max_attempts == Some(0) || self.max_attempts.is_some_and(|n| n > 100) {
            return Err(Error::invalid_input("max_attempts: must be 1 to 100"));
        }
        if self.timeout_seconds == Some(0) {
            return Err(Error::invalid_input("timeout_seconds: must be at least 1"));
        }
        validate_auth(&self.auth, true)
    }

    /// The effective region: the connection's, the provider's, or `None` to let the AWS
    /// environment and profile decide (falling back to `us-east-1`).
    pub fn configured_region(&self) -> Option<String> {
        self.region.clone().or_else(|| self.provider.default_region().map(str::to_owned))
    }

    /// Path-style addressing: explicit, else on for custom endpoints and non-AWS providers.
    pub fn path_style(&self) -> bool {
        self.force_path_style
            .unwrap_or(self.endpoint.is_some() || self.provider != Provider::Aws)
    }

    /// This connection as JSON with every secret replaced by `"***"`, for display.
    pub fn redacted(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        redact(&mut value);
        value
    }
}

fn redact(value: &mut serde_json::Value) {
    if let Some(map) = value.as_object_mut() {
        for (field, inner) in map.iter_mut() {
            if matches!(field.as_str(), "secret_access_key" | "session_token") && inner.is_string() {
                *inner = "***".into();
            } else {
                redact(inner);
            }
        }
    }
}

fn validate_auth(auth: &Auth, top: bool) -> Result<()> {
    match auth {
        Auth::AccessKey { access_key_id, secret_access_key, .. } => {
            if access_key_id.is_empty() || secret_access_key.expose().is_empty() {
                return Err(Error::invalid_input("auth: access_key_id and secret_access_key must not be empty"));
            }
        }
        Auth::DefaultChain { .. } => {}
        Auth::AssumeRole { role_arn, duration_seconds, source, session_name, .. } => {
            if !top {
                return Err(Error::invalid_input("auth.source: must be access_key or default_chain"));
            }
            if !role_arn.starts_with("arn:") {
                return Err(Error::invalid_input(format!("auth.role_arn: {role_arn:?} is not an ARN")));
            }
            if duration_seconds.is_some_and(|d| !(900..=43_200).contains(&d)) {
                return Err(Error::invalid_input("auth.duration_seconds: must be 900 to 43,200"));
            }
            if let Some(name) = session_name {
                let ok = (2..=64).contains(&name.len())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c));
                if !ok {
                    return Err(Error::invalid_input("auth.session_name: 2 to 64 of [A-Za-z0-9=,.@_-]"));
                }
            }
            validate_auth(source, false)?;
        }
    }
    Ok(())
}

/// Connection names: `[a-z0-9][a-z0-9_-]{0,62}`.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if first_ok && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(Error::invalid_input(format!("name: {name:?} must match [a-z0-9][a-z0-9_-]{{0,62}}")))
    }
}

fn validate_url(field: &str, url: &str) -> Result<()> {
    let parsed: http::Uri = url
        .parse()
        .map_err(|_| Error::invalid_input(format!("{field}: {url:?} is not a URL")))?;
    let scheme_ok = matches!(parsed.scheme_str(), Some("http") | Some("https"));
    if !scheme_ok || parsed.host().is_none() {
        return Err(Error::invalid_input(format!("{field}: {url:?} must be an http:// or https:// URL")));
    }
    if parsed.query().is_some() {
        return Err(Error::invalid_input(format!("{field}: {url:?} must not have a query")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let conn = Connection::with_access_key("http://127.0.0.1:9000", "AKID", "very-secret-value", "us-east-1");
        let debug = format!("{conn:?}");
        assert!(!debug.contains("very-secret-value"), "{debug}");
        assert!(debug.contains("AKID"));
        let shown = conn.redacted().to_string();
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }

    #[test]
    fn names_follow_the_pattern() {
        assert!(validate_name("local").is_ok());
        assert!(validate_name("a").is_ok());
        assert!(validate_name("prod_eu-1").is_ok());
        for bad in ["", "-a", "A", "a b", "a.b", &"a".repeat(64)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_fields_are_invalid_input() {
        let base = Connection::with_access_key("http://127.0.0.1:9000", "AKID", "s", "us-east-1");
        let cases = [
            Connection { endpoint: Some("ftp://x".into()), ..base.clone() },
            Connection { endpoint: Some("not a url".into()), ..base.clone() },
            Connection { region: Some("eu west".into()), ..base.clone() },
            Connection { part_size: Some(1024), ..base.clone() },
            Connection { download_threads: Some(0), ..base.clone() },
            Connection { max_attempts: Some(0), ..base.clone() },
            Connection { restrict_bucket: Some("Bad_Bucket".into()), ..base.clone() },
            Connection { restrict_prefix: Some(String::new()), ..base.clone() },
            Connection { name: Some("Bad Name".into()), ..base.clone() },
        ];
        for conn in cases {
            let err = conn.validate().unwrap_err();
            assert_eq!(err.code, crate::ErrorCode::InvalidInput, "{conn:?}");
        }
    }

    #[test]
    fn auth_json_shapes() {
        let auth: Auth = serde_json::from_str(
            r#"{"type":"assume_role","role_arn":"arn:aws:iam::123456789012:role/r","external_id":"x","source":{"type":"default_chain"}}"#,
        )
        .unwrap();
        assert!(matches!(auth, Auth::AssumeRole { .. }));
        assert!(serde_json::from_str::<Auth>(r#"{"type":"password"}"#).is_err());
    }
}
