//! `presign`: a pre-signed GET, PUT, DELETE or HEAD link, signed locally (no request is sent).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::bucket::{validate_bucket_name, validate_key};
use crate::client::Client;
use crate::error::{Error, Result};

mod sign;

/// SigV4 pre-signed links live at most 7 days
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html>).
pub const MAX_EXPIRES: Duration = Duration::from_secs(7 * 24 * 3600);
pub const DEFAULT_EXPIRES: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum PresignMethod {
    #[default]
    Get,
    Put,
    Delete,
    Head,
}

/// Seconds, or a number with a unit: `90s`, `15m`, `12h`, `7d`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ExpiresIn {
    Seconds(u64),
    Text(String),
}

impl ExpiresIn {
    pub fn duration(&self) -> Result<Duration> {
        let seconds = match self {
            ExpiresIn::Seconds(s) => *s,
            ExpiresIn::Text(text) => parse_duration(text)?,
        };
        let duration = Duration::from_secs(seconds);
        if seconds == 0 || duration > MAX_EXPIRES {
            return Err(Error::invalid_input(format!(
                "expires_in: {seconds} s is outside 1 second … 7 days"
            )));
        }
        Ok(duration)
    }
}

fn parse_duration(text: &str) -> Result<u64> {
    let bad = || Error::invalid_input(format!("expires_in: {text:?} must be seconds or a number with s, m, h or d"));
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    value.checked_mul(scale).ok_or_else(bad)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PresignInput {
    #[serde(default)]
    pub bucket: Option<String>,
    pub key: String,
    #[serde(default)]
    pub method: Option<PresignMethod>,
    /// 1 s … 7 days; default 1 h.
    #[serde(default)]
    pub expires_in: Option<ExpiresIn>,
    /// Bound into a PUT signature: the uploader must send this Content-Type.
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub response_content_disposition: Option<String>,
    #[serde(default)]
    pub response_content_type: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PresignOutput {
    pub url: String,
    pub method: PresignMethod,
    /// RFC 3339; never later than the credentials expire.
    pub expires_at: String,
    /// Headers the caller must send with the request.
    pub headers: BTreeMap<String, String>,
}

pub async fn run(client: &Client, input: PresignInput) -> Result<PresignOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    validate_key("key", &input.key)?;
    client.restriction().check_key(&bucket, &input.key)?;
    let method = input.method.unwrap_or_default();
    let requested = match &input.expires_in {
        Some(expires) => expires.duration()?,
        None => DEFAULT_EXPIRES,
    };
    if input.content_type.is_some() && method != PresignMethod::Put {
        return Err(Error::invalid_input("content_type: only for method PUT"));
    }
    let response_overrides = input.response_content_disposition.is_some() || input.response_content_type.is_some();
    if response_overrides && method != PresignMethod::Get {
        return Err(Error::invalid_input("response_content_*: only for method GET"));
    }

    // A link signed with temporary credentials dies with them: never promise more.
    let now = SystemTime::now();
    let credentials = client.credentials().await?;
    let expires = match credentials.expiry().and_then(|end| end.duration_since(now).ok()) {
        Some(left) if left < requested => left.max(Duration::from_secs(1)),
        _ => requested,
    };
    let link = Link { bucket: &bucket, input: &input, method, now, expires };
    let (url, headers) = match sign::presign(client, &link, &credentials).await? {
        Some(signed) => signed,
        None => sdk_presign(client, &link).await?,
    };
    let expires_at = time::OffsetDateTime::from(now + expires);
    Ok(PresignOutput {
        url,
        method,
        expires_at: expires_at
            .replace_nanosecond(0)
            .unwrap_or(expires_at)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        headers,
    })
}

/// What to sign: one link, its start and its life.
struct Link<'a> {
    bucket: &'a str,
    input: &'a PresignInput,
    method: PresignMethod,
    now: SystemTime,
    expires: Duration,
}

/// The URL and the headers to send with it (`host` aside).
type Signed = (String, BTreeMap<String, String>);

