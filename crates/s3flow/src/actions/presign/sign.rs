//! The fast path of `presign`: the request the SDK presigner would build (same endpoint
//! rules, same path and query, same headers), signed with `aws-sigv4` directly. The SDK's
//! full operation pipeline costs several times the signature itself.

use std::collections::BTreeMap;

use aws_credential_types::Credentials;

use super::{Link, PresignMethod, Signed};
use crate::client::Client;
use crate::error::Result;
use crate::sigv4::{self, Query, Signing};

/// The signed link, or `None` when the endpoint rules want another signer than SigV4 for
/// `s3` (the caller then falls back to the SDK's presigner).
pub(super) async fn presign(client: &Client, link: &Link<'_>, credentials: &Credentials) -> Result<Option<Signed>> {
    let endpoint = client.presign_endpoint(link.bucket).await?;
    let Some(signing_region) = sigv4::signing_region(&endpoint) else {
        return Ok(None);
    };

    // The path and query as the SDK serializes the operation, under the endpoint's path.
    let input = link.input;
    let mut url = sigv4::object_url(&endpoint, &input.key);
    let mut query = Query(&mut url, '?');
    match link.method {
        PresignMethod::Get => {
            query.push("x-id", "GetObject");
            query.push_opt("response-content-disposition", &input.response_content_disposition);
            query.push_opt("response-content-type", &input.response_content_type);
            query.push_opt("versionId", &input.version_id);
        }
        PresignMethod::Put => query.push("x-id", "PutObject"),
        PresignMethod::Delete => {
            query.push("x-id", "DeleteObject");
            query.push_opt("versionId", &input.version_id);
        }
        PresignMethod::Head => query.push_opt("versionId", &input.version_id),
    }
    let separator = query.1;
    let mut headers = BTreeMap::new();
    if let Some(content_type) = &input.content_type {
        headers.insert("content-type".to_owned(), content_type.clone());
    }

    let method = match link.method {
        PresignMethod::Get => "GET",
        PresignMethod::Put => "PUT",
        PresignMethod::Delete => "DELETE",
        PresignMethod::Head => "HEAD",
    };
    let signed: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let signing = Signing {
        method,
        url: &url,
        headers: &signed,
        region: signing_region,
        time: link.now,
        expires_in: Some(link.expires),
    };
    let instructions = sigv4::sign(&signing, credentials)?;
    let (signing_headers, signing_query) = instructions.into_parts();
    for header in signing_headers {
        headers.insert(header.name().to_ascii_lowercase(), header.value().to_owned());
    }
    let mut query = Query(&mut url, separator);
    for (name, value) in &signing_query {
        query.push(name, value);
    }
    Ok(Some((url, headers)))
}
