//! Pre-signed links fetched by a plain HTTP client.

use s3flow::ErrorCode;
use serde_json::json;

use crate::harness::Ctx;

pub async fn presign_get_and_put(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("share/doc.txt", b"shared content").await;
    let get = ctx.ok("presign", json!({"bucket": b, "key": "share/doc.txt", "expires_in": "15m"})).await;
    assert_eq!(get["method"], "GET");
    let url = get["url"].as_str().unwrap();
    assert!(url.starts_with(&ctx.endpoint.url) && url.contains("X-Amz-Signature="), "{url}");
    let expires_at = time::OffsetDateTime::parse(get["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    let left = expires_at - time::OffsetDateTime::now_utc();
    assert!(left > time::Duration::minutes(14) && left <= time::Duration::minutes(15), "{left}");
    let response = ctx.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap(), "shared content".as_bytes());

    let put = ctx.ok("presign", json!({"bucket": b, "key": "uploads/from-customer.bin", "method": "PUT", "expires_in": 600})).await;
    assert_eq!(put["method"], "PUT");
    let response = ctx.http.put(put["url"].as_str().unwrap()).body("customer bytes").send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(ctx.get("uploads/from-customer.bin").await.unwrap(), b"customer bytes");

    let head = ctx.ok("presign", json!({"bucket": b, "key": "share/doc.txt", "method": "HEAD"})).await;
    assert_eq!(ctx.http.head(head["url"].as_str().unwrap()).send().await.unwrap().status(), 200);
    let del = ctx.ok("presign", json!({"bucket": b, "key": "share/doc.txt", "method": "DELETE"})).await;
    assert!(ctx.http.delete(del["url"].as_str().unwrap()).send().await.unwrap().status().is_success());
    assert!(ctx.get("share/doc.txt").await.is_none());

    // A tampered link is refused.
    let get = ctx.ok("presign", json!({"bucket": b, "key": "uploads/from-customer.bin"})).await;
    let tampered = get["url"].as_str().unwrap().replace("from-customer", "from-someone");
    if ctx.caps.auth {
        assert_eq!(ctx.http.get(tampered).send().await.unwrap().status(), 403);
    }
}

pub async fn presign_expired_link(ctx: &Ctx) {
    if !ctx.caps.presign_expiry {
        return ctx.skip("pre-signed link expiry");
    }
    let b = &ctx.bucket;
    ctx.put("soon.txt", b"x").await;
    let get = ctx.ok("presign", json!({"bucket": b, "key": "soon.txt", "expires_in": "1s"})).await;
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let status = ctx.http.get(get["url"].as_str().unwrap()).send().await.unwrap().status();
    // S3 says 403 AccessDenied "Request has expired"; Garage says 400.
    assert!(status == 403 || status == 400, "an expired link is refused: {status}");
}

pub async fn presign_put_binds_content_type(ctx: &Ctx) {
    let b = &ctx.bucket;
    let put = ctx
        .ok("presign", json!({"bucket": b, "key": "in/photo.jpg", "method": "PUT", "content_type": "image/jpeg"}))
        .await;
    assert_eq!(put["headers"]["content-type"], "image/jpeg", "{put}");
    let url = put["url"].as_str().unwrap();
    if ctx.caps.presign_content_type_bound {
        let wrong = ctx.http.put(url).header("content-type", "text/html").body("<html>").send().await.unwrap();
        assert_eq!(wrong.status(), 403, "another content type breaks the signature");
        assert!(ctx.get("in/photo.jpg").await.is_none());
    }
    let right = ctx.http.put(url).header("content-type", "image/jpeg").body("jpeg").send().await.unwrap();
    assert!(right.status().is_success(), "{}", right.status());
    assert_eq!(ctx.head("in/photo.jpg").await.content_type(), Some("image/jpeg"));
    ctx.fails("presign", json!({"bucket": b, "key": "k", "method": "GET", "content_type": "image/jpeg"}), ErrorCode::InvalidInput).await;
}

pub async fn presign_endpoint_for_public_links(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("public/p.txt", b"via the public name").await;
    // The store is reached as 127.0.0.1; links go out under another host name for it.
    let public = ctx.endpoint.url.replace("127.0.0.1", "localhost");
    let client = ctx.client_with(|c| c.presign_endpoint = Some(public.clone())).await;
    let link = s3flow::actions::run_json(&client, "presign", json!({"bucket": b, "key": "public/p.txt"})).await.unwrap();
    let url = link["url"].as_str().unwrap();
    assert!(url.starts_with(&public), "{url}");
    let fetched = ctx.http.get(url).send().await.unwrap();
    assert_eq!(fetched.status(), 200, "signed for the public host");
    assert_eq!(fetched.text().await.unwrap(), "via the public name");
    // Other actions still use the internal endpoint.
    let up = s3flow::actions::run_json(&client, "upload", json!({"bucket": b, "key": "public/q.txt", "text": "q"})).await.unwrap();
    assert!(up["object_url"].as_str().unwrap().starts_with(&ctx.endpoint.url), "{up}");
}
