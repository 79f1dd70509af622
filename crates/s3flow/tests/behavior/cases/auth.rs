//! Credentials: wrong keys, assume-role through STS, and the raw signed call.

use s3flow::{Auth, Connection, ErrorCode, Secret};
use serde_json::json;

use crate::harness::Ctx;

pub async fn wrong_credentials(ctx: &Ctx) {
    if !ctx.caps.auth {
        return ctx.skip("credential checks");
    }
    let b = &ctx.bucket;
    let bad = ctx
        .client_with(|c| {
            c.auth = Auth::AccessKey {
                access_key_id: ctx.endpoint.access_key_id.clone(),
                secret_access_key: Secret::new("wrong-secret-value"),
                session_token: None,
            };
            c.max_attempts = Some(1);
        })
        .await;
    let err = s3flow::actions::run_json(&bad, "upload", json!({"bucket": b, "key": "k", "text": "x"})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::CredentialsInvalid, "{err:?}");
    assert!(!err.message.contains("wrong-secret-value") && !format!("{err:?}").contains("wrong-secret-value"));
    assert!(ctx.keys().await.is_empty());
    let unknown = ctx
        .client_with(|c| {
            c.auth = Auth::AccessKey { access_key_id: "AKIDUNKNOWN000000000".into(), secret_access_key: Secret::new("x"), session_token: None };
        })
        .await;
    let err = s3flow::actions::run_json(&unknown, "list", json!({"bucket": b})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::CredentialsInvalid, "{err:?}");
}

pub async fn assume_role(ctx: &Ctx) {
    if !ctx.caps.sts {
        return ctx.skip("STS");
    }
    let b = &ctx.bucket;
    let conn = Connection {
        auth: Auth::AssumeRole {
            role_arn: "arn:aws:iam::123456789012:role/s3flow-test".into(),
            external_id: Some("ext-42".into()),
            session_name: Some("behavior".into()),
            duration_seconds: Some(900),
            source: Box::new(ctx.conn.auth.clone()),
        },
        ..ctx.conn.clone()
    };
    let client = s3flow::Client::connect(conn).await.unwrap();
    let credentials = client.credentials().await.unwrap();
    assert_ne!(credentials.access_key_id(), ctx.endpoint.access_key_id, "STS handed out new credentials");
    assert!(credentials.session_token().is_some());
    let expiry = credentials.expiry().expect("temporary credentials expire");
    let out = s3flow::actions::run_json(&client, "upload", json!({"bucket": b, "key": "via-role.txt", "text": "r"})).await.unwrap();
    assert_eq!(out["key"], "via-role.txt");
    assert_eq!(ctx.get("via-role.txt").await.unwrap(), b"r");
    // A link never outlives the credentials that signed it.
    let link = s3flow::actions::run_json(&client, "presign", json!({"bucket": b, "key": "via-role.txt", "expires_in": "7d"})).await.unwrap();
    let expires_at = time::OffsetDateTime::parse(link["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!(expires_at <= time::OffsetDateTime::from(expiry), "{expires_at} vs {expiry:?}");
    assert!(link["url"].as_str().unwrap().contains("X-Amz-Security-Token"));
}

pub async fn api_call_signed(ctx: &Ctx) {
    let b = &ctx.bucket;
    ctx.put("raw/x y.txt", b"raw body").await;
    let get = ctx.ok("api_call", json!({"method": "GET", "path": format!("/{b}/raw/x y.txt")})).await;
    assert_eq!(get["status"], 200);
    assert_eq!(get["body"], json!({"text": "raw body"}));
    assert!(get["headers"]["etag"].is_string(), "{get}");
    let put = ctx
        .ok("api_call", json!({"method": "PUT", "path": format!("/{b}/raw/put.json"), "json": {"a": 1},
            "headers": {"Content-Type": "application/json", "x-amz-meta-origin": "api"}}))
        .await;
    assert_eq!(put["status"], 200, "{put}");
    assert_eq!(ctx.get("raw/put.json").await.unwrap(), br#"{"a":1}"#);
    assert_eq!(ctx.head("raw/put.json").await.metadata().unwrap().get("origin").map(String::as_str), Some("api"));
    let list = ctx.ok("api_call", json!({"method": "GET", "path": format!("/{b}"), "query": {"list-type": "2", "prefix": "raw/"}})).await;
    assert_eq!(list["status"], 200);
    let xml = list["body"]["text"].as_str().unwrap();
    assert!(xml.contains("raw/put.json") && xml.contains("raw/x y.txt"), "{xml}");
    let missing = ctx.ok("api_call", json!({"method": "GET", "path": format!("/{b}/raw/none")})).await;
    assert_eq!(missing["status"], 404);
    let head = ctx.ok("api_call", json!({"method": "HEAD", "path": format!("/{b}/raw/put.json")})).await;
    assert_eq!(head["status"], 200);
    assert_eq!(head["body"], json!({"text": ""}));
}

/// Network failures: a closed port is `upstream_unavailable`, a server that never answers is
/// `timeout` — after the connection's retries, with the time limit it sets.
pub async fn network_failures(ctx: &Ctx) {
    let b = &ctx.bucket;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = ctx
        .client_with(|c| {
            c.endpoint = Some(closed_url.clone());
            c.max_attempts = Some(2);
        })
        .await;
    let err = s3flow::actions::run_json(&client, "head", json!({"bucket": b, "key": "k"})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable, "{err:?}");
    assert!(err.retryable());

    // Accepts connections, never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let client = ctx
        .client_with(|c| {
            c.endpoint = Some(silent_url.clone());
            c.max_attempts = Some(1);
            c.timeout_seconds = Some(1);
        })
        .await;
    let err = s3flow::actions::run_json(&client, "upload", json!({"bucket": b, "key": "k", "text": "x"})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Timeout, "{err:?}");
    hold.abort();
    assert!(ctx.keys().await.is_empty());
}

/// A connection whose credentials cannot be loaded (default chain with nothing to find) is
/// `credentials_invalid`, not an outage.
pub async fn missing_credentials(ctx: &Ctx) {
    let client = ctx
        .client_with(|c| {
            c.auth = Auth::DefaultChain { profile: Some("s3flow-no-such-profile".into()) };
            c.max_attempts = Some(1);
        })
        .await;
    let err = s3flow::actions::run_json(&client, "list", json!({"bucket": ctx.bucket})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::CredentialsInvalid, "{err:?}");
}
