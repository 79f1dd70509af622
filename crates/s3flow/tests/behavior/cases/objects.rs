//! Upload, download, head, delete, copy and move.

use base64::Engine;
use s3flow::ErrorCode;
use serde_json::json;

use crate::harness::Ctx;

pub async fn upload_text_and_download(ctx: &Ctx) {
    let b = &ctx.bucket;
    let out = ctx
        .ok("upload", json!({"bucket": b, "key": "docs/hello.txt", "text": "héllo wörld",
            "metadata": {"invoice-id": "INV-7", "Owner": "Ann"}, "cache_control": "max-age=60",
            "content_disposition": "attachment; filename=\"hello.txt\""}))
        .await;
    assert_eq!(out["bucket"], *b);
    assert_eq!(out["key"], "docs/hello.txt");
    assert_eq!(out["size"], "héllo wörld".len());
    assert_eq!(out["content_type"], "text/plain; charset=utf-8");
    assert!(out["etag"].as_str().is_some_and(|e| !e.is_empty() && !e.contains('"')), "{out}");
    assert!(out["version_id"].is_null() || ctx.caps.version_ids_always, "{out}");
    assert!(out["backup"].is_null());
    let url = out["object_url"].as_str().unwrap();
    assert!(url.starts_with(&ctx.endpoint.url) && url.ends_with(&format!("/{b}/docs/hello.txt")), "{url}");

    // Cross-check with the independent client.
    assert_eq!(ctx.get("docs/hello.txt").await.unwrap(), "héllo wörld".as_bytes());
    let head = ctx.head("docs/hello.txt").await;
    assert_eq!(head.content_type(), Some("text/plain; charset=utf-8"));
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("invoice-id").map(String::as_str), Some("INV-7"));
    assert_eq!(meta.get("owner").map(String::as_str), Some("Ann"));
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(head.content_disposition(), Some("attachment; filename=\"hello.txt\""));

    let down = ctx.ok("download", json!({"bucket": b, "key": "docs/hello.txt"})).await;
    assert_eq!(down["content"], json!({"text": "héllo wörld"}));
    assert_eq!(down["size"], "héllo wörld".len());
    assert_eq!(down["etag"], out["etag"]);
    assert_eq!(down["metadata"]["invoice-id"], "INV-7");
    assert_eq!(down["content_type"], "text/plain; charset=utf-8");
    assert!(down["last_modified"].as_str().unwrap().ends_with('Z'), "{down}");
    assert!(down.get("file").is_none());
}

