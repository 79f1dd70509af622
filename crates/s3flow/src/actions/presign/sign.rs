//! The fast path of `presign`: the request the SDK presigner would build (same endpoint
//! rules, same path and query, same headers), signed with `aws-sigv4` directly. The SDK's
//! full operation pipeline costs several times the signature itself.

use std::collections::BTreeMap;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_types::endpoint::Endpoint;
use aws_smithy_types::Document;

use super::{Link, PresignMethod, Signed};
use crate::client::Client;
use crate::encode;
use crate::error::{Error, Result};

/// The signed link, or `None` when the endpoint rules want another signer than SigV4 for
/// `s3` (the caller then falls back to the SDK's presigner).
pub(super) async fn presign(client: &Client, link: &Link<'_>, credentials: &Credentials) -> Result<Option<Signed>> {
    let endpoint = client.presign_endpoint(link.bucket).await?;
    let Some(signing_region) = sigv4_signing_region(&endpoint) else {
        return Ok(None);
    };
    if endpoint.headers().next().is_some() {
        return Ok(None); // the SDK would sign headers the rules add
    }

    // The path and query as the SDK serializes the operation, under the endpoint's path.
    let input = link.input;
    let base = endpoint.url();
    let mut url = String::with_capacity(base.len() + input.key.len() * 3 + 400);
    url.push_str(base.strip_suffix('/').unwrap_or(base));
    url.push('/');
    url.push_str(&encode::key_path(&input.key));
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

    // S3's signing options in the SDK: single URI encoding, no path normalization; the
    // presigner puts the signature in the query over an unsigned payload.
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(link.expires);
    let identity = credentials.clone().into();
    let signing_params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signing_region)
        .name("s3")
        .time(link.now)
        .settings(settings)
        .build()
        .map_err(|e| Error::invalid_input(format!("signing: {e}")))?
        .into();
    let method = match link.method {
        PresignMethod::Get => "GET",
        PresignMethod::Put => "PUT",
        PresignMethod::Delete => "DELETE",
        PresignMethod::Head => "HEAD",
    };
    let request = SignableRequest::new(
        method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::UnsignedPayload,
    )
    .map_err(|e| Error::invalid_input(format!("signing: {e}")))?;
    let (instructions, _signature) = sign(request, &signing_params)
        .map_err(|e| Error::invalid_input(format!("signing: {e}")))?
        .into_parts();
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

/// The signing region of the endpoint's first auth scheme when it is SigV4 for `s3` (as a
/// typed scheme, or in the `authSchemes` property of older rule sets).
fn sigv4_signing_region(endpoint: &Endpoint) -> Option<&str> {
    fn text(value: Option<&Document>) -> Option<&str> {
        match value {
            Some(Document::String(value)) => Some(value.as_str()),
            _ => None,
        }
    }
    let (name, signing_name, region) = match endpoint.auth_schemes().first() {
        Some(scheme) => (scheme.name(), text(scheme.get("signingName")), text(scheme.get("signingRegion"))),
        None => {
            let Some(Document::Array(schemes)) = endpoint.properties().get("authSchemes") else { return None };
            let Some(Document::Object(scheme)) = schemes.first() else { return None };
            (text(scheme.get("name"))?, text(scheme.get("signingName")), text(scheme.get("signingRegion")))
        }
    };
    (name == "sigv4" && signing_name == Some("s3")).then_some(region).flatten()
}

/// Appends `name=value` pairs, encoded as the SDK's query writer does.
struct Query<'a>(&'a mut String, char);

impl Query<'_> {
    fn push(&mut self, name: &str, value: &str) {
        self.0.push(self.1);
        self.1 = '&';
        self.0.push_str(&encode::component(name));
        self.0.push('=');
        self.0.push_str(&encode::component(value));
    }

    fn push_opt(&mut self, name: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.push(name, value);
        }
    }
}
