//! The behavior cases, grouped by area. Each is `pub async fn(&Ctx)`.

mod auth;
mod bad_input;
mod buckets;
mod keys;
mod listing;
mod objects;
mod presign;
mod restrictions;
pub mod transfers;

pub use auth::*;
pub use bad_input::*;
pub use buckets::*;
pub use keys::*;
pub use listing::*;
pub use objects::*;
pub use presign::*;
pub use restrictions::*;
pub use transfers::{directory_download_refuses_escaping_keys, directory_download_spans_listing_pages, download_pinned_to_etag, directory_upload_and_download, multipart_abort_leaves_nothing, multipart_copy_lowered_threshold, multipart_upload_large, parallel_download_large};
