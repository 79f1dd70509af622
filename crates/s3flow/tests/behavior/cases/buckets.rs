//! Buckets and versioning.

use s3flow::ErrorCode;
use serde_json::json;

use crate::harness::{fresh_bucket_name, Ctx};

pub async fn buckets(ctx: &Ctx) {
    let name = fresh_bucket_name();
    let out = ctx.ok("create_bucket", json!({"bucket": name})).await;
    assert_eq!(out["bucket"], name);
    assert_eq!(out["region"], ctx.endpoint.region);
    assert!(ctx.raw.head_bucket().bucket(&name).send().await.is_ok());
    let err = ctx.fails("create_bucket", json!({"bucket": name}), ErrorCode::AlreadyExists).await;
    assert!(err.message.contains(&name), "{err}");
    let location = ctx.ok("bucket_location", json!({"bucket": name})).await;
    assert_eq!(location, json!({"bucket": name, "region": ctx.endpoint.region}));
    let list = ctx.ok("list_buckets", json!({})).await;
    let names: Vec<&str> = list["buckets"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert!(names.contains(&name.as_str()) && names.contains(&ctx.bucket.as_str()), "{names:?}");
    let entry = list["buckets"].as_array().unwrap().iter().find(|b| b["name"] == name).unwrap();
    assert!(entry["created"].is_string(), "{entry}");
    crate::harness::empty_and_remove(&ctx.raw, &name).await;
}

pub async fn versioning(ctx: &Ctx) {
    let b = &ctx.bucket;
    if !ctx.caps.versioning {
        // The store refuses; the error is a clear code, never a silent success.
        let err = ctx.run("set_versioning", json!({"bucket": b, "enabled": true})).await;
        if let Ok(out) = &err {
            assert_ne!(out["status"], "Enabled", "a store without versioning must not claim it: {out}");
        }
        return ctx.skip("versioning");
    }
    let out = ctx.ok("set_versioning", json!({"bucket": b, "enabled": true})).await;
    assert_eq!(out, json!({"bucket": b, "status": "Enabled"}));
    let v1 = ctx.ok("upload", json!({"bucket": b, "key": "v.txt", "text": "one"})).await;
    let v2 = ctx.ok("upload", json!({"bucket": b, "key": "v.txt", "text": "two"})).await;
    let (id1, id2) = (v1["version_id"].as_str().unwrap(), v2["version_id"].as_str().unwrap());
    assert_ne!(id1, id2);
    let old = ctx.ok("download", json!({"bucket": b, "key": "v.txt", "version_id": id1})).await;
    assert_eq!(old["content"], json!({"text": "one"}));
    assert_eq!(old["version_id"], id1);
    let head = ctx.ok("head", json!({"bucket": b, "key": "v.txt"})).await;
    assert_eq!(head["version_id"], id2);
    let del = ctx.ok("delete", json!({"bucket": b, "key": "v.txt"})).await;
    assert_eq!(del["delete_marker"], true, "{del}");
    assert!(del["version_id"].is_string());
    ctx.fails("download", json!({"bucket": b, "key": "v.txt"}), ErrorCode::NotFound).await;
    let still = ctx.ok("download", json!({"bucket": b, "key": "v.txt", "version_id": id2})).await;
    assert_eq!(still["content"], json!({"text": "two"}));
    let copy = ctx.ok("copy", json!({"source_bucket": b, "source_key": "v.txt", "source_version_id": id1, "bucket": b, "key": "restored.txt"})).await;
    assert_eq!(copy["source"]["version_id"], id1);
    assert_eq!(ctx.get("restored.txt").await.unwrap(), b"one");
    let off = ctx.ok("set_versioning", json!({"bucket": b, "enabled": false})).await;
    assert_eq!(off["status"], "Suspended");
    // A versioned bucket created in one go.
    let name = fresh_bucket_name();
    ctx.ok("create_bucket", json!({"bucket": name, "versioning": true})).await;
    // (moto's GetBucketVersioning reply does not parse in the SDK: check the effect instead.)
    let mut ids = Vec::new();
    for body in ["a", "b"] {
        let put = ctx.raw.put_object().bucket(&name).key("k").body(body.as_bytes().to_vec().into()).send().await.unwrap();
        ids.push(put.version_id().map(str::to_owned).expect("a versioned bucket hands out version ids"));
    }
    assert_ne!(ids[0], ids[1]);
    crate::harness::empty_and_remove(&ctx.raw, &name).await;
}
