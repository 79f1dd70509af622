//! s3flow: an S3 connector for workflows.
//!
//! One action contract (`upload`, `download`, `list`, … — see [`actions`]) with three front
//! doors: this library, the `s3flow` CLI and the HTTP connector service. A [`Connection`] says
//! how to reach an S3 account; [`Client::connect`] makes it real; every action is a typed
//! `run(&client, input) -> Result<output>`, and [`actions::run_json`] runs one from JSON.
//!
//! ```no_run
//! # async fn demo() -> s3flow::Result<()> {
//! use s3flow::{actions::upload, Client, Connection};
//! let client = Client::connect(Connection::with_access_key("http://127.0.0.1:9000", "key", "secret", "us-east-1")).await?;
//! let out = upload::run(&client, upload::UploadInput {
//!     bucket: Some("invoices".into()),
//!     key: Some("2026/{invoice_id}.txt".into()),
//!     text: Some("hello".into()),
//!     vars: Some([("invoice_id".to_owned(), "INV-7".to_owned())].into()),
//!     ..Default::default()
//! }).await?;
//! assert_eq!(out.key, "2026/INV-7.txt");
//! # Ok(()) }
//! ```

pub mod actions;
pub mod bucket;
pub mod client;
pub mod connection;
pub mod encode;
mod endpoints;
pub mod error;
pub mod plain_http;
pub mod restrict;
mod sigv4;
pub mod template;
pub mod transfer;

pub use client::Client;
pub use connection::{Auth, Connection, Provider, Secret};
pub use error::{Error, ErrorCode, Result};
