//! SigV4 credentials check: one access key, one secret.

use s3s::auth::{S3Auth, SecretKey};
use s3s::{s3_error, S3Result};

/// The endpoint's single key pair. s3s does the signature work (header-signed, pre-signed
/// query, `aws-chunked` streaming and trailer forms) and asks us only for the secret.
pub struct LocalAuth {
    access_key: String,
    secret_key: SecretKey,
}

impl LocalAuth {
    pub fn new(access_key: String, secret_key: String) -> Self {
        Self {
            access_key,
            secret_key: SecretKey::from(secret_key),
        }
    }
}

#[async_trait::async_trait]
impl S3Auth for LocalAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        if access_key == self.access_key {
            Ok(self.secret_key.clone())
        } else {
            // What S3 answers for an unknown key (s3s's SimpleAuth says NotSignedUp instead).
            Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            ))
        }
    }
}
