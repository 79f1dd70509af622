//! SigV4 for S3 as the SDK signs it, for the two requests made without the SDK's operation
//! pipeline (pre-signed links, and the quick first GET of `transfer::quick_get`): the pipeline
//! costs several times the signature itself.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningInstructions, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use aws_smithy_types::endpoint::Endpoint;
use aws_smithy_types::Document;

use crate::encode;
use crate::error::{Error, Result};

/// What to sign: a request to an S3 endpoint whose rules asked for SigV4.
pub(crate) struct Signing<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Headers to sign besides `host` (taken from the URL).
    pub headers: &'a [(&'a str, &'a str)],
    pub region: &'a str,
    pub time: SystemTime,
    /// In the query for this long (a pre-signed link), else in the headers.
    pub expires_in: Option<Duration>,
}

/// Signs as the SDK does for S3: single URI encoding, no path normalization, the session token
/// signed, the payload's SHA-256 in `x-amz-content-sha256` (unsigned for links, the empty body's
/// otherwise).
pub(crate) fn sign(request: &Signing<'_>, credentials: &Credentials) -> Result<SigningInstructions> {
    let bad = |e: &dyn std::fmt::Display| Error::invalid_input(format!("signing: {e}"));
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.session_token_mode = SessionTokenMode::Include;
    let body = match request.expires_in {
        Some(expires_in) => {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(expires_in);
            SignableBody::UnsignedPayload
        }
        None => SignableBody::Bytes(&[]),
    };
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(request.region)
        .name("s3")
        .time(request.time)
        .settings(settings)
        .build()
        .map_err(|e| bad(&e))?
        .into();
    let signable = SignableRequest::new(request.method, request.url, request.headers.iter().copied(), body)
        .map_err(|e| bad(&e))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params).map_err(|e| bad(&e))?.into_parts();
    Ok(instructions)
}

/// The signing region of the endpoint's first auth scheme when it is SigV4 for `s3` (as a
/// typed scheme, or in the `authSchemes` property of older rule sets); `None` when the rules
/// want something else (SigV4a, S3 Express) or add headers the SDK would sign, which only the
/// SDK does.
pub(crate) fn signing_region(endpoint: &Endpoint) -> Option<&str> {
    if endpoint.headers().next().is_some() {
        return None;
    }
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

/// An object's URL under the endpoint the rules gave, as the SDK serializes the path; its
/// query goes on with [`Query`].
pub(crate) fn object_url(endpoint: &Endpoint, key: &str) -> String {
    let base = endpoint.url();
    let mut url = String::with_capacity(base.len() + key.len() * 3 + 400);
    url.push_str(base.strip_suffix('/').unwrap_or(base));
    url.push('/');
    url.push_str(&encode::key_path(key));
    url
}

/// Appends `name=value` pairs to a URL, encoded as the SDK's query writer does; the second
/// field is the next separator (`?` first, then `&`).
pub(crate) struct Query<'a>(pub &'a mut String, pub char);

impl Query<'_> {
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.0.push(self.1);
        self.1 = '&';
        self.0.push_str(&encode::component(name));
        self.0.push('=');
        self.0.push_str(&encode::component(value));
    }

    pub(crate) fn push_opt(&mut self, name: &str, value: &Option<String>) {
        if let Some(value) = value {
            self.push(name, value);
        }
    }
}
