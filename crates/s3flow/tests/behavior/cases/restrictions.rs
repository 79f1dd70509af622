//! restrict_bucket and restrict_prefix on every action.

use s3flow::{actions::run_json, ErrorCode};
use serde_json::{json, Value};

use crate::harness::Ctx;

/// Every action that touches a key, aimed at `bucket`/`key`.
fn key_actions(bucket: &str, key: &str, inside_bucket: &str, inside_key: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("upload", json!({"bucket": bucket, "key": key, "text": "x"})),
        ("download", json!({"bucket": bucket, "key": key})),
        ("head", json!({"bucket": bucket, "key": key})),
        ("delete", json!({"bucket": bucket, "key": key})),
        ("delete_objects", json!({"bucket": bucket, "keys": [inside_key, key]})),
        ("presign", json!({"bucket": bucket, "key": key})),
        ("presign", json!({"bucket": bucket, "key": key, "method": "PUT"})),
        ("copy", json!({"source_bucket": bucket, "source_key": key, "bucket": inside_bucket, "key": inside_key})),
        ("copy", json!({"source_bucket": inside_bucket, "source_key": inside_key, "bucket": bucket, "key": key})),
        ("move", json!({"source_bucket": inside_bucket, "source_key": inside_key, "bucket": bucket, "key": key})),
        ("api_call", json!({"method": "GET", "path": format!("/{bucket}/{key}")})),
        ("api_call", json!({"method": "PUT", "path": format!("/{bucket}/{key}"), "text": "x"})),
    ]
}

pub async fn restrictions(ctx: &Ctx) {
    let b = &ctx.bucket;
    let other = crate::harness::fresh_bucket_name();
    ctx.raw.create_bucket().bucket(&other).send().await.unwrap();
    ctx.put("tenant-a/inside.txt", b"in").await;
    ctx.put("tenant-ab/x.txt", b"neighbour").await;
    ctx.put("tenant-b/y.txt", b"other tenant").await;
    let restricted = ctx
        .client_with(|c| {
            c.restrict_bucket = Some(b.clone());
            c.restrict_prefix = Some("tenant-a/".into());
        })
        .await;
    let run = |action: &'static str, input: Value| {
        let client = restricted.clone();
        async move { run_json(&client, action, input).await }
    };

    // Inside works, and the bucket may be left out.
    let up = run("upload", json!({"key": "tenant-a/new.txt", "text": "ok"})).await.unwrap();
    assert_eq!(up["bucket"], *b);
    let down = run("download", json!({"key": "tenant-a/inside.txt"})).await.unwrap();
    assert_eq!(down["content"]["text"], "in");
    let list = run("list", json!({})).await.unwrap();
    assert_eq!(list["prefix"], "tenant-a/");
    assert_eq!(list["count"], 2, "only the tenant's keys: {list}");
    let link = run("presign", json!({"key": "tenant-a/inside.txt"})).await.unwrap();
    assert_eq!(ctx.http.get(link["url"].as_str().unwrap()).send().await.unwrap().status(), 200);
    let raw = run("api_call", json!({"method": "GET", "path": format!("/{b}/tenant-a/inside.txt")})).await.unwrap();
    assert_eq!(raw["status"], 200);
    assert_eq!(raw["body"], json!({"text": "in"}));
    let raw_list = run("api_call", json!({"method": "GET", "path": format!("/{b}"), "query": {"list-type": "2", "prefix": "tenant-a/"}})).await.unwrap();
    assert_eq!(raw_list["status"], 200);
    let buckets = run("list_buckets", json!({})).await.unwrap();
    assert_eq!(buckets["buckets"].as_array().unwrap().len(), 1, "only the restricted bucket is visible: {buckets}");

    let outside_keys = ["tenant-ab/x.txt", "tenant-b/y.txt", "tenant-a/../tenant-b/y.txt", "tenant-a/./x", "tenant-a%2F..%2Ftenant-b/y.txt", "x/tenant-a/y"];
    let before = ctx.keys().await;
    for key in outside_keys {
        for (action, input) in key_actions(b, key, b, "tenant-a/inside.txt") {
            let err = run(action, input.clone()).await.expect_err(&format!("{action} {input} must be refused"));
            assert_eq!(err.code, ErrorCode::OutsideRestriction, "{action} {input}: {err}");
        }
    }
    for (action, input) in key_actions(&other, "tenant-a/x.txt", b, "tenant-a/inside.txt") {
        let err = run(action, input.clone()).await.expect_err(&format!("{action} {input} must be refused"));
        assert_eq!(err.code, ErrorCode::OutsideRestriction, "{action} {input}: {err}");
    }
    for (action, input) in [
        ("list", json!({"prefix": "tenant-b/"})),
        ("list", json!({"prefix": "tenant-"})),
        ("list", json!({"bucket": other})),
        ("list_folders", json!({"prefix": "tenant-ab/"})),
        ("delete_folder", json!({"prefix": "tenant-b/"})),
        ("create_bucket", json!({"bucket": crate::harness::fresh_bucket_name()})),
        ("bucket_location", json!({"bucket": other})),
        ("set_versioning", json!({"bucket": other, "enabled": true})),
        ("api_call", json!({"method": "GET", "path": "/"})),
        ("api_call", json!({"method": "GET", "path": format!("/{b}")})),
        ("api_call", json!({"method": "GET", "path": format!("/{b}"), "query": {"list-type": "2", "prefix": "tenant-b/"}})),
        ("api_call", json!({"method": "POST", "path": format!("/{b}"), "query": {"delete": ""}})),
        ("api_call", json!({"method": "GET", "path": format!("/{b}/tenant-a%2F..%2Ftenant-b/y.txt")})),
    ] {
        let err = run(action, input.clone()).await.expect_err(&format!("{action} {input} must be refused"));
        assert_eq!(err.code, ErrorCode::OutsideRestriction, "{action} {input}: {err}");
    }
    assert_eq!(ctx.keys().await, before, "nothing outside was written or deleted");
    assert_eq!(ctx.get("tenant-b/y.txt").await.unwrap(), b"other tenant");
    crate::harness::empty_and_remove(&ctx.raw, &other).await;
}
