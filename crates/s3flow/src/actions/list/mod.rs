//! `list`: objects under a prefix, all levels or one level with its folders.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::actions::fields;
use crate::bucket::validate_bucket_name;
use crate::client::Client;
use crate::encode;
use crate::error::{Error, ErrorCode, Result};

mod early_token;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2Error, ListObjectsV2Output};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use early_token::EarlyToken;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const DEFAULT_MAX: u64 = 1000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    #[serde(default)]
    pub bucket: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    /// Most objects to return (default 1000; 0 = all).
    #[serde(default)]
    pub max: Option<u64>,
    #[serde(default)]
    pub start_after: Option<String>,
    /// From a previous `next_continuation_token`.
    #[serde(default)]
    pub continuation_token: Option<String>,
    /// Default true; false = one level, with its folders.
    #[serde(default)]
    pub recursive: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectEntry {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub storage_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ListOutput {
    pub bucket: String,
    pub prefix: String,
    pub objects: Vec<ObjectEntry>,
    /// Present when `recursive` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folders: Option<Vec<String>>,
    pub count: u64,
    pub is_truncated: bool,
    pub next_continuation_token: Option<String>,
}

pub async fn run(client: &Client, input: ListInput) -> Result<ListOutput> {
    let bucket = client.restriction().bucket_or_default(input.bucket.as_deref())?;
    validate_bucket_name(&bucket)?;
    let prefix = client.restriction().scope_prefix(&bucket, input.prefix.as_deref())?;
    let recursive = input.recursive.unwrap_or(true);
    let max = input.max.unwrap_or(DEFAULT_MAX);
    let mut objects = Vec::new();
    let mut folders = Vec::new();
    let mut token = input.continuation_token.clone();
    let what = format!("s3://{bucket}/{prefix}");
    let query = Query { client: client.clone(), bucket: bucket.clone(), prefix: prefix.clone(), recursive, start_after: input.start_after.clone(), max };
    let mut current = query.page(0, token.clone());
    let (is_truncated, next_token) = loop {
        let early = match current.early.take() {
            Some(early) => early.await.ok().flatten(),
            None => None,
        };
        // Only whole listings read tokens early, and their pages are all of one size.
        let ahead = early.map(|early| (query.page(0, Some(early.clone())), early));
        let page = match (&mut current.sent).await {
            Ok(page) => page.map_err(|e| Error::from_sdk(e, &what))?,
            Err(_) => return Err(Error::new(ErrorCode::UpstreamUnavailable, format!("{what}: the listing stopped"))),
        };
        for object in page.contents() {
            objects.push(ObjectEntry {
                key: object.key().unwrap_or_default().to_owned(),
                size: object.size().unwrap_or(0).max(0) as u64,
                etag: fields::etag(object.e_tag()),
                last_modified: encode::rfc3339_opt(object.last_modified()),
                storage_class: object.storage_class().map(|c| c.as_str().to_owned()),
            });
        }
        folders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_owned)));
        let truncated = page.is_truncated().unwrap_or(false);
        token = page.next_continuation_token().map(str::to_owned);
        let taken = (objects.len() + folders.len()) as u64;
        let full = max != 0 && taken >= max;
        if !truncated || token.is_none() || full {
            break (truncated && token.is_some(), if truncated { token } else { None });
        }
        current = match ahead {
            Some((next, guessed)) if token.as_deref() == Some(guessed.as_str()) => next,
            other => {
                if let Some((_, guessed)) = other {
                    tracing::debug!("{what}: the token read early ({guessed}) is not the page's; asking again");
                }
                query.page(taken, token.clone())
            }
        };
    };
    Ok(ListOutput {
        count: (objects.len() + if recursive { 0 } else { folders.len() }) as u64,
        bucket,
        prefix,
        objects,
        folders: (!recursive).then_some(folders),
        is_truncated,
        next_continuation_token: next_token,
    })
}

/// What every page of one listing asks for.
struct Query {
    client: Client,
    bucket: String,
    prefix: String,
    recursive: bool,
    start_after: Option<String>,
    /// The action's `max` (0 = all).
    max: u64,
}

type Page = std::result::Result<ListObjectsV2Output, SdkError<ListObjectsV2Error, HttpResponse>>;

/// One page's request, spawned so it runs while the caller parses the page before; aborted
/// when dropped unused (a guess that turned out wrong, an error, the end of the listing).
struct Sent {
    sent: JoinHandle<Page>,
    /// Its next token, read from the head of its response (whole listings only).
    early: Option<oneshot::Receiver<Option<String>>>,
}

impl Drop for Sent {
    fn drop(&mut self) {
        self.sent.abort();
    }
}

impl Query {
    /// The page after `taken` entries. A whole listing (`max` 0) also reads the page's next
    /// token early (see `early_token`); a bounded one cannot size its next page before this
    /// one's count is known.
    fn page(&self, taken: u64, token: Option<String>) -> Sent {
        let max_keys = if self.max == 0 { 1000 } else { (self.max - taken).min(1000) };
        let request = self
            .client
            .s3()
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .max_keys(max_keys as i32)
            .set_delimiter((!self.recursive).then(|| "/".to_owned()))
            .set_start_after(self.start_after.clone())
            .set_continuation_token(token);
        if self.max != 0 {
            return Sent { sent: tokio::spawn(request.send()), early: None };
        }
        let (interceptor, receiver) = EarlyToken::new();
        Sent { sent: tokio::spawn(request.customize().interceptor(interceptor).send()), early: Some(receiver) }
    }
}
