//! Keys are sent exactly as given, through every action.

use s3flow::ErrorCode;
use serde_json::json;

use crate::harness::Ctx;

/// The keys of the contract: spaces, `+ = : ( ) & $ @ , ; ? # %`, unicode, `//`.
pub const SPECIAL_KEYS: &[&str] = &[
    "with space/file name.txt",
    "plus+sign/a+b=c.txt",
    "punct/:()&$@,;.txt",
    "query?hash#percent%20.txt",
    "percent/%2F%25%.txt",
    "unicode/日本語/ünïcødé/😀.txt",
    "double//slash//key",
    "/leading-slash",
    "trailing-dot/.",
    "dots/../up",
    "tab\tand~tilde",
    "ends-with-slash/",
];

pub async fn key_round_trip(ctx: &Ctx) {
    let b = &ctx.bucket;
    let keys: Vec<&str> = SPECIAL_KEYS.iter().copied().filter(|k| supported(ctx, k)).collect();
    for key in &keys {
        let body = format!("body of {key}");
        let up = ctx.ok("upload", json!({"bucket": b, "key": key, "text": body})).await;
        assert_eq!(up["key"], *key);
        assert_eq!(ctx.get(key).await.as_deref(), Some(body.as_bytes()), "raw read of {key:?}");
        let down = ctx.ok("download", json!({"bucket": b, "key": key})).await;
        assert_eq!(down["content"]["text"], body, "{key:?}");
        let head = ctx.ok("head", json!({"bucket": b, "key": key})).await;
        assert_eq!(head["size"], body.len(), "{key:?}");
        let list = ctx.ok("list", json!({"bucket": b, "prefix": key})).await;
        assert!(list["objects"].as_array().unwrap().iter().any(|o| o["key"] == *key), "list {key:?}: {list}");
        let copy_key = format!("copies/{key}");
        ctx.ok("copy", json!({"source_bucket": b, "source_key": key, "bucket": b, "key": copy_key})).await;
        assert_eq!(ctx.get(&copy_key).await.as_deref(), Some(body.as_bytes()), "copy of {key:?}");
        let link = ctx.ok("presign", json!({"bucket": b, "key": key})).await;
        // WHATWG URL parsers (reqwest, browsers) collapse `.`/`..` segments before sending,
        // so such a link only works from clients that send the path as is (`curl --path-as-is`).
        if key.split('/').any(|s| s == "." || s == "..") {
            ctx.ok("delete", json!({"bucket": b, "key": key})).await;
            continue;
        }
        let fetched = ctx.http.get(link["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(fetched.status(), 200, "presigned GET of {key:?}");
        assert_eq!(fetched.text().await.unwrap(), body);
        ctx.ok("delete", json!({"bucket": b, "key": key})).await;
        assert!(ctx.get(key).await.is_none(), "delete of {key:?}");
    }
    // Whatever is left is exactly the copies, byte for byte.
    let mut left = ctx.keys().await;
    left.sort();
    let mut expected: Vec<String> = keys.iter().map(|k| format!("copies/{k}")).collect();
    expected.sort();
    assert_eq!(left, expected);
    let out = ctx.ok("delete_objects", json!({"bucket": b, "keys": expected})).await;
    assert_eq!(out["deleted_count"], keys.len());
    assert!(ctx.keys().await.is_empty());
}

/// Whether the store keeps this key exactly (see the capability table).
fn supported(ctx: &Ctx, key: &str) -> bool {
    let dots = key.split('/').any(|s| s == "." || s == "..");
    let ok = (ctx.caps.leading_slash_prefix || !key.starts_with('/'))
        && (ctx.caps.double_slash || !key.contains("//"))
        && (ctx.caps.dot_segments || !dots)
        && (ctx.caps.trailing_slash_body || !key.ends_with('/'));
    if !ok {
        ctx.skip(&format!("key {key:?} is not kept exactly by this store"));
    }
    ok
}

pub async fn long_key(ctx: &Ctx) {
    let b = &ctx.bucket;
    if ctx.caps.max_key_bytes < 1024 {
        ctx.skip("1,024-byte keys");
        // Still: over 1,024 bytes is refused by s3flow before any request.
        let too_long = "k".repeat(1025);
        ctx.fails("upload", json!({"bucket": b, "key": too_long, "text": "x"}), ErrorCode::InvalidInput).await;
        return;
    }
    // Four 200-byte folders and a file name: 1,024 bytes, with no segment over 255 bytes
    // (SeaweedFS maps segments to file names).
    let key = format!("long/{}{}", format!("{}/", "d".repeat(199)).repeat(4), "f".repeat(1024 - 5 - 800));
    assert_eq!(key.len(), 1024);
    ctx.ok("upload", json!({"bucket": b, "key": key, "text": "long"})).await;
    assert_eq!(ctx.get(&key).await.unwrap(), b"long");
    let list = ctx.ok("list", json!({"bucket": b, "prefix": "long/"})).await;
    assert_eq!(list["objects"][0]["key"], key);
    let too_long = format!("{key}k");
    ctx.fails("upload", json!({"bucket": b, "key": too_long, "text": "x"}), ErrorCode::InvalidInput).await;
    ctx.fails("download", json!({"bucket": b, "key": too_long}), ErrorCode::InvalidInput).await;
    assert_eq!(ctx.keys().await, vec![key]);
}
