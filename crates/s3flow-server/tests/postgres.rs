//! Two service instances on one PostgreSQL database: a connection or a token created through
//! one works through the other. Each run uses a fresh database. Without a reachable
//! PostgreSQL (default `postgres://postgres@127.0.0.1:5432/test`, or
//! `S3FLOW_TEST_POSTGRES_URL`) the test prints SKIP, unless `S3FLOW_TEST_REQUIRE_POSTGRES`
//! is set.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use s3flow_server::crypto::MasterKey;
use s3flow_server::{app, AppState, Store};
use serde_json::json;
use sqlx::Connection as _;
use tower::ServiceExt;

/// A fresh database on the test server, or None (SKIP) when PostgreSQL is unreachable.
async fn fresh_database() -> Option<String> {
    let admin = std::env::var("S3FLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) => {
            if std::env::var_os("S3FLOW_TEST_REQUIRE_POSTGRES").is_some() {
                panic!("PostgreSQL at {admin} is required (S3FLOW_TEST_REQUIRE_POSTGRES) but unreachable: {e}");
            }
            println!("SKIP: PostgreSQL at {admin} is unreachable: {e}");
            return None;
        }
    };
    let name = format!("s3flow_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .unwrap();
    Some(format!("{base}/{name}"))
}

async fn call(
    state: &AppState,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"));
    let request = match body {
        Some(json) => builder
            .header("content-type", "application/json")
            .body(Body::from(json.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn two_instances_share_connections_and_tokens() {
    let Some(url) = fresh_database().await else {
        return;
    };
    let key = MasterKey::generate();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let store_a = Store::open(dir_a.path(), Some(&url), key.clone())
        .await
        .unwrap();
    let store_b = Store::open(dir_b.path(), Some(&url), key.clone())
        .await
        .unwrap();
    let a = AppState::new(store_a.clone(), dir_a.path().join("documents"));
    let b = AppState::new(store_b.clone(), dir_b.path().join("documents"));

    // A token created through A works through B; revoked through B, A refuses it.
    let (id, token) = store_a.create_token().await.unwrap();
    assert_eq!(
        call(&b, &token, Method::GET, "/v1/connections", None)
            .await
            .0,
        StatusCode::OK
    );

    // A connection created through A is used through B.
    let h = common::Harness::new().await;
    let body = serde_json::to_value(h.local_connection("shared")).unwrap();
    let (status, _) = call(
        &a,
        &token,
        Method::POST,
        "/v1/connections",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, out) = call(
        &b,
        &token,
        Method::POST,
        "/v1/connections/shared/actions/create_bucket",
        Some(json!({"bucket": "pg-shared"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (status, out) = call(
        &b,
        &token,
        Method::POST,
        "/v1/connections/shared/actions/upload",
        Some(json!({"bucket": "pg-shared", "key": "a.txt", "text": "via b"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (_, out) = call(
        &a,
        &token,
        Method::POST,
        "/v1/connections/shared/actions/download",
        Some(json!({"bucket": "pg-shared", "key": "a.txt"})),
    )
    .await;
    assert_eq!(out["content"]["text"], "via b");

    // Changed through B, A's cached client follows (within CONNECTION_CHECK_EVERY); deleted
    // through A, B says not_found.
    let mut wrong = body.clone();
    wrong["auth"]["secret_access_key"] = json!("wrong-secret");
    assert_eq!(
        call(
            &b,
            &token,
            Method::PUT,
            "/v1/connections/shared",
            Some(wrong)
        )
        .await
        .0,
        StatusCode::OK
    );
    let list_through_a = || {
        call(
            &a,
            &token,
            Method::POST,
            "/v1/connections/shared/actions/list",
            Some(json!({"bucket": "pg-shared"})),
        )
    };
    let (mut status, mut out) = list_through_a().await;
    for _ in 0..100 {
        if status != StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        (status, out) = list_through_a().await;
    }
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (StatusCode::FORBIDDEN, json!("credentials_invalid"))
    );
    assert_eq!(
        call(&a, &token, Method::DELETE, "/v1/connections/shared", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, out) = call(&b, &token, Method::GET, "/v1/connections/shared", None).await;
    assert_eq!(
        (status, out["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );

    // Revoked through B: A trusts the token it verified for TOKEN_CACHE_TTL at most.
    store_b.revoke_token(&id).await.unwrap();
    let mut status = call(&a, &token, Method::GET, "/v1/connections", None).await.0;
    for _ in 0..100 {
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = call(&a, &token, Method::GET, "/v1/connections", None).await.0;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The stored secrets are sealed in PostgreSQL too, and another key cannot open it.
    assert!(Store::open(dir_a.path(), Some(&url), MasterKey::generate())
        .await
        .is_err());
    let rotated = MasterKey::generate();
    store_a
        .put_connection(&h.local_connection("kept"))
        .await
        .unwrap();
    store_a.rotate_key(&rotated).await.unwrap();
    let reopened = Store::open(dir_b.path(), Some(&url), rotated)
        .await
        .unwrap();
    assert_eq!(
        reopened.get_connection("kept").await.unwrap(),
        h.local_connection("kept")
    );
    store_a.close().await;
    store_b.close().await;
    reopened.close().await;
    drop_database(&url).await;
}

async fn drop_database(url: &str) {
    let admin = std::env::var("S3FLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let name = url.rsplit('/').next().unwrap();
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}
