//! One behavior suite, every backend (STYLE.md §8).
//!
//! Each case in `cases` is a plain `async fn(&Ctx) -> Result<()>` that gets a fresh bucket on
//! one backend. The same cases run against:
//! - `local`: the embedded endpoint (`s3flow-local`), started in this process — always;
//! - `seaweedfs`, `moto`, `garage`: when `S3FLOW_TEST_<NAME>_ENDPOINT` (and `_ACCESS_KEY_ID`,
//!   `_SECRET_ACCESS_KEY`, `_REGION`) are set, as `scripts/backends.sh up` does. A backend
//!   named in `S3FLOW_TEST_REQUIRE_BACKENDS` (space- or comma-separated, or `all`; CI sets
//!   it) is a failure when missing, not a skip.
//!
//! A capability table per backend gates what a store cannot do.

mod cases;
mod harness;

use harness::{run_case, Backend};

macro_rules! backend_tests {
    ($module:ident, $backend:expr, [$($case:ident),* $(,)?]) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    run_case($backend, stringify!($case), |ctx| Box::pin(async move { cases::$case(&ctx).await })).await;
                }
            )*
        }
    };
}

macro_rules! suite {
    ($($case:ident),* $(,)?) => {
        backend_tests!(local, Backend::Local, [$($case),*]);
        backend_tests!(seaweedfs, Backend::Seaweedfs, [$($case),*]);
        backend_tests!(moto, Backend::Moto, [$($case),*]);
        backend_tests!(garage, Backend::Garage, [$($case),*]);
    };
}

suite!(
    upload_text_and_download,
    upload_json_base64_and_file,
    upload_key_templates,
    upload_if_exists,
    upload_tags_and_storage_class,
    upload_acl,
    download_forms,
    download_to_file,
    download_range_and_limits,
    not_found_codes,
    list_and_pagination,
    list_folders_one_level,
    head_fields,
    delete_single,
    delete_objects_batches,
    delete_folder_and_dry_run,
    copy_and_replace_metadata,
    move_object,
    presign_get_and_put,
    presign_expired_link,
    presign_put_binds_content_type,
    presign_endpoint_for_public_links,
    buckets,
    versioning,
    api_call_signed,
    key_round_trip,
    long_key,
    restrictions,
    bad_input_is_refused,
    wrong_credentials,
    assume_role,
    network_failures,
    missing_credentials,
    multipart_upload_large,
    multipart_abort_leaves_nothing,
    parallel_download_large,
    multipart_copy_lowered_threshold,
    directory_upload_and_download,
    directory_download_refuses_escaping_keys,
    directory_download_spans_listing_pages,
    download_pinned_to_etag,
);
