//! The embedded S3-compatible endpoint of s3flow: an in-process S3 server over a local
//! folder, so every s3flow action works on a fresh machine without a cloud account.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let mut config = s3flow_local::LocalConfig::new("./s3flow-data/local");
//! config.listen = "127.0.0.1:0".parse().unwrap();
//! let server = s3flow_local::LocalServer::start(config).await?;
//! println!("{} (access key {})", server.endpoint(), server.access_key());
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! Requests are path-style (`http://127.0.0.1:9000/bucket/key`) and must be signed with
//! SigV4 (headers, pre-signed query, or `aws-chunked` streaming with or without trailer
//! checksums); the protocol work is done by the [`s3s`] crate. Keys are stored exactly as
//! given (up to 1,024 bytes).
//!
//! # On-disk layout
//!
//! ```text
//! <data_dir>/.s3flow-local-secret                 generated secret key (0600)
//! <data_dir>/buckets/<bucket>/.bucket.json        bucket marker (name, creation date,
//!                                                 versioning state)
//! <data_dir>/buckets/<bucket>/objects/<sha256(key)>.meta.json
//!                                                 latest version of a key (or its delete
//!                                                 marker): key, version id, size, ETag, dates,
//!                                                 headers, metadata, tags…
//! <data_dir>/buckets/<bucket>/objects/<sha256(key)>.<token>.data
//!                                                 object bytes (any version), never modified
//! <data_dir>/buckets/<bucket>/versions/<sha256(key)>/<version-id>.meta.json
//!                                                 older versions and delete markers
//! <data_dir>/buckets/<bucket>/uploads/<upload-id>/  multipart upload in progress and its parts
//! <data_dir>/buckets/<bucket>/tmp/                bodies being received
//! ```
//!
//! A key never becomes a file name; an in-memory ordered index per bucket (key → its
//! versions, newest first), rebuilt from the metadata files at start, serves lookups and
//! listings. Writes go to a temporary file that is renamed into place, and the metadata
//! document (renamed atomically too) is what makes an object visible, so an interrupted PUT
//! never leaves a partial object.
//!
//! # Versioning
//!
//! `PutBucketVersioning` enables or suspends versioning as S3 does (MFA delete is refused
//! with `NotImplemented`). Version ids are 32 lower-case hex digits that sort by creation
//! time. While a bucket has never had versioning, responses carry no `x-amz-version-id` and
//! its objects are `null` versions; once enabled, every write adds a version, a plain DELETE
//! adds a delete marker, `versionId` selects (or permanently deletes) one version, and
//! `ListObjectVersions` lists them all. Suspended buckets write `null` versions.
//!
//! Logging goes through `tracing`. This crate never logs the secret key or signatures;
//! s3s itself logs whole requests (including the `Authorization` header) at `debug` level,
//! so keep the `s3s` target at `info` or above outside debugging sessions.

mod auth;
mod config;
mod s3;
mod server;
mod store;

pub use crate::config::{
    LocalConfig, DEFAULT_ACCESS_KEY, DEFAULT_PORT, DEFAULT_REGION, SECRET_FILE_NAME,
};
pub use crate::server::LocalServer;
