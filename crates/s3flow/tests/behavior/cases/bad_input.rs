//! Bad input is refused with invalid_input, and nothing is written.

use s3flow::ErrorCode;
use serde_json::json;

use crate::harness::Ctx;

pub async fn bad_input_is_refused(ctx: &Ctx) {
    let b = &ctx.bucket;
    let long = "k".repeat(1025);
    let cases = [
        ("upload", json!({"bucket": b, "key": "a", "base64": "not base64!!"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "base64": "eA=="})),
        ("upload", json!({"bucket": b, "key": "a"})),
        ("upload", json!({"bucket": b, "key": "{nope}/a", "text": "x"})),
        ("upload", json!({"bucket": b, "key": "{yyyy/a", "text": "x"})),
        ("upload", json!({"bucket": "Bad_Bucket", "key": "a", "text": "x"})),
        ("upload", json!({"bucket": "ab", "key": "a", "text": "x"})),
        ("upload", json!({"bucket": b, "key": long, "text": "x"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "acl": "world-writable"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "storage_class": "CHEAP"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "if_exists": "sometimes"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "metadata": {"bad name": "v"}})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "unknown_field": 1})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "server_side_encryption": "ROT13"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "content_type": "bad\ntype"})),
        ("upload", json!({"bucket": b, "key": "a", "file": "/definitely/not/here.txt"})),
        ("upload", json!({"bucket": b, "key": "a", "document": "doc-1"})),
        ("upload", json!({"bucket": b, "key": "a", "text": "x", "backup_prefix": "old/"})),
        ("presign", json!({"bucket": b, "key": "a", "expires_in": 0})),
        ("presign", json!({"bucket": b, "key": "a", "expires_in": "8d"})),
        ("presign", json!({"bucket": b, "key": "a", "expires_in": 604801})),
        ("presign", json!({"bucket": b, "key": "a", "expires_in": "soon"})),
        ("presign", json!({"bucket": b, "key": "a", "method": "PATCH"})),
        ("presign", json!({"bucket": b, "key": long})),
        ("delete_folder", json!({"bucket": b, "prefix": ""})),
        ("delete_objects", json!({"bucket": b, "keys": ["ok", ""]})),
        ("download", json!({"bucket": b, "key": "a", "as": "pdf"})),
        ("download", json!({"bucket": b, "key": "a", "range": "bytes=5-1"})),
        ("list", json!({"bucket": "-bad-"})),
        ("create_bucket", json!({"bucket": "Invalid_Name"})),
        ("create_bucket", json!({"bucket": "192.168.1.1"})),
        ("copy", json!({"source_bucket": b, "source_key": "", "bucket": b, "key": "x"})),
        ("api_call", json!({"method": "GET", "path": "/", "headers": {"Authorization": "AWS4-HMAC-SHA256 forged"}})),
        ("api_call", json!({"method": "GET", "path": "/", "headers": {"X-Amz-Security-Token": "t"}})),
        ("api_call", json!({"method": "GET", "path": "/", "headers": {"host": "evil.example"}})),
        ("api_call", json!({"method": "GET", "path": "https://evil.example/x"})),
        ("api_call", json!({"method": "GET", "path": "//evil.example/x"})),
        ("api_call", json!({"method": "TRACE", "path": "/"})),
        ("api_call", json!({"method": "PUT", "path": format!("/{b}/k"), "base64": "***"})),
        ("no_such_action", json!({})),
    ];
    for (action, input) in cases {
        let expected = if action == "no_such_action" { ErrorCode::NotFound } else { ErrorCode::InvalidInput };
        ctx.fails(action, input, expected).await;
    }
    assert!(ctx.keys().await.is_empty(), "nothing was written");
}