/// The SDK's presigner: used when the endpoint rules ask for something other than plain
/// SigV4 (and by the test that holds the fast path to the same output).
async fn sdk_presign(client: &Client, link: &Link<'_>) -> Result<Signed> {
    let (bucket, input) = (link.bucket, link.input);
    let config = PresigningConfig::builder()
        .start_time(link.now)
        .expires_in(link.expires)
        .build()
        .map_err(|e| Error::invalid_input(format!("expires_in: {e}")))?;
    let s3 = client.presign_s3();
    let what = format!("s3://{bucket}/{}", input.key);
    let presigned: PresignedRequest = match link.method {
        PresignMethod::Get => s3
            .get_object()
            .bucket(bucket)
            .key(&input.key)
            .set_version_id(input.version_id.clone())
            .set_response_content_disposition(input.response_content_disposition.clone())
            .set_response_content_type(input.response_content_type.clone())
            .presigned(config)
            .await
            .map_err(|e| Error::from_sdk(e, &what))?,
        PresignMethod::Put => s3
            .put_object()
            .bucket(bucket)
            .key(&input.key)
            .set_content_type(input.content_type.clone())
            .presigned(config)
            .await
            .map_err(|e| Error::from_sdk(e, &what))?,
        PresignMethod::Delete => s3
            .delete_object()
            .bucket(bucket)
            .key(&input.key)
            .set_version_id(input.version_id.clone())
            .presigned(config)
            .await
            .map_err(|e| Error::from_sdk(e, &what))?,
        PresignMethod::Head => s3
            .head_object()
            .bucket(bucket)
            .key(&input.key)
            .set_version_id(input.version_id.clone())
            .presigned(config)
            .await
            .map_err(|e| Error::from_sdk(e, &what))?,
    };
    let headers = presigned
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    Ok((presigned.uri().to_owned(), headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_forms() {
        assert_eq!(ExpiresIn::Text("90s".into()).duration().unwrap(), Duration::from_secs(90));
        assert_eq!(ExpiresIn::Text("15m".into()).duration().unwrap(), Duration::from_secs(900));
        assert_eq!(ExpiresIn::Text("12h".into()).duration().unwrap(), Duration::from_secs(43_200));
        assert_eq!(ExpiresIn::Text("7d".into()).duration().unwrap(), MAX_EXPIRES);
        assert_eq!(ExpiresIn::Text("60".into()).duration().unwrap(), Duration::from_secs(60));
        assert_eq!(ExpiresIn::Seconds(1).duration().unwrap(), Duration::from_secs(1));
        for bad in ["0", "8d", "604801", "1w", "", "-5", "1.5h", "h"] {
            assert!(ExpiresIn::Text(bad.into()).duration().is_err(), "{bad}");
        }
        assert!(ExpiresIn::Seconds(0).duration().is_err());
        assert!(ExpiresIn::Seconds(604_801).duration().is_err());
    }

    /// The fast path signs exactly what the SDK presigner signs: same URL, same signature,
    /// same headers, for every method and option, with and without a session token, on a
    /// custom endpoint (path-style and not), a `presign_endpoint`, and AWS itself.
    #[tokio::test]
    async fn fast_path_matches_the_sdk_presigner() {
        use crate::connection::{Auth, Connection, Secret};

        let with_token = |mut connection: Connection| {
            connection.auth = Auth::AccessKey {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                session_token: Some(Secret::new("session/token+with=odd&chars")),
            };
            connection
        };
        let local = Connection::with_access_key("http://127.0.0.1:9000", "AKIDEXAMPLE", "secret", "garage");
        let connections = vec![
            local.clone(),
            with_token(local.clone()),
            Connection { presign_endpoint: Some("https://files.example.com/s3/".into()), ..local.clone() },
            Connection { force_path_style: Some(false), ..local.clone() },
            Connection { endpoint: None, region: Some("eu-west-3".into()), ..with_token(local.clone()) },
            Connection { endpoint: None, region: Some("us-east-1".into()), ..local.clone() },
        ];
        let key = "dir/a b+c=d&e?f#g%h~i/ü 😀/..//x";
        let inputs = vec![
            PresignInput { key: key.into(), ..PresignInput::default() },
            PresignInput {
                key: key.into(),
                response_content_disposition: Some("attachment; filename=\"a b.txt\"".into()),
                response_content_type: Some("text/plain; charset=utf-8".into()),
                version_id: Some("v1+/=".into()),
                ..PresignInput::default()
            },
            PresignInput { key: key.into(), method: Some(PresignMethod::Put), ..PresignInput::default() },
            PresignInput {
                key: key.into(),
                method: Some(PresignMethod::Put),
                content_type: Some("application/json".into()),
                ..PresignInput::default()
            },
            PresignInput { key: key.into(), method: Some(PresignMethod::Delete), version_id: Some("v2".into()), ..PresignInput::default() },
            PresignInput { key: key.into(), method: Some(PresignMethod::Head), ..PresignInput::default() },
            PresignInput { key: key.into(), method: Some(PresignMethod::Head), version_id: Some("v3".into()), ..PresignInput::default() },
        ];
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        for connection in connections {
            let client = Client::connect(connection.clone()).await.unwrap();
            let credentials = client.credentials().await.unwrap();
            for bucket in ["bucket-1", "dotted.bucket.name"] {
                for input in &inputs {
                    let link = Link {
                        bucket,
                        input,
                        method: input.method.unwrap_or_default(),
                        now,
                        expires: Duration::from_secs(900),
                    };
                    let fast = sign::presign(&client, &link, &credentials).await.unwrap().expect("SigV4 for s3");
                    let sdk = sdk_presign(&client, &link).await.unwrap();
                    assert_eq!(fast, sdk, "{connection:?} {bucket} {input:?}");
                }
            }
        }
    }
}
