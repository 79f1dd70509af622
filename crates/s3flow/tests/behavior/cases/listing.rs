//! list and list_folders.

use serde_json::json;

use crate::cases::objects::put_many;
use crate::harness::Ctx;

pub async fn list_and_pagination(ctx: &Ctx) {
    let b = &ctx.bucket;
    let keys: Vec<String> = (0..25).map(|i| format!("logs/{i:02}.log")).collect();
    put_many(ctx, &keys).await;
    ctx.put("other/x", b"x").await;
    let all = ctx.ok("list", json!({"bucket": b, "prefix": "logs/"})).await;
    assert_eq!(all["bucket"], *b);
    assert_eq!(all["prefix"], "logs/");
    assert_eq!(all["count"], 25);
    assert_eq!(all["is_truncated"], false);
    assert!(all["next_continuation_token"].is_null());
    assert!(all.get("folders").is_none());
    let first = &all["objects"][0];
    assert_eq!(first["key"], "logs/00.log");
    assert_eq!(first["size"], 1);
    assert!(first["etag"].is_string() && first["last_modified"].is_string(), "{first}");

    // Pages of 10 via max + continuation_token cover every key once, in order.
    let mut seen = Vec::new();
    let mut token = serde_json::Value::Null;
    loop {
        let page = ctx.ok("list", json!({"bucket": b, "prefix": "logs/", "max": 10, "continuation_token": token})).await;
        seen.extend(page["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap().to_owned()));
        if page["is_truncated"] == false {
            break;
        }
        assert_eq!(page["count"], 10);
        token = page["next_continuation_token"].clone();
        assert!(token.is_string());
    }
    assert_eq!(seen, keys);
    let after = ctx.ok("list", json!({"bucket": b, "prefix": "logs/", "start_after": "logs/22.log"})).await;
    assert_eq!(after["count"], 2);
    let whole = ctx.ok("list", json!({"bucket": b, "max": 0})).await;
    assert_eq!(whole["count"], 26);
}

pub async fn list_folders_one_level(ctx: &Ctx) {
    let b = &ctx.bucket;
    for key in ["2026/01/a.pdf", "2026/02/b.pdf", "2026/02/c.pdf", "2026/top.txt", "2025/x", "readme"] {
        ctx.put(key, b"x").await;
    }
    let level = ctx.ok("list", json!({"bucket": b, "prefix": "2026/", "recursive": false})).await;
    assert_eq!(level["folders"], json!(["2026/01/", "2026/02/"]));
    assert_eq!(level["objects"].as_array().unwrap().len(), 1);
    assert_eq!(level["objects"][0]["key"], "2026/top.txt");
    assert_eq!(level["count"], 3);
    let folders = ctx.ok("list_folders", json!({"bucket": b, "prefix": "2026/"})).await;
    assert_eq!(folders, json!({"bucket": b, "prefix": "2026/", "folders": ["2026/01/", "2026/02/"], "count": 2}));
    let root = ctx.ok("list_folders", json!({"bucket": b})).await;
    assert_eq!(root["folders"], json!(["2025/", "2026/"]));
}