pub async fn upload_json_base64_and_file(ctx: &Ctx) {
    let b = &ctx.bucket;
    let out = ctx.ok("upload", json!({"bucket": b, "key": "data/x.bin", "json": {"a": [1, 2], "b": "c"}})).await;
    assert_eq!(out["content_type"], "application/json");
    assert_eq!(ctx.get("data/x.bin").await.unwrap(), br#"{"a":[1,2],"b":"c"}"#);
    let down = ctx.ok("download", json!({"bucket": b, "key": "data/x.bin"})).await;
    assert_eq!(down["content"], json!({"json": {"a": [1, 2], "b": "c"}}));

    let bytes: Vec<u8> = (0..=255u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let out = ctx.ok("upload", json!({"bucket": b, "key": "data/all.bytes", "base64": encoded})).await;
    assert_eq!(out["size"], 256);
    assert_eq!(out["content_type"], "application/octet-stream");
    assert_eq!(ctx.get("data/all.bytes").await.unwrap(), bytes);
    let down = ctx.ok("download", json!({"bucket": b, "key": "data/all.bytes"})).await;
    assert_eq!(down["content"], json!({"base64": encoded}));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, b"%PDF-1.7 fake").unwrap();
    let out = ctx.ok("upload", json!({"bucket": b, "key": "reports/", "file": path})).await;
    assert_eq!(out["key"], "reports/report.pdf");
    assert_eq!(out["content_type"], "application/pdf");
    assert_eq!(ctx.get("reports/report.pdf").await.unwrap(), b"%PDF-1.7 fake");
    // No key at all: the file name.
    let out = ctx.ok("upload", json!({"bucket": b, "file": path, "content_type": "application/x-custom"})).await;
    assert_eq!(out["key"], "report.pdf");
    assert_eq!(ctx.head("report.pdf").await.content_type(), Some("application/x-custom"));
}

pub async fn upload_key_templates(ctx: &Ctx) {
    let b = &ctx.bucket;
    let now = time::OffsetDateTime::now_utc();
    let out = ctx
        .ok("upload", json!({"bucket": b, "key": "invoices/{yyyy}/{mm}/{invoice_id}-{uuid}.txt",
            "text": "x", "vars": {"invoice_id": "INV 7"}}))
        .await;
    let key = out["key"].as_str().unwrap();
    let prefix = format!("invoices/{:04}/{:02}/INV 7-", now.year(), u8::from(now.month()));
    assert!(key.starts_with(&prefix) && key.ends_with(".txt") && key.len() == prefix.len() + 36 + 4, "{key}");
    assert!(ctx.get(key).await.is_some());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.png");
    std::fs::write(&path, b"png").unwrap();
    let out = ctx.ok("upload", json!({"bucket": b, "key": "in/{date}/{filename}.{ext}", "file": path})).await;
    let date = format!("{:04}-{:02}-{:02}", now.year(), u8::from(now.month()), now.day());
    assert_eq!(out["key"], format!("in/{date}/scan.png.png"));
    assert_eq!(out["content_type"], "image/png");
}

pub async fn upload_if_exists(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.ok("upload", json!({"bucket": b, "key": "a.txt", "text": "one"})).await;
    let err = ctx.fails("upload", json!({"bucket": b, "key": "a.txt", "text": "two", "if_exists": "fail"}), ErrorCode::AlreadyExists).await;
    assert!(err.message.contains("a.txt"), "{err}");
    assert_eq!(ctx.get("a.txt").await.unwrap(), b"one", "if_exists fail wrote nothing");
    // fail on a fresh key writes.
    ctx.ok("upload", json!({"bucket": b, "key": "fresh.txt", "text": "new", "if_exists": "fail"})).await;
    assert_eq!(ctx.get("fresh.txt").await.unwrap(), b"new");

    let out = ctx
        .ok("upload", json!({"bucket": b, "key": "a.txt", "text": "two", "if_exists": "backup", "backup_prefix": "old/"}))
        .await;
    let backup = &out["backup"];
    assert_eq!(backup["bucket"], *b);
    let backup_key = backup["key"].as_str().unwrap();
    assert!(backup_key.starts_with("old/a.txt."), "{backup_key}");
    assert_eq!(ctx.get(backup_key).await.unwrap(), b"one");
    assert_eq!(ctx.get("a.txt").await.unwrap(), b"two");
    // backup of a key that is not there: no backup, upload proceeds.
    let out = ctx.ok("upload", json!({"bucket": b, "key": "b.txt", "text": "x", "if_exists": "backup"})).await;
    assert!(out["backup"].is_null());
    ctx.ok("upload", json!({"bucket": b, "key": "a.txt", "text": "three", "if_exists": "overwrite"})).await;
    assert_eq!(ctx.get("a.txt").await.unwrap(), b"three");
}

pub async fn upload_tags_and_storage_class(ctx: &Ctx) {
    let b = &ctx.bucket;
    if !ctx.caps.tagging {
        ctx.skip("object tagging");
    } else {
        ctx.ok("upload", json!({"bucket": b, "key": "t.txt", "text": "x", "tags": {"project": "alpha beta", "tier": "1"}})).await;
        let tags = ctx.raw.get_object_tagging().bucket(b).key("t.txt").send().await.unwrap();
        let mut got: Vec<(String, String)> = tags.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        got.sort();
        assert_eq!(got, vec![("project".into(), "alpha beta".into()), ("tier".into(), "1".into())]);
    }
    if !ctx.caps.storage_classes {
        ctx.skip("storage classes");
        return;
    }
    ctx.ok("upload", json!({"bucket": b, "key": "ia.txt", "text": "x", "storage_class": "STANDARD_IA"})).await;
    let head = ctx.ok("head", json!({"bucket": b, "key": "ia.txt"})).await;
    assert_eq!(head["storage_class"], "STANDARD_IA");
    let list = ctx.ok("list", json!({"bucket": b, "prefix": "ia"})).await;
    assert_eq!(list["objects"][0]["storage_class"], "STANDARD_IA");
}

pub async fn upload_acl(ctx: &Ctx) {
    if !ctx.caps.acl {
        return ctx.skip("ACLs");
    }
    let b = &ctx.bucket;
    ctx.ok("upload", json!({"bucket": b, "key": "public.txt", "text": "x", "acl": "public-read"})).await;
    let acl = ctx.raw.get_object_acl().bucket(b).key("public.txt").send().await.unwrap();
    let public = acl.grants().iter().any(|g| {
        g.grantee().and_then(|x| x.uri()).is_some_and(|u| u.ends_with("AllUsers"))
            && g.permission().map(|p| p.as_str()) == Some("READ")
    });
    assert!(public, "{acl:?}");
}

pub async fn download_forms(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("j.json", br#"{"k": [true, null]}"#).await;
    ctx.raw.put_object().bucket(b).key("typed.json").content_type("application/json").body(br#"{"k":1}"#.to_vec().into()).send().await.unwrap();
    ctx.put("bin", &[0, 159, 146, 150]).await;
    let auto = ctx.ok("download", json!({"bucket": b, "key": "typed.json"})).await;
    assert_eq!(auto["content"], json!({"json": {"k": 1}}));
    let as_text = ctx.ok("download", json!({"bucket": b, "key": "typed.json", "as": "text"})).await;
    assert_eq!(as_text["content"], json!({"text": "{\"k\":1}"}));
    let as_json = ctx.ok("download", json!({"bucket": b, "key": "j.json", "as": "json"})).await;
    assert_eq!(as_json["content"], json!({"json": {"k": [true, null]}}));
    let as_b64 = ctx.ok("download", json!({"bucket": b, "key": "j.json", "as": "base64"})).await;
    let decoded = base64::engine::general_purpose::STANDARD.decode(as_b64["content"]["base64"].as_str().unwrap()).unwrap();
    assert_eq!(decoded, br#"{"k": [true, null]}"#);
    let bin = ctx.ok("download", json!({"bucket": b, "key": "bin"})).await;
    assert_eq!(bin["content"], json!({"base64": "AJ+Slg=="}));
    ctx.fails("download", json!({"bucket": b, "key": "bin", "as": "text"}), ErrorCode::InvalidInput).await;
    ctx.fails("download", json!({"bucket": b, "key": "bin", "as": "json"}), ErrorCode::InvalidInput).await;
}

pub async fn download_to_file(ctx: &Ctx) {
    let b = &ctx.bucket;
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    ctx.put("big.bin", &body).await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out.bin");
    let out = ctx.ok("download", json!({"bucket": b, "key": "big.bin", "as": "file", "to": to})).await;
    assert_eq!(out["file"], to.to_str().unwrap());
    assert_eq!(out["size"], body.len());
    assert!(out.get("content").is_none());
    assert_eq!(std::fs::read(&to).unwrap(), body);
    // A failed download leaves no file at the final path, and no temporary file beside it.
    let missing = dir.path().join("missing.bin");
    ctx.fails("download", json!({"bucket": b, "key": "nope", "as": "file", "to": missing}), ErrorCode::NotFound).await;
    assert!(!missing.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    ctx.fails("download", json!({"bucket": b, "key": "big.bin", "as": "file"}), ErrorCode::InvalidInput).await;
}

pub async fn download_range_and_limits(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("abc.txt", b"abcdefghij").await;
    let part = ctx.ok("download", json!({"bucket": b, "key": "abc.txt", "range": "bytes=2-4"})).await;
    assert_eq!(part["content"], json!({"text": "cde"}));
    assert_eq!(part["size"], 3);
    let tail = ctx.ok("download", json!({"bucket": b, "key": "abc.txt", "range": "bytes=-3"})).await;
    assert_eq!(tail["content"], json!({"text": "hij"}));
    let err = ctx
        .fails("download", json!({"bucket": b, "key": "abc.txt", "max_inline_bytes": 5}), ErrorCode::PayloadTooLarge)
        .await;
    assert!(err.message.contains("file"), "names the alternative: {err}");
    ctx.fails("download", json!({"bucket": b, "key": "abc.txt", "range": "2-4"}), ErrorCode::InvalidInput).await;
}

pub async fn not_found_codes(ctx: &Ctx) {
    let b = &ctx.bucket;
    let missing_bucket = crate::harness::fresh_bucket_name();
    let err = ctx.fails("download", json!({"bucket": b, "key": "nope"}), ErrorCode::NotFound).await;
    assert_eq!(err.s3_code.as_deref(), Some("NoSuchKey"), "{err:?}");
    let err = ctx.fails("download", json!({"bucket": missing_bucket, "key": "nope"}), ErrorCode::NotFound).await;
    assert_eq!(err.s3_code.as_deref(), Some("NoSuchBucket"), "{err:?}");
    let err = ctx.fails("head", json!({"bucket": b, "key": "nope"}), ErrorCode::NotFound).await;
    assert_eq!(err.s3_code.as_deref(), Some("NoSuchKey"), "{err:?}");
    let err = ctx.fails("head", json!({"bucket": missing_bucket, "key": "nope"}), ErrorCode::NotFound).await;
    assert_eq!(err.s3_code.as_deref(), Some("NoSuchBucket"), "{err:?}");
    let err = ctx.fails("list", json!({"bucket": missing_bucket}), ErrorCode::NotFound).await;
    assert_eq!(err.s3_code.as_deref(), Some("NoSuchBucket"), "{err:?}");
    ctx.fails("upload", json!({"bucket": missing_bucket, "key": "k", "text": "x"}), ErrorCode::NotFound).await;
    ctx.fails("copy", json!({"source_bucket": b, "source_key": "nope", "bucket": b, "key": "dst"}), ErrorCode::NotFound).await;
    assert!(ctx.get("dst").await.is_none());
    ctx.fails("bucket_location", json!({"bucket": missing_bucket}), ErrorCode::NotFound).await;
}

pub async fn head_fields(ctx: &Ctx) {
    let b = &ctx.bucket;
    let up = ctx.ok("upload", json!({"bucket": b, "key": "h.csv", "text": "a,b\n", "metadata": {"source": "erp"}})).await;
    let head = ctx.ok("head", json!({"bucket": b, "key": "h.csv"})).await;
    assert_eq!(head["bucket"], *b);
    assert_eq!(head["key"], "h.csv");
    assert_eq!(head["size"], 4);
    assert_eq!(head["etag"], up["etag"]);
    assert_eq!(head["content_type"], "text/csv; charset=utf-8");
    assert_eq!(head["metadata"], json!({"source": "erp"}));
    assert_eq!(head["storage_class"], "STANDARD");
    assert!(head["last_modified"].is_string());
    for field in ["version_id", "server_side_encryption"] {
        assert!(head.get(field).is_some(), "{field} present: {head}");
    }
}

pub async fn delete_single(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("gone.txt", b"x").await;
    let out = ctx.ok("delete", json!({"bucket": b, "key": "gone.txt"})).await;
    assert_eq!(out["bucket"], *b);
    assert_eq!(out["key"], "gone.txt");
    assert_eq!(out["delete_marker"], false);
    assert!(ctx.get("gone.txt").await.is_none());
    // S3 deletes are idempotent.
    ctx.ok("delete", json!({"bucket": b, "key": "gone.txt"})).await;
}

pub async fn delete_objects_batches(ctx: &Ctx) {
    let b = &ctx.bucket;
    let keys: Vec<String> = (0..1105).map(|i| format!("batch/{i:05}")).collect();
    put_many(ctx, &keys).await;
    ctx.put("keep/me", b"x").await;
    let out = ctx.ok("delete_objects", json!({"bucket": b, "keys": keys})).await;
    assert_eq!(out["deleted_count"], 1105, "{out}");
    assert_eq!(out["errors"], json!([]));
    assert_eq!(ctx.keys().await, vec!["keep/me".to_owned()]);
}

pub async fn delete_folder_and_dry_run(ctx: &Ctx) {
    let b = &ctx.bucket;
    let keys: Vec<String> = (0..1010).map(|i| format!("tmp/run-1/{i:04}.json")).collect();
    put_many(ctx, &keys).await;
    ctx.put("tmp/run-10/keep", b"x").await;
    ctx.put("tmpx", b"x").await;
    let dry = ctx.ok("delete_folder", json!({"bucket": b, "prefix": "tmp/run-1/", "dry_run": true})).await;
    assert_eq!(dry["would_delete"], 1010, "{dry}");
    assert!(dry.get("deleted_count").is_none());
    assert_eq!(ctx.keys().await.len(), 1012, "dry run deleted nothing");
    let out = ctx.ok("delete_folder", json!({"bucket": b, "prefix": "tmp/run-1/"})).await;
    assert_eq!(out["deleted_count"], 1010, "{out}");
    assert_eq!(out["errors"], json!([]));
    let mut left = ctx.keys().await;
    left.sort();
    assert_eq!(left, vec!["tmp/run-10/keep".to_owned(), "tmpx".to_owned()]);
    ctx.fails("delete_folder", json!({"bucket": b, "prefix": ""}), ErrorCode::InvalidInput).await;
    assert_eq!(ctx.keys().await.len(), 2);
    let all = ctx.ok("delete_folder", json!({"bucket": b, "prefix": "", "allow_entire_bucket": true})).await;
    assert_eq!(all["deleted_count"], 2);
    assert!(ctx.keys().await.is_empty());
}

pub async fn copy_and_replace_metadata(ctx: &Ctx) {
    let b = &ctx.bucket;
    let other = crate::harness::fresh_bucket_name();
    ctx.raw.create_bucket().bucket(&other).send().await.unwrap();
    ctx.ok("upload", json!({"bucket": b, "key": "src/a.txt", "text": "payload", "metadata": {"m": "1"}})).await;
    let out = ctx.ok("copy", json!({"source_bucket": b, "source_key": "src/a.txt", "bucket": &other, "key": "dst/a.txt"})).await;
    assert_eq!(out["source"]["bucket"], *b);
    assert_eq!(out["source"]["key"], "src/a.txt");
    assert_eq!(out["bucket"], other);
    assert_eq!(out["key"], "dst/a.txt");
    assert!(out["etag"].is_string(), "{out}");
    assert_eq!(ctx.get_in(&other, "dst/a.txt").await.unwrap(), b"payload");
    let head = ctx.raw.head_object().bucket(&other).key("dst/a.txt").send().await.unwrap();
    assert_eq!(head.metadata().unwrap().get("m").map(String::as_str), Some("1"), "metadata copied");

    ctx.ok("copy", json!({"source_bucket": b, "source_key": "src/a.txt", "bucket": b, "key": "dst/b.txt",
        "metadata": {"n": "2"}, "content_type": "text/markdown"})).await;
    let head = ctx.head("dst/b.txt").await;
    assert_eq!(head.content_type(), Some("text/markdown"));
    let meta = head.metadata().unwrap();
    assert_eq!(meta.get("n").map(String::as_str), Some("2"));
    assert!(meta.get("m").is_none(), "given metadata replaces: {meta:?}");
    // Only a content type: the metadata stays.
    ctx.ok("copy", json!({"source_bucket": b, "source_key": "src/a.txt", "bucket": b, "key": "dst/c.txt", "content_type": "text/x-c"})).await;
    let head = ctx.head("dst/c.txt").await;
    assert_eq!(head.content_type(), Some("text/x-c"));
    assert_eq!(head.metadata().unwrap().get("m").map(String::as_str), Some("1"));
    assert_eq!(ctx.get("src/a.txt").await.unwrap(), b"payload", "copy keeps the source");
    crate::harness::empty_and_remove(&ctx.raw, &other).await;
}

pub async fn move_object(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("inbox/m.txt", b"moving").await;
    let out = ctx.ok("move", json!({"source_bucket": b, "source_key": "inbox/m.txt", "bucket": b, "key": "done/m.txt"})).await;
    assert_eq!(out["key"], "done/m.txt");
    assert_eq!(ctx.get("done/m.txt").await.unwrap(), b"moving");
    assert!(ctx.get("inbox/m.txt").await.is_none());
    // A failed copy deletes nothing.
    ctx.put("inbox/keep.txt", b"k").await;
    let missing = crate::harness::fresh_bucket_name();
    let expected = if ctx.caps.copy_to_missing_bucket_404 { ErrorCode::NotFound } else { ErrorCode::UpstreamUnavailable };
    ctx.fails("move", json!({"source_bucket": b, "source_key": "inbox/keep.txt", "bucket": missing, "key": "x"}), expected).await;
    assert_eq!(ctx.get("inbox/keep.txt").await.unwrap(), b"k");
    ctx.fails("move", json!({"source_bucket": b, "source_key": "inbox/keep.txt", "bucket": b, "key": "inbox/keep.txt"}), ErrorCode::InvalidInput).await;
    assert_eq!(ctx.get("inbox/keep.txt").await.unwrap(), b"k");
}

/// Puts `keys` (one byte each) with the independent client, 16 at a time.
pub async fn put_many(ctx: &Ctx, keys: &[String]) {
    use futures::StreamExt;
    futures::stream::iter(keys.iter())
        .for_each_concurrent(16, |key| async move { ctx.put(key, b"x").await })
        .await;
}
